/**
 * The Gaussian log-density of every expert's prediction, one op: the term
 * log N(y | m_j(x), ν_j) of the Gaussian-MoE likelihood (arXiv 2505.10860 §2, Eq. (1);
 * arXiv 2503.03213 §2), written as
 *
 *   L[i, j] = −½ (lv_j + log 2π) − ½ (y_i − m_ij)² e^{−lv_j}      y [n, 1], m [n, k], lv [k] → [n, k]
 *
 * with lv = log ν. Composed from engine ops it is four [n, k] passes forward (y − m, its square, the
 * product with ½e^{−lv}, the difference) and about as many tensors again backward, each a fresh
 * [n, k] buffer; here it is one pass each way. Partial derivatives, with r = y − m and h = ½e^{−lv}:
 *   ∂L/∂m = 2 r h,   ∂L/∂y = −2 r h,   ∂L/∂lv = r² h − ½.
 * Values carry the same bits as the composed formula (the same operations in the same order).
 * The VJP is one pass when nothing differentiates it; under an outer tape or a forward-mode trace
 * (grad of grad, hessian, hvp) it is the composed formula's own VJP, so higher derivatives come from
 * the engine's rules. The JVP is written with
 * engine ops (forward mode, forward-over-reverse).
 */
import {
  type Tensor, add, exp, mul, neg, scale, square, sub, zeros, vjp, ShapeError, fmtShape,
} from '../../engine/index.js';
import { record, derivativesWanted } from '../../engine/tape.js';
import { allocateUninit, allocate, commonDType, assertTensor, wrapTrusted, type TypedArray } from '../../engine/tensor.js';

const LOG_2PI = Math.log(2 * Math.PI);

/** The same density composed from engine ops (the reference, and the VJP under an outer tape). */
function composed(y: Tensor, m: Tensor, lv: Tensor): Tensor {
  return sub(scale(add(lv, LOG_2PI), -0.5), mul(square(sub(y, m)), scale(exp(neg(lv)), 0.5)));
}

/**
 * Per column: c_j = −½(lv_j + log 2π) and h_j = ½e^{−lv_j}, rounded as the composed ops round them
 * (float32: log 2π as a float32 scalar, and every step rounded, so e^{−lv} overflows to ∞ where the
 * float32 exp does).
 */
function columnTerms(lv: TypedArray, k: number): { c: Float64Array | Float32Array; h: Float64Array | Float32Array } {
  const c = lv instanceof Float32Array ? new Float32Array(k) : new Float64Array(k);
  const h = lv instanceof Float32Array ? new Float32Array(k) : new Float64Array(k);
  if (lv instanceof Float32Array) {
    const f = Math.fround, L = f(LOG_2PI);
    for (let j = 0; j < k; j++) { c[j] = f(f(lv[j]! + L) * -0.5); h[j] = f(f(Math.exp(-lv[j]!)) * 0.5); }
  } else {
    for (let j = 0; j < k; j++) { c[j] = (lv[j]! + LOG_2PI) * -0.5; h[j] = Math.exp(-lv[j]!) * 0.5; }
  }
  return { c, h };
}

function forwardKernel(y: TypedArray, m: TypedArray, c: TypedArray, h: TypedArray, out: TypedArray, n: number, k: number): void {
  for (let i = 0, o = 0; i < n; i++) {
    const yi = y[i]!;
    for (let j = 0; j < k; j++, o++) { const r = yi - m[o]!; out[o] = c[j]! - r * r * h[j]!; }
  }
}

/** float32: every intermediate rounded to float32, as the composed float32 ops round them. */
function forwardKernelF32(y: TypedArray, m: TypedArray, c: TypedArray, h: TypedArray, out: TypedArray, n: number, k: number): void {
  const f = Math.fround;
  for (let i = 0, o = 0; i < n; i++) {
    const yi = y[i]!;
    for (let j = 0; j < k; j++, o++) { const r = f(yi - m[o]!); out[o] = c[j]! - f(f(r * r) * h[j]!); }
  }
}

/** dm = 2rh·g, dy_i = −Σ_j 2rh·g, dlv_j = Σ_i (r²h − ½)·g (sums in float64). */
function backwardKernel(g: TypedArray, y: TypedArray, m: TypedArray, h: TypedArray, dm: TypedArray | null, dy: TypedArray | null, dlv: Float64Array | null, n: number, k: number): void {
  for (let i = 0, o = 0; i < n; i++) {
    const yi = y[i]!;
    let sy = 0;
    for (let j = 0; j < k; j++, o++) {
      const r = yi - m[o]!, gi = g[o]!, t = 2 * r * h[j]! * gi;
      if (dm !== null) dm[o] = t;
      sy -= t;
      if (dlv !== null) dlv[j] = dlv[j]! + (r * r * h[j]! - 0.5) * gi;
    }
    if (dy !== null) dy[i] = sy;
  }
}

/**
 * `L[i, j] = log N(y_i | m_ij, e^{lv_j})` (natural log): y [n, 1], mean [n, k], logVar [k] →
 * [n, k], float64 or float32 (one dtype). See the module comment for the formula and derivatives.
 * @throws ShapeError unless the shapes are [n, 1], [n, k] and [k]; DTypeError on mixed dtypes.
 */
export function gaussianLogPdf(y: Tensor, mean: Tensor, logVar: Tensor): Tensor {
  const op = 'gaussianLogPdf';
  assertTensor(y, op, 'y'); assertTensor(mean, op, 'mean'); assertTensor(logVar, op, 'logVar');
  commonDType(op, y, mean); commonDType(op, y, logVar);
  if (mean.rank !== 2 || y.rank !== 2 || y.shape[1] !== 1 || y.shape[0] !== mean.shape[0] || logVar.rank !== 1 || logVar.shape[0] !== mean.shape[1]) {
    throw new ShapeError(op, `expects y [n, 1], mean [n, k] and logVar [k]; got ${fmtShape(y.shape)}, ${fmtShape(mean.shape)} and ${fmtShape(logVar.shape)}`);
  }
  const [n, k] = mean.shape as [number, number];
  const { c, h } = columnTerms(logVar.data, k);
  const out = allocateUninit(mean.dtype, n * k);
  (out instanceof Float32Array ? forwardKernelF32 : forwardKernel)(y.data, mean.data, c, h, out, n, k);
  return record(op, [y, mean, logVar], wrapTrusted(out, mean.shape), (g, needs) => {
    if (derivativesWanted()) {
      // an outer tape or a forward-mode trace (hvp, jvp of grad) differentiates this VJP: take the
      // composed formula's, built from differentiable ops
      const d = vjp((xs: Tensor[]) => composed(xs[0]!, xs[1]!, xs[2]!), [y, mean, logVar]).vjp(g);
      return needs.map((w, i) => (w ? d[i]! : null));
    }
    const dm = needs[1] ? allocateUninit(mean.dtype, n * k) : null;
    const dy = needs[0] ? allocate(y.dtype, n) : null;
    const dlv = needs[2] ? new Float64Array(k) : null;
    backwardKernel(g.data, y.data, mean.data, h, dm, dy, dlv, n, k);
    let dlvOut: Tensor | null = null;
    if (dlv !== null) { const t = allocate(logVar.dtype, k); t.set(dlv); dlvOut = wrapTrusted(t, logVar.shape); }
    return [dy ? wrapTrusted(dy, y.shape) : null, dm ? wrapTrusted(dm, mean.shape) : null, dlvOut];
  }, ([ty, tm, tlv]) => {
    // L̇ = (r²h − ½)·l̇v − 2rh·(ẏ − ṁ)
    const r = sub(y, mean), hh = scale(exp(neg(logVar)), 0.5);
    let dot: Tensor | null = null;
    const put = (t: Tensor) => { dot = dot === null ? t : add(dot, t); };
    if (ty || tm) put(mul(mul(r, scale(hh, -2)), ty && tm ? sub(ty, tm) : ty ?? neg(tm!)));
    if (tlv) put(mul(sub(mul(square(r), hh), 0.5), tlv));
    return dot ?? zeros(mean.shape, mean.dtype);
  });
}

/** Internal (tests): the composed formula, for comparing values and derivatives. */
export const gaussianLogPdfComposed = composed;

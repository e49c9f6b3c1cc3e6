/**
 * softmax and logSoftmax along an axis, max-shifted; VJPs from the saved output
 * (PyTorch `_softmax_backward_data`, tfjs `Softmax_grad`).
 */
import { Tensor, allocate, fromData, assertTensor, type TypedArray } from '../tensor.js';
import { record, derivativesWanted } from '../tape.js';
import { axisLayout, type AxisLayout } from './kernels.js';
import { mul, sub, exp } from './arithmetic.js';
import { sum, lseLine } from './reduce.js';
import { checkLine } from '../validate.js';
import { takeAlongAxis } from './index-ops.js';
import { assertShape, fmtShape } from '../errors.js';
import { sameShape } from '../shape.js';

/**
 * y = exp(x − m)/Σexp(x − m) along `axis` (m the max; {@link softmaxLine}).  dx = y ⊙ (dy − Σ(dy ⊙ y)),
 * centered by {@link weightedCenter};  ẏ = y ⊙ (ẋ − Σ(ẋ ⊙ y)), the same (the Jacobian diag(y) − yyᵀ is symmetric)
 */
export function softmax(x: Tensor, axis = -1): Tensor {
  const op = 'softmax';
  assertTensor(x, op);
  const layout = axisLayout(x.shape, axis, op);
  const out = allocate(x.dtype, x.size);
  softmaxLines(x.data, out, layout, op);
  return softmaxOfValues(x, layout.axis, out);
}

/**
 * Internal (logsumexp's VJP): the softmax of x along `axis` whose values `out` the caller computed
 * with {@link softmaxLines}' operations in its order (the same bits), recorded as `softmax(x)` —
 * so derivatives of whatever uses it (grad of grad) are those of softmax.
 */
export function softmaxOfValues(x: Tensor, axis: number, out: TypedArray): Tensor {
  const y = fromData(out, x.shape);
  return record('softmax', [x], y, (dy) => [mul(y, weightedCenter(dy, y, axis))], (t) => mul(y, weightedCenter(t[0]!, y, axis)));
}

/**
 * g − ⟨g, w⟩ along `axis` for weights w that sum to 1 there (a softmax output): the centering in
 * every softmax-type VJP, g_x = w ⊙ (g − ⟨g, w⟩). Computed as (g − g_r) − ⟨w, g − g_r⟩ with r the
 * largest weight of each line — equal when Σw = 1, but without the cancellation of g_r − ⟨g, w⟩
 * when w_r ≈ 1: for softmax([40, 20]) and g = [1, 0] it gives w₁ = 2.0611536e-9 to full precision,
 * where g − ⟨g, w⟩ = 1 − w₀ keeps only ulp(1)/w₁ ≈ 5e-8 of it. Differentiable (grad of grad);
 * r is a constant per line. Shapes of g and w must match.
 */
export function weightedCenter(g: Tensor, w: Tensor, axis = -1): Tensor {
  const op = 'weightedCenter';
  assertTensor(g, op, 'g'); assertTensor(w, op, 'w');
  assertShape(sameShape(g.shape, w.shape), op, () => `g and w must have the same shape; got ${fmtShape(g.shape)} and ${fmtShape(w.shape)}`);
  const layout = axisLayout(w.shape, axis, op);
  const d = w.data, { outer, n, inner } = layout;
  const ref = new Int32Array(outer * inner);
  for (let o = 0, line = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++, line++) {
      let best = 0, bestV = -Infinity;
      for (let j = 0, q = o * n * inner + i; j < n; j++, q += inner) { const v = d[q]!; if (v > bestV) { bestV = v; best = j; } }
      ref[line] = best;
    }
  }
  if (g.size === 0) return g;
  const h = sub(g, takeAlongAxis(g, ref, layout.axis)); // g − g_r
  return sub(h, sum(mul(h, w), layout.axis, true));
}

/**
 * y = x − lse(x) along `axis`.  dx = dy − softmax(x) Σ dy;  ẏ = ẋ − Σ(softmax(x) ⊙ ẋ), centered by
 * {@link weightedCenter}. Under a tape (or a forward-mode trace) softmax(x) is kept from this pass's
 * exponentials — exp(x − m)/Σexp(x − m), the bits of `softmax(x)` — so the derivatives need no second
 * pass of exp (PyTorch's backward recomputes exp(y), equal to within an ulp).
 */
export function logSoftmax(x: Tensor, axis = -1): Tensor {
  const op = 'logSoftmax';
  assertTensor(x, op);
  const layout = axisLayout(x.shape, axis, op);
  const d = x.data, { outer, n, inner } = layout;
  const out = allocate(x.dtype, x.size);
  const w = derivativesWanted() ? allocate(x.dtype, x.size) : null;
  // one loop over the lines (line o·n·inner + i, stride inner), no closure call per line
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * n * inner + i;
      // (x − m) − log Σexp(x − m): x − m is exact near the max, so y_max keeps full relative precision.
      const m = maxLine(d, base, inner, n);
      if (!Number.isFinite(m)) {
        const lse = lseLine(d, base, inner, n, op); // ±∞ / NaN handling lives there
        for (let j = 0, q = base; j < n; j++, q += inner) out[q] = d[q]! - lse;
        if (w !== null) softmaxLine(d, base, inner, n, w, base, inner, op);
        continue;
      }
      let s = 0;
      if (w === null) {
        for (let j = 0, q = base; j < n; j++, q += inner) s += Math.exp(d[q]! - m);
      } else {
        for (let j = 0, q = base; j < n; j++, q += inner) { const e = Math.exp(d[q]! - m); w[q] = e; s += e; }
        for (let j = 0, q = base; j < n; j++, q += inner) w[q] = w[q]! / s;
      }
      const logS = Math.log(s);
      for (let j = 0, q = base; j < n; j++, q += inner) out[q] = (d[q]! - m) - logS;
    }
  }
  const y = fromData(out, x.shape);
  const ax = layout.axis;
  const p = () => (w === null ? exp(y) : softmaxOfValues(x, ax, w));
  return record(op, [x], y, (dy) => [sub(dy, mul(p(), sum(dy, ax, true)))], (t) => weightedCenter(t[0]!, p(), ax));
}

/**
 * The one softmax kernel (engine `softmax` and every fused MoE gate run it, so they agree to the
 * last ulp): out[outBase + j·outStride] = exp(x_j − m) / Σ_i exp(x_i − m) over one strided line of
 * `n` values, m = max x. The ratio, not exp(x − lse): lse ≈ m carries an absolute rounding of ulp(m)
 * (1.8e-12 at |m| = 1e4, 2 at 1e16) that exp turns into a relative error of the weights — at
 * [1e16, 1e16, 0, 0] exp(x − lse) gives [1, 1] instead of [0.5, 0.5], and the gradient
 * w(1 − w) of a dominant weight loses ~ulp(m)/(1 − w) relative accuracy. A NaN throws a ValueError
 * naming `op`; a line whose max is ±∞ goes through lseLine: all −∞ gives NaN (0/0, as PyTorch), a +∞
 * entry gives NaN there and 0 elsewhere.
 * `out` may be the input (in place) when the strides agree.
 */
export function softmaxLine(
  d: ArrayLike<number>, base: number, stride: number, n: number,
  out: { [i: number]: number }, outBase: number, outStride: number, op = 'softmaxLine',
): void {
  // called once per row by the gates: the common valid case is decided inline, and checkLine (which
  // builds the error message) only runs when something is off (as in lseLine)
  if (!lineOk(d, base, stride, n)) checkLine('softmaxLine', d, base, stride, n);
  if (!lineOk(out as ArrayLike<number>, outBase, outStride, n)) checkLine('softmaxLine', out, outBase, outStride, n);
  const m = maxLine(d, base, stride, n);
  if (!Number.isFinite(m)) {
    const lse = lseLine(d, base, stride, n, op); // ±∞ / NaN handling lives there
    for (let j = 0; j < n; j++) out[outBase + j * outStride] = Math.exp(d[base + j * stride]! - lse);
    return;
  }
  let s = 0;
  for (let j = 0; j < n; j++) { const e = Math.exp(d[base + j * stride]! - m); out[outBase + j * outStride] = e; s += e; }
  for (let j = 0; j < n; j++) out[outBase + j * outStride] = out[outBase + j * outStride]! / s;
}

/**
 * {@link softmaxLine} over every line of `layout` (line o·n·inner + i, stride inner) in one loop,
 * without a closure call and argument checks per line: the same operations in the same order, so
 * the same bits (lines whose max is ±∞ or NaN go through softmaxLine itself).
 */
export function softmaxLines(d: TypedArray, out: TypedArray, layout: AxisLayout, op: string): void {
  const { outer, n, inner } = layout;
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * n * inner + i;
      const m = maxLine(d, base, inner, n);
      if (!Number.isFinite(m)) { softmaxLine(d, base, inner, n, out, base, inner, op); continue; }
      let s = 0;
      for (let j = 0, q = base; j < n; j++, q += inner) { const e = Math.exp(d[q]! - m); out[q] = e; s += e; }
      for (let j = 0, q = base; j < n; j++, q += inner) out[q] = out[q]! / s;
    }
  }
}

/** Whether base + j·stride (j < n) indexes `d` (non-negative integers); what checkLine checks, without its messages. */
function lineOk(d: ArrayLike<number>, base: number, stride: number, n: number): boolean {
  return d !== null && typeof d === 'object' && typeof d.length === 'number' && Number.isInteger(base) && base >= 0
    && Number.isInteger(stride) && stride >= 0 && Number.isInteger(n) && n >= 0 && (n === 0 || base + (n - 1) * stride < d.length);
}

/** Max of one strided line (NaN is rejected by lseLine, which every caller also runs or falls back to). */
function maxLine(d: ArrayLike<number>, base: number, stride: number, n: number): number {
  let m = -Infinity;
  for (let j = 0; j < n; j++) { const v = d[base + j * stride]!; if (v > m || Number.isNaN(v)) m = v; }
  return m;
}

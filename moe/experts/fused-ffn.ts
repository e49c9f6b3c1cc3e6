/**
 * Fused expert-FFN epilogue: bias + activation in one pass over the GEMM output, and its backward
 * in one pass, instead of gathering bias rows into a full [S, H] tensor, adding, applying the
 * activation, and (backward) building a 0/1 mask or φ'(u) tensor and multiplying.
 *
 *   segmentLinearAct(X, W, b, offsets, φ): Y[seg e] = φ(X[seg e]·W[e] + b[e])   the GEMM + epilogue
 *   segmentBiasAct(Z, b, offsets, φ):  Y[r] = φ(Z[r] + b[e(r)])          Z [S,H], b [E,H] → [S,H]
 *   actGrad(dY, s, φ):                  dZ = dY ⊙ φ'(u), φ' read off s   (s = Y, or u for GELU)
 *   segmentColumnSum(X, offsets):       G[e] = Σ_{r ∈ seg e} X[r]         X [S,H] → [E,H]  (db)
 *   segmentRows(b, offsets):            Y[r] = b[e(r)]                   b [E,H] → [S,H]
 * Row r belongs to expert e(r) when offsets[e] ≤ r < offsets[e+1] (a RoutingPlan's `offsets`).
 * φ ∈ identity, relu, gelu (exact erf form), tanh, sigmoid; φ' is read off the output where it can
 * be (relu: y > 0; tanh: 1 − y²; sigmoid: y(1 − y)) and off u = Z + b for GELU:
 *   GELU φ'(u) = Φ(u) + u·ϕ(u),  φ''(u) = ϕ(u)·(2 − u²)   (Φ, ϕ: standard normal CDF and density)
 * Every op records forward, VJP and JVP side by side, each rule built from these ops (and engine
 * ops for φ''), so grad of grad and forward mode work through the fused path.
 */
import { Tensor, fromData, add, mul, zeros, exp, square, neg, getBackend, ShapeError, ValueError, fmtShape } from '../../engine/index.js';
// built-in VJPs: recorded as the engine's own (their cotangents may be reused; engine/buffer-pool.ts)
import { record } from '../../engine/tape.js';
import { segmentMatmul, segmentMatmulT, segmentOuter } from './segment-matmul.js';
import { erfcScalar } from '../../engine/ops/arithmetic.js';
import { commonDType, assertTensor, allocate, allocateUninit, type TypedArray } from '../../engine/tensor.js';
import { checkIndexArray, describeValue } from '../../engine/validate.js';

/** Activations the fused epilogue knows. */
export type FusedAct = 'identity' | 'relu' | 'gelu' | 'tanh' | 'sigmoid';
const FUSED_ACTS: readonly FusedAct[] = ['identity', 'relu', 'gelu', 'tanh', 'sigmoid'];

const INV_SQRT2 = 1 / Math.SQRT2, INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

function checkAct(op: string, act: unknown): asserts act is FusedAct {
  if (!(FUSED_ACTS as readonly unknown[]).includes(act)) throw new ValueError(op, `act must be one of ${FUSED_ACTS.join(', ')}; got ${describeValue(act)}`);
}

/** offsets [E+1]: Int32Array, 0 .. rows, non-decreasing. */
function checkSegments(op: string, offsets: Int32Array, numExperts: number, rows: number): void {
  checkIndexArray(op, offsets, 'offsets');
  if (offsets.length !== numExperts + 1) throw new ShapeError(op, `offsets must have E + 1 = ${numExperts + 1} entries; got ${offsets.length}`);
  if (offsets[0] !== 0 || offsets[numExperts] !== rows) throw new ValueError(op, `offsets must run from 0 to the number of rows ${rows}; got ${offsets[0]} .. ${offsets[numExperts]}`);
  for (let e = 0; e < numExperts; e++) {
    if (offsets[e + 1]! < offsets[e]!) throw new ValueError(op, `offsets must be non-decreasing; offsets[${e}] = ${offsets[e]} > offsets[${e + 1}] = ${offsets[e + 1]}`);
  }
}

function checkRank2(op: string, x: Tensor, name: string, what: string): void {
  assertTensor(x, op, name);
  if (x.rank !== 2) throw new ShapeError(op, `${name} must be ${what}; got ${fmtShape(x.shape)}`);
}

// ---------- kernels: one loop per activation over a contiguous range (called per row, not per element) ----------

/** y[lo, hi) = φ(y) in place; y holds u = z + b on entry. */
function actRange(act: FusedAct, y: TypedArray, lo: number, hi: number): void {
  switch (act) {
    case 'identity': return;
    // `v < 0 ? 0 : v` keeps NaN as NaN (as the engine's relu does)
    case 'relu': for (let i = lo; i < hi; i++) { const v = y[i]!; if (v < 0) y[i] = 0; } return;
    case 'gelu': for (let i = lo; i < hi; i++) { const v = y[i]!; y[i] = 0.5 * v * erfcScalar(-v * INV_SQRT2); } return;
    case 'tanh': for (let i = lo; i < hi; i++) y[i] = Math.tanh(y[i]!); return;
    // σ(v) = 1/(1 + e^−v) for v ≥ 0, e^v/(1 + e^v) below (no overflow of e^−v)
    case 'sigmoid': for (let i = lo; i < hi; i++) { const v = y[i]!; if (v >= 0) y[i] = 1 / (1 + Math.exp(-v)); else { const t = Math.exp(v); y[i] = t / (1 + t); } } return;
  }
}

/** out = dy ⊙ φ'(·) over the whole buffer; s is y (relu, tanh, sigmoid) or u (gelu). */
function actGradKernel(act: FusedAct, dy: TypedArray, s: TypedArray, out: TypedArray): void {
  const n = out.length;
  switch (act) {
    case 'identity': out.set(dy); return;
    case 'relu':
      if (getBackend().reluGrad?.(dy, s, out)) return; // the CPU backend's wasm lane masks, same bits
      if (out instanceof Float32Array && dy instanceof Float32Array && s instanceof Float32Array) { reluGradF32(dy, s, out); return; }
      for (let i = 0; i < n; i++) out[i] = s[i]! > 0 ? dy[i]! : 0;
      return;
    case 'tanh': for (let i = 0; i < n; i++) { const y = s[i]!; out[i] = dy[i]! * (1 - y * y); } return;
    case 'sigmoid': for (let i = 0; i < n; i++) { const y = s[i]!; out[i] = dy[i]! * y * (1 - y); } return;
    case 'gelu': for (let i = 0; i < n; i++) { const u = s[i]!; out[i] = dy[i]! * (0.5 * erfcScalar(-u * INV_SQRT2) + u * INV_SQRT_2PI * Math.exp(-0.5 * u * u)); } return;
  }
}

/**
 * float32 `out = s > 0 ? dy : 0` without a branch per element (half the ReLU outputs are 0, so the
 * branch mispredicts often: 2.3× slower on [8192, 512]): on the bit patterns, dy AND a mask that is
 * all ones exactly when s > 0, i.e. when s's bits b as int32 lie in [1, 0x7f800000] (positive,
 * non-zero, not NaN; +∞ included). Same bits as the branchy loop (+0 where masked).
 */
function reluGradF32(dy: Float32Array, s: Float32Array, out: Float32Array): void {
  const n = out.length;
  const o = new Int32Array(out.buffer, out.byteOffset, n), d = new Int32Array(dy.buffer, dy.byteOffset, n), b = new Int32Array(s.buffer, s.byteOffset, n);
  for (let i = 0; i < n; i++) { const x = b[i]!; o[i] = d[i]! & ~(((0x7f800000 - x) | (x - 1)) >> 31); }
}

/** out[r] = φ(src[r] + b[bOff ..]) for rows lo..hi−1 of width H (src may be out: in place). */
function biasActRows(act: FusedAct, src: TypedArray, out: TypedArray, b: TypedArray, bOff: number, lo: number, hi: number, H: number): void {
  for (let r = lo; r < hi; r++) {
    const o = r * H;
    for (let j = 0; j < H; j++) out[o + j] = src[o + j]! + b[bOff + j]!;
    actRange(act, out, o, o + H);
  }
}

/**
 * out[e] = Σ_{r ∈ seg e} x[r], accumulated in float64. Alone in its function: a loop that runs once per
 * call is optimized on the stack, and code after it without type feedback deoptimized that code
 * (V8 --trace-deopt), so the next calls started in the interpreter again.
 */
function segmentColumnSumKernel(xd: TypedArray, out: TypedArray, offsets: Int32Array, E: number, H: number): void {
  const acc = new Float64Array(H);
  for (let e = 0; e < E; e++) {
    acc.fill(0);
    const hi = offsets[e + 1]!;
    let r = offsets[e]!;
    // four rows per pass over acc (same left-to-right order of additions as one row at a time, so the
    // same bits; a third of the acc loads and stores: 2–3× faster on [8192, 512])
    for (; r + 4 <= hi; r += 4) {
      const o0 = r * H, o1 = o0 + H, o2 = o1 + H, o3 = o2 + H;
      for (let j = 0; j < H; j++) acc[j] = acc[j]! + xd[o0 + j]! + xd[o1 + j]! + xd[o2 + j]! + xd[o3 + j]!;
    }
    for (; r < hi; r++) { const o = r * H; for (let j = 0; j < H; j++) acc[j] = acc[j]! + xd[o + j]!; }
    out.set(acc, e * H);
  }
}

// ---------- ops ----------

/**
 * `Y[seg e] = φ(X[seg e]·W[e] + b[e])`: the grouped GEMM with bias + activation as its epilogue —
 * applied to each expert's rows right after its product, while they are still in cache, in place
 * in the output, so no pre-activation [S, H] tensor is allocated or kept alive by the tape.
 * X [S, D], W [E, D, H], b [E, H] → [S, H].
 * VJP: dZ = actGrad(dY, s, φ); `dX = segmentMatmulT(dZ, W)`, `dW = segmentOuter(X, dZ)`, `db = segmentColumnSum(dZ)`.
 * JVP: `Ẏ = actGrad(segmentMatmul(Ẋ, W) + segmentMatmul(X, Ẇ) + segmentRows(ḃ), s, φ)`.
 * s = Y, or for GELU u = segmentBiasAct(segmentMatmul(X, W), b, 'identity'), rebuilt when a rule runs.
 */
export function segmentLinearAct(x: Tensor, w: Tensor, b: Tensor, offsets: Int32Array, act: FusedAct): Tensor {
  const op = 'segmentLinearAct';
  checkRank2(op, x, 'x', '[S, D]'); checkRank2(op, b, 'b', '[E, H]');
  assertTensor(w, op, 'w');
  checkAct(op, act);
  commonDType(op, x, w); commonDType(op, x, b);
  if (w.rank !== 3 || w.shape[1] !== x.shape[1] || w.shape[0] !== b.shape[0] || w.shape[2] !== b.shape[1]) {
    throw new ShapeError(op, `expects x [S, D], w [E, D, H] and b [E, H]; got ${fmtShape(x.shape)}, ${fmtShape(w.shape)} and ${fmtShape(b.shape)}`);
  }
  const [E, D, H] = w.shape as [number, number, number];
  const S = x.shape[0]!;
  checkSegments(op, offsets, E, S);
  const out = allocateUninit(x.dtype, S * H); // the segments cover every row
  const backend = getBackend();
  for (let e = 0; e < E; e++) {
    const lo = offsets[e]!, hi = offsets[e + 1]!;
    if (hi === lo) continue;
    const xs = x.data.subarray(lo * D, hi * D), ws = w.data.subarray(e * D * H, (e + 1) * D * H), ys = out.subarray(lo * H, hi * H);
    // identity / relu: the backend's own epilogue where it has one (the CPU backend runs it in wasm
    // on C before its copy out); else one pass over the expert's rows here, while they are in cache
    if (backend.matmulBiasAct && (act === 'identity' || act === 'relu')) backend.matmulBiasAct(xs, ws, ys, hi - lo, D, H, b.data, e * H, act);
    else { backend.matmul(xs, ws, ys, 1, hi - lo, D, H); biasActRows(act, out, out, b.data, e * H, lo, hi, H); }
  }
  const y = fromData(out, [S, H]);
  const saved = (): Tensor => (act === 'gelu' ? segmentBiasAct(segmentMatmul(x, w, offsets), b, offsets, 'identity') : y);
  const back = (t: Tensor): Tensor => (act === 'identity' ? t : actGrad(t, saved(), act));
  return record(op, [x, w, b], y, (dy, needs) => {
    const dz = back(dy);
    return [needs[0] ? segmentMatmulT(dz, w, offsets) : null, needs[1] ? segmentOuter(x, dz, offsets) : null, needs[2] ? segmentColumnSum(dz, offsets) : null];
  }, ([dx, dw, db]) => {
    const terms = [dx ? segmentMatmul(dx, w, offsets) : null, dw ? segmentMatmul(x, dw, offsets) : null, db ? segmentRows(db, offsets) : null].filter((t): t is Tensor => t !== null);
    return back(terms.reduce((a, t) => add(a, t)));
  });
}

/**
 * `Y[r] = φ(Z[r] + b[e(r)])`: the bias of each row's expert and the activation, in one pass over Z
 * (row by row: bias add, then φ on the row while it is in L1).
 * VJP: `dZ = actGrad(dY, s, φ)`, `db = segmentColumnSum(dZ)`. JVP: `Ẏ = actGrad(Ż + segmentRows(ḃ), s, φ)`.
 * s is Y itself, except for GELU, whose φ' needs u = Z + b: the rules rebuild u as
 * `segmentBiasAct(Z, b, offsets, 'identity')` when they run (one pass, and recorded, so second
 * order sees u's dependence on Z and b) rather than keeping a second [S, H] buffer alive.
 */
export function segmentBiasAct(z: Tensor, b: Tensor, offsets: Int32Array, act: FusedAct): Tensor {
  const op = 'segmentBiasAct';
  checkRank2(op, z, 'z', '[S, H]'); checkRank2(op, b, 'b', '[E, H]');
  checkAct(op, act);
  commonDType(op, z, b);
  const [S, H] = z.shape as [number, number];
  const E = b.shape[0]!;
  if (b.shape[1] !== H) throw new ShapeError(op, `b must be [E, H] with H = ${H} (the columns of z ${fmtShape(z.shape)}); got ${fmtShape(b.shape)}`);
  checkSegments(op, offsets, E, S);
  const out = allocateUninit(z.dtype, S * H); // the segments cover every row
  for (let e = 0; e < E; e++) biasActRows(act, z.data, out, b.data, e * H, offsets[e]!, offsets[e + 1]!, H);
  const y = fromData(out, [S, H]);
  const saved = (): Tensor => (act === 'gelu' ? segmentBiasAct(z, b, offsets, 'identity') : y);
  const back = (t: Tensor): Tensor => (act === 'identity' ? t : actGrad(t, saved(), act));
  return record(op, [z, b], y, (dy, needs) => {
    const dz = back(dy);
    return [needs[0] ? dz : null, needs[1] ? segmentColumnSum(dz, offsets) : null];
  }, ([dz, db]) => back(dz && db ? add(dz, segmentRows(db, offsets)) : dz ?? segmentRows(db!, offsets)));
}

/**
 * φ'' as a function of the saved tensor s, in engine ops (only second-order rules use it):
 * relu 0; tanh (s = y) −2y; sigmoid (s = y) 1 − 2y; gelu (s = u) ϕ(u)·(2 − u²).
 */
function actSecond(s: Tensor, act: Exclude<FusedAct, 'identity'>): Tensor | null {
  switch (act) {
    case 'relu': return null;
    case 'tanh': return mul(s, -2);
    case 'sigmoid': return add(mul(s, -2), 1);
    case 'gelu': { const u2 = square(s); return mul(mul(exp(mul(u2, -0.5)), INV_SQRT_2PI), add(neg(u2), 2)); }
  }
}

/**
 * `dZ = dY ⊙ φ'(u)`, φ' read off s (Y for relu/tanh/sigmoid, u for gelu): the fused activation
 * backward, one pass, no mask tensor. Bilinear-like in (dY, s):
 * VJP: `d(dY) = actGrad(g, s)`, `ds = g ⊙ dY ⊙ φ''(s)`. JVP: `actGrad(ḋY, s) + dY ⊙ ṡ ⊙ φ''(s)`.
 */
export function actGrad(dy: Tensor, s: Tensor, act: FusedAct): Tensor {
  const op = 'actGrad';
  assertTensor(dy, op, 'dy'); assertTensor(s, op, 's');
  checkAct(op, act);
  commonDType(op, dy, s);
  if (dy.shape.length !== s.shape.length || dy.shape.some((d, i) => d !== s.shape[i])) throw new ShapeError(op, `dy and s must have one shape; got ${fmtShape(dy.shape)} and ${fmtShape(s.shape)}`);
  if (act === 'identity') return dy;
  const out = allocateUninit(dy.dtype, dy.size); // every element written
  actGradKernel(act, dy.data, s.data, out);
  const y = fromData(out, dy.shape);
  const viaS = (g: Tensor): Tensor => { const d2 = actSecond(s, act); return d2 === null ? zeros(s.shape, s.dtype) : mul(mul(g, dy), d2); };
  return record(op, [dy, s], y, (g, needs) => [needs[0] ? actGrad(g, s, act) : null, needs[1] ? viaS(g) : null],
    ([ddy, ds]) => (ddy && ds ? add(actGrad(ddy, s, act), viaS(ds)) : ddy ? actGrad(ddy, s, act) : viaS(ds!)));
}

/**
 * `G[e] = Σ_{r ∈ seg e} X[r]`: a column sum per expert segment (the bias gradient), accumulated in
 * float64 whatever the dtype. X [S, H] → [E, H] (zeros for an empty expert).
 * VJP: `dX = segmentRows(dG)`. JVP (linear): `Ġ = segmentColumnSum(Ẋ)`.
 */
export function segmentColumnSum(x: Tensor, offsets: Int32Array): Tensor {
  const op = 'segmentColumnSum';
  checkRank2(op, x, 'x', '[S, H]');
  checkIndexArray(op, offsets, 'offsets');
  const [S, H] = x.shape as [number, number];
  const E = offsets.length - 1;
  checkSegments(op, offsets, E, S);
  const out = allocate(x.dtype, E * H);
  if (!getBackend().segmentColumnSum?.(x.data, out, offsets, H)) segmentColumnSumKernel(x.data, out, offsets, E, H); // wasm: same bits
  return record(op, [x], fromData(out, [E, H]), (g) => [segmentRows(g, offsets)], ([t]) => segmentColumnSum(t!, offsets));
}

/**
 * `Y[r] = b[e(r)]`: each expert's row repeated over its segment (the transpose of segmentColumnSum).
 * b [E, H] → [offsets[E], H]. VJP: `db = segmentColumnSum(dY)`. JVP (linear): `Ẏ = segmentRows(ḃ)`.
 */
export function segmentRows(b: Tensor, offsets: Int32Array): Tensor {
  const op = 'segmentRows';
  checkRank2(op, b, 'b', '[E, H]');
  const [E, H] = b.shape as [number, number];
  checkIndexArray(op, offsets, 'offsets');
  const S = offsets[offsets.length - 1] ?? 0;
  checkSegments(op, offsets, E, S);
  const out = allocateUninit(b.dtype, S * H), bd = b.data; // the segments cover every row
  for (let e = 0; e < E; e++) {
    const row = bd.subarray(e * H, (e + 1) * H);
    for (let r = offsets[e]!; r < offsets[e + 1]!; r++) out.set(row, r * H);
  }
  return record(op, [b], fromData(out, [S, H]), (g) => [segmentColumnSum(g, offsets)], ([t]) => segmentRows(t!, offsets));
}

/**
 * Grouped (segment) matmul: every expert multiplies only its own contiguous block of dispatched rows.
 * Rows offsets[e] .. offsets[e+1] of X belong to expert e (a RoutingPlan's `offsets`).
 *
 *   segmentMatmul:  Y[seg e] = X[seg e] · W[e]            X [S,D], W [E,D,H] → [S,H]
 *   segmentMatmulT: Y[seg e] = X[seg e] · W[e]ᵀ           X [S,H], W [E,D,H] → [S,D]
 *   segmentOuter:   G[e]     = X[seg e]ᵀ · Y[seg e]        X [S,D], Y [S,H]   → [E,D,H]
 *
 * All three call the active backend on subarray views (the transposed ones through
 * `matmulTransposed`, which the CPU backend folds into its copy into wasm memory), so whichever
 * backend is active does the O(S·D·H) work and no step builds a transposed copy of the expert
 * weights [E, D, H] or of X. The three ops are closed under differentiation without transposes:
 *   segmentMatmul:  dX = segmentMatmulT(dY, W)     dW = segmentOuter(X, dY)
 *   segmentMatmulT: dX = segmentMatmul(dY, W)      dW = segmentOuter(dY, X)
 *   segmentOuter:   dX = segmentMatmulT(Y, dG)     dY = segmentMatmul(X, dG)
 * so grad of grad stays on them too.
 */
import { Tensor, fromData, add, getBackend, ShapeError, ValueError, fmtShape } from '../../engine/index.js';
// built-in VJPs: recorded as the engine's own (their cotangents may be reused; engine/buffer-pool.ts)
import { record } from '../../engine/tape.js';
import { matmulTransposed } from '../../engine/backend/transposed.js';
import { commonDType, assertTensor, allocate, allocateUninit } from '../../engine/tensor.js';
import { checkIndexArray } from '../../engine/validate.js';

function checkOffsets(op: string, offsets: Int32Array, numExperts: number, rows: number): void {
  if (!(offsets instanceof Int32Array)) throw new ValueError(op, 'offsets must be an Int32Array');
  if (offsets.length !== numExperts + 1) throw new ShapeError(op, `offsets must have E + 1 = ${numExperts + 1} entries; got ${offsets.length}`);
  if (offsets[0] !== 0 || offsets[numExperts] !== rows) {
    throw new ValueError(op, `offsets must run from 0 to the number of rows ${rows}; got ${offsets[0]} .. ${offsets[numExperts]}`);
  }
  for (let e = 0; e < numExperts; e++) {
    if (offsets[e + 1]! < offsets[e]!) throw new ValueError(op, `offsets must be non-decreasing; offsets[${e}] = ${offsets[e]} > offsets[${e + 1}] = ${offsets[e + 1]}`);
  }
}

/** The tangent of a bilinear op: the sum of the terms whose input tangent is non-zero (at least one is). */
const bilinear = (a: Tensor | null, b: Tensor | null): Tensor => (a && b ? add(a, b) : (a ?? b)!);

/**
 * `Y[seg e] = X[seg e] · W[e]` for each expert e: X [S, D], W [E, D, H], offsets [E+1] → Y [S, H].
 * VJP: `dX = segmentMatmulT(dY, W)` (= dY·Wᵀ per expert), `dW = segmentOuter(X, dY)`.
 * JVP (bilinear): `Ẏ = segmentMatmul(Ẋ, W) + segmentMatmul(X, Ẇ)`.
 */
export function segmentMatmul(x: Tensor, w: Tensor, offsets: Int32Array): Tensor {
  const op = 'segmentMatmul';
  assertTensor(x, op, 'x'); assertTensor(w, op, 'w');
  checkIndexArray(op, offsets, 'offsets');
  commonDType(op, x, w);
  if (x.rank !== 2 || w.rank !== 3 || x.shape[1] !== w.shape[1]) {
    throw new ShapeError(op, `expects x [S, D] and w [E, D, H]; got ${fmtShape(x.shape)} and ${fmtShape(w.shape)}`);
  }
  const [E, D, H] = w.shape as [number, number, number];
  const S = x.shape[0]!;
  checkOffsets(op, offsets, E, S);
  const out = allocateUninit(x.dtype, S * H); // the segments cover every row
  const backend = getBackend();
  for (let e = 0; e < E; e++) {
    const lo = offsets[e]!, n = offsets[e + 1]! - lo;
    if (n === 0) continue;
    backend.matmul(x.data.subarray(lo * D, (lo + n) * D), w.data.subarray(e * D * H, (e + 1) * D * H), out.subarray(lo * H, (lo + n) * H), 1, n, D, H);
  }
  const y = fromData(out, [S, H]);
  return record(op, [x, w], y, (dy, needs) => [
    needs[0] ? segmentMatmulT(dy, w, offsets) : null,
    needs[1] ? segmentOuter(x, dy, offsets) : null,
  ], ([dx, dw]) => bilinear(dx ? segmentMatmul(dx, w, offsets) : null, dw ? segmentMatmul(x, dw, offsets) : null));
}

/**
 * `Y[seg e] = X[seg e] · W[e]ᵀ` for each expert e: X [S, H], W [E, D, H], offsets [E+1] → Y [S, D]
 * (the input gradient of segmentMatmul, without a transposed copy of W).
 * VJP: `dX = segmentMatmul(dY, W)`, `dW = segmentOuter(dY, X)` (dW[e] = dY[seg e]ᵀ·X[seg e]).
 * JVP (bilinear): `Ẏ = segmentMatmulT(Ẋ, W) + segmentMatmulT(X, Ẇ)`.
 */
export function segmentMatmulT(x: Tensor, w: Tensor, offsets: Int32Array): Tensor {
  const op = 'segmentMatmulT';
  assertTensor(x, op, 'x'); assertTensor(w, op, 'w');
  checkIndexArray(op, offsets, 'offsets');
  commonDType(op, x, w);
  if (x.rank !== 2 || w.rank !== 3 || x.shape[1] !== w.shape[2]) {
    throw new ShapeError(op, `expects x [S, H] and w [E, D, H]; got ${fmtShape(x.shape)} and ${fmtShape(w.shape)}`);
  }
  const [E, D, H] = w.shape as [number, number, number];
  const S = x.shape[0]!;
  checkOffsets(op, offsets, E, S);
  const out = allocateUninit(x.dtype, S * D); // the segments cover every row
  const backend = getBackend();
  for (let e = 0; e < E; e++) {
    const lo = offsets[e]!, n = offsets[e + 1]! - lo;
    if (n === 0) continue;
    // op(B) = W[e]ᵀ [H, D], stored as W[e] [D, H]
    matmulTransposed(backend, x.data.subarray(lo * H, (lo + n) * H), w.data.subarray(e * D * H, (e + 1) * D * H), out.subarray(lo * D, (lo + n) * D), 1, n, H, D, false, true);
  }
  const y = fromData(out, [S, D]);
  return record(op, [x, w], y, (dy, needs) => [
    needs[0] ? segmentMatmul(dy, w, offsets) : null,
    needs[1] ? segmentOuter(dy, x, offsets) : null,
  ], ([dx, dw]) => bilinear(dx ? segmentMatmulT(dx, w, offsets) : null, dw ? segmentMatmulT(x, dw, offsets) : null));
}

/**
 * `G[e] = X[seg e]ᵀ · Y[seg e]` for each expert e: X [S, D], Y [S, H], offsets [E+1] → G [E, D, H]
 * (an expert with no rows gets zeros). This is dW of segmentMatmul.
 * VJP: `dX = segmentMatmulT(Y, dG)` (= Y·dGᵀ per expert), `dY = segmentMatmul(X, dG)`.
 * JVP (bilinear): `Ġ = segmentOuter(Ẋ, Y) + segmentOuter(X, Ẏ)`.
 */
export function segmentOuter(x: Tensor, y: Tensor, offsets: Int32Array): Tensor {
  const op = 'segmentOuter';
  assertTensor(x, op, 'x'); assertTensor(y, op, 'y');
  checkIndexArray(op, offsets, 'offsets');
  commonDType(op, x, y);
  if (x.rank !== 2 || y.rank !== 2 || x.shape[0] !== y.shape[0]) {
    throw new ShapeError(op, `expects x [S, D] and y [S, H] with the same S; got ${fmtShape(x.shape)} and ${fmtShape(y.shape)}`);
  }
  const [S, D] = x.shape as [number, number];
  const H = y.shape[1]!;
  const E = offsets.length - 1;
  checkOffsets(op, offsets, E, S);
  const out = allocate(x.dtype, E * D * H);
  const backend = getBackend();
  for (let e = 0; e < E; e++) {
    const lo = offsets[e]!, n = offsets[e + 1]! - lo;
    if (n === 0) continue;
    // op(A) = X[seg e]ᵀ [D, n], stored as X[seg e] [n, D]: no repacked copy of X
    matmulTransposed(backend, x.data.subarray(lo * D, (lo + n) * D), y.data.subarray(lo * H, (lo + n) * H), out.subarray(e * D * H, (e + 1) * D * H), 1, D, n, H, true, false);
  }
  const g = fromData(out, [E, D, H]);
  return record(op, [x, y], g, (dg, needs) => [
    needs[0] ? segmentMatmulT(y, dg, offsets) : null,
    needs[1] ? segmentMatmul(x, dg, offsets) : null,
  ], ([dx, dy]) => bilinear(dx ? segmentOuter(dx, y, offsets) : null, dy ? segmentOuter(x, dy, offsets) : null));
}

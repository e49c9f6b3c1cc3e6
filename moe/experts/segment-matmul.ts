/**
 * Grouped (segment) matmul: every expert multiplies only its own contiguous block of dispatched rows.
 * Rows offsets[e] .. offsets[e+1] of X belong to expert e (a RoutingPlan's `offsets`).
 *
 *   segmentMatmul: Y[seg e] = X[seg e] · W[e]            X [S,D], W [E,D,H] → [S,H]
 *   segmentOuter:  G[e]     = X[seg e]ᵀ · Y[seg e]        X [S,D], Y [S,H]   → [E,D,H]
 *
 * Both forwards call `getBackend().matmul` on subarray views, so whichever matmul backend is
 * active (blocked CPU, gpu.js, ...) does the O(S·D·H) work. The two ops are each other's VJPs,
 * so grad of grad works:
 *   segmentMatmul: dX[seg e] = dY[seg e] · W[e]ᵀ  = segmentMatmul(dY, Wᵀ)
 *                  dW[e]     = X[seg e]ᵀ · dY[seg e] = segmentOuter(X, dY)
 *   segmentOuter:  dX[seg e] = dY[seg e] · dG[e]ᵀ  = segmentMatmul(Y, dGᵀ)
 *                  dY[seg e] = X[seg e] · dG[e]    = segmentMatmul(X, dG)
 */
import { Tensor, fromData, record, add, permute, getBackend, ShapeError, ValueError, fmtShape } from '../../engine/index.js';
import { commonDType, assertTensor, allocate } from '../../engine/tensor.js';
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

/** W [E, D, H] → Wᵀ [E, H, D], per expert (differentiable: permute). */
const swapLast = (w: Tensor): Tensor => permute(w, [0, 2, 1]);

/**
 * `Y[seg e] = X[seg e] · W[e]` for each expert e: X [S, D], W [E, D, H], offsets [E+1] → Y [S, H].
 * VJP: `dX = segmentMatmul(dY, Wᵀ)`, `dW = segmentOuter(X, dY)` (Wᵀ swaps the last two axes).
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
  const out = allocate(x.dtype, S * H);
  const backend = getBackend();
  for (let e = 0; e < E; e++) {
    const lo = offsets[e]!, n = offsets[e + 1]! - lo;
    if (n === 0) continue;
    backend.matmul(x.data.subarray(lo * D, (lo + n) * D), w.data.subarray(e * D * H, (e + 1) * D * H), out.subarray(lo * H, (lo + n) * H), 1, n, D, H);
  }
  const y = fromData(out, [S, H]);
  return record(op, [x, w], y, (dy, needs) => [
    needs[0] ? segmentMatmul(dy, swapLast(w), offsets) : null,
    needs[1] ? segmentOuter(x, dy, offsets) : null,
  ], ([dx, dw]) => bilinear(dx ? segmentMatmul(dx, w, offsets) : null, dw ? segmentMatmul(x, dw, offsets) : null));
}

/**
 * `G[e] = X[seg e]ᵀ · Y[seg e]` for each expert e: X [S, D], Y [S, H], offsets [E+1] → G [E, D, H]
 * (an expert with no rows gets zeros). This is dW of segmentMatmul.
 * VJP: `dX = segmentMatmul(Y, dGᵀ)`, `dY = segmentMatmul(X, dG)`.
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
  let maxRows = 0;
  for (let e = 0; e < E; e++) maxRows = Math.max(maxRows, offsets[e + 1]! - offsets[e]!);
  const xt = allocate(x.dtype, maxRows * D); // X[seg e]ᵀ, packed row-major [D, n] for the backend
  const xd = x.data;
  const backend = getBackend();
  for (let e = 0; e < E; e++) {
    const lo = offsets[e]!, n = offsets[e + 1]! - lo;
    if (n === 0) continue;
    for (let r = 0; r < n; r++) for (let c = 0; c < D; c++) xt[c * n + r] = xd[(lo + r) * D + c]!;
    backend.matmul(xt.subarray(0, D * n), y.data.subarray(lo * H, (lo + n) * H), out.subarray(e * D * H, (e + 1) * D * H), 1, D, n, H);
  }
  const g = fromData(out, [E, D, H]);
  return record(op, [x, y], g, (dg, needs) => [
    needs[0] ? segmentMatmul(y, swapLast(dg), offsets) : null,
    needs[1] ? segmentMatmul(x, dg, offsets) : null,
  ], ([dx, dy]) => bilinear(dx ? segmentOuter(dx, y, offsets) : null, dy ? segmentOuter(x, dy, offsets) : null));
}

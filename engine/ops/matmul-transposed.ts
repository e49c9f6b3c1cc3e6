/**
 * The transposed-operand products matmul's rules need, as ops of their own (internal: not exported
 * by engine/index.ts, so users meet them only as the names of VJP nodes):
 *   matmulNT(a, b) = a·bᵀ   a [m, k], b [n, k] → [m, n]   (batched: [B, m, k], [B, n, k] → [B, m, n])
 *   matmulTN(a, b) = aᵀ·b   a [k, m], b [k, n] → [m, n]   (batched: [B, k, m], [B, k, n] → [B, m, n])
 * Both run on the backend's transposed-operand GEMM (`matmulTransposed`: the CPU backend folds the
 * transpose into its copy into wasm memory, same sums in the same order as a product with a permuted
 * copy), so matmul's backward no longer materialises transpose(a) or transpose(b) with a strided
 * gather. With matmul the three are closed under differentiation (no transposes anywhere):
 *   matmul:   dA = matmulNT(dY, B)   dB = matmulTN(A, dY)
 *   matmulNT: dA = matmul(dY, B)     dB = matmulTN(dY, A)
 *   matmulTN: dA = matmulNT(B, dY)   dB = matmul(A, dY)
 */
import { Tensor, allocateUninit, fromData, commonDType, assertTensor } from '../tensor.js';
import { record } from '../tape.js';
import { ShapeError, fmtShape } from '../errors.js';
import { getBackend } from '../backend/backend.js';
import { matmulTransposed } from '../backend/transposed.js';
import { add } from './arithmetic.js';
import { matmul } from './matmul.js';

/** The tangent of a bilinear op: the sum of the terms whose input tangent is non-zero (at least one is). */
const bilinear = (x: Tensor | null, y: Tensor | null): Tensor => (x && y ? add(x, y) : (x ?? y)!);

/** Shared checks and the product; `transA` / `transB` say which stored operand is transposed. */
function product(op: string, a: Tensor, b: Tensor, transA: boolean, transB: boolean, want: string): Tensor {
  assertTensor(a, op, 'a'); assertTensor(b, op, 'b');
  commonDType(op, a, b);
  if (!((a.rank === 2 && b.rank === 2) || (a.rank === 3 && b.rank === 3))) throw new ShapeError(op, `expects ${want}; got ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`);
  const batched = a.rank === 3, batch = batched ? a.shape[0]! : 1;
  if (batched && b.shape[0] !== batch) throw new ShapeError(op, `batch sizes must match; got ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`);
  const a0 = a.shape[a.rank - 2]!, a1 = a.shape[a.rank - 1]!, b0 = b.shape[b.rank - 2]!, b1 = b.shape[b.rank - 1]!;
  const [m, k] = transA ? [a1, a0] : [a0, a1];
  const [k2, n] = transB ? [b1, b0] : [b0, b1];
  if (k !== k2) throw new ShapeError(op, `inner dimensions must match (${want}); got ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`);
  const out = allocateUninit(a.dtype, batch * m * n); // overwritten in full (MatmulBackend contract)
  matmulTransposed(getBackend(), a.data, b.data, out, batch, m, k, n, transA, transB);
  return fromData(out, batched ? [batch, m, n] : [m, n]);
}

/**
 * `a·bᵀ`: a [m, k], b [n, k] → [m, n] (batched [B, m, k], [B, n, k] → [B, m, n]), b read transposed in place.
 * VJP: `dA = matmul(dY, B)`, `dB = matmulTN(dY, A)`. JVP (bilinear): `matmulNT(Ȧ, B) + matmulNT(A, Ḃ)`.
 */
export function matmulNT(a: Tensor, b: Tensor): Tensor {
  const y = product('matmulNT', a, b, false, true, 'a [m, k] and b [n, k] (or [B, m, k] and [B, n, k])');
  return record('matmulNT', [a, b], y, (dy, needs) => [
    needs[0] ? matmul(dy, b) : null,
    needs[1] ? matmulTN(dy, a) : null,
  ], ([da, db]) => bilinear(da ? matmulNT(da, b) : null, db ? matmulNT(a, db) : null));
}

/**
 * `aᵀ·b`: a [k, m], b [k, n] → [m, n] (batched [B, k, m], [B, k, n] → [B, m, n]), a read transposed in place.
 * VJP: `dA = matmulNT(B, dY)`, `dB = matmul(A, dY)`. JVP (bilinear): `matmulTN(Ȧ, B) + matmulTN(A, Ḃ)`.
 */
export function matmulTN(a: Tensor, b: Tensor): Tensor {
  const y = product('matmulTN', a, b, true, false, 'a [k, m] and b [k, n] (or [B, k, m] and [B, k, n])');
  return record('matmulTN', [a, b], y, (dy, needs) => [
    needs[0] ? matmulNT(b, dy) : null,
    needs[1] ? matmul(a, dy) : null,
  ], ([da, db]) => bilinear(da ? matmulTN(da, b) : null, db ? matmulTN(a, db) : null));
}

/**
 * Matrix product on the active backend. 2-D [m,k]@[k,n], batched [B,m,k]@[B,k,n], and
 * [B,m,k]@[k,n] (shared right operand, e.g. one weight for every batch row).
 * dA = dY·Bᵀ = matmulNT(dY, B),  dB = Aᵀ·dY = matmulTN(A, dY) (no transposed copies);  Ẏ = Ȧ·B + A·Ḃ
 */
import { Tensor, allocateUninit, fromData, commonDType, assertTensor } from '../tensor.js';
import { record } from '../tape.js';
import { ShapeError, fmtShape } from '../errors.js';
import { getBackend } from '../backend/backend.js';
import { reshape } from './shape-ops.js';
import { matmulNT, matmulTN } from './matmul-transposed.js';
import { add } from './arithmetic.js';

/**
 * Matrix product on the active matmul backend ({@link getBackend}): `[m, k] @ [k, n] → [m, n]`,
 * batched `[B, m, k] @ [B, k, n] → [B, m, n]`, or `[B, m, k] @ [k, n] → [B, m, n]` (one right operand
 * shared by every batch entry). Differentiable: dA = dY·Bᵀ, dB = Aᵀ·dY (and grad of grad).
 * Both operands must share one dtype, which the result keeps.
 *
 * @example
 * matmul(randn(rng, [8, 16]), randn(rng, [16, 4]));  // [8, 4]
 * @throws {@link ShapeError} on other ranks or mismatched inner/batch dimensions, e.g.
 *   `matmul: inner dimensions must match; got [8, 16] and [32, 4]`; {@link DTypeError} on mixed dtypes.
 */
export function matmul(a: Tensor, b: Tensor): Tensor {
  const op = 'matmul';
  assertTensor(a, op, 'a'); assertTensor(b, op, 'b');
  commonDType(op, a, b);
  if (a.rank === 3 && b.rank === 2) {
    const [bs, m, k] = a.shape as [number, number, number];
    if (k !== b.shape[0]) throw new ShapeError(op, `inner dimensions must match; got ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`);
    return reshape(matmul(reshape(a, [bs * m, k]), b), [bs, m, b.shape[1]!]);
  }
  if (!((a.rank === 2 && b.rank === 2) || (a.rank === 3 && b.rank === 3))) {
    throw new ShapeError(op, `expects [m,k]@[k,n], [B,m,k]@[B,k,n] or [B,m,k]@[k,n]; got ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`);
  }
  const batched = a.rank === 3;
  const batch = batched ? a.shape[0]! : 1;
  const m = a.shape[a.rank - 2]!, k = a.shape[a.rank - 1]!;
  const k2 = b.shape[b.rank - 2]!, n = b.shape[b.rank - 1]!;
  if (k !== k2) throw new ShapeError(op, `inner dimensions must match; got ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`);
  if (batched && b.shape[0] !== batch) throw new ShapeError(op, `batch sizes must match; got ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`);
  const out = allocateUninit(a.dtype, batch * m * n); // a backend's matmul overwrites out in full (MatmulBackend)
  getBackend().matmul(a.data, b.data, out, batch, m, k, n);
  const y = fromData(out, batched ? [batch, m, n] : [m, n]);
  // the transposed operands are read in place by the transposed-operand GEMM (matmul-transposed.ts)
  return record(op, [a, b], y, (dy, needs) => [
    needs[0] ? matmulNT(dy, b) : null,
    needs[1] ? matmulTN(a, dy) : null,
  ], (t) => {
    const da = t[0]!, db = t[1]!;
    return db === null ? matmul(da!, b) : da === null ? matmul(a, db) : add(matmul(da, b), matmul(a, db));
  });
}

/**
 * Token embeddings and dropout.
 *   embedding:  Y[i] = W[ids[i]]                 dW = scatter-add of dY rows at ids (gatherRows' VJP)
 *   dropout:    y = x ⊙ m/(1 − p), m ~ Bernoulli(1 − p) from a seeded Rng     dx = dy ⊙ m/(1 − p),  ẏ = ẋ ⊙ m/(1 − p)
 * (Srivastava et al. 2014, JMLR 15, eq. in §4 with the inverted scaling PyTorch uses.)
 */
import { Tensor, allocate, fromData, assertTensor, zeros } from '../tensor.js';
import { record } from '../tape.js';
import { ShapeError, ValueError, fmtShape } from '../errors.js';
import { describeValue, checkOptions } from '../validate.js';
import type { Rng } from '../rng.js';
import { mul } from './arithmetic.js';
import { gatherRows } from './index-ops.js';

/**
 * Embedding lookup (PyTorch `F.embedding(ids, table)`): row `ids[i]` of `table` for each token id,
 * `[V, D]` table and N ids → `[N, D]`. The gradient scatter-adds dY into the rows of the ids
 * (repeated ids accumulate); ids get none. Built on {@link gatherRows}, whose VJP is the scatter-add.
 *
 * @param table - the embedding table W [V, D] (V = vocabulary size), float64 or float32.
 * @param ids - token ids, an Int32Array of N values in [0, V).
 * @returns [N, D], the table's dtype.
 * @example embedding(randn(new Rng(0), [80, 16]), Int32Array.from([3, 1, 3]));  // [3, 16]
 * @throws {@link ShapeError} when the table is not [V, D]; {@link ValueError} when ids is not an
 *   Int32Array or an id is outside [0, V) (the message names the id and its position).
 */
export function embedding(table: Tensor, ids: Int32Array): Tensor {
  const op = 'embedding';
  assertTensor(table, op, 'table');
  if (table.rank !== 2) throw new ShapeError(op, `table must be [V, D] (vocabulary × width); got ${fmtShape(table.shape)}`);
  if (!(ids instanceof Int32Array)) throw new ValueError(op, `ids must be an Int32Array of token ids; got ${describeValue(ids)}`);
  const V = table.shape[0]!;
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    if (id < 0 || id >= V) throw new ValueError(op, `token id ${id} at position ${i} is out of range [0, ${V}) (the table has V = ${V} rows)`);
  }
  return gatherRows(table, ids);
}

/** Options of {@link dropout}. */
export interface DropoutOptions {
  /** Seeded generator the keep mask is drawn from (each call advances it). */
  readonly rng: Rng;
  /** When false, dropout is the identity and returns `x` itself (evaluation). Default true. */
  readonly training?: boolean;
}

/**
 * Inverted dropout (Srivastava et al. 2014, JMLR 15 §4; PyTorch `F.dropout`): each element is kept
 * with probability 1 − p and scaled by 1/(1 − p), else zeroed, so E[y] = x. The mask comes from
 * `options.rng` (seeded: the same seed gives the same mask); identity when `training` is false or p = 0.
 * VJP dx = dy ⊙ m/(1 − p); JVP ẏ = ẋ ⊙ m/(1 − p) (the mask is a constant).
 *
 * @param x - any shape, float64 or float32.
 * @param p - drop probability in [0, 1).
 * @param options - `{ rng, training? }` ({@link DropoutOptions}).
 * @returns y with x's shape and dtype (x itself when not training or p = 0).
 * @example dropout(x, 0.1, { rng: new Rng(0), training: true });
 * @throws {@link ValueError} for p outside [0, 1), a missing rng, or a non-boolean `training`.
 */
export function dropout(x: Tensor, p: number, options: DropoutOptions): Tensor {
  const op = 'dropout';
  assertTensor(x, op, 'x');
  if (!(typeof p === 'number' && p >= 0 && p < 1)) throw new ValueError(op, `p (drop probability) must be a number in [0, 1); got ${describeValue(p)}`);
  checkOptions(op, options);
  const { rng, training = true } = options;
  if (typeof training !== 'boolean') throw new ValueError(op, `training must be a boolean; got ${describeValue(training)}`);
  if (rng === null || typeof rng !== 'object' || typeof (rng as Rng).uniform !== 'function') throw new ValueError(op, `options.rng must be an Rng; got ${describeValue(rng)}`);
  if (!training || p === 0) return x;
  const keep = 1 / (1 - p);
  const m = allocate(x.dtype, x.size), out = allocate(x.dtype, x.size), d = x.data;
  for (let i = 0; i < m.length; i++) { m[i] = rng.uniform() < p ? 0 : keep; out[i] = d[i]! * m[i]!; }
  const mask = fromData(m, x.shape);
  return record(op, [x], fromData(out, x.shape), (dy) => [mul(dy, mask)], ([t]) => (t ? mul(t, mask) : zeros(x.shape, x.dtype)));
}

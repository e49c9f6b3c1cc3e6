/**
 * Rotary position embedding (RoPE; Su et al. 2021, RoFormer, arXiv:2104.09864 eq. 34), interleaved
 * pairs: for position p (the row along axis −2) and pair i < d/2, with θ_i = base^(−2i/d),
 *   y[2i]   = x[2i]·cos(pθ_i) − x[2i+1]·sin(pθ_i)
 *   y[2i+1] = x[2i]·sin(pθ_i) + x[2i+1]·cos(pθ_i)
 * A rotation R_p per position, so the op is linear in x:  VJP dx = R_pᵀ dy (the rotation by −pθ),
 * JVP ẏ = R_p ẋ — both the op itself with the sign of the angle flipped or kept, so grad of grad works.
 * Applied to queries and keys, q_mᵀ k_n depends on the positions only through m − n.
 */
import { Tensor, allocate, fromData, assertTensor, zeros } from '../tensor.js';
import { record } from '../tape.js';
import { ShapeError, ValueError, fmtShape } from '../errors.js';
import { describeValue, checkOptions } from '../validate.js';

/** Options of {@link rotaryEmbedding}. */
export interface RotaryOptions {
  /** Frequency base (default 10000, as RoFormer and Llama). */
  readonly base?: number;
  /** Position of the first row (default 0), e.g. the cache length when decoding. */
  readonly offset?: number;
}

function rotate(op: string, x: Tensor, base: number, offset: number, sign: 1 | -1): Tensor {
  const d = x.shape[x.rank - 1]!, T = x.shape[x.rank - 2]!;
  const half = d / 2, src = x.data, out = allocate(x.dtype, x.size);
  const cos = new Float64Array(T * half), sin = new Float64Array(T * half);
  for (let p = 0; p < T; p++) {
    for (let i = 0; i < half; i++) {
      const angle = (p + offset) * Math.pow(base, (-2 * i) / d);
      cos[p * half + i] = Math.cos(angle); sin[p * half + i] = sign * Math.sin(angle);
    }
  }
  for (let row = 0; row < x.size / d; row++) {
    const p = row % T, o = row * d;
    for (let i = 0; i < half; i++) {
      const c = cos[p * half + i]!, s = sin[p * half + i]!;
      const a = src[o + 2 * i]!, b = src[o + 2 * i + 1]!;
      out[o + 2 * i] = a * c - b * s;
      out[o + 2 * i + 1] = a * s + b * c;
    }
  }
  const y = fromData(out, x.shape);
  return record(op, [x], y, (dy) => [rotate(op, dy, base, offset, sign === 1 ? -1 : 1)], ([t]) => (t ? rotate(op, t, base, offset, sign) : zeros(x.shape, x.dtype)));
}

/**
 * Rotary position embedding (Su et al. 2021, arXiv:2104.09864 eq. 34, interleaved pairs (2i, 2i+1)):
 * rotates each pair of features of row p (axis −2 is the position) by the angle (p + offset)·base^(−2i/d).
 * Linear and orthogonal: VJP rotates dy back, JVP rotates the tangent (engine/ops/rotary.ts).
 *
 * @param x - [..., T, d] with d even (e.g. queries [B, H, T, d_k]), float64 or float32.
 * @param options - `base` (> 1, default 10000) and `offset` (integer ≥ 0, default 0); see {@link RotaryOptions}.
 * @returns y with x's shape and dtype.
 * @example rotaryEmbedding(randn(new Rng(0), [2, 4, 8, 16]));
 * @throws {@link ShapeError} when x has rank < 2 or an odd last axis; {@link ValueError} for a bad base or offset.
 */
export function rotaryEmbedding(x: Tensor, options: RotaryOptions = {}): Tensor {
  const op = 'rotaryEmbedding';
  assertTensor(x, op, 'x');
  checkOptions(op, options);
  if (x.rank < 2 || x.shape[x.rank - 1]! % 2 !== 0) throw new ShapeError(op, `x must be [..., T, d] with an even feature size d; got ${fmtShape(x.shape)}`);
  const { base = 10000, offset = 0 } = options;
  if (!(typeof base === 'number' && Number.isFinite(base) && base > 1)) throw new ValueError(op, `base must be a finite number > 1; got ${describeValue(base)}`);
  if (!(Number.isSafeInteger(offset) && offset >= 0)) throw new ValueError(op, `offset must be an integer ≥ 0; got ${describeValue(offset)}`);
  return rotate(op, x, base, offset, 1);
}

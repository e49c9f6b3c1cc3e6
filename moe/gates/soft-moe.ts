/**
 * Soft MoE (Puigcerver et al. 2023, arXiv:2308.00951): every slot is a convex
 * combination of all tokens, and every token's output a convex combination of all slots.
 * With logits L = X Φ [T, S] (S = E · p slots, p slots per expert; slot s belongs to expert ⌊s/p⌋):
 *   D = softmax over tokens of each column of L  (dispatch weights, D[·, s] sums to 1)
 *   C = softmax over slots of each row of L      (combine weights,  C[t, ·] sums to 1)
 *   X̃ = Dᵀ X [S, d],   Ỹ_s = f_{⌊s/p⌋}(X̃_s),   Y = C Ỹ [T, d].
 * Fully differentiable, no discrete choice: two fused ops with hand VJPs/JVPs below; the composed
 * form (engine softmax, transpose and matmul) is the oracle in the tests.
 */
import { Tensor, fromData, zeros, add, mul, matmul, transpose, softmax, softmaxLine, weightedCenter, ShapeError, fmtShape } from '../../engine/index.js';
// built-in VJPs: recorded as the engine's own (their cotangents may be reused; engine/buffer-pool.ts)
import { record } from '../../engine/tape.js';
import { allocate, commonDType } from '../../engine/tensor.js';
import { checkLogits, checkFinite } from './common.js';

/** Checks logits [T, S] and rows [n, d] with n = T (tokens) or S (slots). */
function checkPair(op: string, logits: unknown, rows: unknown, rowsName: string, along: 'tokens' | 'slots'): { T: number; S: number; d: number } {
  const { T, E: S } = checkLogits(op, logits);
  const [n, d] = checkFinite(op, rows, rowsName, 2, along === 'tokens' ? '[T, d]' : '[S, d]') as [number, number];
  const want = along === 'tokens' ? T : S;
  if (n !== want) throw new ShapeError(op, `${rowsName} must have ${along === 'tokens' ? 'T' : 'S'} = ${want} rows for logits ${fmtShape((logits as Tensor).shape)}; got ${fmtShape((rows as Tensor).shape)}`);
  commonDType(op, logits as Tensor, rows as Tensor);
  return { T, S, d };
}

/** softmax of [T, S] logits along `axis` (0: over tokens per slot, 1: over slots per token), the engine kernel. */
function softmaxAxis(op: string, L: Tensor, axis: 0 | 1): Float64Array | Float32Array {
  const T = L.shape[0]!, S = L.shape[1]!;
  const out = allocate(L.dtype, T * S);
  if (axis === 0) for (let s = 0; s < S; s++) softmaxLine(L.data, s, S, T, out, s, S, op);
  else for (let t = 0; t < T; t++) softmaxLine(L.data, t * S, 1, S, out, t * S, 1, op);
  return out;
}

/** out [m, d] = Wᵀ·X (transposeW) or W·X for a plain row-major W [T, S]. */
function mix(w: ArrayLike<number>, T: number, S: number, x: Tensor, transposeW: boolean): Tensor {
  const d = x.shape[1]!, xs = x.data;
  const m = transposeW ? S : T;
  const out = allocate(x.dtype, m * d);
  for (let t = 0; t < T; t++) {
    for (let s = 0; s < S; s++) {
      const a = w[t * S + s]!;
      if (a === 0) continue;
      const [o, i] = transposeW ? [s * d, t * d] : [t * d, s * d];
      for (let j = 0; j < d; j++) out[o + j] = out[o + j]! + a * xs[i + j]!;
    }
  }
  return fromData(out, [m, d]);
}

/**
 * Soft MoE dispatch (Puigcerver et al. 2023): X̃ = Dᵀ X, D = softmax of `logits` over tokens
 * (axis 0, max-shifted per slot). logits [T, S], x [T, d] → slot inputs [S, d].
 * VJP, with dX̃ = G [S, d]:  ∂L/∂x = D G;  ∂L/∂logits = D ⊙ (A − 1·⟨A, D⟩_tokens), A = X Gᵀ [T, S]
 * (the column-wise softmax VJP). JVP: Ẋ̃ = Dᵀ ẋ + Ḋᵀ X, Ḋ = D ⊙ (L̇ − 1·⟨L̇, D⟩_tokens).
 * @throws {@link moegrad/engine!ShapeError} when x has not T rows; {@link moegrad/engine!ValueError} for NaN/±∞ inputs.
 */
export function softMoEDispatch(logits: Tensor, x: Tensor): Tensor {
  const op = 'softMoEDispatch';
  const { T, S } = checkPair(op, logits, x, 'x', 'tokens');
  const y = mix(softmaxAxis(op, logits, 0), T, S, x, true);
  return record(op, [logits, x], y, (dy, needs) => {
    const D = softmax(logits, 0);
    return [
      needs[0] ? mul(D, weightedCenter(matmul(x, transpose(dy)), D, 0)) : null,
      needs[1] ? matmul(D, dy) : null,
    ];
  }, ([tl, tx]) => {
    const D = softmax(logits, 0);
    const a = tx ? matmul(transpose(D), tx) : null;
    const b = tl ? matmul(transpose(mul(D, weightedCenter(tl, D, 0))), x) : null;
    return a && b ? add(a, b) : (a ?? b ?? zeros(y.shape, y.dtype));
  });
}

/**
 * Soft MoE combine (Puigcerver et al. 2023): Y = C Ỹ, C = softmax of `logits` over slots
 * (axis 1, max-shifted per token). logits [T, S], slot outputs Ỹ [S, d] → y [T, d].
 * VJP, with dY = G [T, d]:  ∂L/∂Ỹ = Cᵀ G;  ∂L/∂logits = C ⊙ (B − ⟨B, C⟩_slots·1ᵀ), B = G Ỹᵀ [T, S].
 * JVP: Ẏ = C Ỹ̇ + Ċ Ỹ, Ċ = C ⊙ (L̇ − ⟨L̇, C⟩_slots).
 * @throws {@link moegrad/engine!ShapeError} when the slot outputs have not S rows; {@link moegrad/engine!ValueError} for NaN/±∞ inputs.
 */
export function softMoECombine(logits: Tensor, slotOutputs: Tensor): Tensor {
  const op = 'softMoECombine';
  const { T, S } = checkPair(op, logits, slotOutputs, 'slotOutputs', 'slots');
  const y = mix(softmaxAxis(op, logits, 1), T, S, slotOutputs, false);
  return record(op, [logits, slotOutputs], y, (dy, needs) => {
    const C = softmax(logits, 1);
    return [
      needs[0] ? mul(C, weightedCenter(matmul(dy, transpose(slotOutputs)), C, 1)) : null,
      needs[1] ? matmul(transpose(C), dy) : null,
    ];
  }, ([tl, ts]) => {
    const C = softmax(logits, 1);
    const a = ts ? matmul(C, ts) : null;
    const b = tl ? matmul(mul(C, weightedCenter(tl, C, 1)), slotOutputs) : null;
    return a && b ? add(a, b) : (a ?? b ?? zeros(y.shape, y.dtype));
  });
}

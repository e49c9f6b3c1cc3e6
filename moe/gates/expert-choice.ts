/**
 * Expert-choice routing (Zhou et al. 2022, arXiv:2202.09368): the experts choose the
 * tokens. S = softmax(X W_g) over experts [T, E]; each expert e takes the C tokens with the largest
 * S[·, e] (G = TopK(Sᵀ, C), I the token indices), C = T · capacityFactor / E. A token may be taken by
 * 0, 1 or several experts; each expert is exactly full, so the load is balanced by construction.
 *
 * In moegrad's layout every token has E slots (K = E, slot t·E + e = "expert e's bid for token t"):
 * weights [T, E] are S masked to the chosen pairs (0 where e did not choose t), and the plan keeps
 * exactly the chosen slots (the others are listed as dropped), so `dispatch` sends each expert its
 * C tokens and `combine` gives y[t] = Σ_{e chose t} S[t,e] · FFN_e(x[t]) — the paper's
 * X_out = Σ_{e,c} G[e,c] · P[e,c,·]ᵀ FFN_e(X_in[e,c]) with P = one-hot(I).
 */
import { Tensor, fromData, mul, softmax, softmaxLine, weightedCenter, ValueError } from '../../engine/index.js';
// built-in VJPs: recorded as the engine's own (their cotangents may be reused; engine/buffer-pool.ts)
import { record } from '../../engine/tape.js';
import { allocate } from '../../engine/tensor.js';
import { checkOptions, describeValue } from '../../engine/validate.js';
import { selectTopK } from '../../engine/ops/index-ops.js';
import { checkLogits, denseIndices } from './common.js';
import type { GateOutput, RoutingPlan } from '../types.js';

/** Options of {@link expertChoiceGate}. */
export interface ExpertChoiceOptions {
  /** c in C = ⌈T · c / E⌉ tokens per expert (default 1: on average one expert per token). */
  readonly capacityFactor?: number;
  /** C itself, an integer in [1, T] (overrides capacityFactor). */
  readonly capacity?: number;
}

/** What {@link expertChoiceGate} returns: a GateOutput (K = E) plus each expert's chosen tokens. */
export interface ExpertChoiceOutput extends GateOutput {
  /** Tokens per expert C. */
  readonly tokensPerExpert: number;
  /** I [E·C]: expert e's tokens, best first (ties → lowest token), the paper's index matrix I. */
  readonly tokenIndex: Int32Array;
}

/** C for T tokens and E experts: the explicit capacity, else ⌈T·c/E⌉ clamped to [1, T]. */
export function expertChoiceCapacity(op: string, T: number, E: number, options: ExpertChoiceOptions): number {
  if (options.capacity !== undefined) {
    const c = options.capacity;
    if (!(Number.isInteger(c) && c >= 1 && c <= T)) throw new ValueError(op, `capacity (tokens per expert) must be an integer in [1, T = ${T}]; got ${describeValue(c)}`);
    return c;
  }
  const f = options.capacityFactor ?? 1;
  if (!(typeof f === 'number' && Number.isFinite(f) && f > 0)) throw new ValueError(op, `capacityFactor must be a finite number > 0; got ${describeValue(f)}`);
  return Math.min(T, Math.max(1, Math.ceil((T * f) / E)));
}

/**
 * Fused w = softmax(z) ⊙ M row-wise (M the constant 0/1 mask of chosen pairs).  z [T, E] → w [T, E].
 * VJP: g_z = p ⊙ (g̃ − ⟨g̃, p⟩) with p = softmax(z), g̃ = g ⊙ M — the gradient reaches every logit of
 * a token through the softmax normalizer, chosen or not. JVP: ẇ = M ⊙ p ⊙ (ż − ⟨ż, p⟩).
 */
function maskedSoftmax(op: string, z: Tensor, mask: Tensor): Tensor {
  const T = z.shape[0]!, E = z.shape[1]!;
  const out = allocate(z.dtype, T * E);
  for (let t = 0; t < T; t++) softmaxLine(z.data, t * E, 1, E, out, t * E, 1, op);
  for (let i = 0; i < out.length; i++) out[i] = out[i]! * mask.data[i]!;
  const w = fromData(out, [T, E]);
  return record(op, [z], w, (dy) => {
    const p = softmax(z, 1);
    return [mul(p, weightedCenter(mul(dy, mask), p, 1))];
  }, ([dz]) => {
    const p = softmax(z, 1);
    return mul(mask, mul(p, weightedCenter(dz!, p, 1)));
  });
}

/**
 * Expert-choice gate (Zhou et al. 2022, arXiv:2202.09368): S = softmax(logits) over experts;
 * expert e takes the C tokens with the largest S[·, e] (ties → lowest token),
 * C = ⌈T·c/E⌉ clamped to [1, T] (or `options.capacity`). logits [T, E] → weights [T, E] = S at the chosen pairs, 0 elsewhere;
 * indices 0..E−1 per token (K = E); scores = S; a plan whose kept slots are exactly the chosen pairs
 * (each expert holds C rows, lower token first; unchosen pairs are listed in `plan.dropped`, so a
 * layer's dropRate reads 1 − C/T; `expertsPerToken` and `tokensWithoutExpert` give the per-token view).
 * Differentiable in the logits (the choice is a constant); discontinuous only at ties for the C-th place.
 * @throws {@link moegrad/engine!ValueError} for non-finite logits, capacityFactor ≤ 0, or capacity outside [1, T].
 */
export function expertChoiceGate(logits: Tensor, options: ExpertChoiceOptions = {}): ExpertChoiceOutput {
  const op = 'expertChoiceGate';
  const { T, E } = checkLogits(op, logits);
  const C = expertChoiceCapacity(op, T, E, checkOptions(op, options));
  const s = allocate('float64', T * E);
  for (let t = 0; t < T; t++) softmaxLine(logits.data, t * E, 1, E, s, t * E, 1, op);
  const tokenIndex = new Int32Array(E * C);
  const mask = allocate(logits.dtype, T * E);
  const order = new Int32Array(T);
  for (let e = 0; e < E; e++) {
    for (let t = 0; t < T; t++) order[t] = t;
    selectTopK(order, C, (t) => s[t * E + e]!);
    tokenIndex.set(order.subarray(0, C), e * C);
    for (let c = 0; c < C; c++) mask[order[c]! * E + e] = 1;
  }
  const weights = maskedSoftmax(op, logits, fromData(mask, [T, E]));
  return { weights, indices: denseIndices(T, E), scores: softmax(logits, 1), logits, plan: expertChoicePlan(mask, T, E, C), tokensPerExpert: C, tokenIndex };
}

/** The plan keeping slot t·E + e iff mask[t, e] = 1: expert-major, lower token first; the rest dropped. */
function expertChoicePlan(mask: ArrayLike<number>, T: number, E: number, C: number): RoutingPlan {
  const order = new Int32Array(E * C), offsets = new Int32Array(E + 1), dropped: number[] = [];
  let n = 0;
  for (let e = 0; e < E; e++) {
    for (let t = 0; t < T; t++) if (mask[t * E + e] === 1) order[n++] = t * E + e;
    offsets[e + 1] = n;
  }
  for (let s = 0; s < T * E; s++) if (mask[s] !== 1) dropped.push(s);
  return { numTokens: T, numExperts: E, topK: E, expertOf: denseIndices(T, E), order, offsets, dropped: Int32Array.from(dropped), capacity: C };
}

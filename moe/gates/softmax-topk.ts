/**
 * Softmax over all experts, then keep the top-k without renormalizing (DeepSeekMoE, arXiv:2401.06066
 * §2; DeepSeek-V2, arXiv:2405.04434 §2.2). Unlike Mixtral's gate, the gradient reaches the unselected logits through
 * the softmax denominator.
 */
import { Tensor, fromData, mul, scale, softmax, softmaxLine, weightedCenter, takeAlongAxis, ValueError } from '../../engine/index.js';
// built-in VJPs: recorded as the engine's own (their cotangents may be reused; engine/buffer-pool.ts)
import { record } from '../../engine/tape.js';
import { allocate } from '../../engine/tensor.js';
import { checkLogits, checkK, checkCapacity, rowTopK, gateOutput, scatterAlong, type GateOptions , checkRouteScale } from './common.js';
import { checkOptions } from '../../engine/validate.js';
import { subsetSoftmax } from './softmax.js';
import type { GateOutput } from '../types.js';

export interface SoftmaxTopKOptions extends GateOptions {
  /** Route scale ρ multiplying the weights (DeepSeek-V2 236B uses 16); default 1. */
  readonly routeScale?: number;
}

/**
 * Fused w[t,j] = ρ · p[t, idx[t,j]] with p = softmax(z[t]) over all E.  z [T, E] → w [T, K].
 * VJP: g_z = p ⊙ (ρ g̃ − ⟨g, w⟩) for every expert, g̃ = g scattered onto the selected (0 elsewhere).
 * JVP: ṗ = p ⊙ (ż − ⟨p, ż⟩) over all E, ẇ = ρ · gather(ṗ) on the selected.
 * p is recomputed with the engine's softmax in the VJP/JVP, so grad of grad works.
 */
function softmaxThenSelect(op: string, z: Tensor, idx: Int32Array, routeScale: number): Tensor {
  const T = z.shape[0]!, E = z.shape[1]!, K = idx.length / T;
  const d = z.data;
  const out = allocate(z.dtype, T * K);
  const p = allocate(z.dtype, E);
  for (let t = 0; t < T; t++) {
    softmaxLine(d, t * E, 1, E, p, 0, 1, op); // p = softmax(z[t]), the engine's kernel
    for (let j = 0; j < K; j++) out[t * K + j] = routeScale * p[idx[t * K + j]!]!;
  }
  const w = fromData(out, [T, K]);
  return record(op, [z], w, (dy) => {
    const p = softmax(z, 1); // Shape: [T, E]
    const gTilde = scale(scatterAlong(dy, idx, 1, E), routeScale); // Shape: [T, E], zero off the selected
    return [mul(p, weightedCenter(gTilde, p, 1))]; // ⟨g̃, p⟩ = Σ_j g_j w_j; centered without cancellation
  }, ([dz]) => {
    const p = softmax(z, 1); // Shape: [T, E]
    return scale(takeAlongAxis(mul(p, weightedCenter(dz!, p, 1)), idx, 1), routeScale); // ρ gather(ṗ)
  });
}

/**
 * DeepSeekMoE/V2 gate: p = softmax(z) over all E; T(t) = top-k of z[t] (ties → lowest index);
 * w[t,j] = ρ p[t, idx_j] (no renormalization, so Σ_j w ≤ ρ).  logits [T, E] → weights [T, k],
 * scores = p [T, E].  VJP: g_{z,j} = p_j (ρ g̃_j − Σ_{i∈T} g_i w_i) for all j — NOTE: the gradient
 * reaches unselected logits. Discontinuous only at ties for the k-th place.
 */
export function softmaxTopKGate(logits: Tensor, k: number, options: SoftmaxTopKOptions = {}): GateOutput {
  const op = 'softmaxTopKGate';
  const { T, E } = checkLogits(op, logits);
  checkK(op, k, E);
  const capacity = checkCapacity(op, checkOptions(op, options));
  const routeScale = options.routeScale ?? 1;
  checkRouteScale(op, routeScale);
  const idx = rowTopK(logits.data, T, E, k);
  const weights = softmaxThenSelect(op, logits, idx, routeScale);
  return gateOutput(weights, idx, subsetSoftmax(op, logits, null, null), logits, E, capacity);
}

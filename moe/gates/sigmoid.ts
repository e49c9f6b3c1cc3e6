/**
 * Unnormalized sigmoid gate (Nguyen et al. 2024, arXiv:2405.13997): w_i = σ(z_i), no competition between experts.
 */
import { Tensor, fromData, mul, neg, sigmoid, stableSigmoid } from '../../engine/index.js';
// built-in VJPs: recorded as the engine's own (their cotangents may be reused; engine/buffer-pool.ts)
import { record } from '../../engine/tape.js';
import { allocate } from '../../engine/tensor.js';
import { checkLogits, checkK, checkCapacity, rowTopK, denseIndices, gateOutput, gatherAlong, scatterAlong, type GateOptions } from './common.js';
import { checkOptions } from '../../engine/validate.js';
import type { GateOutput } from '../types.js';

/**
 * Fused w[t,j] = σ(z[t, idx[t,j]]) (idx null: all E).  z [T, E] → w [T, K].
 * VJP: g_z = scatter(g ⊙ σ(z) ⊙ σ(−z)) — σ' written as σ(z)σ(−z), not σ(1−σ), so it keeps full
 * relative precision when σ ≈ 1 (saturating sigmoid, finite for ±1e4).
 * JVP: ẇ = gather(ż) ⊙ σ(z) ⊙ σ(−z) on the selected (the same σ′ form).
 */
export function selectedSigmoid(op: string, z: Tensor, idx: Int32Array | null): Tensor {
  const T = z.shape[0]!, E = z.shape[1]!, K = idx ? idx.length / T : E;
  const d = z.data;
  const out = allocate(z.dtype, T * K);
  for (let t = 0; t < T; t++) {
    for (let j = 0; j < K; j++) out[t * K + j] = stableSigmoid(d[t * E + (idx ? idx[t * K + j]! : j)]!);
  }
  const w = fromData(out, [T, K]);
  return record(op, [z], w,
    (dy) => [scatterAlong(mul(mul(dy, w), sigmoid(neg(gatherAlong(z, idx, 1)))), idx, 1, E)],
    ([dz]) => mul(mul(gatherAlong(dz!, idx, 1), w), sigmoid(neg(gatherAlong(z, idx, 1)))));
}

/**
 * Sigmoid gate: scores s = σ(z) [T, E]; dense (k omitted: weights = s, K = E) or the top-k of z
 * (= top-k of s; ties → lowest index) with weights s at the selected [T, k], not renormalized.
 * VJP: g_z = g ⊙ s ⊙ (1 − s) on the selected, 0 elsewhere. Smooth except at k-th place ties.
 */
export function sigmoidGate(logits: Tensor, k?: number, options: GateOptions = {}): GateOutput {
  const op = 'sigmoidGate';
  const { T, E } = checkLogits(op, logits);
  const capacity = checkCapacity(op, checkOptions(op, options));
  const scores = selectedSigmoid(op, logits, null);
  if (k === undefined) return gateOutput(scores, denseIndices(T, E), scores, logits, E, capacity);
  checkK(op, k, E);
  const idx = rowTopK(logits.data, T, E, k);
  return gateOutput(selectedSigmoid(op, logits, idx), idx, scores, logits, E, capacity);
}

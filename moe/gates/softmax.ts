/**
 * Softmax gates: the dense softmax (Jacobs et al. 1991) and Mixtral's top-K softmax renormalized over
 * the selected experts. Both (and the temperature and Laplace gates) use one fused kernel,
 * `subsetSoftmax`: a max-shifted softmax of z/τ over a per-row subset of the experts.
 */
import { Tensor, ValueError, fromData, add, mul, div, neg, sum, square, reshape, softmaxLine, weightedCenter } from '../../engine/index.js';
// built-in VJPs: recorded as the engine's own (their cotangents may be reused; engine/buffer-pool.ts)
import { record } from '../../engine/tape.js';
import { allocate } from '../../engine/tensor.js';
import { checkLogits, checkOpName, checkSelection, checkK, checkCapacity, rowTopK, denseIndices, gateOutput, gatherAlong, scatterAlong, type GateOptions } from './common.js';
import { checkOptions, describeValue } from '../../engine/validate.js';
import type { GateOutput } from '../types.js';

/**
 * Fused softmax over a subset: w[t,j] = exp(u_j − m)/Σ_{j'} exp(u_{j'} − m), u_j = z[t, idx[t,j]] / τ,
 * m = max_j u_j (the engine's `softmaxLine`, so a gate equals `softmax` of the same u to the last ulp).
 * z [T, E], idx [T·K] (null: all E, K = E), τ a scalar tensor or null (τ = 1) → w [T, K].
 *
 * VJP (T(t) = selected set, fixed): with g_u = w ⊙ (g − ⟨g, w⟩) per row,
 *   ∂L/∂z = scatter(g_u / τ) (zero off the selected set),   ∂L/∂τ = −(1/τ²) Σ_{t,j} g_u[t,j] · z[t, idx[t,j]].
 * JVP (same fixed set): u̇ = (ż_sel − u·τ̇)/τ with ż_sel = gather(ż), then the softmax tangent
 *   ẇ = w ⊙ (u̇ − ⟨w, u̇⟩)   (weightedCenter, as in the VJP).
 * Written with engine ops on the inputs and the output, so grad of grad (and jvp of grad) works.
 */
export function subsetSoftmax(op: string, z: Tensor, idx: Int32Array | null, tau: Tensor | null): Tensor {
  checkOpName('subsetSoftmax', op);
  checkLogits(op, z, 'z');
  checkSelection(op, idx, z.shape[0]!, z.shape[1]!);
  if (tau !== null && !(tau instanceof Tensor && tau.size === 1 && tau.dtype === z.dtype && tau.data[0]! > 0 && Number.isFinite(tau.data[0]!))) {
    throw new ValueError(op, `τ must be null or a scalar Tensor of the logits' dtype, finite and > 0; got ${tau instanceof Tensor ? `${describeValue(tau)} = ${tau.data[0]}` : describeValue(tau)}`);
  }
  const T = z.shape[0]!, E = z.shape[1]!;
  const K = idx ? idx.length / T : E;
  const invTau = tau ? 1 / tau.item() : 1;
  const d = z.data;
  const out = allocate(z.dtype, T * K);
  const u = new Float64Array(K);
  for (let t = 0; t < T; t++) {
    for (let j = 0; j < K; j++) u[j] = d[t * E + (idx ? idx[t * K + j]! : j)]! * invTau;
    softmaxLine(u, 0, 1, K, out, t * K, 1, op); // the engine's kernel: exp(u − m)/Σ, same ulp as softmax
  }
  const w = fromData(out, [T, K]);
  const inputs = tau ? [z, tau] : [z];
  return record(op, inputs, w, (dy, needs) => {
    // Shape: [T, K] — gradient w.r.t. u = z_selected / τ
    const gu = mul(w, weightedCenter(dy, w, 1)); // w ⊙ (g − ⟨g, w⟩), without cancellation at a dominant w
    const dz = needs[0] ? scatterAlong(tau ? div(gu, tau) : gu, idx, 1, E) : null;
    if (!tau) return [dz];
    const dtau = needs[1] ? reshape(neg(div(sum(mul(gu, gatherAlong(z, idx, 1))), square(tau))), tau.shape) : null;
    return [dz, dtau];
  }, ([dzT, dtauT]) => {
    // u̇ = ż_sel/τ − z_sel·τ̇/τ²; ẇ = w ⊙ (u̇ − ⟨w, u̇⟩)
    let du: Tensor | null = dzT ? gatherAlong(dzT, idx, 1) : null;
    if (tau) {
      if (du) du = div(du, tau);
      if (dtauT) {
        const fromTau = neg(mul(gatherAlong(z, idx, 1), div(dtauT, square(tau)))); // [T, K] (τ is [] or [1])
        du = du ? add(du, fromTau) : fromTau;
      }
    }
    return du ? mul(w, weightedCenter(du, w, 1)) : mul(w, 0);
  });
}

/**
 * Dense softmax gate: w = softmax(z) row-wise.  logits [T, E] → weights = scores [T, E], K = E,
 * indices 0..E−1 per token.  VJP: g_z = w ⊙ (g − ⟨g, w⟩). Smooth everywhere.
 */
export function softmaxGate(logits: Tensor, options: GateOptions = {}): GateOutput {
  const op = 'softmaxGate';
  const { T, E } = checkLogits(op, logits);
  const capacity = checkCapacity(op, checkOptions(op, options));
  const w = subsetSoftmax(op, logits, null, null);
  return gateOutput(w, denseIndices(T, E), w, logits, E, capacity);
}

/**
 * Top-K softmax, renormalized over the selected (Mixtral): T(t) = top-k of z[t] (ties → lowest
 * index; selection on the full logit, bias included), w[t,j] = exp(z_{idx_j}) / Σ_{i∈T} exp(z_i).
 * logits [T, E] → weights [T, k] (best expert first), scores = softmax(z) [T, E] over all experts.
 * VJP: on T, g_z = w ⊙ (g − ⟨g, w⟩); NOTE: unselected logits get exactly zero gradient. The weights
 * jump at a tie for the k-th place (Mixtral: Jiang et al. 2024, arXiv:2401.04088 §2.1); the selection is a constant for autodiff.
 * NOTE: with k = 1 every weight is exactly 1 and the logits get zero gradient from the weights (only
 * auxiliary losses train the router); top-1 routing with a trainable router wants softmaxTopKGate.
 */
export function topKSoftmaxGate(logits: Tensor, k: number, options: GateOptions = {}): GateOutput {
  const op = 'topKSoftmaxGate';
  const { T, E } = checkLogits(op, logits);
  checkK(op, k, E);
  const capacity = checkCapacity(op, checkOptions(op, options));
  const idx = rowTopK(logits.data, T, E, k);
  const weights = subsetSoftmax(op, logits, idx, null);
  const scores = subsetSoftmax(op, logits, null, null);
  return gateOutput(weights, idx, scores, logits, E, capacity);
}

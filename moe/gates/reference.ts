/**
 * Every gate's weights composed from engine primitives only (softmax, takeAlongAxis, sigmoid, sum,
 * div, ...), given the same integer selection. Slower and with more tape nodes than the fused ops,
 * but obviously right: the tests check that the fused VJPs (and their second derivatives) equal the
 * autodiff of these. Also a readable statement of each formula for learners.
 * Exported as `composedGates`. `idx` is [T·K] row-major (null: every expert, in order).
 */
import {
  Tensor, softmax, sigmoid, takeAlongAxis, mul, div, sum, scale, neg, sqrt, square, sub, expandDims, reshape,
} from '../../engine/index.js';

const take = (x: Tensor, idx: Int32Array | null, axis: number) => (idx ? takeAlongAxis(x, idx, axis) : x);

/** softmax(z[idx] / τ) — dense softmax, Mixtral top-K, temperature (τ number or Tensor). */
export function softmaxOver(z: Tensor, idx: Int32Array | null, tau: Tensor | number = 1): Tensor {
  const u = take(z, idx, 1);
  return softmax(typeof tau === 'number' ? (tau === 1 ? u : scale(u, 1 / tau)) : div(u, tau), 1);
}

/** ρ · softmax(z)[idx] — DeepSeekMoE/V2, no renormalization. */
export function softmaxThenTake(z: Tensor, idx: Int32Array, routeScale = 1): Tensor {
  return scale(takeAlongAxis(softmax(z, 1), idx, 1), routeScale);
}

/** σ(z[idx]). */
export function sigmoidOver(z: Tensor, idx: Int32Array | null): Tensor {
  return sigmoid(take(z, idx, 1));
}

/** ρ · s / Σ s with s = σ(z[idx]) — DeepSeek-V3 (selected) or the dense theory version. */
export function normalizedSigmoidOver(z: Tensor, idx: Int32Array | null, routeScale = 1): Tensor {
  const s = sigmoid(take(z, idx, 1));
  return scale(div(s, sum(s, 1, true)), routeScale);
}

/**
 * p_i · q_{j|i} flattened to [T, kG·kE]: p = softmax(z¹[groups]), q = softmax(z²[group rows][experts]).
 * `groupRows` repeats each kept group M times ([T·kG·M]); null arrays mean dense at that level.
 */
export function twoLevelOver(z1: Tensor, z2: Tensor, groups: Int32Array | null, groupRows: Int32Array | null, experts: Int32Array | null): Tensor {
  const T = z1.shape[0]!;
  const p = softmax(take(z1, groups, 1), 1);
  const q = softmax(take(take(z2, groupRows, 1), experts, 2), 2);
  return reshape(mul(expandDims(p, 2), q), [T, q.shape[1]! * q.shape[2]!]);
}

/** −‖x_t − ω_e‖ as sqrt(Σ_d (x − ω)²) over a [T, E, D] broadcast. */
export function negDistance(x: Tensor, centroids: Tensor): Tensor {
  return neg(sqrt(sum(square(sub(expandDims(x, 1), expandDims(centroids, 0))), 2)));
}

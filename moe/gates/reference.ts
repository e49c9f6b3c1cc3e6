/**
 * Every gate's weights composed from engine primitives only (softmax, takeAlongAxis, sigmoid, sum,
 * div, ...), given the same integer selection. Slower and with more tape nodes than the fused ops,
 * but obviously right: the tests check that the fused VJPs (and their second derivatives) equal the
 * autodiff of these. Also a readable statement of each formula for learners.
 * Exported as `composedGates`. `idx` is [T·K] row-major (null: every expert, in order).
 */
import {
  Tensor, softmax, sigmoid, takeAlongAxis, mul, div, sum, scale, neg, sqrt, square, sub, expandDims, reshape,
  ValueError, ShapeError, fmtShape,
} from '../../engine/index.js';
import { describeValue } from '../../engine/validate.js';
import { checkLogits, checkFinite, checkSelection, checkRouteScale } from './common.js';

/** Logits [T, E] finite, and a selection (null when `nullable`) of indices in [0, E). */
function refArgs(op: string, z: unknown, idx: unknown, nullable = true): void {
  const { T, E } = checkLogits(op, z, 'z');
  if (!nullable && idx === null) throw new ValueError(op, `idx must be an Int32Array of T·K expert indices; got null`);
  checkSelection(op, idx, T, E);
}

const take = (x: Tensor, idx: Int32Array | null, axis: number) => (idx ? takeAlongAxis(x, idx, axis) : x);

/** softmax(z[idx] / τ) — dense softmax, Mixtral top-K, temperature (τ number or Tensor). */
export function softmaxOver(z: Tensor, idx: Int32Array | null, tau: Tensor | number = 1): Tensor {
  refArgs('softmaxOver', z, idx);
  if (typeof tau === 'number' ? !(tau > 0 && Number.isFinite(tau)) : !(tau instanceof Tensor)) throw new ValueError('softmaxOver', `τ must be a finite number > 0 or a Tensor; got ${describeValue(tau)}`);
  const u = take(z, idx, 1);
  return softmax(typeof tau === 'number' ? (tau === 1 ? u : scale(u, 1 / tau)) : div(u, tau), 1);
}

/** ρ · softmax(z)[idx] — DeepSeekMoE/V2, no renormalization. */
export function softmaxThenTake(z: Tensor, idx: Int32Array, routeScale = 1): Tensor {
  refArgs('softmaxThenTake', z, idx, false);
  checkRouteScale('softmaxThenTake', routeScale);
  return scale(takeAlongAxis(softmax(z, 1), idx, 1), routeScale);
}

/** σ(z[idx]). */
export function sigmoidOver(z: Tensor, idx: Int32Array | null): Tensor {
  refArgs('sigmoidOver', z, idx);
  return sigmoid(take(z, idx, 1));
}

/** ρ · s / Σ s with s = σ(z[idx]) — DeepSeek-V3 (selected) or the dense theory version. */
export function normalizedSigmoidOver(z: Tensor, idx: Int32Array | null, routeScale = 1): Tensor {
  refArgs('normalizedSigmoidOver', z, idx);
  checkRouteScale('normalizedSigmoidOver', routeScale);
  const s = sigmoid(take(z, idx, 1));
  return scale(div(s, sum(s, 1, true)), routeScale);
}

/**
 * p_i · q_{j|i} flattened to [T, kG·kE]: p = softmax(z¹[groups]), q = softmax(z²[group rows][experts]).
 * `groupRows` repeats each kept group M times ([T·kG·M]); null arrays mean dense at that level.
 */
export function twoLevelOver(z1: Tensor, z2: Tensor, groups: Int32Array | null, groupRows: Int32Array | null, experts: Int32Array | null): Tensor {
  const op = 'twoLevelOver';
  const { T, E: G } = checkLogits(op, z1, 'z1');
  const [T2, G2, M] = checkFinite(op, z2, 'z2', 3, '[T, G, M]') as [number, number, number];
  if (T2 !== T || G2 !== G) throw new ShapeError(op, `z1 [T, G] and z2 [T, G, M] disagree; got ${fmtShape(z1.shape)} and ${fmtShape(z2.shape)}`);
  const kG = checkSelection(op, groups, T, G, 'groups');
  if (groupRows !== null) checkSelection(op, groupRows, T, G, 'groupRows');
  if (experts !== null) checkSelection(op, experts, T * kG, M, 'experts');
  const p = softmax(take(z1, groups, 1), 1);
  const q = softmax(take(take(z2, groupRows, 1), experts, 2), 2);
  return reshape(mul(expandDims(p, 2), q), [T, q.shape[1]! * q.shape[2]!]);
}

/** −‖x_t − ω_e‖ as sqrt(Σ_d (x − ω)²) over a [T, E, D] broadcast. */
export function negDistance(x: Tensor, centroids: Tensor): Tensor {
  checkFinite('negDistance', x, 'x', 2, '[T, D]');
  checkFinite('negDistance', centroids, 'centroids', 2, '[E, D]');
  if (x.shape[1] !== centroids.shape[1]) throw new ShapeError('negDistance', `x [T, D] and centroids [E, D] must share D; got ${fmtShape(x.shape)} and ${fmtShape(centroids.shape)}`);
  return neg(sqrt(sum(square(sub(expandDims(x, 1), expandDims(centroids, 0))), 2)));
}

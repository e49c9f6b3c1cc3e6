/**
 * Dense-to-sparse gate (Nie et al. 2021, EvoMoE, arXiv:2112.14397): softmax with a temperature, w = softmax(z/τ). A small τ drives
 * the gate towards one-hot; τ is either learned (a Tensor, which then gets a gradient) or scheduled
 * (a number, a constant for autodiff). Optional top-k renormalizes over the selected, as Mixtral.
 */
import { Tensor, ShapeError, ValueError, DTypeError, fmtShape, scalar } from '../../engine/index.js';
import { checkLogits, checkK, checkCapacity, rowTopK, denseIndices, gateOutput, type GateOptions } from './common.js';
import { checkOptions, describeValue } from '../../engine/validate.js';
import { subsetSoftmax } from './softmax.js';
import type { GateOutput } from '../types.js';

/** τ as a scalar tensor ([] or [1]) of the logits' dtype, checked > 0 and finite. */
function temperatureTensor(op: string, tau: Tensor | number, like: Tensor): Tensor {
  if (typeof tau === 'number') {
    if (!(tau > 0) || !Number.isFinite(tau)) throw new ValueError(op, `temperature τ must be a finite number > 0; got ${describeValue(tau)}`);
    return scalar(tau, like.dtype);
  }
  if (!(tau instanceof Tensor)) throw new ValueError(op, `temperature τ must be a number or a scalar Tensor; got ${describeValue(tau)}`);
  if (tau.size !== 1 || tau.rank > 1) throw new ShapeError(op, `temperature τ must be a scalar tensor, shape [] or [1]; got ${fmtShape(tau.shape)}`);
  if (tau.dtype !== like.dtype) throw new DTypeError(op, `temperature τ is ${tau.dtype} but the logits are ${like.dtype}`);
  const v = tau.item();
  if (!(v > 0) || !Number.isFinite(v)) throw new ValueError(op, `temperature τ must be finite and > 0; got ${v} (τ ${fmtShape(tau.shape)})`);
  return tau;
}

/**
 * Temperature softmax gate: w = softmax(z/τ), dense (k omitted: weights = scores [T, E]) or over the
 * top-k of z (the same set as the top-k of z/τ since τ > 0), renormalized: weights [T, k].
 * logits [T, E]; tau a scalar Tensor (differentiated) or a number (scheduled); scores = softmax(z/τ).
 * VJP: g_z = (1/τ) w ⊙ (g − ⟨g, w⟩) on the selected set (0 off it);
 * ∂L/∂τ = −(1/τ²) Σ_i g_i w_i (z_i − ⟨w, z⟩), summed over tokens.
 */
export function temperatureSoftmaxGate(logits: Tensor, tau: Tensor | number, k?: number, options: GateOptions = {}): GateOutput {
  const op = 'temperatureSoftmaxGate';
  const { T, E } = checkLogits(op, logits);
  const tauT = temperatureTensor(op, tau, logits);
  const capacity = checkCapacity(op, checkOptions(op, options));
  const scores = subsetSoftmax(op, logits, null, tauT);
  if (k === undefined) return gateOutput(scores, denseIndices(T, E), scores, logits, E, capacity);
  checkK(op, k, E);
  const idx = rowTopK(logits.data, T, E, k);
  return gateOutput(subsetSoftmax(op, logits, idx, tauT), idx, scores, logits, E, capacity);
}

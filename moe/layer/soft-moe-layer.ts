/**
 * The Soft MoE routing of an MoE layer (Puigcerver et al. 2023, arXiv:2308.00951): a
 * `MoELayerConfig.gate` of kind 'softMoE'. Router params Φ [D, E·p]; logits L = X Φ [T, E·p];
 * slot inputs X̃ = softMoEDispatch(L, X); each expert e runs on its p slots; Y = softMoECombine(L, Ỹ).
 * Every token reaches every expert through the slots, so the layer's topK is E.
 */
import { Tensor, Rng, randn, matmul, reshape, sum, softmax, scalar, ShapeError, ValueError, fmtShape, type DType } from '../../engine/index.js';
import { checkObject, checkCountIn, checkNumber, describeValue } from '../../engine/validate.js';
import type { Gate, GateOutput } from '../types.js';
import { buildRoutingPlan } from '../routing.js';
import { denseIndices } from '../gates/common.js';
import { softMoEDispatch, softMoECombine } from '../gates/soft-moe.js';
import { applyExperts, type ExpertKind, type ExpertParams } from '../experts/families.js';

/** `MoELayerConfig.gate` for Soft MoE routing (the layer's topK must be numExperts). */
export interface SoftMoEConfig {
  /** Always 'softMoE'. */
  readonly kind: 'softMoE';
  /** Routed experts E. */
  readonly numExperts: number;
  /** Slots per expert p (default 1); the layer has S = E·p slots. */
  readonly slotsPerExpert?: number;
  /** Std of the initial Φ (default 1/√D). */
  readonly initStd?: number;
}

/** A Soft MoE router: a Gate whose `init` gives { phi [D, E·p] }; the layer routes it itself (`route` throws). */
export interface SoftMoERouter extends Gate<{ readonly phi: Tensor }> {
  readonly slotsPerExpert: number;
}

export const isSoftMoEConfig = (spec: unknown): spec is SoftMoEConfig =>
  spec !== null && typeof spec === 'object' && (spec as { kind?: unknown }).kind === 'softMoE';
export const isSoftMoERouter = (g: Gate): g is SoftMoERouter => typeof (g as Partial<SoftMoERouter>).slotsPerExpert === 'number';

/** The Soft MoE router of a config (errors name `op`). */
export function makeSoftMoERouter(op: string, config: SoftMoEConfig): SoftMoERouter {
  checkObject(op, config, 'config.gate', "a SoftMoEConfig { kind: 'softMoE', numExperts, slotsPerExpert? }");
  const E = checkCountIn(op, 'gate.numExperts', config.numExperts, 1, 1 << 24);
  const p = checkCountIn(op, 'gate.slotsPerExpert', config.slotsPerExpert ?? 1, 1, 1 << 16);
  if (config.initStd !== undefined) checkNumber(op, 'gate.initStd', config.initStd, { min: 0, minExclusive: true });
  const name = `softMoE(E=${E}, p=${p})`;
  return {
    name, numExperts: E, topK: E, slotsPerExpert: p,
    init(rng: Rng, dModel: number) {
      checkCountIn(`${name}.init`, 'dModel', dModel, 1, 1 << 24);
      if (rng === null || typeof rng !== 'object' || typeof (rng as Rng).normal !== 'function') throw new ValueError(`${name}.init`, `rng must be an Rng; got ${describeValue(rng)}`);
      return { phi: randn(rng, [dModel, E * p], config.initStd ?? 1 / Math.sqrt(dModel)) };
    },
    route(): GateOutput {
      throw new ValueError(`${name}.route`, 'Soft MoE has no per-token routing: its experts see mixtures of tokens; use MoELayer.apply');
    },
  };
}

/** What the layer needs from one Soft MoE pass. */
export interface SoftMoEPass {
  /** [T, d] routed output Y = C Ỹ. */
  readonly y: Tensor;
  /** A GateOutput view: weights = scores = Σ_{s of e} C[t, s] [T, E] (each row sums to 1), dense plan. */
  readonly gate: GateOutput;
  /** Σ_t of the view's weights per expert [E] (sums to T). */
  readonly load: Float64Array;
}

/** One Soft MoE pass: x [T, D], router { phi [D, E·p] }, experts [E, …] → y [T, D]. */
export function softMoEPass(op: string, router: SoftMoERouter, routerParams: unknown, experts: ExpertParams, kind: ExpertKind, x: Tensor): SoftMoEPass {
  const phi = (routerParams as { phi?: unknown } | null)?.phi;
  const E = router.numExperts, p = router.slotsPerExpert, T = x.shape[0]!;
  if (!(phi instanceof Tensor) || phi.rank !== 2 || phi.shape[0] !== x.shape[1] || phi.shape[1] !== E * p) {
    throw new ShapeError(op, `Soft MoE router params need 'phi' [D, E·p] = [${x.shape[1]}, ${E * p}]; got ${phi instanceof Tensor ? fmtShape(phi.shape) : describeValue(phi)}`);
  }
  const logits = matmul(x, phi);
  const offsets = Int32Array.from({ length: E + 1 }, (_, e) => e * p);
  const expertOfRow = Int32Array.from({ length: E * p }, (_, s) => Math.floor(s / p));
  const slotOut = applyExperts(experts, kind, softMoEDispatch(logits, x), offsets, expertOfRow);
  const y = softMoECombine(logits, slotOut);
  const weights = reshape(sum(reshape(softmax(logits, 1), [T, E, p]), 2), [T, E]);
  const load = new Float64Array(E);
  for (let i = 0; i < weights.size; i++) load[i % E] = load[i % E]! + weights.data[i]!;
  const plan = buildRoutingPlan(denseIndices(T, E), T, E, E);
  return { y, gate: { weights, indices: plan.expertOf, scores: weights, plan }, load };
}

/** Soft MoE has no Switch-style f·P loss (every expert is always full): the layer reports 0 (in the layer's dtype). */
export const softMoEZeroLoss = (dtype: DType): Tensor => scalar(0, dtype);

/**
 * `makeRoutingGate(config)`: Gate objects (router params + route) for the routing families of
 * issue 16 — noisy top-k (Shazeer et al. 2017), expert choice (Zhou et al. 2022) and the balanced
 * BASE assignment (Lewis et al. 2021) — usable as `MoELayerConfig.gate` like a {@link GateConfig}.
 * Soft MoE is not a gate (its experts see mixtures of tokens): it is a layer option, see
 * {@link SoftMoEConfig}.
 */
import { Tensor, Rng, randn, zeros, matmul, add, ShapeError, ValueError, fmtShape } from '../../engine/index.js';
import { checkObject, checkCountIn, checkNumber, describeValue } from '../../engine/validate.js';
import type { Gate, GateOutput, RouteOptions } from '../types.js';
import type { RouterParams } from './make-gate.js';
import { noisyTopKGate } from './noisy-topk.js';
import { expertChoiceGate } from './expert-choice.js';
import { balancedAssignmentGate } from './balanced-assignment.js';

/** Routing families {@link makeRoutingGate} builds. */
export type RoutingGateKind = 'noisyTopK' | 'expertChoice' | 'balancedAssignment';
/** Every {@link RoutingGateKind}. */
export const ROUTING_GATE_KINDS: readonly RoutingGateKind[] = ['noisyTopK', 'expertChoice', 'balancedAssignment'];

/**
 * Config of a routing-family gate. The gate's `topK` (what `MoELayerConfig.topK` must equal) is
 * `topK` for noisyTopK, E for expertChoice (every token has E candidate slots, the experts keep C
 * each) and 1 for balancedAssignment.
 */
export interface RoutingGateConfig {
  /** Which family ({@link ROUTING_GATE_KINDS}). */
  readonly kind: RoutingGateKind;
  /** Routed experts E. */
  readonly numExperts: number;
  /** noisyTopK: experts per token k (required). */
  readonly topK?: number;
  /** Std of the initial router weights W_g (default 1/√D); W_noise starts at 0 (Shazeer et al., Appendix A). */
  readonly initStd?: number;
  /** Linear router bias b [E] (default true; noisyTopK adds none to the noise logits). */
  readonly routerBias?: boolean;
  /** expertChoice: c in C = ⌈T·c/E⌉ tokens per expert (default 1). */
  readonly capacityFactor?: number;
  /** balancedAssignment: Sinkhorn iterations (default 8). */
  readonly sinkhornIterations?: number;
  /** balancedAssignment: Sinkhorn temperature τ (default 1). */
  readonly temperature?: number;
}

/** True when `spec` names a routing-family kind (so gate-spec resolves it here). */
export const isRoutingGateConfig = (spec: unknown): spec is RoutingGateConfig =>
  spec !== null && typeof spec === 'object' && (ROUTING_GATE_KINDS as readonly unknown[]).includes((spec as { kind?: unknown }).kind);

function checkConfig(op: string, c: RoutingGateConfig): number {
  checkObject(op, c, 'config', 'a RoutingGateConfig { kind, numExperts, ... }');
  if (!ROUTING_GATE_KINDS.includes(c.kind)) throw new ValueError(op, `unknown routing kind ${describeValue(c.kind)}; expected one of ${ROUTING_GATE_KINDS.join(', ')}`);
  checkCountIn(op, 'numExperts', c.numExperts, 1, 1 << 24);
  const E = c.numExperts;
  if (c.initStd !== undefined) checkNumber(op, 'initStd', c.initStd, { min: 0, minExclusive: true });
  if (c.kind === 'noisyTopK') {
    if (!(Number.isInteger(c.topK) && c.topK! >= 1 && c.topK! <= E)) throw new ValueError(op, `noisyTopK: topK must be an integer in [1, numExperts = ${E}]; got ${describeValue(c.topK)}`);
    return c.topK!;
  }
  if (c.topK !== undefined) {
    const want = c.kind === 'expertChoice' ? E : 1;
    if (c.topK !== want) throw new ValueError(op, `${c.kind}: topK is ${want} (${c.kind === 'expertChoice' ? 'E slots per token' : 'one expert per token'}); omit it or pass ${want}; got ${describeValue(c.topK)}`);
  }
  if (c.capacityFactor !== undefined) checkNumber(op, 'capacityFactor', c.capacityFactor, { min: 0, minExclusive: true });
  if (c.sinkhornIterations !== undefined) checkCountIn(op, 'sinkhornIterations', c.sinkhornIterations, 0, 1000);
  if (c.temperature !== undefined) checkNumber(op, 'temperature', c.temperature, { min: 0, minExclusive: true });
  return c.kind === 'expertChoice' ? E : 1;
}

/** z = x W + b: x [T, D], W [D, E]. */
function linear(op: string, x: Tensor, w: Tensor | undefined, b: Tensor | undefined, name: string, E: number): Tensor {
  if (!(w instanceof Tensor) || w.rank !== 2 || w.shape[1] !== E) throw new ShapeError(op, `router params need '${name}' [D, ${E}]; got ${w instanceof Tensor ? fmtShape(w.shape) : describeValue(w)}`);
  if (x.shape[1] !== w.shape[0]) throw new ShapeError(op, `x must be [T, D] with D = ${w.shape[0]} (router '${name}' ${fmtShape(w.shape)}); got ${fmtShape(x.shape)}`);
  const z = matmul(x, w);
  return b ? add(z, b) : z;
}

/**
 * Builds a routing-family gate. `init(rng, D)`: W ~ N(0, initStd²) [D, E], b = 0 [E] (when
 * routerBias), and for noisyTopK W_noise = 0 [D, E]. `route(params, x [T, D], options)`:
 * noisyTopK draws ε from `options.noiseRng` (none: ε = 0, evaluation); expertChoice takes its
 * capacity from the config (a route `capacity` is rejected); balancedAssignment is dropless.
 * @throws {@link moegrad/engine!ValueError} for a bad config (unknown kind, numExperts < 1, topK not allowed for the kind, ...).
 */
export function makeRoutingGate(config: RoutingGateConfig): Gate<RouterParams> {
  const op = 'makeRoutingGate';
  const topK = checkConfig(op, config);
  const E = config.numExperts, kind = config.kind;
  const name = `${kind}(E=${E}${kind === 'noisyTopK' ? `, k=${topK}` : ''})`;
  const useBias = config.routerBias ?? true;
  const init = (rng: Rng, dModel: number): RouterParams => {
    checkCountIn(`${name}.init`, 'dModel', dModel, 1, 1 << 24);
    if (rng === null || typeof rng !== 'object' || typeof (rng as Rng).normal !== 'function') throw new ValueError(`${name}.init`, `rng must be an Rng; got ${describeValue(rng)}`);
    const w = randn(rng, [dModel, E], config.initStd ?? 1 / Math.sqrt(dModel));
    const params: Record<string, Tensor> = useBias ? { w, b: zeros([E]) } : { w };
    if (kind === 'noisyTopK') params.wNoise = zeros([dModel, E]);
    return params;
  };
  const route = (params: RouterParams, x: Tensor, options: RouteOptions = {}): GateOutput => {
    const rop = `${name}.route`;
    if (!(x instanceof Tensor) || x.rank !== 2) throw new ShapeError(rop, `x must be [T, D]; got ${x instanceof Tensor ? fmtShape(x.shape) : describeValue(x)}`);
    if (options.bias !== undefined) throw new ValueError(rop, `a selection-only bias is used only by normalizedSigmoid gates; this gate is '${kind}'`);
    const z = linear(rop, x, params.w, params.b, 'w', E);
    if (kind === 'noisyTopK') {
      const zn = linear(rop, x, params.wNoise, undefined, 'wNoise', E);
      const cap = { ...(options.capacity !== undefined ? { capacity: options.capacity } : {}), ...(options.capacityPriority ? { capacityPriority: options.capacityPriority } : {}) };
      return noisyTopKGate(z, zn, topK, { ...cap, ...(options.noiseRng ? { rng: options.noiseRng } : {}) });
    }
    if (options.capacity !== undefined && options.capacity !== Infinity) {
      throw new ValueError(rop, `${kind} sets its own capacity (${kind === 'expertChoice' ? 'C = ⌈T·capacityFactor/E⌉ from the gate config' : 'exact balance'}); got a route capacity ${describeValue(options.capacity)} (drop the layer's capacityFactor/capacity)`);
    }
    if (kind === 'expertChoice') return expertChoiceGate(z, config.capacityFactor !== undefined ? { capacityFactor: config.capacityFactor } : {});
    return balancedAssignmentGate(z, { iterations: config.sinkhornIterations ?? 8, temperature: config.temperature ?? 1 });
  };
  return { name, topK, numExperts: E, init, route };
}

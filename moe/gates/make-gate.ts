/**
 * `makeGate(config)`: a Gate (moe/types.ts) with its own router parameters, for the MoE layer.
 * Linear router logits z = x W + b (W [D, E], b [E]; Shazeer et al. 2017, arXiv:1701.06538 §2.1), or Laplace centroids ω [E, D].
 */
import { Tensor, Rng, randn, zeros, scalar, matmul, add, exp, reshape, ShapeError, ValueError, fmtShape } from '../../engine/index.js';
import type { Gate, GateOutput, RouteOptions } from '../types.js';
import { softmaxGate, topKSoftmaxGate } from './softmax.js';
import { softmaxTopKGate } from './softmax-topk.js';
import { temperatureSoftmaxGate } from './temperature.js';
import { hierarchicalSoftmaxGate } from './hierarchical.js';
import { sigmoidGate } from './sigmoid.js';
import { normalizedSigmoidGate } from './normalized-sigmoid.js';
import { laplaceGate } from './laplace.js';
import { checkObject, checkCountIn, checkNumber, describeValue } from '../../engine/validate.js';

/**
 * Gate families {@link makeGate} builds: dense `softmax`; Mixtral's `topKSoftmax` (renormalized over
 * the top-K); DeepSeekMoE's `softmaxTopK` (not renormalized); `temperature` (dense-to-sparse);
 * `hierarchical` (two-level); `sigmoid`; DeepSeek-V3's `normalizedSigmoid`; `laplace` (−‖x − ω‖).
 */
export type GateKind = 'softmax' | 'topKSoftmax' | 'softmaxTopK' | 'temperature' | 'hierarchical' | 'sigmoid' | 'normalizedSigmoid' | 'laplace';
/** Every {@link GateKind}. */
export const GATE_KINDS: readonly GateKind[] = ['softmax', 'topKSoftmax', 'softmaxTopK', 'temperature', 'hierarchical', 'sigmoid', 'normalizedSigmoid', 'laplace'];

/** Gate configuration; fields after `topK` apply to the kinds named in their comments. */
export interface GateConfig {
  /** Which gate ({@link GATE_KINDS}). */
  readonly kind: GateKind;
  /** Routed experts E (for 'hierarchical': numGroups · experts per group). */
  readonly numExperts: number;
  /**
   * Experts per token K; required for topKSoftmax/softmaxTopK, omitted = dense for the others.
   * NOTE: `topKSoftmax` (and any renormalized gate) with K = 1 gives every token the weight 1 exactly,
   * so the router gets zero gradient through the weights and learns only from auxiliary losses; for
   * top-1 routing use `softmaxTopK` (Switch Transformer: w = p_max, not renormalized).
   */
  readonly topK?: number;
  /** Linear routers: add a bias b [E] (default true, except normalizedSigmoid: false, as DeepSeek-V3). */
  readonly routerBias?: boolean;
  /** Std of the initial router weights (default 1/√D; Laplace centroids: 1). */
  readonly initStd?: number;
  /** softmaxTopK, normalizedSigmoid: route scale ρ (default 1). */
  readonly routeScale?: number;
  /** temperature: a fixed (scheduled) τ; omitted = learnable τ = exp(logTau) in the params. */
  readonly tau?: number;
  /** temperature: initial τ when learnable (default 1). */
  readonly tauInit?: number;
  /** hierarchical: number of groups G (must divide numExperts); normalizedSigmoid: group-limited routing. */
  readonly numGroups?: number;
  /** hierarchical: groups kept per token (default G); K = kGroups · kExperts. */
  readonly kGroups?: number;
  /** hierarchical: experts kept per kept group (default E/G). */
  readonly kExperts?: number;
  /** normalizedSigmoid: groups kept per token (with numGroups). */
  readonly topGroups?: number;
  /** normalizedSigmoid: group score rule (default 'top2Sum'). */
  readonly groupScore?: 'top2Sum' | 'max';
}

/** Router parameters: linear (w, b), temperature (+ logTau), hierarchical (two linear maps), Laplace (centroids). */
export type RouterParams = Readonly<Record<string, Tensor>>;

/** Route options of a made gate (capacity, selection-only bias, scheduled τ): see RouteOptions. */
export type GateRouteOptions = RouteOptions;

const isPosInt = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 1;

/** Validates the config once, so errors come at construction, not at the first route. */
function checkConfig(op: string, c: GateConfig): { topK: number } {
  checkObject(op, c, 'config', 'a GateConfig { kind, numExperts, topK?, ... }');
  if (!GATE_KINDS.includes(c.kind)) throw new ValueError(op, `unknown gate kind ${typeof c.kind === 'string' ? `'${c.kind}'` : describeValue(c.kind)}; expected one of ${GATE_KINDS.join(', ')}`);
  checkCountIn(op, 'numExperts', c.numExperts, 1, 1 << 24);
  if (c.initStd !== undefined) checkNumber(op, 'initStd', c.initStd, { min: 0, minExclusive: true });
  const E = c.numExperts;
  if (c.kind === 'hierarchical') {
    if (!isPosInt(c.numGroups) || E % c.numGroups !== 0) throw new ValueError(op, `hierarchical: numGroups must be a positive integer dividing numExperts = ${E}; got ${c.numGroups}`);
    const G = c.numGroups, M = E / G;
    const kG = c.kGroups ?? G, kE = c.kExperts ?? M;
    if (!isPosInt(kG) || kG > G) throw new ValueError(op, `hierarchical: kGroups must be an integer in [1, numGroups = ${G}]; got ${kG}`);
    if (!isPosInt(kE) || kE > M) throw new ValueError(op, `hierarchical: kExperts must be an integer in [1, ${M}]; got ${kE}`);
    if (c.topK !== undefined && c.topK !== kG * kE) throw new ValueError(op, `hierarchical: topK must equal kGroups·kExperts = ${kG * kE}; got ${c.topK}`);
    return { topK: kG * kE };
  }
  const needsK = c.kind === 'topKSoftmax' || c.kind === 'softmaxTopK';
  if (c.kind === 'softmax' && c.topK !== undefined && c.topK !== E) throw new ValueError(op, `softmax is dense: topK must be omitted or ${E}; got ${c.topK}`);
  if (needsK && c.topK === undefined) throw new ValueError(op, `${c.kind} needs topK`);
  if (c.topK !== undefined && (!isPosInt(c.topK) || c.topK > E)) throw new ValueError(op, `topK must be an integer in [1, numExperts = ${E}]; got ${c.topK}`);
  if (c.kind === 'temperature') {
    for (const [name, v] of [['tau', c.tau], ['tauInit', c.tauInit]] as const) {
      if (v !== undefined && !(v > 0 && Number.isFinite(v))) throw new ValueError(op, `temperature: ${name} must be a finite number > 0; got ${v}`);
    }
  }
  if (c.kind === 'normalizedSigmoid' && (c.numGroups !== undefined || c.topGroups !== undefined)) {
    if (!isPosInt(c.numGroups) || E % c.numGroups !== 0) throw new ValueError(op, `normalizedSigmoid: numGroups must be a positive integer dividing numExperts = ${E}; got ${c.numGroups}`);
    if (!isPosInt(c.topGroups) || c.topGroups > c.numGroups) throw new ValueError(op, `normalizedSigmoid: topGroups must be an integer in [1, numGroups = ${c.numGroups}]; got ${c.topGroups}`);
    if (c.topK === undefined) throw new ValueError(op, 'normalizedSigmoid: group-limited routing needs topK');
  }
  return { topK: c.topK ?? E };
}

/** z = x W + b: x [T, D], W [D, n] → [T, n]. */
function linearLogits(op: string, x: Tensor, w: Tensor | undefined, b: Tensor | undefined, name: string): Tensor {
  if (!(w instanceof Tensor) || w.rank !== 2) throw new ShapeError(op, `router params need '${name}' [D, n]; got ${w instanceof Tensor ? fmtShape(w.shape) : 'none'}`);
  if (x.shape[1] !== w.shape[0]) throw new ShapeError(op, `x must be [T, D] with D = ${w.shape[0]} (router '${name}' ${fmtShape(w.shape)}); got ${fmtShape(x.shape)}`);
  const z = matmul(x, w);
  return b ? add(z, b) : z;
}

/**
 * Builds a gate from its config. `init(rng, D)` draws router params (W ~ N(0, initStd²) [D, E],
 * b = 0 [E]; Laplace centroids ~ N(0, initStd²) [E, D]; temperature adds logTau = log τ₀ [];
 * hierarchical has wGroup [D, G], wExpert [D, E]); `route(params, x [T, D], options)` → GateOutput.
 */
export function makeGate(config: GateConfig): Gate<RouterParams> {
  const op = 'makeGate';
  const { topK } = checkConfig(op, config);
  const E = config.numExperts;
  const kind = config.kind;
  const name = `${kind}(E=${E}${topK !== E ? `, k=${topK}` : ''})`;
  const useBias = config.routerBias ?? kind !== 'normalizedSigmoid';
  const k = topK !== E || kind === 'topKSoftmax' || kind === 'softmaxTopK' ? topK : undefined;

  const init = (rng: Rng, dModel: number): RouterParams => {
    checkCountIn(`${name}.init`, 'dModel', dModel, 1, 1 << 24);
    if (rng === null || typeof rng !== 'object' || typeof (rng as Rng).normal !== 'function') throw new ValueError(`${name}.init`, `rng must be an Rng; got ${describeValue(rng)}`);
    const std = config.initStd ?? (kind === 'laplace' ? 1 : 1 / Math.sqrt(dModel));
    if (kind === 'laplace') return { centroids: randn(rng, [E, dModel], std) };
    if (kind === 'hierarchical') {
      const G = config.numGroups!;
      const wGroup = randn(rng, [dModel, G], std), wExpert = randn(rng, [dModel, E], std);
      return useBias ? { wGroup, bGroup: zeros([G]), wExpert, bExpert: zeros([E]) } : { wGroup, wExpert };
    }
    const w = randn(rng, [dModel, E], std);
    const params: Record<string, Tensor> = useBias ? { w, b: zeros([E]) } : { w };
    if (kind === 'temperature' && config.tau === undefined) params.logTau = scalar(Math.log(config.tauInit ?? 1));
    return params;
  };

  const route = (params: RouterParams, x: Tensor, options: GateRouteOptions = {}): GateOutput => {
    const rop = `${name}.route`;
    if (!(x instanceof Tensor) || x.rank !== 2) throw new ShapeError(rop, `x must be [T, D]; got ${x instanceof Tensor ? fmtShape(x.shape) : typeof x}`);
    if (options.bias !== undefined && kind !== 'normalizedSigmoid') {
      throw new ValueError(rop, `a selection-only bias is used only by normalizedSigmoid gates; this gate is '${kind}'`);
    }
    const capacity = {
      ...(options.capacity !== undefined ? { capacity: options.capacity } : {}),
      ...(options.capacityPriority !== undefined ? { capacityPriority: options.capacityPriority } : {}),
    };
    if (kind === 'laplace') return laplaceGate(x, params.centroids!, k, capacity);
    if (kind === 'hierarchical') {
      const G = config.numGroups!;
      const T = x.shape[0]!;
      const z1 = linearLogits(rop, x, params.wGroup, params.bGroup, 'wGroup');
      const z2 = reshape(linearLogits(rop, x, params.wExpert, params.bExpert, 'wExpert'), [T, G, E / G]);
      return hierarchicalSoftmaxGate(z1, z2, { ...capacity, kGroups: config.kGroups ?? G, kExperts: config.kExperts ?? E / G });
    }
    const z = linearLogits(rop, x, params.w, params.b, 'w');
    if (z.shape[1] !== E) throw new ShapeError(rop, `router 'w' must be [D, ${E}]; got ${fmtShape(params.w!.shape)}`);
    switch (kind) {
      case 'softmax': return softmaxGate(z, capacity);
      case 'topKSoftmax': return topKSoftmaxGate(z, topK, capacity);
      case 'softmaxTopK': return softmaxTopKGate(z, topK, { ...capacity, routeScale: config.routeScale ?? 1 });
      case 'sigmoid': return sigmoidGate(z, k, capacity);
      case 'temperature': {
        const tau = options.tau ?? config.tau ?? (params.logTau ? exp(params.logTau) : undefined);
        if (tau === undefined) throw new ValueError(rop, "temperature gate needs params.logTau (learnable τ), config.tau or options.tau");
        return temperatureSoftmaxGate(z, tau, k, capacity);
      }
      case 'normalizedSigmoid':
        return normalizedSigmoidGate(z, {
          ...capacity, ...(k !== undefined ? { k } : {}), ...(options.bias ? { bias: options.bias } : {}),
          ...(config.numGroups !== undefined ? { numGroups: config.numGroups, topGroups: config.topGroups! } : {}),
          routeScale: config.routeScale ?? 1, groupScore: config.groupScore ?? 'top2Sum',
        });
    }
  };

  return { name, topK, numExperts: E, init, route };
}

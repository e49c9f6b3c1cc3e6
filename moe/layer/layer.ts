/**
 * The MoE layer (DeepSeekMoE form, Dai et al. 2024, arXiv:2401.06066 §3.1–3.2, with
 * DeepSeek-V3's gate, arXiv:2412.19437 §2.1.2):
 *   y[t] = Σ_{s < S_shared} FFN^(s)(x[t])  +  Σ_k w[t,k] · FFN^(r)_{e(t,k)}(x[t])
 * Shared experts have weight 1 and see every token; routed experts see only the tokens the gate
 * sends them: x → gate → dispatch (expert order) → grouped expert FFNs → combine (weighted sum).
 * Fine-grained experts (DeepSeekMoE's m·N small experts, m·K active) are just a config choice:
 * more experts with a smaller dHidden.
 */
import { Tensor, Rng, add, cast, treeMap, ShapeError, ValueError, fmtShape, type DType, type TensorTree } from '../../engine/index.js';
import type { Gate, GateOutput, RoutingPlan } from '../types.js';
import { buildRoutingPlan } from '../routing.js';
import { dispatch, undispatch, combine, planIndex } from '../dispatch.js';
import { initExperts, applyExperts, checkExpertParams, EXPERT_KINDS, type ExpertKind, type ExpertParams } from '../experts/families.js';
import { switchAuxLoss, routerZLoss } from '../losses.js';
import { expertLoad, dropRate } from '../diagnostics.js';
import { resolveGate, type LayerGateSpec } from './gate-spec.js';
import { isSoftMoERouter, softMoEPass, softMoEZeroLoss } from './soft-moe-layer.js';
import { checkObject, checkDType, checkCountIn, checkOptions, describeValue, MAX_COUNT } from '../../engine/validate.js';

/**
 * The shape of an MoE layer: widths, experts, the gate and capacity. Keep one config object per layer
 * (the layer caches its gate per config object).
 *
 * @example
 * const config = { dModel: 8, dHidden: 16, numExperts: 8, topK: 2, expert: 'swiglu', numShared: 1,
 *   gate: { kind: 'normalizedSigmoid', numExperts: 8, topK: 2 } } as const;
 */
export interface MoELayerConfig {
  /** Model width D (input and output). */
  readonly dModel: number;
  /** Hidden width H of each expert FFN (ignored by linear experts). */
  readonly dHidden: number;
  /** Routed experts E. */
  readonly numExperts: number;
  /** Routed experts chosen per token K (must match the gate's). */
  readonly topK: number;
  /**
   * A gate config for `makeGate` (moe/gates); a routing-family config for `makeRoutingGate`
   * (`'noisyTopK'` with topK = k, `'expertChoice'` with topK = numExperts, `'balancedAssignment'` with
   * topK = 1); `{ kind: 'softMoE', numExperts, slotsPerExpert }` (topK = numExperts); or any object
   * implementing the Gate interface.
   */
  readonly gate: LayerGateSpec;
  /** Expert family of the routed and shared experts ({@link EXPERT_KINDS}), e.g. `'swiglu'`. */
  readonly expert: ExpertKind;
  /** Shared experts (weight 1, every token); default 0. */
  readonly numShared?: number;
  /** Hidden width of each shared expert (default dHidden). */
  readonly sharedHidden?: number;
  /** Per-expert capacity = ceil(capacityFactor · T·K / E) tokens; dropless when omitted. */
  readonly capacityFactor?: number;
  /**
   * Which slots keep their place when an expert is over capacity: 'token' (default: token order, so a
   * later token can lose its first choice while an earlier one keeps its second) or 'choice' (GShard:
   * every token's first choice before any second choice).
   */
  readonly capacityPriority?: 'token' | 'choice';
  /** Parameter and activation dtype (default float64); x must have the same dtype. */
  readonly dtype?: DType;
}

/** Parameter tree: router params (whatever the gate's init returns), routed and shared experts. */
export type MoELayerParams = {
  /** The gate's router parameters (e.g. `{ w [D, E], b [E] }` for a linear router). */
  readonly router: TensorTree;
  /** Routed experts, batched on a leading axis E (see {@link ExpertParams}). */
  readonly experts: ExpertParams;
  /** Shared experts, batched on a leading axis S (absent when `numShared` is 0). */
  readonly shared?: ExpertParams;
};

/** Per-call options of {@link MoELayer.apply}. */
export interface MoELayerApplyOptions {
  /** Selection-only bias [E] for loss-free balancing (normalizedSigmoid gates); never differentiated. */
  readonly bias?: Float64Array;
  /** Per-expert capacity in tokens; overrides config.capacityFactor. */
  readonly capacity?: number;
  /** Noisy top-k gates: draws the gating noise ε of this call (training); omitted: ε = 0 (evaluation). */
  readonly noiseRng?: Rng;
}

/** Auxiliary outputs of one {@link MoELayer.apply} call: balance losses and routing counts. */
export interface MoELayerAux {
  /** Switch/GShard f·P loss of this step (differentiable; see switchAuxLoss for the normalization). */
  readonly switchLoss: Tensor;
  /** ST-MoE router z-loss (differentiable), or null when the gate has no logits. */
  readonly zLoss: Tensor | null;
  /** Routing decisions per expert [E] (feed this to updateBias). */
  readonly load: Float64Array;
  /** Per-expert capacity used (Infinity when dropless). */
  readonly capacity: number;
  /** Number of routing decisions dropped by the capacity limit, and their fraction of T·K. */
  readonly dropped: number;
  /** `dropped / (T·K)`, in [0, 1]; 0 when dropless. */
  readonly dropRate: number;
}

/** What {@link MoELayer.apply} returns. */
export interface MoELayerOutput {
  /** [T, D] layer output. */
  readonly y: Tensor;
  /** The gate's output: weights [T, K], indices [T·K], scores [T, E], logits, routing plan. */
  readonly gate: GateOutput;
  /** Balance losses and routing counts of this call. */
  readonly aux: MoELayerAux;
}

/** Whether every element is finite (a plain loop: `some` with a closure costs ~1 % of a layer step). */
function allFinite(a: ArrayLike<number>): boolean {
  // v − v is 0 for finite v and NaN for NaN and ±∞
  let acc = 0;
  for (let i = 0; i < a.length; i++) acc += a[i]! - a[i]!;
  return acc === 0;
}

function positiveInt(op: string, name: string, v: unknown): void {
  checkCountIn(op, name, v, 1, MAX_COUNT);
}

function checkConfig(op: string, config: MoELayerConfig): Gate {
  checkObject(op, config, 'config', 'a MoELayerConfig { dModel, dHidden, numExperts, topK, gate, expert, ... }');
  if (config.dtype !== undefined) checkDType(op, config.dtype, 'config.dtype');
  if (!(EXPERT_KINDS as readonly unknown[]).includes(config.expert)) throw new ValueError(op, `config.expert must be one of ${EXPERT_KINDS.join(', ')}; got ${describeValue(config.expert)}`);
  if (config.numShared !== undefined) checkCountIn(op, 'numShared', config.numShared, 0, 1 << 16);
  if (config.sharedHidden !== undefined) checkCountIn(op, 'sharedHidden', config.sharedHidden, 1, MAX_COUNT);
  checkObject(op, config.gate, 'config.gate', 'a gate spec (a GateConfig, or a Gate)');
  positiveInt(op, 'dModel', config.dModel);
  positiveInt(op, 'dHidden', config.dHidden);
  positiveInt(op, 'numExperts', config.numExperts);
  positiveInt(op, 'topK', config.topK);
  if (config.topK > config.numExperts) throw new ValueError(op, `topK must be in [1, numExperts = ${config.numExperts}]; got ${config.topK}`);
  const numShared = config.numShared ?? 0;
  if (!Number.isInteger(numShared) || numShared < 0) throw new ValueError(op, `numShared must be an integer ≥ 0; got ${numShared}`);
  if (config.capacityPriority !== undefined && config.capacityPriority !== 'token' && config.capacityPriority !== 'choice') {
    throw new ValueError(op, `capacityPriority must be 'token' or 'choice'; got ${describeValue(config.capacityPriority)}`);
  }
  if (config.capacityFactor !== undefined && !(Number.isFinite(config.capacityFactor) && config.capacityFactor > 0)) {
    throw new ValueError(op, `capacityFactor must be a finite number > 0; got ${config.capacityFactor}`);
  }
  const gate = resolveGate(op, config.gate);
  if (gate.numExperts !== config.numExperts || gate.topK !== config.topK) {
    throw new ValueError(op, `the gate routes to ${gate.topK} of ${gate.numExperts} experts but the layer has topK = ${config.topK} of numExperts = ${config.numExperts}`);
  }
  return gate;
}

/** Per-config gate instances (a gate is stateless; its params live in the params tree). */
const gateCache = new WeakMap<MoELayerConfig, Gate>();
function gateFor(op: string, config: MoELayerConfig): Gate {
  let g = gateCache.get(config);
  if (!g) { g = checkConfig(op, config); gateCache.set(config, g); }
  return g;
}

/** The plan that sends every token to every one of `n` shared experts (cached by size). */
const sharedPlans = new Map<string, RoutingPlan>();
function sharedPlan(numTokens: number, n: number): RoutingPlan {
  const key = `${numTokens}x${n}`;
  let plan = sharedPlans.get(key);
  if (!plan) {
    const expertOf = new Int32Array(numTokens * n);
    for (let i = 0; i < expertOf.length; i++) expertOf[i] = i % n;
    plan = buildRoutingPlan(expertOf, numTokens, n, n);
    if (sharedPlans.size > 64) sharedPlans.clear();
    sharedPlans.set(key, plan);
  }
  return plan;
}

/** Plans whose dispatch is the identity (row i = token i: one shared expert), cached per plan. */
const identityPlans = new WeakMap<RoutingPlan, boolean>();
function isIdentityPlan(plan: RoutingPlan): boolean {
  let id = identityPlans.get(plan);
  if (id === undefined) {
    const { tokenOfRow } = planIndex(plan);
    id = tokenOfRow.length === plan.numTokens && tokenOfRow.every((t, i) => t === i);
    identityPlans.set(plan, id);
  }
  return id;
}

/**
 * Runs the experts of `params` on the rows `plan` dispatches. When the dispatch is the identity (one
 * shared expert) the experts run on x itself: dispatch and its undispatch would only copy x and the
 * output (and their VJPs copy the gradients back), so both are skipped.
 */
function runExperts(params: ExpertParams, kind: ExpertKind, x: Tensor, plan: RoutingPlan): Tensor {
  const { expertOfRow } = planIndex(plan);
  return applyExperts(params, kind, isIdentityPlan(plan) ? x : dispatch(x, plan), plan.offsets, expertOfRow);
}

/** Capacity in tokens for T tokens: explicit option, else ceil(factor·T·K/E), else Infinity. */
function capacityFor(op: string, config: MoELayerConfig, numTokens: number, explicit: number | undefined): number {
  if (explicit !== undefined) {
    if (!(explicit >= 1) || !(Number.isInteger(explicit) || explicit === Infinity)) {
      throw new ValueError(op, `capacity must be an integer ≥ 1 token (or Infinity); got ${explicit}`);
    }
    return explicit;
  }
  if (config.capacityFactor === undefined) return Infinity;
  return Math.max(1, Math.ceil((config.capacityFactor * numTokens * config.topK) / config.numExperts));
}

/**
 * The MoE layer, DeepSeekMoE form (Dai et al. 2024, arXiv:2401.06066 §3.1–3.2):
 * `y[t] = Σ_s FFN_s(x[t]) + Σ_k w[t,k] · FFN_{e(t,k)}(x[t])` — shared experts (weight 1, every token)
 * plus the routed experts the gate picks. Functional: `init` makes a parameter tree, `apply` runs it
 * and is differentiable in params and x (grad of grad too); routing decisions are constants.
 *
 * @example
 * const params = MoELayer.init(new Rng(0), config);
 * const { y, gate, aux } = MoELayer.apply(params, x, config);   // x [T, dModel] → y [T, dModel]
 * @throws {@link moegrad/engine!ValueError} on a bad config (non-positive widths, topK > numExperts, a gate whose
 *   topK/numExperts differ from the layer's, capacityFactor ≤ 0) or NaN/±∞ in x; {@link ShapeError}
 *   when x is not [T, dModel].
 */
export const MoELayer = {
  /** Fresh parameters (router from the gate's init, experts ~ N(0, 1/fan_in)); deterministic given rng. */
  init(rng: Rng, config: MoELayerConfig): MoELayerParams {
    const op = 'MoELayer.init';
    if (rng === null || typeof rng !== 'object' || typeof (rng as Rng).split !== 'function') throw new ValueError(op, `rng must be an Rng; got ${describeValue(rng)}`);
    const gate = gateFor(op, config);
    const dtype = config.dtype ?? 'float64';
    const router = treeMap(gate.init(rng.split(), config.dModel) as TensorTree, (p) => (p.dtype === dtype ? p : cast(p, dtype)));
    const experts = initExperts(rng.split(), config.expert, { numExperts: config.numExperts, dIn: config.dModel, dHidden: config.dHidden, dtype });
    const numShared = config.numShared ?? 0;
    if (numShared === 0) return { router, experts };
    const shared = initExperts(rng.split(), config.expert, { numExperts: numShared, dIn: config.dModel, dHidden: config.sharedHidden ?? config.dHidden, dtype });
    return { router, experts, shared };
  },

  /**
   * y = shared(x) + combine(experts(dispatch(x)), w): x [T, D] → { y [T, D], gate, aux }.
   * Differentiable in params and x (grad of grad too); routing decisions are constants.
   */
  apply(params: MoELayerParams, x: Tensor, config: MoELayerConfig, options: MoELayerApplyOptions = {}): MoELayerOutput {
    const op = 'MoELayer.apply';
    const gate = gateFor(op, config);
    checkObject(op, params, 'params', 'MoELayer params { router, experts, shared? } (from MoELayer.init)');
    checkOptions(op, options);
    if (!(x instanceof Tensor) || x.rank !== 2 || x.shape[1] !== config.dModel || x.shape[0]! < 1) {
      throw new ShapeError(op, `x must be [T, dModel] = [T, ${config.dModel}] with T ≥ 1; got ${x instanceof Tensor ? fmtShape(x.shape) : describeValue(x)}`);
    }
    const dtype = config.dtype ?? 'float64';
    if (x.dtype !== dtype) throw new ValueError(op, `x is ${x.dtype} but the layer is ${dtype} (config.dtype)`);
    if (!allFinite(x.data)) throw new ValueError(op, `x ${fmtShape(x.shape)} contains NaN or ±Infinity`);
    const E = checkExpertParams(op, params.experts, config.expert, config.dModel);
    if (E !== config.numExperts) throw new ShapeError(op, `params have ${E} routed experts but config.numExperts = ${config.numExperts}`);
    if (options.bias !== undefined && options.bias.length !== E) {
      throw new ShapeError(op, `bias must have one entry per routed expert, [${E}]; got ${options.bias !== null && typeof options.bias === 'object' && typeof (options.bias as ArrayLike<number>).length === 'number' ? `[${(options.bias as ArrayLike<number>).length}]` : describeValue(options.bias)}`);
    }
    const T = x.shape[0]!;
    const capacity = capacityFor(op, config, T, options.capacity);
    const routeOptions = {
      ...(capacity !== Infinity ? { capacity } : {}), ...(options.bias ? { bias: options.bias } : {}),
      ...(config.capacityPriority !== undefined ? { capacityPriority: config.capacityPriority } : {}),
      ...(options.noiseRng !== undefined ? { noiseRng: options.noiseRng } : {}),
    };
    // Soft MoE (Puigcerver et al. 2023): experts run on slots mixing all tokens; no per-token route.
    const soft = isSoftMoERouter(gate) ? softMoEPass(op, gate, params.router, params.experts, config.expert, x) : null;
    if (soft && capacity !== Infinity) throw new ValueError(op, `Soft MoE has no capacity (every expert gets its slots); got capacity ${capacity}`);
    const g = soft ? soft.gate : gate.route(params.router, x, routeOptions);
    if (g.plan.numTokens !== T || g.plan.topK !== config.topK || g.plan.numExperts !== E) {
      throw new ShapeError(op, `gate '${gate.name}' returned a plan for ${g.plan.numTokens} tokens, top-${g.plan.topK} of ${g.plan.numExperts}; expected ${T}, top-${config.topK} of ${E}`);
    }
    let y = soft ? soft.y : combine(runExperts(params.experts, config.expert, x, g.plan), g.weights, g.plan);
    const numShared = config.numShared ?? 0;
    if (numShared > 0) {
      if (!params.shared) throw new ValueError(op, `config.numShared = ${numShared} but params have no 'shared' experts`);
      const plan = sharedPlan(T, numShared);
      const out = runExperts(params.shared, config.expert, x, plan);
      y = add(isIdentityPlan(plan) ? out : undispatch(out, plan), y);
    }
    const load = soft ? soft.load : expertLoad(g.plan);
    const aux: MoELayerAux = {
      switchLoss: soft ? softMoEZeroLoss(dtype) : switchAuxLoss(g),
      zLoss: g.logits ? routerZLoss(g.logits) : null,
      load, capacity: g.plan.capacity, dropped: g.plan.dropped.length, dropRate: dropRate(g.plan),
    };
    return { y, gate: g, aux };
  },
};

/**
 * Shared MoE types. Shape letters: T tokens, D model dim, H hidden dim, E experts, K chosen per
 * token, S kept slots (≤ T·K). Integer routing decisions (the plan) travel apart from the
 * differentiable weights, as in flaxformer and DeepSeek-V3.
 */
import type { Tensor } from '../engine/index.js';

/** Integer routing decisions; never on the tape. */
export interface RoutingPlan {
  /** Tokens T. */
  readonly numTokens: number;
  /** Routed experts E. */
  readonly numExperts: number;
  /** Experts per token K (E for dense gates). */
  readonly topK: number;
  /** [T·K] expert chosen for slot s = t·K + k. */
  readonly expertOf: Int32Array;
  /** [S] kept slot ids sorted by expert (stable: lower token first within an expert). */
  readonly order: Int32Array;
  /** [E+1] order[offsets[e] .. offsets[e+1]) are expert e's slots. */
  readonly offsets: Int32Array;
  /** Slot ids dropped because their expert was over capacity (empty when dropless). */
  readonly dropped: Int32Array;
  /** Per-expert capacity used (Infinity when dropless). */
  readonly capacity: number;
}

/** What every gate returns. Dense gates use K = E and indices 0..E−1 for each token. */
export interface GateOutput {
  /** [T, K] differentiable combine weights, aligned with `indices`. */
  readonly weights: Tensor;
  /** [T·K] chosen experts, row-major by token. */
  readonly indices: Int32Array;
  /** [T, E] dense scores the weights come from (softmax probs, sigmoid scores, ...), differentiable. */
  readonly scores: Tensor;
  /** [T, E] router logits when the gate has them (for z-loss). */
  readonly logits?: Tensor;
  /** The dispatch plan built from `indices`. */
  readonly plan: RoutingPlan;
}

/** Options every gate's `route` accepts. */
export interface RouteOptions {
  /** Per-expert capacity for dispatch (tokens); dropless when omitted. */
  readonly capacity?: number;
  /** Which slots keep their place at capacity: 'token' order (default) or 'choice' (GShard: all first choices first). */
  readonly capacityPriority?: 'token' | 'choice';
  /**
   * Selection-only bias [E] (DeepSeek-V3 loss-free balancing): changes which experts are chosen,
   * never the weights, and gets no gradient. Used by normalizedSigmoid gates; others reject it.
   */
  readonly bias?: Float64Array;
  /** Temperature gates: τ for this call (a schedule), overriding the configured or learned τ. */
  readonly tau?: number;
  /** Noisy top-k gates: draws the gating noise ε of this call (training); none: ε = 0 (evaluation). Others ignore it. */
  readonly noiseRng?: import('../engine/index.js').Rng;
}

/**
 * A gate with its own router parameters (linear router W [D, E] and bias, Laplace centroids, ...).
 * `init` makes the parameters; `route` maps tokens x [T, D] to a GateOutput.
 */
export interface Gate<P = unknown> {
  /** The gate's name in errors and diagnostics, e.g. `'topKSoftmax'`. */
  readonly name: string;
  /** Number of experts chosen per token (E for dense gates). */
  readonly topK: number;
  /** Routed experts E. */
  readonly numExperts: number;
  /** Fresh router parameters for tokens of width `dModel` (deterministic given `rng`). */
  init(rng: import('../engine/index.js').Rng, dModel: number): P;
  /** Routes tokens x [T, dModel]: weights [T, K], indices [T·K], scores [T, E], plan. Differentiable in params and x. */
  route(params: P, x: Tensor, options?: RouteOptions): GateOutput;
}

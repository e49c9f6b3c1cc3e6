/**
 * Trains a DeepSeek-style MoE layer on seeded synthetic data (`npx tsx examples/moe-layer.ts`):
 *   - 1 shared expert (weight 1, sees every token) + 8 routed SwiGLU experts, top-2;
 *   - normalized sigmoid gate (DeepSeek-V3): s = σ(x·W), pick top-2 of s + b, weights s/Σ_selected s;
 *   - auxiliary-loss-free balancing: after each step b ← b + γ·sign(mean load − load) (updateBias),
 *     plus V3's tiny complementary sequence-wise balance loss;
 *   - capacity factor 1.25, so while routing is unbalanced some tokens are dropped (reported).
 * The inputs are skewed (a shared offset μ), so the untrained router prefers a few experts; the bias
 * rule evens the load out while the loss falls. Prints loss and router diagnostics every few steps.
 */
import { Rng, randn, add, mse, scale, valueAndGrad, adam, type AdamState } from '../engine/index.js';
import { MoELayer, type MoELayerConfig, type MoELayerParams } from '../moe/layer/layer.js';
import { sequenceBalanceLoss } from '../moe/losses.js';
import { updateBias } from '../moe/balancing.js';
import { routerDiagnostics, routerChangeRate } from '../moe/diagnostics.js';

export interface MoeLayerDemoOptions {
  /** Training steps (default 150). */
  readonly steps?: number;
  readonly seed?: number;
  /** Where progress lines go (default console.log; pass () => {} for silence). */
  readonly log?: (line: string) => void;
}

export interface MoeLayerDemoResult {
  readonly initialLoss: number;
  readonly finalLoss: number;
  /** Tokens per expert at the last step. */
  readonly load: number[];
  /** Jain's index of the load at the first and last step. */
  readonly initialJain: number;
  readonly jain: number;
  /** Mean gate entropy (nats) and drop rate at the last step. */
  readonly entropy: number;
  readonly dropRate: number;
  /** Fraction of routing decisions that changed between the last two logged checkpoints. */
  readonly changeRate: number;
  readonly bias: number[];
}

const fmt = (a: ArrayLike<number>) => Array.from(a, (v) => String(v).padStart(3)).join(' ');

/** Runs the demo and returns the final numbers (deterministic for a given seed). */
export function runMoeLayerDemo(options: MoeLayerDemoOptions = {}): MoeLayerDemoResult {
  const { steps = 150, seed = 7, log = console.log } = options;
  const rng = new Rng(seed);
  const D = 8, E = 8, K = 2, T = 96, seqLen = 32;
  const config: MoELayerConfig = {
    dModel: D, dHidden: 16, numExperts: E, topK: K, expert: 'swiglu', numShared: 1, capacityFactor: 1.25,
    gate: { kind: 'normalizedSigmoid', numExperts: E, topK: K },
  };
  // Teacher: another MoE layer (softmax top-2, relu experts) applied to skewed inputs.
  const teacherConfig: MoELayerConfig = { dModel: D, dHidden: 16, numExperts: 4, topK: 2, expert: 'relu', gate: { kind: 'softmaxTopK', numExperts: 4, topK: 2 } };
  const teacher = MoELayer.init(rng.split(), teacherConfig);
  const mu = randn(rng, [1, D], 1.5);
  const batch = (r: Rng) => {
    const x = add(randn(r, [T, D]), mu);
    return { x, y: add(MoELayer.apply(teacher, x, teacherConfig).y, randn(r, [T, D], 0.05)) };
  };
  const data = rng.split();

  let params = MoELayer.init(rng.split(), config);
  let bias: Float64Array = new Float64Array(E);
  let state: AdamState<MoELayerParams> | undefined;
  const gamma = 0.01, alpha = 1e-4;
  let lastIndices: Int32Array | null = null;
  const probe = batch(rng.split()); // fixed tokens for the router change rate between checkpoints
  let result: MoeLayerDemoResult | null = null;
  let initialLoss = NaN, initialJain = NaN, changeRate = NaN;

  log(`DeepSeek-style MoE layer: ${E} routed SwiGLU experts (top-${K}) + 1 shared, normalized sigmoid gate, loss-free bias balancing (γ = ${gamma}), capacity factor ${config.capacityFactor}`);
  for (let step = 0; step <= steps; step++) {
    const { x, y } = batch(data);
    let out: ReturnType<typeof MoELayer.apply> | null = null;
    const { value, grad } = valueAndGrad((p: MoELayerParams) => {
      out = MoELayer.apply(p, x, config, { bias });
      return add(mse(out.y, y), scale(sequenceBalanceLoss(out.gate, { seqLen }), alpha));
    })(params);
    const o = out as unknown as ReturnType<typeof MoELayer.apply>;
    const d = routerDiagnostics(o.gate);
    if (step === 0) { initialLoss = value.item(); initialJain = d.jain; }
    if (step % 25 === 0 || step === steps) {
      const indices = MoELayer.apply(params, probe.x, config, { bias }).gate.indices;
      changeRate = lastIndices ? routerChangeRate(lastIndices, indices, K) : 0;
      lastIndices = indices;
      log(`step ${String(step).padStart(4)}  loss ${value.item().toFixed(5)}  load [${fmt(d.load)}]  Jain ${d.jain.toFixed(3)}  ` +
        `entropy ${d.entropy.toFixed(3)}  drop ${(100 * d.dropRate).toFixed(1)}%  change ${(100 * changeRate).toFixed(1)}%`);
    }
    result = {
      initialLoss, finalLoss: value.item(), load: Array.from(d.load), initialJain, jain: d.jain,
      entropy: d.entropy, dropRate: d.dropRate, changeRate, bias: Array.from(bias),
    };
    if (step === steps) break;
    ({ params, state } = adam(params, grad, { lr: 0.01 }, state));
    bias = updateBias(bias, o.aux.load, gamma); // no gradient: plain numbers after the step
  }
  log(`final bias [${Array.from(bias, (b) => b.toFixed(2)).join(' ')}]`);
  return result!;
}

// Run when executed directly (no node: import, so a browser bundle can import runMoeLayerDemo too).
const entry = typeof process !== 'undefined' ? process.argv?.[1]?.replace(/\\/g, '/') : undefined;
if (entry && decodeURIComponent(import.meta.url).endsWith(entry)) {
  const r = runMoeLayerDemo();
  console.log(`loss ${r.initialLoss.toFixed(4)} → ${r.finalLoss.toFixed(4)}, Jain ${r.initialJain.toFixed(3)} → ${r.jain.toFixed(3)}`);
}


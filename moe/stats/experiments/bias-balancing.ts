/**
 * Experiment 6 (issue #5; spec §6.1, §6.4, §7 item 12): DeepSeek-V3 auxiliary-loss-free balancing
 * (selection-only bias, b ← b + γ·sign(mean load − load), no gradient) vs the Switch auxiliary loss
 * (α·E·Σ f·P) vs no balancing, on skewed data (70% of tokens from one of 8 regions).
 * Model: the toy sparse MoE of experiment 5 with a normalized-sigmoid top-2 router over 16 ReLU
 * experts, Adam; the same data stream for every method. Measured every 5% of training on a skewed
 * probe batch: max/mean load (MaxVio + 1), Jain's index of the load, and the probe MSE (task loss).
 * Expected: the bias rule drives max/mean load towards 1 and Jain towards 1 without a loss term, at
 * little cost in task loss; Switch with α = 0.01 balances less.
 */
import { Rng } from '../../../engine/index.js';
import type { Cell, CellResult, Experiment, ExperimentSummary } from '../experiment.js';
import type { MoELayerConfig } from '../../layer/layer.js';
import { makeGate } from '../../gates/make-gate.js';
import { jainIndex } from '../../diagnostics.js';
import { makeTask, sampleTask, trainToy } from './toy-moe.js';
import { seedOf } from './regression-moe.js';
import { curveRows, meanStd } from './summary.js';

const E = 16, K = 2, D = 8, CHECKPOINTS = 20;
/** 70% of tokens from region 0, the rest spread evenly over the other 7. */
export const SKEWED_WEIGHTS: readonly number[] = [0.7, ...new Array<number>(7).fill(0.3 / 7)];

const METHODS = {
  'no balancing': { switchAlpha: 0, biasGamma: 0 },
  'Switch loss α=0.01': { switchAlpha: 0.01, biasGamma: 0 },
  'Switch loss α=0.1': { switchAlpha: 0.1, biasGamma: 0 },
  'loss-free bias γ=0.01': { switchAlpha: 0, biasGamma: 0.01 },
} as const;
type Method = keyof typeof METHODS;

/** max_i load_i / mean_i load_i (1 = perfectly balanced; E/K-fold at worst). */
export function maxOverMean(load: ArrayLike<number>): number {
  let s = 0, m = 0;
  for (let i = 0; i < load.length; i++) { s += load[i]!; m = Math.max(m, load[i]!); }
  return m / (s / load.length);
}

/** Experiment `bias-balancing`: loss-free bias balancing (arXiv 2412.19437 §2.1.2) vs the Switch aux loss vs none, on skewed data. */
export const biasBalancing: Experiment = {
  name: 'bias-balancing',
  description: 'Loss-free bias balancing (DeepSeek-V3) vs Switch aux loss vs none on skewed data: max/mean load, Jain index, task loss',
  paper: 'arXiv 2412.19437 §2.1.2 (auxiliary-loss-free balancing) vs Switch Transformer aux loss; spec §6.1, §6.4, §7 item 12',
  cells({ quick }) {
    const seeds = quick ? 5 : 10, steps = quick ? 1000 : 3000;
    const out: Cell[] = [];
    for (const method of Object.keys(METHODS) as Method[]) for (let rep = 0; rep < seeds; rep++) {
      out.push({ id: `${method}/rep=${rep}`, n: steps, rep, seed: seedOf('bias-balancing', rep), params: { method, steps } });
    }
    return out;
  },
  runCell(cell: Cell): CellResult {
    const t0 = Date.now();
    const method = cell.params.method as Method;
    if (!(method in METHODS)) throw new Error(`bias-balancing: unknown method ${String(cell.params.method)}`);
    const steps = Number(cell.params.steps);
    const rng = new Rng(cell.seed);
    const task = makeTask(rng.split(), D, 8);
    const probe = sampleTask(task, 512, rng.split(), SKEWED_WEIGHTS);
    const config: MoELayerConfig = { dModel: D, dHidden: 16, numExperts: E, topK: K, expert: 'relu', gate: makeGate({ kind: 'normalizedSigmoid', numExperts: E, topK: K }) };
    const { checkpoints, bias } = trainToy(config, task, probe, { steps, batch: 128, lr: 5e-3, ...METHODS[method], regionWeights: SKEWED_WEIGHTS, checkpoints: CHECKPOINTS }, rng.split());
    const curve = {
      step: checkpoints.map((c) => c.step),
      maxOverMean: checkpoints.map((c) => maxOverMean(c.load)),
      jain: checkpoints.map((c) => jainIndex(c.load)),
      loss: checkpoints.map((c) => c.loss),
    };
    const last = checkpoints[checkpoints.length - 1]!;
    return {
      id: cell.id, n: cell.n, rep: cell.rep, seed: cell.seed, ms: Date.now() - t0,
      metrics: { [`${method}: final max/mean load`]: maxOverMean(last.load), [`${method}: final Jain`]: jainIndex(last.load), [`${method}: final probe MSE`]: last.loss },
      info: { config: method, curve, finalBias: Array.from(bias) },
    };
  },
  summarize(results): ExperimentSummary {
    const rows = curveRows(results, ['maxOverMean', 'jain', 'loss']);
    const notes: string[] = [];
    for (const m of Object.keys(METHODS)) {
      const pick = (k: string) => meanStd(results.map((r) => r.metrics[`${m}: ${k}`]).filter((x): x is number => x !== undefined));
      const lo = pick('final max/mean load'), j = pick('final Jain'), l = pick('final probe MSE');
      if (lo.count === 0) continue;
      notes.push(`${m}: final max/mean load = ${lo.mean.toFixed(2)} ± ${lo.std.toFixed(2)}; Jain = ${j.mean.toFixed(3)} ± ${j.std.toFixed(3)}; probe MSE = ${l.mean.toFixed(3)} ± ${l.std.toFixed(3)} (n=${lo.count} seeds)`);
    }
    notes.push('Skewed data: 70% of tokens from one region of 8; load measured on a skewed probe batch of 512 tokens (top-2 of 16 experts).');
    return { rows, fits: [], plot: { title: 'Load balance during training on skewed data', yLabel: 'max/mean expert load', xLabel: 'training step', series: Object.keys(METHODS).map((m) => `${m}: maxOverMean`) }, notes };
  },
};

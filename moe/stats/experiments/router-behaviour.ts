/**
 * Experiment 5 (issue #5; spec §5.4, §7 item 11; 2505.10860 §3.3 / App. H): router behaviour while
 * training a toy sparse MoE — saturation, change rate and Jain's index — for softmax (top-K,
 * renormalized: "SMoE") vs normalized sigmoid ("SMoE-SG") routing, without and with 2 shared
 * experts ("DeepSeek-V2" / "DeepSeek-V3" style, as the paper's LibMoE variants).
 * Task: piecewise-linear regression in R^8 with 8 regions; 16 ReLU experts (hidden 16), top-2;
 * Adam, Switch balance loss 0.01 for every variant (as LibMoE). Checkpoints every 5% of training on a
 * fixed probe set (per-sample expert sets, the continuous-input analogue of per-token-type sets).
 *   saturation(t) = mean_i |E_i(t) ∩ E_i(final)| / k;  change(t) = 1 − mean_i |E_i(t) ∩ E_i(t−1)| / k;
 *   Jain(t) = (Σ load)² / (E Σ load²) over the probe's routing decisions.
 * Paper findings (LM scale): ~60% saturated after 5% of training; normalized sigmoid saturates faster
 * and has a markedly lower change rate; higher Jain's index. For a toy task these are hypotheses.
 */
import { Rng } from '../../../engine/index.js';
import type { Cell, CellResult, Experiment, ExperimentSummary } from '../experiment.js';
import type { MoELayerConfig } from '../../layer/layer.js';
import { makeGate } from '../../gates/make-gate.js';
import { routerSaturation, routerChangeRate, jainIndex } from '../../diagnostics.js';
import { makeTask, sampleTask, trainToy } from './toy-moe.js';
import { seedOf } from './regression-moe.js';
import { curveRows, meanStd } from './summary.js';

const VARIANTS = {
  'SMoE (softmax)': { gate: 'topKSoftmax', shared: 0 },
  'SMoE-SG (norm. sigmoid)': { gate: 'normalizedSigmoid', shared: 0 },
  'V2-style (softmax + 2 shared)': { gate: 'topKSoftmax', shared: 2 },
  'V3-style (norm. sigmoid + 2 shared)': { gate: 'normalizedSigmoid', shared: 2 },
} as const;
type Variant = keyof typeof VARIANTS;
const K = 2, E = 16, D = 8, CHECKPOINTS = 20;

/** MoELayer config of one router variant: 16 ReLU experts, top-2, d = 8, the variant's gate and shared-expert count. */
export function variantConfig(v: Variant): MoELayerConfig {
  const s = VARIANTS[v];
  return { dModel: D, dHidden: 16, numExperts: E, topK: K, expert: 'relu', numShared: s.shared, gate: makeGate({ kind: s.gate, numExperts: E, topK: K }) };
}

/** Saturation vs the last checkpoint, change rate vs the previous one (NaN for the first), Jain's index of the probe load. */
export function routerCurves(checkpoints: readonly { step: number; indices: Int32Array; load: ArrayLike<number>; loss: number }[], k: number): { step: number[]; saturation: number[]; changeRate: number[]; jain: number[]; loss: number[] } {
  const last = checkpoints[checkpoints.length - 1]!;
  return {
    step: checkpoints.map((c) => c.step),
    saturation: checkpoints.map((c) => routerSaturation(c.indices, last.indices, k)),
    changeRate: checkpoints.map((c, i) => (i === 0 ? NaN : routerChangeRate(checkpoints[i - 1]!.indices, c.indices, k))),
    jain: checkpoints.map((c) => jainIndex(c.load)),
    loss: checkpoints.map((c) => c.loss),
  };
}

/** Experiment `router-behaviour`: router saturation, change rate and Jain index while training a toy sparse MoE (arXiv 2505.10860 §3.3, App. H). */
export const routerBehaviour: Experiment = {
  name: 'router-behaviour',
  description: 'Router saturation, change rate and Jain index while training a toy sparse MoE: softmax vs normalized sigmoid, with/without shared experts',
  paper: 'arXiv 2505.10860 §3.3 / App. H (router analysis); spec §5.4, §7 item 11',
  cells({ quick }) {
    const seeds = quick ? 5 : 10, steps = quick ? 1000 : 3000;
    const out: Cell[] = [];
    for (const variant of Object.keys(VARIANTS) as Variant[]) for (let rep = 0; rep < seeds; rep++) {
      out.push({ id: `${variant}/rep=${rep}`, n: steps, rep, seed: seedOf('router-behaviour', rep), params: { variant, steps } });
    }
    return out;
  },
  runCell(cell: Cell): CellResult {
    const t0 = Date.now();
    const variant = cell.params.variant as Variant;
    if (!(variant in VARIANTS)) throw new Error(`router-behaviour: unknown variant ${String(cell.params.variant)}`);
    const steps = Number(cell.params.steps);
    // Same task, probe set and data stream for every variant of a repetition (seed depends on rep only).
    const rng = new Rng(cell.seed);
    const task = makeTask(rng.split(), D, 8);
    const probe = sampleTask(task, 512, rng.split());
    const { checkpoints } = trainToy(variantConfig(variant), task, probe, { steps, batch: 128, lr: 5e-3, switchAlpha: 0.01, biasGamma: 0, checkpoints: CHECKPOINTS }, rng.split());
    const curve = routerCurves(checkpoints, K);
    const at5 = curve.saturation[0]!;
    const changeLate = meanStd(curve.changeRate.slice(1)).mean;
    return {
      id: cell.id, n: cell.n, rep: cell.rep, seed: cell.seed, ms: Date.now() - t0,
      metrics: { [`${variant}: saturation@5%`]: at5, [`${variant}: mean change rate`]: changeLate, [`${variant}: final Jain`]: curve.jain[curve.jain.length - 1]!, [`${variant}: final probe MSE`]: curve.loss[curve.loss.length - 1]! },
      info: { config: variant, curve: { ...curve, changeRate: curve.changeRate.map((v) => (Number.isFinite(v) ? v : null)) } },
    };
  },
  summarize(results): ExperimentSummary {
    const rows = curveRows(results, ['saturation', 'changeRate', 'jain', 'loss']);
    const notes: string[] = [];
    for (const v of Object.keys(VARIANTS)) {
      const pick = (m: string) => meanStd(results.map((r) => r.metrics[`${v}: ${m}`]).filter((x): x is number => x !== undefined));
      const s = pick('saturation@5%'), c = pick('mean change rate'), j = pick('final Jain'), l = pick('final probe MSE');
      if (s.count === 0) continue;
      notes.push(`${v}: saturation after 5% = ${(100 * s.mean).toFixed(1)}% ± ${(100 * s.std).toFixed(1)}; mean change rate per 5% = ${(100 * c.mean).toFixed(1)}% ± ${(100 * c.std).toFixed(1)}; final Jain = ${j.mean.toFixed(3)} ± ${j.std.toFixed(3)}; final probe MSE = ${l.mean.toFixed(3)} (n=${s.count} seeds)`);
    }
    notes.push('Rows: n = training step, series "<variant>: saturation|changeRate|jain|loss", mean ± std over seeds.');
    return { rows, fits: [], plot: { title: 'Router saturation during training (toy sparse MoE)', yLabel: 'saturation vs final checkpoint', xLabel: 'training step', series: Object.keys(VARIANTS).map((v) => `${v}: saturation`) }, notes };
  },
};

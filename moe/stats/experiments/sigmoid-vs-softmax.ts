/**
 * Experiment 3 (issue #5; spec §7 item 7; 2405.13997 Fig. 1 pattern): sigmoid vs softmax gating
 * fitted by least squares to the *same* data, under both ground truths.
 *   truth 'softmax': f* = softmax(2x + 0.5, 0)·(h1, h2) — also a sigmoid MoE with gates
 *     σ(2x + 0.5), σ(−2x − 0.5) (nonzero slopes: the "Regime 2" of sigmoid gating);
 *   truth 'sigmoid': f* = σ(2x + 0.5)·h1 + σ(−1.5x)·h2 (gates not summing to 1: a softmax fit is
 *     misspecified).
 * Experts h = e2·GELU(e1·x) with η1* = (2, 1), η2* = (−2, 1.5); X ~ U[−2, 2], σ = 0.1. Both fits use
 * k = 3 atoms (over-specified by one), starting with true atom 1 split in two.
 * Measured: a gate-agnostic expert loss L_η = Σ_j Σ_{i∈V_j} u_i ‖η_i − η*_j‖ (cells on η only,
 * u_i = mean gate value of atom i over the input range) and ‖f̂ − f*‖_{L2}.
 * Expected (2405.13997): the sigmoid curve lies lower and/or falls faster.
 */
import { Rng } from '../../../engine/index.js';
import type { Cell, CellResult, Experiment, ExperimentSummary } from '../experiment.js';
import { logSpaced } from '../rates.js';
import { voronoiCells } from '../voronoi.js';
import { type RegressionMoE, type RegGate, sampleRegression, splitInit, fitRegression, l2Distance, gateUsage, seedOf } from './regression-moe.js';
import { rateSummary } from './summary.js';

const RANGE = [-2, 2] as const;
const NOISE = 0.1;
const INIT_NOISE = 0.2;
const H1 = { e1: 2, e2: 1 }, H2 = { e1: -2, e2: 1.5 };

/** Each truth in both parameterizations: the one used to generate data and the start points of each fit. */
export const SIGMOID_VS_SOFTMAX_TRUTHS: Record<'softmax' | 'sigmoid', { data: RegressionMoE; start: Record<'softmax' | 'sigmoid', RegressionMoE> }> = {
  softmax: {
    data: { gate: 'softmax', expert: 'gelu', atoms: [{ b1: 2, b0: 0.5, ...H1 }, { b1: 0, b0: 0, ...H2 }] },
    start: {
      softmax: { gate: 'softmax', expert: 'gelu', atoms: [{ b1: 2, b0: 0.5, ...H1 }, { b1: 0, b0: 0, ...H2 }] },
      sigmoid: { gate: 'sigmoid', expert: 'gelu', atoms: [{ b1: 2, b0: 0.5, ...H1 }, { b1: -2, b0: -0.5, ...H2 }] },
    },
  },
  sigmoid: {
    data: { gate: 'sigmoid', expert: 'gelu', atoms: [{ b1: 2, b0: 0.5, ...H1 }, { b1: -1.5, b0: 0, ...H2 }] },
    start: {
      // Best softmax guess: gate difference (2 + 1.5) x + 0.5 with the pinned atom at 0.
      softmax: { gate: 'softmax', expert: 'gelu', atoms: [{ b1: 3.5, b0: 0.5, ...H1 }, { b1: 0, b0: 0, ...H2 }] },
      sigmoid: { gate: 'sigmoid', expert: 'gelu', atoms: [{ b1: 2, b0: 0.5, ...H1 }, { b1: -1.5, b0: 0, ...H2 }] },
    },
  },
};

/** L_η = Σ_j Σ_{i∈V_j} u_i ‖η_i − η*_j‖ with cells on the expert parameters η = (e1, e2) only. */
export function expertLoss(fit: RegressionMoE, truth: RegressionMoE, range: readonly [number, number] = RANGE): number {
  const eta = (m: RegressionMoE) => m.atoms.map((a) => [a.e1, a.e2]);
  const u = gateUsage(fit, range), fe = eta(fit), te = eta(truth);
  let loss = 0;
  voronoiCells(fe, te).forEach((cell, j) => { for (const i of cell) loss += u[i]! * Math.hypot(fe[i]![0]! - te[j]![0]!, fe[i]![1]! - te[j]![1]!); });
  return loss;
}

const FITS: readonly RegGate[] = ['softmax', 'sigmoid'];

/** Experiment `sigmoid-vs-softmax`: sigmoid vs softmax gating under either ground truth, losses vs n (arXiv 2405.13997). */
export const sigmoidVsSoftmax: Experiment = {
  name: 'sigmoid-vs-softmax',
  description: 'Sigmoid vs softmax gating (LSE, same data, k = k*+1) under a softmax and a sigmoid ground truth: expert-parameter loss and ‖f̂−f*‖ vs n',
  paper: 'arXiv 2405.13997 (sigmoid gating is more sample efficient than softmax gating), Fig. 1 pattern; spec §7 item 7',
  cells({ quick }) {
    const ns = quick ? logSpaced(1000, 16000, 5) : logSpaced(1000, 100000, 7);
    const reps = quick ? 4 : 10;
    const out: Cell[] = [];
    for (const truth of ['softmax', 'sigmoid'] as const) for (const fit of FITS) for (const n of ns) for (let rep = 0; rep < reps; rep++) {
      // Same seed for both fits of a (truth, n, rep): they see the same data.
      out.push({ id: `truth=${truth}/fit=${fit}/n=${n}/rep=${rep}`, n, rep, seed: seedOf('sigmoid-vs-softmax', truth, n, rep), params: { truth, fit } });
    }
    return out;
  },
  runCell(cell: Cell): CellResult {
    const t0 = Date.now();
    const truthName = cell.params.truth as 'softmax' | 'sigmoid', fitGate = cell.params.fit as 'softmax' | 'sigmoid';
    const spec = SIGMOID_VS_SOFTMAX_TRUTHS[truthName];
    if (!spec || !FITS.includes(fitGate)) throw new Error(`sigmoid-vs-softmax: bad cell params ${JSON.stringify(cell.params)}`);
    const data = sampleRegression(spec.data, cell.n, NOISE, new Rng(cell.seed), RANGE);
    const init = splitInit(spec.start[fitGate], [0, 0, 1], INIT_NOISE, new Rng(seedOf(cell.seed, fitGate)), fitGate);
    const { model, result } = fitRegression(init, data);
    const p = `truth ${truthName}, fit ${fitGate}`;
    return {
      id: cell.id, n: cell.n, rep: cell.rep, seed: cell.seed, ms: Date.now() - t0,
      metrics: { [`${p}: expert loss`]: expertLoss(model, spec.data), [`${p}: ‖f̂−f*‖`]: l2Distance(model, spec.data, RANGE) },
      info: { iterations: result.iterations, converged: result.converged, atoms: model.atoms.map((a) => [a.b1, a.b0, a.e1, a.e2]) },
    };
  },
  summarize(results): ExperimentSummary {
    const series = ['softmax', 'sigmoid'].flatMap((t) => FITS.map((f) => `truth ${t}, fit ${f}`));
    return rateSummary(results, [...series.map((s) => ({ series: `${s}: expert loss` })), ...series.map((s) => ({ series: `${s}: ‖f̂−f*‖` }))], {
      title: 'Sigmoid vs softmax gating on the same data (k = k* + 1)', yLabel: 'expert loss L_η (mean over reps)',
      series: series.map((s) => `${s}: expert loss`),
    }, [
      'L_η = Σ_j Σ_{i∈V_j} u_i‖η_i−η*_j‖ (cells on expert parameters; u_i = mean gate value). First powers throughout, so an over-specified cell shows its n^-1/4 rate and a vanishing extra atom counts through u_i.',
      'The softmax truth is exactly a sigmoid MoE (σ(2x+.5), σ(−2x−.5)); the sigmoid truth is not a softmax MoE (its gates do not sum to 1), so softmax fits of it are misspecified and should plateau.',
    ]);
  },
};

/**
 * Experiment 2 (issue #5; arXiv 2503.03213 and 2402.02952 least-squares MoE; the 2505.10860 Thm 1–2 pattern):
 * exact- vs over-specified softmax-gated regression MoE, fitted by least squares.
 *   truth: k* = 2 atoms, X ~ U[−2, 2], Y = f*(X) + N(0, 0.1²);
 *   cells: 'ffn-exact' (GELU FFN experts, k = 2), 'ffn-over' (GELU, k = 3, true atom 1 split in
 *   two at the start), 'linear-over' (linear experts, k = 3, same split).
 * Measured per fit: per-atom parameter error ‖(β1, η)_i − (β1, η)*_j‖ over the atoms of exact cells
 * (|V_j| = 1) and, weighted by each atom's gate mass (`cellErrors`), of over-specified cells
 * (|V_j| > 1); the regression-form Voronoi loss (2402.02952 template) and ‖f̂ − f*‖_{L2}. Expected log-log slopes vs n: exact ≈ −0.5, FFN over-cell
 * ≈ −0.25, linear over-cell much flatter; ‖f̂ − f*‖ ≈ −0.5 everywhere.
 */
import { Rng, ValueError } from '../../../engine/index.js';
import type { Cell, CellResult, Experiment, ExperimentSummary } from '../experiment.js';
import { logSpaced } from '../rates.js';
import { voronoiCells, regressionVoronoiLoss } from '../voronoi.js';
import { type RegressionMoE, sampleRegression, splitInit, fitRegression, l2Distance, seedOf, gateUsage, groupIndex, lseAt } from './regression-moe.js';
import { rateSummary } from './summary.js';

const RANGE = [-2, 2] as const;
const NOISE = 0.1;
const INIT_NOISE = 0.2;

/** True model of the FFN runs: softmax gate, 2 GELU experts h = e2·GELU(e1·x) (the second atom's gate pinned). */
export const FFN_TRUTH: RegressionMoE = { gate: 'softmax', expert: 'gelu', atoms: [{ b1: 2, b0: 0.5, e1: 2, e2: 1 }, { b1: 0, b0: 0, e1: -2, e2: 1.5 }] };
/** True model of the linear run: softmax gate, 2 linear experts e1·x + e2 (the second atom's gate pinned). */
export const LINEAR_TRUTH: RegressionMoE = { gate: 'softmax', expert: 'linear', atoms: [{ b1: 2, b0: 0.5, e1: 2, e2: -1 }, { b1: 0, b0: 0, e1: -1.5, e2: 1 }] };

const CONFIGS = {
  'ffn-exact': { truth: FFN_TRUTH, from: [0, 1], label: 'FFN exact' },
  'ffn-over': { truth: FFN_TRUTH, from: [0, 0, 1], label: 'FFN over' },
  'linear-over': { truth: LINEAR_TRUTH, from: [0, 0, 1], label: 'linear over' },
} as const;
type ConfigName = keyof typeof CONFIGS;

/**
 * Location of every atom for the Voronoi cells and the per-atom error, in coordinates the model
 * identifies: (β1, e1, e2); for the temperature gate (β1/τ, e1, e2) (the scale (β, τ) → (cβ, cτ) leaves
 * the gate unchanged); for the hierarchical gate (ω_a, β1_ab, e1, e2) with ω_a the atom's group slope.
 */
export function atomLocations(m: RegressionMoE): number[][] {
  const grp = groupIndex(m), s = m.gate === 'temperature' ? 1 / m.tau! : 1;
  return m.atoms.map((a, i) => [...(m.gate === 'hierarchical' ? [m.groupGates![grp[i]!]!.b1] : []), a.b1 * s, a.e1, a.e2]);
}

/**
 * Mass-weighted per-atom errors by Voronoi cell (cells on `locs`, nearest true location):
 *   exact = mean over cells with |V_j| = 1 of ‖loc_i − loc*_j‖;
 *   over  = mean over cells with |V_j| > 1 of  e_j = Σ_{i∈V_j} w_i ‖loc_i − loc*_j‖ / Σ_{i∈V_j} w_i,
 * with w_i ≥ 0 the atom's mass. NaN when there is no such cell, or an over cell has zero total mass.
 * The within-cell weighting follows the mass weights e^{β0_i} of the regression Voronoi loss
 * (arXiv 2402.02952, template of 2503.03213): an atom the gate no longer uses counts in proportion to its use.
 * Throws a ValueError when `masses` has the wrong length or holds a negative or non-finite value.
 */
export function weightedCellErrors(locs: readonly (readonly number[])[], masses: ArrayLike<number>, truthLocs: readonly (readonly number[])[]): { exact: number; over: number; sizes: number[] } {
  if (masses.length !== locs.length) throw new ValueError('weightedCellErrors', `expected ${locs.length} masses; got ${masses.length}`);
  for (let i = 0; i < masses.length; i++) if (!(Number.isFinite(masses[i]) && masses[i]! >= 0)) throw new ValueError('weightedCellErrors', `masses must be finite and ≥ 0; got ${masses[i]} at ${i}`);
  const cells = voronoiCells(locs, truthLocs);
  const exact: number[] = [], over: number[] = [];
  cells.forEach((cell, j) => {
    const t = truthLocs[j]!, err = (i: number) => Math.hypot(...locs[i]!.map((v, q) => v - t[q]!));
    if (cell.length === 1) exact.push(err(cell[0]!));
    else if (cell.length > 1) {
      const w = cell.reduce((s, i) => s + masses[i]!, 0);
      over.push(w > 0 ? cell.reduce((s, i) => s + masses[i]! * err(i), 0) / w : NaN);
    }
  });
  const avg = (v: number[]) => (v.length ? v.reduce((s, x) => s + x, 0) / v.length : NaN);
  return { exact: avg(exact), over: avg(over), sizes: cells.map((c) => c.length) };
}

/**
 * Per-atom parameter errors of a fitted regression MoE by Voronoi cell, each fitted atom weighted by
 * its gate mass w_i = E_{X~U[range]}[g_i(X)] (the mean gate value over the input law, `gateUsage`;
 * midpoint rule, 500 points). Why this mass rather than e^{β0_i}: it is the share of f_G the atom
 * carries, so an atom whose gate mass went to ~0 (unidentified by the data) no longer drives the error;
 * it is invariant under the softmax translation and the temperature scale, and defined for every gate
 * kind (sigmoid, top-K, hierarchical); with constant gates (β1 = 0) it equals e^{β0_i} normalised within
 * the cell, the template's weighting. Cells and errors on `atomLocations`. See `weightedCellErrors`.
 */
export function cellErrors(fit: RegressionMoE, truth: RegressionMoE, range: readonly [number, number] = [-1, 1]): { exact: number; over: number; sizes: number[] } {
  return weightedCellErrors(atomLocations(fit), gateUsage(fit, range), atomLocations(truth));
}

const asRegAtoms = (m: RegressionMoE) => m.atoms.map((a) => ({ beta0: a.b0, beta1: [a.b1], expert: [a.e1, a.e2] }));

/** Experiment `ffn-exact-vs-over`: per-atom error rates of exact- vs over-specified softmax MoE regression (arXiv 2503.03213). */
export const ffnExactVsOver: Experiment = {
  name: 'ffn-exact-vs-over',
  description: 'Exact- vs over-specified softmax MoE (LSE): per-atom error rates (claim: n^-1/2 exact, n^-1/4 over for GELU FFN; linear experts much slower)',
  paper: 'arXiv 2503.03213 (softmax-gated MoE regression, least squares) / 2505.10860 Thm 1–2 pattern',
  reported: [
    { label: 'exact-cell per-atom error slope (theory)', value: -0.5, axis: 'n' },
    { label: 'over-cell per-atom error slope, FFN (theory)', value: -0.25, axis: 'n' },
  ],
  cells({ quick }) {
    const ns = quick ? logSpaced(4000, 32000, 4) : logSpaced(2000, 128000, 7);
    const reps = quick ? 8 : 20;
    const out: Cell[] = [];
    for (const config of Object.keys(CONFIGS) as ConfigName[]) {
      for (const n of ns) for (let rep = 0; rep < reps; rep++) {
        out.push({ id: `${config}/n=${n}/rep=${rep}`, n, rep, seed: seedOf('ffn-exact-vs-over', config, n, rep), params: { config } });
      }
    }
    return out;
  },
  runCell(cell: Cell): CellResult {
    const t0 = Date.now();
    const config = CONFIGS[cell.params.config as ConfigName];
    if (!config) throw new Error(`ffn-exact-vs-over: unknown config ${String(cell.params.config)}`);
    const rng = new Rng(cell.seed);
    const data = sampleRegression(config.truth, cell.n, NOISE, rng, RANGE);
    const init = splitInit(config.truth, config.from, INIT_NOISE, rng);
    const { model, result } = fitRegression(init, data);
    const err = cellErrors(model, config.truth, RANGE);
    const p = config.label;
    const metrics: Record<string, number> = {
      [`${p}: ‖f̂−f*‖`]: l2Distance(model, config.truth, RANGE),
      [`${p}: Voronoi loss`]: regressionVoronoiLoss(asRegAtoms(model), asRegAtoms(config.truth)),
    };
    if (config.from.length === config.truth.atoms.length) metrics[`${p}: atom error`] = err.exact;
    else { metrics[`${p}: over-cell atom error`] = err.over; metrics[`${p}: exact-cell atom error`] = err.exact; }
    return {
      id: cell.id, n: cell.n, rep: cell.rep, seed: cell.seed, metrics, ms: Date.now() - t0,
      info: { cellSizes: err.sizes, reason: result.reason, iterations: result.iterations, gradMax: result.gradMax, converged: result.converged, loss: result.value, lossAtTruth: lseAt(config.truth, data), atoms: model.atoms.map((a) => [a.b1, a.b0, a.e1, a.e2]) },
    };
  },
  summarize(results): ExperimentSummary {
    return rateSummary(results, [
      { series: 'FFN exact: atom error', expected: -0.5 },
      { series: 'FFN over: over-cell atom error', expected: -0.25 },
      { series: 'FFN over: exact-cell atom error', expected: -0.5 },
      { series: 'linear over: over-cell atom error' },
      { series: 'FFN exact: ‖f̂−f*‖', expected: -0.5 },
      { series: 'FFN over: ‖f̂−f*‖', expected: -0.5 },
      { series: 'linear over: ‖f̂−f*‖', expected: -0.5 },
      { series: 'FFN exact: Voronoi loss', expected: -0.5 },
      { series: 'FFN over: Voronoi loss', expected: -0.5 },
      { series: 'linear over: Voronoi loss' },
    ], {
      title: 'Exact- vs over-specified experts (softmax MoE, least squares)',
      yLabel: 'mean per-atom parameter error',
      series: ['FFN exact: atom error', 'FFN over: over-cell atom error', 'linear over: over-cell atom error', 'FFN over: ‖f̂−f*‖'],
    }, [
      'Truth k*=2 on X~U[-2,2], σ=0.1; over-specified fits (k=3) start with true atom 1 split in two (init noise 0.2); L-BFGS with the toolkit stopping rule (max|∇| ≤ 1e-6, or relative change ≤ 1e-10 for 20 iterations; cap 5000); stop reason, iterations and max|∇| are in the info of each cell.',
      'Slopes are d log(mean error)/d log n; "over-cell" is the mean over the atoms of Voronoi cells holding >1 fitted atom, each weighted by its gate mass E_X[g_i(X)] normalised within the cell (an atom whose gate went to ~0 does not count); NaN runs are skipped.',
    ]);
  },
};

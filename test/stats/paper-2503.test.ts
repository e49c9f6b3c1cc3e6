import { describe, expect, it } from 'vitest';
import { Rng, ValueError } from '../../engine/index.js';
import * as R from '../../moe/stats/experiments/regression-moe.js';
import { flattenTree } from '../../moe/stats/optimize.js';
import { cellErrors, weightedCellErrors, FFN_TRUTH } from '../../moe/stats/experiments/ffn-exact-vs-over.js';
import { TRUTHS_2503, compareLaws, voronoiLoss2503, temperatureGating, hierarchicalGating } from '../../moe/stats/experiments/paper-2503.js';
import { logSpaced } from '../../moe/stats/rates.js';

const sig = (v: number) => 1 / (1 + Math.exp(-v));
const T = TRUTHS_2503.temperature, H = TRUTHS_2503.hierarchical;

describe('temperature and hierarchical gates (arXiv 2503.03213)', () => {
  it('gate values by hand: temperature softmax((β1x+β0)/τ), hierarchical p_a·q_{b|a}', () => {
    const x = 0.3, gt = R.gateValues(T.gelu, x);
    expect(gt[0]).toBeCloseTo(sig((1 * x + 0.25) / 0.5), 14);
    expect(gt[0]! + gt[1]!).toBeCloseTo(1, 14);
    const gh = R.gateValues(H.gelu, x), p0 = sig(2 * x + 1), q0 = sig(2 * x + 0.5);
    expect(Array.from(gh).map((v) => +v.toFixed(14))).toEqual([p0 * q0, p0 * (1 - q0), 1 - p0].map((v) => +v.toFixed(14)));
  });

  const rng = new Rng(11);
  const cases: [string, R.RegressionMoE, number[]][] = [
    ['temperature gelu, over', T.gelu, [0, 0, 1]], ['temperature linear, exact', T.linear, [0, 1]],
    ['hierarchical gelu, over', H.gelu, [0, 0, 1, 2]], ['hierarchical linear, exact', H.linear, [0, 1, 2]],
  ];
  it.each(cases)('fused LSE value and gradient equal the tape ones (%s)', (_name, truth, from) => {
    const data = R.sampleRegression(truth, 40, 0.1, rng, [-2, 2]);
    const m = R.splitInit(truth, from, 0.3, rng);
    const th = flattenTree(R.toParams(m)), g1 = new Float64Array(th.length), g2 = new Float64Array(th.length);
    const v1 = R.lseObjective(m, data)(th, g1), v2 = R.tapeLseObjective(m, data)(th, g2);
    expect(Math.abs(v1 - v2)).toBeLessThan(1e-12);
    expect(Math.max(...g1.map(Math.abs))).toBeGreaterThan(1e-3); // away from a stationary point
    for (let i = 0; i < th.length; i++) expect(Math.abs(g1[i]! - g2[i]!)).toBeLessThan(1e-10);
  });

  it('the temperature scale (β, τ) → (cβ, cτ) is exactly flat: ∂L/∂log τ = −Σ β·∂L/∂β, and the loss is scale-free', () => {
    const data = R.sampleRegression(T.gelu, 60, 0.1, new Rng(4), [-2, 2]);
    const m = R.splitInit(T.gelu, [0, 0, 1], 0.3, new Rng(5));
    const th = flattenTree(R.toParams(m)), g = new Float64Array(th.length);
    R.lseObjective(m, data)(th, g);
    const nFree = 2, s = g[th.length - 1]!;
    let dot = 0; for (let i = 0; i < 2 * nFree; i++) dot += th[i]! * g[i]!;
    expect(Math.abs(s + dot)).toBeLessThan(1e-12);
    const scaled: R.RegressionMoE = { ...m, tau: 3 * m.tau!, atoms: m.atoms.map((a) => ({ ...a, b1: 3 * a.b1, b0: 3 * a.b0 })) };
    expect(R.l2Distance(scaled, m, [-2, 2], 200)).toBeLessThan(1e-14);
    expect(voronoiLoss2503(scaled, T.gelu)).toBeCloseTo(voronoiLoss2503(m, T.gelu), 12);
  });

  it('splitInit keeps pinned atoms pinned and splits within-group mass; bad splits throw', () => {
    const init = R.splitInit(H.gelu, [0, 0, 1, 2], 0, new Rng(1));
    expect(init.groups).toEqual([3, 1]);
    expect(Math.exp(init.atoms[0]!.b0) + Math.exp(init.atoms[1]!.b0)).toBeCloseTo(Math.exp(0.5), 12);
    const t = R.splitInit(T.gelu, [0, 0, 1], 0, new Rng(1));
    expect(Math.exp(t.atoms[0]!.b0 / 0.5) + Math.exp(t.atoms[1]!.b0 / 0.5)).toBeCloseTo(Math.exp(0.25 / 0.5), 12);
    expect(() => R.splitInit(H.gelu, [1, 0, 2], 0, new Rng(1))).toThrow(/pinned true atom/);
    expect(() => R.splitInit(H.gelu, [2, 0, 1], 0, new Rng(1))).toThrow(/in order/);
    expect(() => R.checkModel({ ...H.gelu, groups: [2, 2] })).toThrow(/groups/);
    expect(() => R.checkModel({ ...T.gelu, tau: 0 })).toThrow(/tau/);
  });

  it('Voronoi loss: 0 at the truth; a group-slope shift δ costs e^{α}·δ (level 1 of the per-level template)', () => {
    expect(voronoiLoss2503(H.gelu, H.gelu)).toBe(0);
    expect(voronoiLoss2503(T.linear, T.linear)).toBe(0);
    const shifted: R.RegressionMoE = { ...H.gelu, groupGates: [{ b1: 2.1, b0: 1 }, { b1: 0, b0: 0 }] };
    expect(voronoiLoss2503(shifted, H.gelu)).toBeCloseTo(Math.E * 0.1, 12);
  });
});

describe('mass-weighted over-cell errors', () => {
  // Constant gates (β1 = 0): the mean gate value is softmax(β0), so the weights are known by hand.
  const truth: R.RegressionMoE = { ...FFN_TRUTH, atoms: [{ b1: 0, b0: 0.5, e1: 2, e2: 1 }, { b1: 0, b0: 0, e1: -2, e2: 1.5 }] };
  const fit = (b0: number, e: number): R.RegressionMoE => ({ ...truth, atoms: [
    { b1: 0, b0: Math.log(3), e1: 2.3, e2: 1 }, { b1: 0, b0, e1: 2 + e, e2: 1 }, { b1: 0, b0: 0, e1: -2, e2: 1.6 }] });

  it('weights each atom of an over cell by its gate mass (3/5 and 1/5 → (0.6·0.3 + 0.2·0.4)/0.8)', () => {
    const e = cellErrors(fit(0, 0.4), truth, [-2, 2]);
    expect(e.sizes).toEqual([2, 1]);
    expect(e.over).toBeCloseTo((0.6 * 0.3 + 0.2 * 0.4) / 0.8, 12);
    expect(e.exact).toBeCloseTo(0.1, 12);
  });

  it('an atom with near-zero mass does not dominate (unweighted mean would be 25.15)', () => {
    const e = cellErrors(fit(-30, 50), truth, [-2, 2]);
    expect(e.sizes).toEqual([2, 1]);
    expect(e.over).toBeCloseTo(0.3, 9);
  });

  it('weightedCellErrors: NaN without over cells or with zero cell mass; bad masses throw', () => {
    const t = [[0, 0], [5, 5]];
    expect(Number.isNaN(weightedCellErrors([[0, 1], [5, 5]], [1, 1], t).over)).toBe(true);
    expect(weightedCellErrors([[0, 1], [0, 3], [5, 5]], [1, 3, 1], t).over).toBeCloseTo((1 + 9) / 4, 12);
    expect(Number.isNaN(weightedCellErrors([[0, 1], [0, 3], [5, 5]], [0, 0, 1], t).over)).toBe(true);
    expect(() => weightedCellErrors([[0, 1]], [1, 2], t)).toThrow(/masses/);
    expect(() => weightedCellErrors([[0, 1]], [-1], t)).toThrow(ValueError);
  });
});

describe('power law vs 1/log n verdict', () => {
  const ns = logSpaced(300, 30000, 9);
  const groups = (f: (n: number) => number, noise: number) => {
    const rng = new Rng(2);
    return ns.map((n) => ({ n, values: Array.from({ length: 20 }, () => f(n) * Math.exp(noise * rng.normal())) }));
  };
  it('a clean power law is "polynomial", a clean (log n)^-2 law "slower than polynomial", a flat one undecided', () => {
    const pow = compareLaws(groups((n) => n ** -0.25, 0.02), { resamples: 200 });
    expect(pow.verdict).toBe('polynomial');
    expect(pow.power.slope).toBeCloseTo(-0.25, 2);
    const slow = compareLaws(groups((n) => Math.log(n) ** -2, 0.02), { resamples: 200 });
    expect(slow.verdict).toBe('slower than polynomial');
    expect(slow.logLaw.slope).toBeCloseTo(2, 1);
    expect(compareLaws(groups(() => 1, 0.3), { resamples: 200 }).verdict).toBe('cannot decide');
    expect(() => compareLaws(ns.map((n) => ({ n, values: [1 / n] })))).toThrow(/spread/);
  });
});

describe('temperature-gating and hierarchical-gating cells', () => {
  const exps = [temperatureGating, hierarchicalGating];
  it.each(exps.flatMap((e) => e.cells({ quick: true }).filter((c, _i, all) => c.rep === 0 && c.n === all[0]!.n).map((c) => [e.name, c.id, e, c] as const)))(
    '%s %s: a tiny-n fit converges (gtol or tol) and records its convergence', (_n, _id, e, c) => {
      const r = e.runCell({ ...c, n: 150 });
      expect(['gtol', 'tol']).toContain(r.info!.reason);
      expect(Number(r.info!.gradMax)).toBeLessThan(1e-3);
      expect(Number(r.info!.loss)).toBeLessThanOrEqual(Number(r.info!.lossAtTruth) + 1e-12);
      expect(Object.values(r.metrics).some(Number.isFinite)).toBe(true);
    });
  it('a cell is deterministic and JSON-clean; the full sweep meets the issue grid', () => {
    const c = { ...hierarchicalGating.cells({ quick: true })[5]!, n: 120 };
    const a = hierarchicalGating.runCell(c), b = hierarchicalGating.runCell(c);
    expect(a.metrics).toEqual(b.metrics);
    expect(JSON.parse(JSON.stringify(a.info))).toEqual(a.info);
    // multi-start: both fits reported, the global one never above the local root; spurious implies another root
    const lo = a.info!.local as { loss: number }, gl = a.info!.global as { loss: number };
    expect(gl.loss).toBeLessThanOrEqual(lo.loss);
    expect(Number.isFinite(a.metrics['hier FFN exact: Voronoi loss (global)'])).toBe(true);
    expect(a.metrics['hier FFN exact: global is spurious']!).toBeLessThanOrEqual(a.metrics['hier FFN exact: global is another root']!);
    if (a.metrics['hier FFN exact: global is another root'] === 0) expect(a.metrics['hier FFN exact: Voronoi loss (global)']).toBe(a.metrics['hier FFN exact: Voronoi loss']);
    expect(a.info!.fitRule).toMatchObject({ lineSearch: 'wolfe', patience: 50 });
    const rows = hierarchicalGating.summarize([a]).perCell!;
    expect(rows).toHaveLength(1);
    expect(rows[0]!.stop).toBe(a.info!.reason);
    expect(rows[0]!['atom error']).toBe(a.metrics['hier FFN exact: atom error']);
    expect(rows[0]!['over-cell atom error']).toBe(''); // same columns in every row
    for (const e of exps) {
      const full = e.cells({ quick: false }), ns = [...new Set(full.map((x) => x.n))];
      expect(ns.length).toBeGreaterThanOrEqual(8);
      expect(Math.max(...ns) / Math.min(...ns)).toBeGreaterThanOrEqual(100);
      expect(Math.max(...ns)).toBeGreaterThanOrEqual(30000);
      expect(new Set(full.map((x) => x.rep)).size).toBeGreaterThanOrEqual(20);
      const big = full.find((x) => x.n === 30000)!, small = full.find((x) => x.n === 300)!;
      expect(e.estimateCellMs!(big)).toBeGreaterThan(e.estimateCellMs!(small));
    }
  });
});

describe('2503.03213 metrics from stored models (merge --remeasure)', () => {
  it('remeasuring a cell from its stored models gives its metrics; every true atom is scored in exact fits', () => {
    const c = { ...temperatureGating.cells({ quick: true }).find((x) => x.id.startsWith('linear-exact'))!, n: 150 };
    const r = temperatureGating.runCell(c);
    expect(temperatureGating.remeasure!(JSON.parse(JSON.stringify(r)))).toEqual(r);
    // A fit whose second atom copies the first: true atom 1's Voronoi cell is empty, yet the atom error counts it.
    const t = T.linear, a0 = t.atoms[0]!;
    const fake = { ...r, info: { ...r.info, models: { local: { atoms: [[a0.b1, a0.b0, a0.e1, a0.e2], [0, 0, a0.e1, a0.e2]], tau: t.tau! } } } };
    const m = temperatureGating.remeasure!(fake).metrics;
    expect(m['temp linear exact: empty true cells']).toBe(1);
    const t1 = t.atoms[1]!, want = Math.hypot(0 - t1.b1 / t.tau!, a0.e1 - t1.e1, a0.e2 - t1.e2) / 2;
    expect(m['temp linear exact: atom error']).toBeGreaterThan(0.5 * want);
    expect(Number.isFinite(m['temp linear exact: atom error'])).toBe(true); // (read at the Voronoi loss's shift, so not exactly `want`)
    expect(() => temperatureGating.remeasure!({ ...r, info: {} })).toThrow(/no stored models/);
  });
});

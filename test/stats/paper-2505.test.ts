import { describe, expect, it } from 'vitest';
import { Rng } from '../../engine/index.js';
import {
  THM_TRUTHS, DEFAULT_SPACE, EXPERIMENTS, applyGauge, constrainedObjective, constraintsOf, findExperiment, fitFrom, gaugeInfimum,
  gaussianMoENll, initNearTruth, klProjection, lossD1, lossD2, meanNll, multiStartFit, packModel, randomStart, sampleGaussianMoE,
  symmetriesOf, toFittedGauge, componentWeights, runThmCell, remeasureThmCell, rawLoss, measure, convergenceNotes, type GaussianMoE,
} from '../../moe/stats/index.js';
import { heuristicGauge } from '../../moe/stats/gauge.js';
import { sharedRoutedSwap } from '../../moe/stats/swap.js';

describe('2505.10860 setups', () => {
  it('thm1x is Thm 1 with an input-dependent gate (β11* = −5, β12* = 0) that routes each expert where its ReLU is on; thm1..thm4 keep the printed values', () => {
    expect(THM_TRUTHS.thm1x.routed.map((a) => a.beta1[0])).toEqual([-5, 0]);
    expect(THM_TRUTHS.thm1x.routed.map((a) => a.expert)).toEqual(THM_TRUTHS.thm1.routed.map((a) => a.expert));
    // Expert 1 (4·ReLU(−12x)) gets most of the routed mass at x = −1, expert 2 (4·ReLU(12x)) at x = 1.
    const w = (x: number) => componentWeights(THM_TRUTHS.thm1x, [x]);
    expect(w(-1)[1]!).toBeGreaterThan(0.9 * 0.5);
    expect(w(1)[2]!).toBeGreaterThan(0.9 * 0.5);
    expect(THM_TRUTHS.thm1.routed.map((a) => a.beta1[0])).toEqual([5, 5]);
    const init = initNearTruth(THM_TRUTHS.thm1, new Rng(5), 0.3);
    expect(init.shared).toHaveLength(2);
    expect(init.routed).toHaveLength(3);
  });
  it('registry: thm1..thm4 and thm1x, full design ≥ 20 reps over ≥ 8 n spanning ≥ 2 decades up to ≥ 3e4', () => {
    for (const name of ['thm1', 'thm2', 'thm3', 'thm4']) expect(findExperiment(name)?.reported?.[0]?.value).toBeGreaterThan(0.4);
    expect(findExperiment('thm1x')).toBeDefined();
    const names = EXPERIMENTS.map((e) => e.name);
    expect(new Set(names).size).toBe(names.length);
    const full = findExperiment('thm1')!.cells({ quick: false });
    const ns = [...new Set(full.map((c) => c.n))];
    expect(ns.length).toBeGreaterThanOrEqual(8);
    expect(Math.max(...ns) / Math.min(...ns)).toBeGreaterThanOrEqual(100);
    expect(Math.max(...ns)).toBeGreaterThanOrEqual(30000);
    for (const n of ns) expect(full.filter((c) => c.n === n).length).toBeGreaterThanOrEqual(20);
    expect(JSON.parse(JSON.stringify(full))).toEqual(full);
  });
});

describe('estimator: gauge-fixed, boxed, converged', () => {
  const truth = THM_TRUTHS.thm1;
  const data = sampleGaussianMoE(truth, 400, new Rng(4));
  const init = initNearTruth(truth, new Rng(5), 0.2);

  it('toFittedGauge pins the last routed gate at 0, puts ReLU experts on the balanced slice, and keeps the likelihood', () => {
    const g = toFittedGauge(init);
    expect(g.routed[2]!.beta0).toBe(0);
    expect(g.routed[2]!.beta1).toEqual([0]);
    for (const a of [...g.shared, ...g.routed]) {
      const p = a.expert.length;
      expect(Math.hypot(...a.expert.slice(0, p - 1))).toBeCloseTo(Math.abs(a.expert[p - 1]!), 10);
    }
    expect(meanNll(g, data)).toBeCloseTo(meanNll(init, data), 12);
  });
  it('constraints: fixed coordinates get zero gradient, the box penalty acts only outside, the slice penalty only off the slice', () => {
    const like = toFittedGauge(init), c = constraintsOf(like, DEFAULT_SPACE);
    const base = gaussianMoENll(like, data.x, data.y), f = constrainedObjective(base, c);
    const th = packModel(like), g0 = new Float64Array(th.length), g1 = new Float64Array(th.length);
    expect(c.fixed.length).toBe(3); // last shared log-weight, last routed (β0, β1)
    const v0 = base(th, g0), v1 = f(th, g1);
    expect(v1).toBeCloseTo(v0, 9); // inside the box and on the slice: no penalty
    for (const i of c.fixed) expect(g1[i]).toBe(0);
    const out = Float64Array.from(th);
    const beta = like.shared.length * (1 + 3 + 1); // first routed β0
    out[beta] = DEFAULT_SPACE.gateBox + 0.1;
    expect(f(out, new Float64Array(th.length)) - base(out, new Float64Array(th.length))).toBeCloseTo(1e4 * 0.01, 6);
  });
  it('fits stop on the gradient rule or the patient change rule and report why, with max|∇| and box violation', () => {
    const r = fitFrom(init, data);
    expect(['gtol', 'tol']).toContain(r.reason);
    expect(r.converged).toBe(true);
    expect(r.gradMax).toBeLessThan(1e-2);
    expect(r.boxViolation).toBeLessThan(1e-6);
    expect(r.nll).toBeLessThan(meanNll(truth, data)); // the over-specified MLE beats the truth's likelihood
    // A smooth model (linear experts, Thm 2) reaches the gradient rule itself.
    const d2 = sampleGaussianMoE(THM_TRUTHS.thm2, 400, new Rng(8));
    const r2 = fitFrom(initNearTruth(THM_TRUTHS.thm2, new Rng(9), 0.2), d2);
    expect(r2.converged).toBe(true);
  });
  it('a strong-Wolfe search that finds no step beside the box wall falls back to Armijo backtracking instead of stopping (thm3, n = 510, rep 5)', () => {
    // This cell's near-truth fit stopped with reason 'lineSearch' at max|∇| 5.3e-3 before the fallback
    // existed: the stiff box penalty put the line minimum at a step ~1e-9, where no decrease is representable.
    const cell = findExperiment('thm3')!.cells({ quick: false }).find((c) => c.id === 'n=510/rep=5')!;
    const t = THM_TRUTHS.thm3, rng = new Rng(cell.seed);
    const d = sampleGaussianMoE(t, cell.n, rng.split());
    const start = initNearTruth(t, rng.split(), 0.5 * Math.pow(cell.n, -0.083));
    const rule = { lineSearch: 'wolfe', patience: 50 } as const;
    const without = fitFrom(start, d, { ...rule, fallback: 'none' });
    expect(without.reason).toBe('lineSearch');
    expect(without.gradMax).toBeGreaterThan(1e-3);
    const withFallback = fitFrom(start, d, { ...rule, maxIter: 1500 });
    expect(withFallback.reason).not.toBe('lineSearch');
    expect(withFallback.iterations).toBeGreaterThan(without.iterations);
    expect((without.nll - withFallback.nll) * cell.n).toBeGreaterThan(0.1); // nats on the whole sample
    expect(() => fitFrom(start, d, { fallback: 'backtrack' as never })).toThrow(/fitFrom.*fallback/);
  });
  it('random starts are truth-agnostic: they depend on the structure and the data, not on the true parameters', () => {
    const other: GaussianMoE = { ...truth, routed: truth.routed.map((a) => ({ ...a, beta0: a.beta0 + 3, expert: a.expert.map((v) => -v) })) };
    const a = randomStart(initNearTruth(truth, new Rng(1), 0.1), data, new Rng(3)), b = randomStart(initNearTruth(other, new Rng(1), 0.1), data, new Rng(3));
    expect(a).toEqual(b);
    for (const at of a.routed) { expect(Math.abs(at.beta0)).toBeLessThanOrEqual(DEFAULT_SPACE.gateBox / 2); expect(at.variance).toBeGreaterThanOrEqual(DEFAULT_SPACE.varianceFloor); }
  });
  it('multi-start is deterministic per seed, reports every start, and the global fit is never worse than the local root', () => {
    const settings = { starts: 3, screenIter: 30, seed: 7, maxIter: 400 } as const;
    const a = multiStartFit(init, data, settings), b = multiStartFit(init, data, settings);
    expect(a.global.nll).toBe(b.global.nll);
    expect(a.starts).toEqual(b.starts);
    expect(a.starts).toHaveLength(4);
    expect(a.starts[0]!.kind).toBe('near-truth');
    expect(a.global.nll).toBeLessThanOrEqual(a.local.nll);
    expect(a.globalIsRandom).toBe(a.global !== a.local);
    expect(() => multiStartFit(init, data, { starts: Infinity })).toThrow(/multiStartFit: starts must be a finite integer/);
  });
});

describe('Voronoi losses as infima over the symmetry group', () => {
  const truth = THM_TRUTHS.thm1x;
  it('a gauge-transformed truth (softmax translation + ReLU scales) has infimum 0, the identity does not', () => {
    const group = symmetriesOf(truth);
    const moved = applyGauge(truth, group, [3, -2, 0.7, -0.4, 1.1])!;
    expect(lossD1(moved, truth)).toBeGreaterThan(1);
    const inf = gaugeInfimum(moved, truth, (m) => lossD1(m, truth), group);
    expect(inf.value).toBeLessThan(1e-6);
    expect(inf.atIdentity).toBe(lossD1(moved, truth));
  });
  it('over-specified fit: a split atom at the truth, then a non-gauge error in one variance — the infimum is exactly that error', () => {
    // Truth atom 1 split in two halves (mass e^β0 / 2 each) with a variance error δ = 0.1 on one of them.
    const half = Math.log(0.5);
    const fit: GaussianMoE = { ...truth, routed: [
      { ...truth.routed[0]!, beta0: truth.routed[0]!.beta0 + half },
      { ...truth.routed[0]!, beta0: truth.routed[0]!.beta0 + half, variance: truth.routed[0]!.variance + 0.1 },
      truth.routed[1]!,
    ] };
    const moved = applyGauge(fit, symmetriesOf(fit), [1.5, 0.8, 0, 0.3, -0.2, 0.5])!;
    const expected = 0.5 * Math.exp(truth.routed[0]!.beta0) * 0.1 ** 2; // over cell: e^β0 ·|Δν|²
    expect(lossD1(fit, truth)).toBeCloseTo(expected, 12);
    const inf = gaugeInfimum(moved, truth, (m) => lossD1(m, truth));
    expect(inf.value).toBeLessThanOrEqual(expected + 1e-9);
    expect(inf.value).toBeGreaterThan(expected * 0.5); // the variance error is gauge-invariant: it cannot vanish
  });
  it('the infimum is never above the heuristic alignment and beats it on an input-dependent truth', () => {
    const data = sampleGaussianMoE(truth, 300, new Rng(21));
    const fit = fitFrom(initNearTruth(truth, new Rng(22), 0.4), data, { maxIter: 300 }).model;
    const group = symmetriesOf(fit);
    const inf = gaugeInfimum(fit, truth, (m) => lossD1(m, truth), group);
    const heuristic = lossD1(applyGauge(fit, group, heuristicGauge(fit, truth, group))!, truth);
    expect(inf.value).toBeLessThanOrEqual(heuristic);
    expect(inf.value).toBe(Math.min(inf.value, inf.atHeuristic));
    // The minimising gauge does not change the density, and it matches the truth's total routed mass.
    expect(meanNll(inf.model, data)).toBeCloseTo(meanNll(fit, data), 10);
    const mass = (m: GaussianMoE) => m.routed.reduce((a, r) => a + Math.exp(r.beta0), 0);
    expect(mass(inf.model)).toBeCloseTo(mass(truth), 10);
    // A brute-force grid over the slope translation c1 and one ReLU scale finds nothing lower.
    let grid = Infinity;
    for (let a = -4; a <= 4; a += 0.1) for (let b = -1; b <= 1; b += 0.25) {
      const g = Float64Array.from(inf.gauge); g[1] = g[1]! + a; g[2] = g[2]! + b;
      grid = Math.min(grid, lossD1(applyGauge(fit, group, g)!, truth));
    }
    expect(inf.value).toBeLessThanOrEqual(grid + 1e-12);
  });
  it('the β0 translation is fixed by the total mass, not optimised: shrinking every mass would hide a poor fit', () => {
    // A poor fit: every routed expert 5 away from the truth.
    const poor: GaussianMoE = { ...truth, routed: truth.routed.map((a) => ({ ...a, expert: a.expert.map((v) => v + 5) })) };
    const group = symmetriesOf(poor), inf = gaugeInfimum(poor, truth, (m) => lossD1(m, truth), group);
    expect(inf.value).toBeGreaterThan(5);
    const shrunk = Float64Array.from(inf.gauge); shrunk[0] = shrunk[0]! - 8; // all masses × e^-8
    const routedMass = truth.routed.reduce((a, r) => a + Math.exp(r.beta0), 0);
    expect(lossD1(applyGauge(poor, group, shrunk)!, truth)).toBeLessThan(routedMass + 0.1); // capped near Σ e^{β0*}: meaningless
  });
  it('linear experts have no ReLU scale: only the translation acts (D2)', () => {
    const t2 = THM_TRUTHS.thm2, group = symmetriesOf(t2);
    expect(group).toEqual({ softmaxTranslation: true, reluScale: false, sigmoidScale: false });
    const moved = applyGauge(t2, group, [2, 1])!;
    expect(gaugeInfimum(moved, t2, (m) => lossD2(m, t2), group).value).toBeLessThan(1e-6);
  });
});

describe('thm cells', () => {
  it('store their fitted models, and re-measuring them reproduces the metrics (merge --remeasure)', () => {
    const cell = { id: 'n=150/rep=0', n: 150, rep: 0, seed: 17, params: {} };
    const r = runThmCell('thm2', cell, DEFAULT_SPACE, 2);
    expect(Object.keys(r.metrics).sort()).toEqual(['D2 global', 'D2 local root', 'global is another root', 'global is spurious']);
    expect(r.info?.local).toMatchObject({ reason: expect.stringMatching(/^(gtol|tol)$/) });
    const again = remeasureThmCell('thm2', JSON.parse(JSON.stringify(r)));
    expect(again.metrics).toEqual(r.metrics);
    const { models: _m, ...noModels } = r.info!;
    expect(() => remeasureThmCell('thm2', { ...r, info: noModels })).toThrow(/remeasureThmCell: cell n=150\/rep=0 stores no fitted models/);
  });
  it('convergence notes count the fits sitting on each bound of the compact space, and the variance-floor ones per n', () => {
    const t2 = THM_TRUTHS.thm2, fitInfo = { nll: 1, reason: 'tol', iterations: 10, evaluations: 12, gradMax: 1e-6, boxViolation: 0 };
    const cellOf = (id: string, n: number, local: GaussianMoE) => ({ id, n, rep: 0, seed: 0, metrics: { 'D2 global': 0, 'D2 local root': 0, 'global is another root': 0, 'global is spurious': 0 },
      info: { nllTruth: 1, local: fitInfo, global: fitInfo, models: { local: JSON.parse(JSON.stringify(local)) } } });
    const floor: GaussianMoE = { ...t2, routed: t2.routed.map((a, i) => (i === 0 ? { ...a, variance: DEFAULT_SPACE.varianceFloor } : a)) };
    const edge: GaussianMoE = { ...t2, routed: t2.routed.map((a, i) => (i === 0 ? { ...a, beta0: -DEFAULT_SPACE.gateBox * (1 + 1e-9) } : a)) };
    const notes = convergenceNotes([cellOf('a', 100, t2), cellOf('b', 100, floor), cellOf('c', 1000, edge), cellOf('d', 1000, floor)]);
    const line = notes.find((l) => l.startsWith('fits on a bound'))!;
    expect(line).toContain('local roots: gate box 1, variance floor 2; no bound active in 1 of 4');
    expect(line).toContain('by n: 100: 1/2, 1000: 1/2');
  });
});

describe('KL projection (Thm 4 limit)', () => {
  const coarse = { xNodes: 30, yNodes: 6, seeds: [1], randomStarts: 0, maxIter: 800 } as const;
  it('well-specified (softmax, Thm 2): the projection attains the truth (KL ≈ 0); sub-truth quadrature artefacts are rejected', () => {
    const r = klProjection(THM_TRUTHS.thm2, { shared: [0, 0], routed: [[0, 0, 1]] }, { ...coarse, xNodes: 40, yNodes: 8, randomStarts: 1 });
    expect(Math.abs(r.minima[0]!.kl)).toBeLessThan(1e-5);
    expect(r.limits.length).toBeGreaterThanOrEqual(1);
    // On this coarse rule the random start parks narrow components on the y-nodes: "KL" < 0, rejected.
    expect(r.artefacts.length).toBe(1);
    for (const a of r.artefacts) expect(a.kl).toBeLessThan(-1e-5);
    for (const m of r.minima) expect(m.kl).toBeGreaterThanOrEqual(-1e-5);
  });
  it('dense normalized-sigmoid regime (Thm 4): misspecified, so the best KL stays positive', () => {
    const r = klProjection(THM_TRUTHS.thm4, { shared: [0, 0], routed: [[0, 0, 1]] }, coarse);
    expect(r.minima[0]!.kl).toBeGreaterThan(1e-6);
    for (const m of r.minima) expect(m.kl).toBeGreaterThanOrEqual(r.minima[0]!.kl);
  });
});

describe('shared ↔ routed exchange (Thm 1 and 2 as printed: the gate is constant in x)', () => {
  it('the exchanged truth has the same density, its loss against the printed truth is large, and measure() returns 0 for it', () => {
    const rng = new Rng(3);
    for (const name of ['thm1', 'thm2'] as const) {
      const truth = THM_TRUTHS[name], swapped = sharedRoutedSwap(truth)!;
      expect(swapped.shared).toHaveLength(truth.routed.length);
      expect(swapped.routed).toHaveLength(truth.shared.length);
      const data = sampleGaussianMoE(truth, 400, rng.split());
      expect(meanNll(swapped, data)).toBeCloseTo(meanNll(truth, data), 12);
      expect(rawLoss(name, swapped)).toBeGreaterThan(1);
      expect(measure(name, swapped).value).toBeLessThan(1e-9);
    }
  });
  it('is not applied where it is not a symmetry: an input-dependent gate (thm1x), the normalized sigmoid (thm3, thm4)', () => {
    expect(sharedRoutedSwap(THM_TRUTHS.thm1x)).toBeNull();
    expect(sharedRoutedSwap(THM_TRUTHS.thm3)).toBeNull();
    expect(sharedRoutedSwap(THM_TRUTHS.thm4)).toBeNull();
    // A shared ReLU expert with a bias has no image in the bias-free routed family.
    const t = THM_TRUTHS.thm1;
    expect(sharedRoutedSwap({ ...t, shared: [{ ...t.shared[0]!, expert: [6, 0.5, -8] }] })).toBeNull();
  });
});

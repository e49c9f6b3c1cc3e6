import { describe, expect, it } from 'vitest';
import { Rng } from '../../engine/index.js';
import type { Cell, CellResult } from '../../moe/stats/experiment.js';
import { EXTRA_EXPERIMENTS } from '../../moe/stats/experiments/index.js';
import * as R from '../../moe/stats/experiments/regression-moe.js';
import { cellErrors, FFN_TRUTH } from '../../moe/stats/experiments/ffn-exact-vs-over.js';
import { expertLoss } from '../../moe/stats/experiments/sigmoid-vs-softmax.js';
import { routerCurves } from '../../moe/stats/experiments/router-behaviour.js';
import { maxOverMean } from '../../moe/stats/experiments/bias-balancing.js';
import { curveRows, meanStd, rateSummary } from '../../moe/stats/experiments/summary.js';
import { makeTask, sampleTask } from '../../moe/stats/experiments/toy-moe.js';

const flat = (m: R.RegressionMoE) => { const p = R.toParams(m); return Float64Array.from([...p.b1.data, ...p.b0.data, ...p.e1.data, ...p.e2.data]); };

describe('regression MoE (experiments 2–4)', () => {
  const truth = FFN_TRUTH;
  const rng = new Rng(3);
  const data = R.sampleRegression(truth, 40, 0.1, rng, [-2, 2]);
  const models: [string, R.RegressionMoE][] = [
    ['softmax gelu (pinned)', R.splitInit(truth, [0, 0, 1], 0.3, rng)],
    ['sigmoid gelu', R.splitInit({ ...truth, gate: 'sigmoid' }, [0, 0, 1], 0.3, rng, 'sigmoid')],
    ['top-2 of 3 linear', { ...R.splitInit(truth, [0, 0, 1], 0.3, rng, 'topk', 2), expert: 'linear' }],
  ];
  it.each(models)('fused LSE value and gradient equal the tape ones (%s)', (_name, m) => {
    const th = flat(m), g1 = new Float64Array(th.length), g2 = new Float64Array(th.length);
    const v1 = R.lseObjective(m, data)(th, g1), v2 = R.tapeLseObjective(m, data)(th, g2);
    expect(Math.abs(v1 - v2)).toBeLessThan(1e-12);
    for (let i = 0; i < th.length; i++) expect(Math.abs(g1[i]! - g2[i]!)).toBeLessThan(1e-10);
  });

  it('theory top-K selection ranks β1·x only (β0 ignored) and renormalizes over the selected', () => {
    const m: R.RegressionMoE = { gate: 'topk', expert: 'linear', topK: 1, atoms: [{ b1: 1, b0: -50, e1: 0, e2: 1 }, { b1: 0, b0: 0, e1: 0, e2: 2 }] };
    expect(Array.from(R.gateValues(m, 0.5))).toEqual([1, 0]); // 0.5 > 0 despite β0 = −50
    expect(Array.from(R.gateValues(m, -0.5))).toEqual([0, 1]);
    const m2: R.RegressionMoE = { ...m, topK: 2 };
    const g = R.gateValues(m2, 0.5);
    expect(g[0]).toBeCloseTo(Math.exp(0.5 - 50) / (Math.exp(0.5 - 50) + 1), 15);
  });

  it('checkModel rejects an unpinned softmax and an out-of-range K̄', () => {
    expect(() => R.checkModel({ gate: 'softmax', expert: 'gelu', atoms: [{ b1: 1, b0: 0, e1: 1, e2: 1 }] })).toThrow(/pinned/);
    expect(() => R.checkModel({ gate: 'topk', expert: 'gelu', topK: 3, atoms: [{ b1: 0, b0: 0, e1: 1, e2: 1 }] })).toThrow(/topK/);
  });

  it('splitInit splits the gate mass of a true atom among its copies', () => {
    const init = R.splitInit(truth, [0, 0, 1], 0, new Rng(1));
    expect(Math.exp(init.atoms[0]!.b0) + Math.exp(init.atoms[1]!.b0)).toBeCloseTo(Math.exp(truth.atoms[0]!.b0), 12);
    const sig = R.splitInit({ ...truth, gate: 'sigmoid' }, [0, 0, 1], 0, new Rng(1), 'sigmoid');
    const s = (v: number) => 1 / (1 + Math.exp(-v));
    expect(s(sig.atoms[0]!.b0) + s(sig.atoms[1]!.b0)).toBeCloseTo(s(truth.atoms[0]!.b0), 12);
  });

  it('a fit started at the truth stays close on clean data', () => {
    const clean = R.sampleRegression(truth, 300, 0, new Rng(5), [-2, 2]);
    const { model } = R.fitRegression(truth, clean, { maxIter: 50 });
    expect(R.l2Distance(model, truth, [-2, 2], 200)).toBeLessThan(1e-6);
  });

  it('cellErrors: exact cells unweighted, over cells weighted by gate mass (hand cases in paper-2503.test.ts)', () => {
    const t = truth.atoms;
    const fit: R.RegressionMoE = { ...truth, atoms: [
      { ...t[0]!, b1: t[0]!.b1 + 0.3 }, { ...t[0]!, e1: t[0]!.e1 - 0.4 }, { ...t[1]!, e2: t[1]!.e2 + 0.1 }] };
    const e = cellErrors(fit, truth, [-2, 2]), u = R.gateUsage(fit, [-2, 2]);
    expect(e.sizes).toEqual([2, 1]);
    expect(e.over).toBeCloseTo((u[0]! * 0.3 + u[1]! * 0.4) / (u[0]! + u[1]!), 12);
    expect(e.exact).toBeCloseTo(0.1, 12);
    expect(Number.isNaN(cellErrors(truth, truth).over)).toBe(true);
  });

  it('expertLoss weights each atom by its mean gate value (constant sigmoid gates)', () => {
    const s = (v: number) => 1 / (1 + Math.exp(-v));
    const tr: R.RegressionMoE = { gate: 'sigmoid', expert: 'gelu', atoms: [{ b1: 0, b0: 1, e1: 2, e2: 1 }, { b1: 0, b0: -1, e1: -2, e2: 1.5 }] };
    expect(expertLoss(tr, tr)).toBe(0);
    const fit: R.RegressionMoE = { ...tr, atoms: [tr.atoms[0]!, { ...tr.atoms[1]!, e1: -1.7 }, { b1: 0, b0: 0.5, e1: 2.4, e2: 1 }] };
    expect(expertLoss(fit, tr)).toBeCloseTo(s(-1) * 0.3 + s(0.5) * 0.4, 10);
  });
});

describe('summaries', () => {
  it('rateSummary recovers an exact power law and skips absent series', () => {
    const results: CellResult[] = [];
    for (const n of [100, 1000, 10000]) for (let rep = 0; rep < 3; rep++) {
      results.push({ id: `${n}/${rep}`, n, rep, seed: rep, metrics: { err: 3 * n ** -0.5 * (1 + 0.01 * rep) } });
    }
    const s = rateSummary(results, [{ series: 'err', expected: -0.5 }, { series: 'absent' }], { title: 't', yLabel: 'y', series: ['err', 'absent'] });
    expect(s.fits).toHaveLength(1);
    expect(s.fits[0]!.slope).toBeCloseTo(-0.5, 10);
    expect(s.fits[0]!.ci[0]).toBeLessThanOrEqual(-0.5 + 1e-9);
    expect(s.plot.series).toEqual(['err']);
    expect(s.rows.map((r) => r.n)).toEqual([100, 1000, 10000]);
  });

  it('curveRows averages stored training curves per config and step', () => {
    const mk = (config: string, rep: number, sat: number[]): CellResult => ({ id: `${config}/${rep}`, n: 2, rep, seed: rep, metrics: {}, info: { config, curve: { step: [1, 2], saturation: sat } } });
    const rows = curveRows([mk('a', 0, [0.5, 1]), mk('a', 1, [0.7, 1]), mk('b', 0, [0.1, 1])], ['saturation']);
    const a1 = rows.find((r) => r.series === 'a: saturation' && r.n === 1)!;
    expect(a1.mean).toBeCloseTo(0.6, 12);
    expect(a1.std).toBeCloseTo(Math.SQRT2 * 0.1, 12);
    expect(rows.filter((r) => r.series === 'b: saturation')).toHaveLength(2);
    expect(meanStd([NaN, 2, 4])).toEqual({ mean: 3, std: Math.SQRT2, count: 2 });
  });

  it('routerCurves: saturation vs last, change vs previous, Jain of load', () => {
    const cp = (step: number, sets: number[], load: number[]) => ({ step, indices: Int32Array.from(sets), load, loss: step });
    // 2 tokens, k = 2.
    const c = routerCurves([cp(1, [0, 1, 2, 3], [1, 1, 1, 1]), cp(2, [0, 2, 2, 3], [1, 0, 2, 1]), cp(3, [0, 2, 3, 1], [1, 1, 1, 1])], 2);
    expect(c.saturation).toEqual([0.5, 0.75, 1]);
    expect(Number.isNaN(c.changeRate[0]!)).toBe(true);
    expect(c.changeRate.slice(1)).toEqual([0.25, 0.25]);
    expect(c.jain[1]).toBeCloseTo(16 / (4 * 6), 12);
  });

  it('maxOverMean is 1 when balanced and E when one expert takes all', () => {
    expect(maxOverMean([2, 2, 2, 2])).toBe(1);
    expect(maxOverMean([0, 8, 0, 0])).toBe(4);
  });
});

describe('toy sparse-MoE task', () => {
  it('targets follow the nearest-centroid linear map and are deterministic per seed', () => {
    const task = makeTask(new Rng(2), 3, 4);
    const a = sampleTask(task, 20, new Rng(9), [0.7, 0.1, 0.1, 0.1]), b = sampleTask(task, 20, new Rng(9), [0.7, 0.1, 0.1, 0.1]);
    expect(Array.from(a.y.data)).toEqual(Array.from(b.y.data));
    for (let t = 0; t < 20; t++) {
      const r = a.region[t]!;
      for (let i = 0; i < 3; i++) {
        let s = task.offsets[r * 3 + i]!;
        for (let j = 0; j < 3; j++) s += task.maps[(r * 3 + i) * 3 + j]! * a.x.data[t * 3 + j]!;
        expect(a.y.data[t * 3 + i]).toBeCloseTo(s, 12);
      }
    }
  });
});

describe('experiments 2–6 are registered, seeded and deterministic', () => {
  const tiny: Record<string, (c: Cell) => Cell> = {
    'ffn-exact-vs-over': (c) => ({ ...c, n: 150 }),
    'sigmoid-vs-softmax': (c) => ({ ...c, n: 150 }),
    'topk-overfit': (c) => ({ ...c, n: 150 }),
    'router-behaviour': (c) => ({ ...c, params: { ...c.params, steps: 6 } }),
    'bias-balancing': (c) => ({ ...c, params: { ...c.params, steps: 6 } }),
    'temperature-gating': (c) => ({ ...c, n: 150 }),
    'hierarchical-gating': (c) => ({ ...c, n: 150 }),
  };
  it('names are unique and quick cells have unique ids', () => {
    const names = EXTRA_EXPERIMENTS.map((e) => e.name);
    expect(new Set(names).size).toBe(names.length);
    expect(names.sort()).toEqual(Object.keys(tiny).sort());
    for (const e of EXTRA_EXPERIMENTS) {
      const ids = e.cells({ quick: true }).map((c) => c.id);
      expect(new Set(ids).size).toBe(ids.length);
      expect(e.cells({ quick: false }).length).toBeGreaterThanOrEqual(ids.length);
    }
  });
  it.each(EXTRA_EXPERIMENTS.map((e) => [e.name, e] as const))('%s: same cell → same metrics; summary has rows', (name, e) => {
    const cell = tiny[name]!(e.cells({ quick: true })[e.cells({ quick: true }).length - 1]!);
    const a = e.runCell(cell), b = e.runCell(cell);
    expect(a.metrics).toEqual(b.metrics);
    expect(Object.keys(a.metrics).length).toBeGreaterThan(0);
    expect(JSON.parse(JSON.stringify(a.info ?? {}))).toEqual(a.info ?? {});
    const s = e.summarize([a]);
    expect(s.rows.length).toBeGreaterThan(0);
  }, 30_000);
});

describe('topk-overfit split bookkeeping', () => {
  it('splitKeptFraction counts fits whose two halves of atom 1 stay within 0.5 of it', async () => {
    const { splitKeptFraction, TOPK_TRUTH } = await import('../../moe/stats/experiments/topk-overfit.js');
    const a = TOPK_TRUTH.atoms[0]!, near = [a.b1 + 0.1, a.b0, a.e1, a.e2], far = [a.b1, a.b0, a.e1 + 2, a.e2];
    const mk = (id: string, atoms: number[][]): CellResult => ({ id, n: 10, rep: 0, seed: 0, metrics: {}, info: { atoms } });
    const f = splitKeptFraction([mk('K=2/a', [near, near]), mk('K=2/b', [near, far]), mk('K=3/a', [near, near])]);
    expect(f.get('K=2')).toBe(0.5);
    expect(f.get('K=3')).toBe(1);
  });
});

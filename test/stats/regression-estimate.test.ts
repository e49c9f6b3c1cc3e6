import { describe, expect, it } from 'vitest';
import { Rng, ValueError } from '../../engine/index.js';
import * as R from '../../moe/stats/experiments/regression-moe.js';
import { DEFAULT_REGRESSION_SPACE, fitRegressionIn, multiStartRegression, randomRegressionStart, regressionActiveBounds, regressionConstraints } from '../../moe/stats/experiments/regression-estimate.js';
import { TRUTHS_2503, voronoiLoss2503 } from '../../moe/stats/experiments/paper-2503.js';
import * as G from '../../moe/stats/experiments/regression-gauge.js';
import { flattenTree } from '../../moe/stats/optimize.js';

const T = TRUTHS_2503.temperature, H = TRUTHS_2503.hierarchical;
const data = (m: R.RegressionMoE, n: number, seed: number) => R.sampleRegression(m, n, 0.1, new Rng(seed), [-2, 2]);

describe('regression estimator over a compact space (arXiv 2503.03213 fits)', () => {
  it('constraints follow the toParams layout: gate box (temperature: |β/τ| ≤ B), expert box, log τ fixed', () => {
    const like = R.splitInit(T.gelu, [0, 0, 1], 0, new Rng(1));
    const c = regressionConstraints(like, { gateBox: 4, expertBox: 7 });
    const th = flattenTree(R.toParams(like));
    expect(c.lo.length).toBe(th.length);
    // free b1 (2), free b0 (2), e1 (3), e2 (3), log τ
    expect([...c.hi]).toEqual([2, 2, 2, 2, 7, 7, 7, 7, 7, 7, Infinity].map((v, i) => (i < 4 ? 4 * like.tau! : v)));
    expect(c.fixed).toEqual([th.length - 1]);
    const h = R.splitInit(H.linear, [0, 0, 1, 2], 0, new Rng(1)), ch = regressionConstraints(h, { gateBox: 3, expertBox: 5 });
    // free b1 (2), free b0 (2), e1 (4), e2 (4), w1 (1), w0 (1)
    expect([...ch.hi]).toEqual([3, 3, 3, 3, 5, 5, 5, 5, 5, 5, 5, 5, 3, 3]);
    expect(ch.fixed).toEqual([]);
    expect(() => regressionConstraints(h, { gateBox: 0, expertBox: 5 })).toThrow(ValueError);
    expect(() => regressionConstraints(h, { gateBox: 3 } as never)).toThrow(/expertBox/);
  });

  it('τ stays at its start value (the flat scale direction is removed) and the fit converges below the truth', () => {
    const d = data(T.linear, 800, 3), start = R.splitInit(T.linear, [0, 1], 0.2, new Rng(4));
    const r = fitRegressionIn(start, d);
    expect(r.model.tau).toBe(start.tau);
    expect(['gtol', 'tol']).toContain(r.reason);
    expect(r.lse).toBeLessThanOrEqual(R.lseAt(T.linear, d) + 1e-12);
    expect(r.boxViolation).toBe(0);
  });

  it('the box binds: a truth outside it is fitted on the box edge, at most |∇|/(2ρ) outside, and reported as such', () => {
    const wide: R.RegressionMoE = { ...H.linear, groupGates: [{ b1: 6, b0: 1 }, { b1: 0, b0: 0 }] };
    const d = data(wide, 1500, 5), start = R.splitInit(wide, [0, 1, 2], 0.1, new Rng(6));
    const space = { gateBox: 3, expertBox: 20 };
    const r = fitRegressionIn(start, d, { space });
    expect(Math.abs(r.model.groupGates![0]!.b1)).toBeGreaterThan(3 - 1e-6);
    expect(r.boxViolation).toBeLessThan(1e-5);
    expect(regressionActiveBounds(r.model, space).has('gate box')).toBe(true);
    const free = fitRegressionIn(start, d, { space: DEFAULT_REGRESSION_SPACE });
    expect(free.model.groupGates![0]!.b1).toBeGreaterThan(4);
    expect(regressionActiveBounds(free.model).size).toBe(0);
  });

  it('random starts are truth-agnostic, seeded and inside the box', () => {
    const d = data(H.gelu, 300, 7), like = R.splitInit(H.gelu, [0, 0, 1, 2], 0, new Rng(1));
    const a = randomRegressionStart(like, d, new Rng(9)), b = randomRegressionStart(like, d, new Rng(9));
    expect(a).toEqual(b);
    expect(a.groups).toEqual(like.groups);
    R.checkModel(a);
    for (const at of a.atoms) for (const v of [at.b1, at.b0]) expect(Math.abs(v)).toBeLessThanOrEqual(DEFAULT_REGRESSION_SPACE.gateBox / 2);
    expect(randomRegressionStart(R.splitInit(T.gelu, [0, 1], 0, new Rng(1)), d, new Rng(2)).tau).toBe(1);
  });

  it('multi-start is deterministic; the global fit is never worse than the local root; bad settings throw', () => {
    const d = data(H.linear, 400, 11), start = R.splitInit(H.linear, [0, 0, 1, 2], 0.2, new Rng(12));
    const a = multiStartRegression(start, d, { starts: 4, seed: 3 }), b = multiStartRegression(start, d, { starts: 4, seed: 3 });
    expect(a.global.lse).toBe(b.global.lse);
    expect(a.global.lse).toBeLessThanOrEqual(a.local.lse);
    expect(a.globalIsRandom).toBe(a.global !== a.local);
    expect(a.polished).toBeLessThanOrEqual(2);
    expect(a.bestRandomLse).toBeGreaterThanOrEqual(a.global.lse - 1e-15);
    const none = multiStartRegression(start, d, { starts: 0 });
    expect(none.global).toBe(none.local);
    expect(none.bestRandomLse).toBe(Infinity);
    expect(() => multiStartRegression(start, d, { starts: -1 })).toThrow(/multiStartRegression.*starts/);
    expect(() => multiStartRegression(start, d, { margin: Number.NaN })).toThrow(/margin/);
  });
});

describe('losses as infima over the softmax translation group (regression-gauge.ts)', () => {
  const { translate, translationInfimum, translationDim } = G;
  it('translate leaves f_G unchanged (temperature, hierarchical) and checks the shift length', () => {
    for (const [m, c] of [[T.gelu, [0.7, -1.3]], [H.linear, [0.4, 1, -2, 0.5, 3, -1]]] as const) {
      const s = translate(m, c);
      for (const x of [-1.7, 0, 0.9]) expect(R.regressionValue(s, x)).toBeCloseTo(R.regressionValue(m, x), 12);
      expect(() => translate(m, [1])).toThrow(/translate.*shift must hold/);
    }
    expect(translationDim(H.gelu)).toBe(6);
  });
  it('the k = 2 label swap (β, η1; 0, η2) ↔ (−β, η2; 0, η1) is the truth: loss at the pinned coordinates > 0, infimum 0', () => {
    const t = T.linear, [a, b] = t.atoms as [R.RegAtom, R.RegAtom];
    const swapped: R.RegressionMoE = { ...t, atoms: [{ b1: -a.b1, b0: -a.b0, e1: b.e1, e2: b.e2 }, { b1: 0, b0: 0, e1: a.e1, e2: a.e2 }] };
    for (const x of [-1, 0.3, 2]) expect(R.regressionValue(swapped, x)).toBeCloseTo(R.regressionValue(t, x), 12);
    const r = translationInfimum(swapped, t, (m) => voronoiLoss2503(m, t));
    expect(r.atZero).toBeGreaterThan(1);
    expect(r.value).toBeLessThan(1e-9);
    expect(r.shift[0]! * t.tau!).toBeCloseTo(a.b1, 6);
  });
  it('hierarchical: a fit shifted per group and at level 1 has infimum 0; a real error survives the infimum', () => {
    const shifted = translate(H.gelu, [0.5, -0.3, 1, 2, -1.5, 0.25]);
    expect(voronoiLoss2503(shifted, H.gelu)).toBeGreaterThan(0.1);
    expect(translationInfimum(shifted, H.gelu, (m) => voronoiLoss2503(m, H.gelu)).value).toBeLessThan(1e-8);
    const wrong: R.RegressionMoE = { ...H.gelu, atoms: H.gelu.atoms.map((x, i) => (i === 0 ? { ...x, e1: x.e1 + 0.3 } : x)) };
    const inf = translationInfimum(wrong, H.gelu, (m) => voronoiLoss2503(m, H.gelu)).value;
    expect(inf).toBeGreaterThan(0.05);
    expect(inf).toBeLessThanOrEqual(voronoiLoss2503(wrong, H.gelu));
  });
});

describe('bad input to the regression estimator and gauge (MoegradError naming the function, never a TypeError or silent NaN)', () => {
  const d = data(T.linear, 50, 1), m = R.splitInit(T.linear, [0, 1], 0, new Rng(1));
  it.each([
    ['fitRegressionIn null data', () => fitRegressionIn(m, null as never), /fitRegressionIn: data must be/],
    ['fitRegressionIn NaN data', () => fitRegressionIn(m, { x: Float64Array.from([NaN]), y: Float64Array.from([1]) }), /fitRegressionIn: data must be finite/],
    ['fitRegressionIn misspelt option', () => fitRegressionIn(m, d, { maxIters: 3 } as never), /fitRegressionIn: unknown option 'maxIters'/],
    ['multiStartRegression misspelt option', () => multiStartRegression(m, d, { strats: 2 } as never), /multiStartRegression: unknown option 'strats'/],
    ['randomRegressionStart null rng', () => randomRegressionStart(m, d, null as never), /randomRegressionStart: rng must be an Rng/],
    ['regressionConstraints null model', () => regressionConstraints(null as never), /RegressionMoE: expected a model/],
    ['NaN atom', () => fitRegressionIn({ ...m, atoms: [{ b1: NaN, b0: 0, e1: 1, e2: 1 }, m.atoms[1]!] }, d), /atom 0 must have finite numbers/],
    ['translate null', () => G.translate(null as never, [0, 0]), /translate: /],
    ['translate NaN shift', () => G.translate(m, [NaN, 0]), /translate: shift must hold finite numbers/],
    ['translationInfimum loss not a function', () => G.translationInfimum(m, T.linear, 3 as never), /translationInfimum: loss must be a function/],
    ['voronoiLoss2503 mixed gates', () => voronoiLoss2503(T.linear, H.linear), /voronoiLoss2503: fit and truth must have the same gate/],
  ] as const)('%s', (_name, call, msg) => {
    expect(call).toThrow(ValueError);
    expect(call).toThrow(msg);
  });
  it('a start outside the box is projected onto it before fitting', () => {
    const far: R.RegressionMoE = { ...m, atoms: [{ ...m.atoms[0]!, b1: 800 * m.tau! }, m.atoms[1]!] };
    const r = fitRegressionIn(far, d);
    expect(r.boxViolation).toBeLessThan(1e-4);
  });
});

import { describe, expect, it } from 'vitest';
import { Rng, matmul, mean, randn, square, sub, tensor, type Tensor } from '../../engine/index.js';
import { adamMinimize, flattenTree, lbfgs, tapeObjective, unflattenTree } from '../../moe/stats/index.js';
import { armijoSearch, wolfeSearch } from '../../moe/stats/line-search.js';

const rosenbrock = (x: Float64Array, g: Float64Array) => {
  const a = x[0]!, b = x[1]!;
  g[0] = -2 * (1 - a) - 400 * a * (b - a * a);
  g[1] = 200 * (b - a * a);
  return (1 - a) ** 2 + 100 * (b - a * a) ** 2;
};

describe('lbfgs', () => {
  it('minimises the Rosenbrock function to its optimum (1, 1)', () => {
    const r = lbfgs(rosenbrock, [-1.2, 1], { tol: 1e-14, gtol: 1e-10 });
    expect(r.converged).toBe(true);
    expect(r.theta[0]).toBeCloseTo(1, 5);
    expect(r.theta[1]).toBeCloseTo(1, 5);
  });
  it('respects the iteration cap and maxStep', () => {
    const r = lbfgs(rosenbrock, [-1.2, 1], { maxIter: 3, tol: 0 });
    expect(r.iterations).toBe(3);
    expect(r.reason).toBe('maxIter');
    let last = Float64Array.from([0, 0]);
    const f = (x: Float64Array, g: Float64Array) => { expect(Math.abs(x[0]! - last[0]!)).toBeLessThanOrEqual(0.5 + 1e-12); last = Float64Array.from(x); g[0] = 2 * (x[0]! - 10); return (x[0]! - 10) ** 2; };
    lbfgs((x, g) => f(x, g), [0], { maxStep: 0.5, maxIter: 5, tol: 0 });
  });
  it('rejects a non-finite start', () => {
    expect(() => lbfgs(() => NaN, [0])).toThrow(/lbfgs/);
  });
});

describe('tapeObjective', () => {
  it('fits least squares with tape gradients to the normal-equation solution', () => {
    const rng = new Rng(5);
    const X = randn(rng, [40, 3]);
    const wTrue = tensor([[1], [-2], [0.5]]);
    const y = matmul(X, wTrue);
    const loss = (p: { w: Tensor }) => mean(square(sub(matmul(X, p.w), y)));
    const template = { w: tensor([[0], [0], [0]]) };
    const r = lbfgs(tapeObjective(loss, template), flattenTree(template), { tol: 1e-14, gtol: 1e-12 });
    const w = unflattenTree(template, r.theta).w.toArray();
    expect(w[0]).toBeCloseTo(1, 6); expect(w[1]).toBeCloseTo(-2, 6); expect(w[2]).toBeCloseTo(0.5, 6);
  });
  it('adamMinimize decreases a quadratic deterministically', () => {
    const f = (x: Float64Array, g: Float64Array) => { g[0] = 2 * (x[0]! - 3); return (x[0]! - 3) ** 2; };
    const a = adamMinimize(f, [0], { lr: 0.1, maxIter: 300 });
    expect(a.theta[0]).toBeCloseTo(3, 2);
    expect(adamMinimize(f, [0], { lr: 0.1, maxIter: 300 }).theta).toEqual(a.theta);
  });
});

describe('lbfgs patience', () => {
  // f = Σ_i (x_i − 1)² / 10^i with a tiny coordinate step cap: progress per step is small from the
  // start, so with tol 1e-4 a single calm step ends the run far from the optimum.
  const illScaled = (x: Float64Array, g: Float64Array) => {
    let f = 0; for (let i = 0; i < x.length; i++) { const s = 10 ** -i; f += s * (x[i]! - 1) ** 2; g[i] = 2 * s * (x[i]! - 1); } return f;
  };
  it('patience k needs k consecutive calm iterations, so it stops later and lower than patience 1', () => {
    const opts = { tol: 1e-4, maxStep: 0.01, maxIter: 5000 } as const;
    const one = lbfgs(illScaled, [0, 0, 0, 0], { ...opts, patience: 1 }), ten = lbfgs(illScaled, [0, 0, 0, 0], { ...opts, patience: 10 });
    expect(one.reason).toBe('tol');
    expect(ten.iterations).toBeGreaterThanOrEqual(one.iterations + 9);
    expect(ten.value).toBeLessThan(one.value);
    // Without a step cap the same problem converges in a few steps under either rule.
    expect(lbfgs(illScaled, [0, 0, 0, 0], { tol: 1e-12, patience: 3 }).value).toBeLessThan(1e-10);
  });
  it('defaults to the research stopping rule: max|∇| ≤ 1e-6, else 20 calm iterations, and reports gradMax', () => {
    const r = lbfgs(rosenbrock, [-1.2, 1]);
    expect(r.reason).toBe('gtol');
    expect(r.gradMax).toBeLessThanOrEqual(1e-6);
    const capped = lbfgs(illScaled, [0, 0, 0, 0], { tol: 1e-4, maxStep: 0.01 });
    expect(capped.iterations).toBeGreaterThanOrEqual(20);
    expect(capped.gradMax).toBeGreaterThan(0);
    expect(() => lbfgs(rosenbrock, [0, 0], { maxIter: Infinity })).toThrow(/lbfgs: maxIter must be a finite integer/);
  });
  it('rejects patience < 1 or non-integer', () => {
    expect(() => lbfgs(illScaled, [0, 0], { patience: 0 })).toThrow(/patience must be an integer ≥ 1/);
    expect(() => lbfgs(illScaled, [0, 0], { patience: 1.5 })).toThrow(/patience/);
  });
  it('the strong-Wolfe line search extrapolates past a too-short unit step and meets both conditions', () => {
    // f(x) = (x − 10)²/2 from x = 0 along dir = 0.01: the unit step moves 0.01, the minimiser is at a = 1000.
    const f = (x: Float64Array, g: Float64Array) => { g[0] = x[0]! - 10; return 0.5 * (x[0]! - 10) ** 2; };
    const x = Float64Array.of(0), dir = Float64Array.of(0.01), slope = -10 * 0.01;
    const ctx = { f, x, fx: 50, dir, slope, maxAlpha: Infinity, evals: 0 };
    const xo = new Float64Array(1), go = new Float64Array(1);
    const fNew = wolfeSearch(ctx, xo, go);
    const a = xo[0]! / 0.01;
    expect(fNew).toBeLessThanOrEqual(50 + 1e-4 * a * slope); // sufficient decrease
    expect(Math.abs(go[0]! * 0.01)).toBeLessThanOrEqual(0.9 * Math.abs(slope)); // strong curvature condition
    expect(a).toBeGreaterThan(100);
    // Backtracking never goes past the unit step.
    const ctx2 = { ...ctx, evals: 0 };
    armijoSearch(ctx2, xo, go);
    expect(xo[0]).toBeCloseTo(0.01, 12);
  });
  it('the Wolfe search shrinks across a region where f is not finite, and lbfgs rejects an unknown lineSearch', () => {
    const f = (x: Float64Array, g: Float64Array) => { if (x[0]! > 1.5) return Infinity; g[0] = 2 * (x[0]! - 1); return (x[0]! - 1) ** 2; };
    const r = lbfgs(f, [0], { gtol: 1e-10 });
    expect(r.reason).toBe('gtol');
    expect(r.theta[0]).toBeCloseTo(1, 8);
    expect(() => lbfgs(f, [0], { lineSearch: 'bogus' as never })).toThrow(/lbfgs: lineSearch must be 'wolfe' or 'armijo'/);
  });
  it('the Wolfe search needs fewer evaluations than Armijo backtracking on Rosenbrock, to the same minimum', () => {
    const w = lbfgs(rosenbrock, [-1.2, 1], { gtol: 1e-8 }), a = lbfgs(rosenbrock, [-1.2, 1], { gtol: 1e-8, lineSearch: 'armijo' });
    expect(w.reason).toBe('gtol'); expect(a.reason).toBe('gtol');
    expect(w.theta[0]).toBeCloseTo(1, 6); expect(a.theta[0]).toBeCloseTo(1, 6);
    expect(w.evaluations).toBeLessThan(a.evaluations);
  });
});

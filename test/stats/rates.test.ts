import { describe, expect, it } from 'vitest';
import { Rng } from '../../engine/index.js';
import { axisValue, fitRate, fitRates, linearFit, logSpaced, powerLawSlope, summaryRows } from '../../moe/stats/index.js';
import type { CellResult } from '../../moe/stats/index.js';

describe('linearFit', () => {
  it('recovers an exact line', () => {
    const f = linearFit([1, 2, 3, 4], [3, 5, 7, 9]);
    expect(f.slope).toBeCloseTo(2, 12);
    expect(f.intercept).toBeCloseTo(1, 12);
    expect(f.r2).toBeCloseTo(1, 12);
  });
  it('rejects degenerate input', () => {
    expect(() => linearFit([1], [1])).toThrow(/at least 2/);
    expect(() => linearFit([2, 2], [1, 3])).toThrow(/equal/);
    expect(() => linearFit([1, 2], [1])).toThrow(/linearFit/);
  });
});

/** Synthetic losses c·n^-a·exp(noise) with `reps` repetitions per n. */
function powerLaw(a: number, noise: number, seed: number, axis: 'n' | 'logn/n' = 'n') {
  const rng = new Rng(seed);
  return logSpaced(100, 100000, 8).map((n) => ({
    // With noise 0 the repetitions are c·(1 ± 0.1) around the exact law: the mean is exact, the spread non-zero.
    n, values: Array.from({ length: 10 }, (_, k) => 3 * (noise === 0 ? 1 + (k % 2 ? 0.1 : -0.1) : 1) * Math.exp((axis === 'n' ? -a * Math.log(n) : a * Math.log(Math.log(n) / n)) + noise * rng.normal())),
  }));
}

describe('fitRate', () => {
  it('recovers a noiseless power law on both axes', () => {
    expect(fitRate(powerLaw(0.5, 0, 1), { axis: 'n', resamples: 50 }).slope).toBeCloseTo(-0.5, 10);
    expect(fitRate(powerLaw(0.25, 0, 1, 'logn/n'), { axis: 'logn/n', resamples: 50 }).slope).toBeCloseTo(0.25, 10);
  });
  it('puts the true slope inside the bootstrap interval of a noisy power law, and is seeded', () => {
    const groups = powerLaw(0.5, 0.3, 7);
    const f = fitRate(groups, { axis: 'n', resamples: 400, seed: 3 });
    expect(f.ci[0]).toBeLessThan(-0.5);
    expect(f.ci[1]).toBeGreaterThan(-0.5);
    expect(f.ci[1] - f.ci[0]).toBeLessThan(0.2);
    expect(fitRate(groups, { axis: 'n', resamples: 400, seed: 3 })).toEqual(f);
  });
  it('axisValue is log n or log(log n / n)', () => {
    expect(axisValue(1000, 'n')).toBeCloseTo(Math.log(1000), 12);
    expect(axisValue(1000, 'logn/n')).toBeCloseTo(Math.log(Math.log(1000) / 1000), 12);
    expect(() => axisValue(1, 'n')).toThrow(/n must be > 1/);
  });
});

describe('summaries', () => {
  const results: CellResult[] = [100, 100, 1000, 1000].map((n, k) => ({ id: `${n}/${k}`, n, rep: k % 2, seed: k, metrics: { L: n === 100 ? [1, 3][k % 2]! : [0.1, 0.3][k % 2]!, M: NaN } }));
  it('summaryRows gives mean, sample std and finite counts per (series, n)', () => {
    const rows = summaryRows(results);
    const l100 = rows.find((r) => r.series === 'L' && r.n === 100)!;
    expect(l100.mean).toBeCloseTo(2, 12);
    expect(l100.std).toBeCloseTo(Math.SQRT2, 12);
    expect(rows.find((r) => r.series === 'M')!.count).toBe(0);
  });
  it('fitRates fits log mean vs log n', () => {
    const [f] = fitRates(results, [{ series: 'L', reported: 1 }], { resamples: 20 });
    expect(f!.slope).toBeCloseTo(-1, 10);
    expect(f!.reported).toBe(1);
  });
  it('logSpaced spans the range', () => {
    expect(logSpaced(100, 100000, 10)).toEqual([100, 215, 464, 1000, 2154, 4642, 10000, 21544, 46416, 100000]);
  });
});

describe('rates for research claims', () => {
  it('powerLawSlope: n^-1/2 has slope −0.5 on log n but ≈ 0.575 on log(log n / n) over [1e2, 1e5]', () => {
    const ns = logSpaced(100, 100000, 10);
    expect(powerLawSlope(ns, 0.5, 'n')).toBeCloseTo(-0.5, 12);
    const onPaperAxis = powerLawSlope(ns, 0.5, 'logn/n');
    expect(onPaperAxis).toBeGreaterThan(0.57);
    expect(onPaperAxis).toBeLessThan(0.58);
    // A narrower grid gives a different slope: the theory line depends on the grid.
    expect(Math.abs(powerLawSlope(logSpaced(100, 1e4, 5), 0.5, 'logn/n') - onPaperAxis)).toBeGreaterThan(0.005);
  });
  it("the '1/logn' axis recovers a (log n)^-a law and axisValue rejects n ≤ e there", () => {
    const groups = logSpaced(100, 100000, 6).map((n, k) => ({ n, values: [2, 3].map((c) => c * (1 + 0.01 * k) ** 0 * Math.log(n) ** -0.7) }));
    expect(fitRate(groups, { axis: '1/logn', resamples: 20 }).slope).toBeCloseTo(0.7, 10);
    expect(() => axisValue(2, '1/logn')).toThrow(/axisValue: n must be > e/);
  });
  it('refuses a rate fit with one repetition per n or no spread (no zero-width interval)', () => {
    const one = logSpaced(100, 10000, 4).map((n) => ({ n, values: [1 / Math.sqrt(n)] }));
    expect(() => fitRate(one)).toThrow(/fitRate: no resampling spread: n = 100 has 1 usable repetition/);
    const same = logSpaced(100, 10000, 4).map((n) => ({ n, values: [1 / n, 1 / n] }));
    expect(() => fitRate(same)).toThrow(/identical/);
    expect(() => fitRate(powerLaw(0.5, 0.1, 2), { resamples: Infinity })).toThrow(/resamples must be an integer/);
  });
  it('median and mean-of-log slopes resist one far-off repetition that moves the mean slope', () => {
    const rng = new Rng(11);
    const ns = logSpaced(100, 100000, 8);
    const results: CellResult[] = [];
    ns.forEach((n, i) => {
      for (let rep = 0; rep < 9; rep++) {
        const outlier = i === ns.length - 1 && rep === 0;
        results.push({ id: `${n}/${rep}`, n, rep, seed: rep, metrics: { L: outlier ? 1e3 / Math.sqrt(n) : Math.exp(0.05 * rng.normal()) / Math.sqrt(n) } });
      }
    });
    const [f] = fitRates(results, [{ series: 'L', theoryExponent: 0.5 }], { resamples: 50 });
    expect(f!.slopeMedian!).toBeCloseTo(-0.5, 1);
    expect(Math.abs(f!.slopeMedian! - f!.slope)).toBeGreaterThan(0.1);
    expect(f!.theory).toBeCloseTo(-0.5, 12);
    expect(f!.reps).toEqual([9, 9]);
  });
});

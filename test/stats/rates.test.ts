import { describe, expect, it } from 'vitest';
import { Rng } from '../../engine/index.js';
import { axisValue, fitRate, fitRates, linearFit, logSpaced, summaryRows } from '../../moe/stats/index.js';
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
    n, values: Array.from({ length: 10 }, () => 3 * Math.exp((axis === 'n' ? -a * Math.log(n) : a * Math.log(Math.log(n) / n)) + noise * rng.normal())),
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

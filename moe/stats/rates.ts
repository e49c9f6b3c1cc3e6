/**
 * Rate fitting: log-log least squares of a loss against n (or against log n / n, the papers'
 * x-axis), with a seeded percentile bootstrap interval for the slope, plus the per-n summary
 * table every experiment needs. Plain float64 maths; no tape.
 */
import { Rng } from '../../engine/index.js';
import { ValueError } from '../../engine/index.js';
import type { CellResult, RateAxis, RateFit, SummaryRow } from './experiment.js';

/** Ordinary least squares y ≈ intercept + slope·x. Needs ≥ 2 distinct x. */
export function linearFit(xs: ArrayLike<number>, ys: ArrayLike<number>): { slope: number; intercept: number; r2: number } {
  const m = xs.length;
  if (m !== ys.length) throw new ValueError('linearFit', `xs has ${m} values but ys has ${ys.length}`);
  if (m < 2) throw new ValueError('linearFit', `need at least 2 points; got ${m}`);
  let mx = 0, my = 0;
  for (let i = 0; i < m; i++) { mx += xs[i]!; my += ys[i]!; }
  mx /= m; my /= m;
  let sxx = 0, sxy = 0, syy = 0;
  for (let i = 0; i < m; i++) {
    const dx = xs[i]! - mx, dy = ys[i]! - my;
    sxx += dx * dx; sxy += dx * dy; syy += dy * dy;
  }
  if (!(sxx > 0)) throw new ValueError('linearFit', 'all x values are equal; the slope is undefined');
  const slope = sxy / sxx;
  return { slope, intercept: my - slope * mx, r2: syy > 0 ? (sxy * sxy) / (sxx * syy) : 1 };
}

/** The regressor for an axis: log n, or log(log n / n). */
export function axisValue(n: number, axis: RateAxis): number {
  if (!(n > 1)) throw new ValueError('axisValue', `n must be > 1; got ${n}`);
  return axis === 'n' ? Math.log(n) : Math.log(Math.log(n) / n);
}

/** Slope of log(mean loss) on the axis, from per-n groups of repeated losses (non-finite and ≤ 0 values skipped). */
function slopeOfMeans(groups: readonly { n: number; values: readonly number[] }[], axis: RateAxis): { slope: number; intercept: number } {
  const xs: number[] = [], ys: number[] = [];
  for (const g of groups) {
    const ok = g.values.filter((v) => Number.isFinite(v) && v > 0);
    if (ok.length === 0) continue;
    xs.push(axisValue(g.n, axis));
    ys.push(Math.log(ok.reduce((s, v) => s + v, 0) / ok.length));
  }
  return linearFit(xs, ys);
}

export interface FitRateOptions {
  readonly axis?: RateAxis;
  /** Bootstrap resamples (default 1000). */
  readonly resamples?: number;
  /** Central interval level (default 0.95). */
  readonly level?: number;
  readonly seed?: number;
}

/**
 * Fits log(mean loss over reps) = c + slope·axis(n) and a percentile bootstrap interval: each
 * resample redraws the repetitions within every n (with replacement) and refits.
 * With axis 'n' a loss ∝ n^{-a} gives slope −a; with axis 'logn/n' a loss ∝ (log n/n)^a gives slope +a.
 */
export function fitRate(groups: readonly { n: number; values: readonly number[] }[], opts: FitRateOptions = {}): { slope: number; intercept: number; ci: [number, number] } {
  const { axis = 'n', resamples = 1000, level = 0.95, seed = 0 } = opts;
  const { slope, intercept } = slopeOfMeans(groups, axis);
  const rng = new Rng(seed);
  const boots: number[] = [];
  for (let b = 0; b < resamples; b++) {
    const resampled = groups.map((g) => ({ n: g.n, values: g.values.map(() => g.values[rng.int(g.values.length)]!) }));
    try { boots.push(slopeOfMeans(resampled, axis).slope); } catch { /* degenerate resample: skip */ }
  }
  boots.sort((a, b) => a - b);
  const q = (p: number) => boots.length === 0 ? NaN : boots[Math.min(boots.length - 1, Math.max(0, Math.round(p * (boots.length - 1))))]!;
  return { slope, intercept, ci: [q((1 - level) / 2), q(1 - (1 - level) / 2)] };
}

/** Groups results by n for one metric. */
export function groupByN(results: readonly CellResult[], series: string): { n: number; values: number[] }[] {
  const byN = new Map<number, number[]>();
  for (const r of results) {
    const v = r.metrics[series];
    if (v === undefined) continue;
    let arr = byN.get(r.n);
    if (!arr) byN.set(r.n, (arr = []));
    arr.push(v);
  }
  return [...byN.entries()].sort((a, b) => a[0] - b[0]).map(([n, values]) => ({ n, values }));
}

/** Per-(series, n) mean, sample std and count of finite values. */
export function summaryRows(results: readonly CellResult[], series?: readonly string[]): SummaryRow[] {
  const names = series ?? [...new Set(results.flatMap((r) => Object.keys(r.metrics)))];
  const rows: SummaryRow[] = [];
  for (const s of names) {
    for (const g of groupByN(results, s)) {
      const ok = g.values.filter(Number.isFinite);
      const mean = ok.length ? ok.reduce((a, v) => a + v, 0) / ok.length : NaN;
      const std = ok.length > 1 ? Math.sqrt(ok.reduce((a, v) => a + (v - mean) ** 2, 0) / (ok.length - 1)) : 0;
      rows.push({ series: s, n: g.n, mean, std, count: ok.length });
    }
  }
  return rows;
}

/** Rate fits for several series at once (what most `summarize` implementations need). */
export function fitRates(
  results: readonly CellResult[],
  specs: readonly { series: string; axis?: RateAxis; reported?: number; expected?: number }[],
  opts: { resamples?: number; seed?: number } = {},
): RateFit[] {
  const out: RateFit[] = [];
  for (const s of specs) {
    const groups = groupByN(results, s.series);
    if (groups.length < 2) continue;
    const axis = s.axis ?? 'n';
    const f = fitRate(groups, { axis, resamples: opts.resamples ?? 1000, seed: opts.seed ?? 0 });
    out.push({ label: s.series, axis, slope: f.slope, intercept: f.intercept, ci: f.ci,
      ...(s.reported !== undefined ? { reported: s.reported } : {}), ...(s.expected !== undefined ? { expected: s.expected } : {}) });
  }
  return out;
}

/** `count` sample sizes log-spaced from lo to hi (inclusive), rounded to integers. */
export function logSpaced(lo: number, hi: number, count: number): number[] {
  if (!(lo > 0 && hi >= lo && count >= 1)) throw new ValueError('logSpaced', `need 0 < lo ≤ hi and count ≥ 1; got lo=${lo}, hi=${hi}, count=${count}`);
  if (count === 1) return [Math.round(lo)];
  return Array.from({ length: count }, (_, i) => Math.round(lo * Math.pow(hi / lo, i / (count - 1))));
}

/**
 * Rate fitting: log-log least squares of a loss against n (or against log n / n, the papers'
 * x-axis), with a seeded percentile bootstrap interval for the slope, plus the per-n summary
 * table every experiment needs. Plain float64 maths; no tape.
 */
import { Rng } from '../../engine/index.js';
import { ValueError } from '../../engine/index.js';
import type { CellResult, RateAxis, RateFit, SummaryRow } from './experiment.js';
import { MAX_COUNT, checkArray, checkCountIn, checkEnum, checkNumber, checkNumberArray, checkOptions, checkRecord, checkResults, checkString, describeValue } from './validate.js';

const AXES = ['n', 'logn/n', '1/logn'] as const;
const STATISTICS = ['mean', 'median', 'meanLog'] as const;

/** Sample sizes usable on `axis`: numbers > 1 (> e for '1/logn'), finite (the x values of the fit). */
function checkSizes(op: string, name: string, ns: ArrayLike<unknown>, axis: RateAxis): void {
  const lo = axis === '1/logn' ? Math.E : 1;
  for (let i = 0; i < ns.length; i++) {
    const n = ns[i];
    if (!(typeof n === 'number' && Number.isFinite(n) && n > lo)) throw new ValueError(op, `${name}[${i}] must be a finite number > ${axis === '1/logn' ? 'e' : 1}; got ${describeValue(n)}`);
  }
}

/** Per-n groups { n, values }: an array of objects whose values are arrays of numbers (NaN allowed: it is skipped). */
function checkGroups(op: string, groups: unknown, axis: RateAxis): readonly { n: number; values: readonly number[] }[] {
  const a = checkArray<unknown>(op, 'groups', groups);
  a.forEach((g, i) => { const r = checkRecord<{ values?: unknown }>(op, `groups[${i}]`, g, 'an object { n, values }'); checkNumberArray(op, `groups[${i}].values`, r.values); });
  checkSizes(op, 'groups n', a.map((g) => (g as { n: unknown }).n), axis);
  return a as { n: number; values: number[] }[];
}

/**
 * Ordinary least squares y ≈ intercept + slope·x. Needs ≥ 2 distinct x.
 * @throws ValueError when xs and ys differ in length, there are fewer than 2 points, or all x are equal.
 */
export function linearFit(xs: ArrayLike<number>, ys: ArrayLike<number>): {
  /** Fitted slope. */
  slope: number;
  /** Fitted intercept (y at x = 0). */
  intercept: number;
  /** Coefficient of determination R² (1 when all y are equal). */
  r2: number;
} {
  checkNumberArray('linearFit', 'xs', xs);
  checkNumberArray('linearFit', 'ys', ys);
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

/**
 * The regressor for an axis: log n ('n'), log(log n / n) ('logn/n', the papers' x-axis), or
 * log(1 / log n) ('1/logn', for rates slower than any polynomial: a loss ∝ (log n)^(−a) has slope +a).
 * @throws ValueError when n ≤ 1 (n ≤ e for '1/logn') or the axis is unknown.
 */
export function axisValue(n: number, axis: RateAxis): number {
  checkEnum('axisValue', 'axis', axis, AXES);
  if (typeof n !== 'number' || !(Number.isFinite(n) || Number.isNaN(n))) throw new ValueError('axisValue', `n must be a finite number > 1; got ${describeValue(n)}`);
  if (!(n > 1) || (axis === '1/logn' && !(n > Math.E))) throw new ValueError('axisValue', `n must be > ${axis === '1/logn' ? 'e' : 1}; got ${n}`);
  switch (axis) {
    case 'n': return Math.log(n);
    case 'logn/n': return Math.log(Math.log(n) / n);
    case '1/logn': return -Math.log(Math.log(n));
    default: throw new ValueError('axisValue', `axis must be 'n', 'logn/n' or '1/logn'; got ${String(axis)}`);
  }
}

/**
 * The slope a pure power law loss ∝ n^(−exponent) has on `axis` over the grid `ns` (least squares
 * over the grid points). On 'n' it is −exponent; on 'logn/n' it is not `exponent`: n^(−1/2) has
 * slope ≈ 0.575 against log(log n / n) for n in [1e2, 1e5] (the log factor stretches the axis).
 * This is the theory line to compare a fitted slope with.
 */
export function powerLawSlope(ns: readonly number[], exponent: number, axis: RateAxis): number {
  checkArray('powerLawSlope', 'ns', ns);
  checkNumber('powerLawSlope', 'exponent', exponent);
  checkEnum('powerLawSlope', 'axis', axis, AXES);
  checkSizes('powerLawSlope', 'ns', ns, axis);
  return linearFit(ns.map((n) => axisValue(n, axis)), ns.map((n) => -exponent * Math.log(n))).slope;
}

/** How a group of repeated losses is reduced to one number per n before the log-log fit. */
export type RateStatistic = 'mean' | 'median' | 'meanLog';

function reduce(values: readonly number[], stat: RateStatistic): number {
  if (stat === 'mean') return Math.log(values.reduce((s, v) => s + v, 0) / values.length);
  if (stat === 'meanLog') return values.reduce((s, v) => s + Math.log(v), 0) / values.length;
  const v = [...values].sort((a, b) => a - b), m = v.length >> 1;
  return Math.log(v.length % 2 ? v[m]! : (v[m - 1]! + v[m]!) / 2);
}

const usable = (values: readonly number[]) => values.filter((v) => Number.isFinite(v) && v > 0);

/** Slope of log(statistic of the losses) on the axis, from per-n groups (non-finite and ≤ 0 values skipped). */
function slopeOf(groups: readonly { n: number; values: readonly number[] }[], axis: RateAxis, stat: RateStatistic = 'mean'): { slope: number; intercept: number; r2: number } {
  const xs: number[] = [], ys: number[] = [];
  for (const g of groups) {
    const ok = usable(g.values);
    if (ok.length === 0) continue;
    xs.push(axisValue(g.n, axis));
    ys.push(reduce(ok, stat));
  }
  return linearFit(xs, ys);
}

/** Options of `fitRate`. */
export interface FitRateOptions {
  /** x-axis of the log-log fit (default 'n'). */
  readonly axis?: RateAxis;
  /** Per-n statistic regressed (default 'mean': log of the mean loss, as the papers plot). */
  readonly statistic?: RateStatistic;
  /** Bootstrap resamples (default 1000). */
  readonly resamples?: number;
  /** Central interval level (default 0.95). */
  readonly level?: number;
  /** Seed of the bootstrap resampling (default 0). */
  readonly seed?: number;
}

/**
 * Fits log(statistic of the losses at n) = c + slope·axis(n) and a percentile bootstrap interval:
 * each resample redraws the repetitions within every n (with replacement) and refits.
 * With axis 'n' a loss ∝ n^{-a} gives slope −a; with axis 'logn/n' a loss ∝ (log n/n)^a gives slope +a.
 * Refuses (ValueError) when no interval can be had: fewer than 2 usable (finite, > 0) repetitions
 * at some n, or no spread at all between repetitions — a zero-width "95 % CI" would be a false claim.
 * Also throws ValueError when `resamples` is not an integer in [2, 1e6] or `level` is not in (0, 1).
 */
export function fitRate(groups: readonly { n: number; values: readonly number[] }[], opts: FitRateOptions = {}): {
  /** Least-squares slope of log(statistic) against the axis value. */
  slope: number;
  /** Intercept of the same line. */
  intercept: number;
  /** R² of the line through the per-n points. */
  r2: number;
  /** Percentile bootstrap interval [lo, hi] of the slope at the requested level. */
  ci: [number, number];
} {
  checkOptions('fitRate', opts, 'opts');
  const { axis = 'n', resamples = 1000, level = 0.95, seed = 0, statistic = 'mean' } = opts;
  checkEnum('fitRate', 'axis', axis, AXES);
  checkEnum('fitRate', 'statistic', statistic, STATISTICS);
  if (!(typeof resamples === 'number' && Number.isInteger(resamples) && resamples >= 2 && resamples <= 1e6)) throw new ValueError('fitRate', `resamples must be an integer in [2, 1e6]; got ${describeValue(resamples)}`);
  if (!(typeof level === 'number' && level > 0 && level < 1)) throw new ValueError('fitRate', `level must lie in (0, 1); got ${describeValue(level)}`);
  checkNumber('fitRate', 'seed', seed);
  checkGroups('fitRate', groups, axis);
  const used = groups.map((g) => ({ n: g.n, values: usable(g.values) })).filter((g) => g.values.length > 0);
  const thin = used.find((g) => g.values.length < 2);
  if (thin) throw new ValueError('fitRate', `no resampling spread: n = ${thin.n} has ${thin.values.length} usable repetition; every n needs ≥ 2 for a bootstrap interval`);
  if (used.length > 0 && used.every((g) => g.values.every((v) => v === g.values[0]))) throw new ValueError('fitRate', 'no resampling spread: the repetitions at every n are identical');
  const { slope, intercept, r2 } = slopeOf(used, axis, statistic);
  const rng = new Rng(seed);
  const boots: number[] = [];
  for (let b = 0; b < resamples; b++) {
    const resampled = used.map((g) => ({ n: g.n, values: g.values.map(() => g.values[rng.int(g.values.length)]!) }));
    boots.push(slopeOf(resampled, axis, statistic).slope);
  }
  boots.sort((a, b) => a - b);
  const q = (p: number) => boots[Math.min(boots.length - 1, Math.max(0, Math.round(p * (boots.length - 1))))]!;
  return { slope, intercept, r2, ci: [q((1 - level) / 2), q(1 - (1 - level) / 2)] };
}

/** Groups results by n for one metric (ascending n; results without that metric are skipped; NaN kept). */
export function groupByN(results: readonly CellResult[], series: string): {
  /** Sample size. */
  n: number;
  /** The metric's value in every result at this n, in input order. */
  values: number[];
}[] {
  checkResults('groupByN', results);
  checkString('groupByN', 'series', series);
  return groupsOf(results, series);
}

function groupsOf(results: readonly CellResult[], series: string): {
  /** Sample size. */
  n: number;
  /** The metric's value in every result at this n, in input order. */
  values: number[];
}[] {
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
  checkResults('summaryRows', results);
  if (series !== undefined) checkArray<unknown>('summaryRows', 'series', series).forEach((v, i) => checkString('summaryRows', `series[${i}]`, v));
  const names = series ?? [...new Set(results.flatMap((r) => Object.keys(r.metrics)))];
  const rows: SummaryRow[] = [];
  for (const s of names) {
    for (const g of groupsOf(results, s)) {
      const ok = g.values.filter(Number.isFinite);
      const mean = ok.length ? ok.reduce((a, v) => a + v, 0) / ok.length : NaN;
      const std = ok.length > 1 ? Math.sqrt(ok.reduce((a, v) => a + (v - mean) ** 2, 0) / (ok.length - 1)) : 0;
      rows.push({ series: s, n: g.n, mean, std, count: ok.length });
    }
  }
  return rows;
}

/**
 * Rate fits for several series at once (what most `summarize` implementations need). Each fit also
 * carries the slopes of the per-n median and of the mean of log losses (robust to a few far-off
 * fits), the repetitions per n, and — with `theoryExponent` — the slope a pure n^(−exponent) law has
 * on the same axis and grid (`powerLawSlope`).
 */
export function fitRates(
  results: readonly CellResult[],
  specs: readonly { series: string; axis?: RateAxis; reported?: number; expected?: number; theoryExponent?: number }[],
  opts: { resamples?: number; seed?: number } = {},
): RateFit[] {
  const op = 'fitRates';
  checkResults(op, results);
  checkArray<unknown>(op, 'specs', specs).forEach((v, i) => {
    const r = checkRecord<Record<string, unknown>>(op, `specs[${i}]`, v, 'an object { series, axis?, reported?, expected?, theoryExponent? }');
    checkString(op, `specs[${i}].series`, r.series);
    if (r.axis !== undefined) checkEnum(op, `specs[${i}].axis`, r.axis, AXES);
    for (const k of ['reported', 'expected', 'theoryExponent']) if (r[k] !== undefined) checkNumber(op, `specs[${i}].${k}`, r[k]);
  });
  checkOptions(op, opts, 'opts');
  if (opts.resamples !== undefined && !(typeof opts.resamples === 'number' && Number.isInteger(opts.resamples) && opts.resamples >= 2 && opts.resamples <= 1e6)) throw new ValueError(op, `resamples must be an integer in [2, 1e6]; got ${describeValue(opts.resamples)}`);
  if (opts.seed !== undefined) checkNumber(op, 'seed', opts.seed);
  for (const r of results) if (!(Number.isFinite(r.n) && r.n > 1)) throw new ValueError(op, `result ${describeValue((r as { id?: unknown }).id)} has n = ${describeValue(r.n)}; sample sizes must be finite numbers > 1`);
  const out: RateFit[] = [];
  for (const s of specs) {
    const groups = groupsOf(results, s.series).filter((g) => usable(g.values).length > 0);
    if (groups.length < 2) continue;
    const axis = s.axis ?? 'n';
    const f = fitRate(groups, { axis, resamples: opts.resamples ?? 1000, seed: opts.seed ?? 0 });
    const ns = groups.map((g) => g.n), reps = groups.map((g) => usable(g.values).length);
    const theory = s.theoryExponent !== undefined ? powerLawSlope(ns, s.theoryExponent, axis) : undefined;
    out.push({ label: s.series, axis, slope: f.slope, intercept: f.intercept, ci: f.ci, r2: f.r2,
      slopeMedian: slopeOf(groups, axis, 'median').slope, slopeMeanLog: slopeOf(groups, axis, 'meanLog').slope,
      reps: [Math.min(...reps), Math.max(...reps)],
      ...(s.reported !== undefined ? { reported: s.reported } : {}), ...(s.expected !== undefined ? { expected: s.expected } : {}),
      ...(theory !== undefined ? { theory, theoryExponent: s.theoryExponent! } : {}) });
  }
  return out;
}

/**
 * `count` sample sizes log-spaced from lo to hi (inclusive), rounded to integers.
 * @throws ValueError unless 0 < lo ≤ hi and count ≥ 1.
 */
export function logSpaced(lo: number, hi: number, count: number): number[] {
  checkNumber('logSpaced', 'lo', lo, { min: 0, minExclusive: true });
  checkNumber('logSpaced', 'hi', hi, { min: 0, minExclusive: true });
  checkCountIn('logSpaced', 'count', count, 1, MAX_COUNT);
  if (!(lo > 0 && hi >= lo && count >= 1)) throw new ValueError('logSpaced', `need 0 < lo ≤ hi and count ≥ 1; got lo=${lo}, hi=${hi}, count=${count}`);
  if (count === 1) return [Math.round(lo)];
  return Array.from({ length: count }, (_, i) => Math.round(lo * Math.pow(hi / lo, i / (count - 1))));
}

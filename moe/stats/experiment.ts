/**
 * The Experiment contract: what a reproducible sweep (one paper claim) provides so that the CLI
 * (`moegrad reproduce <name>`) can enumerate its cells, run them in parallel worker threads or in
 * shards on several machines, merge the shards, and summarise them into fitted rates and a plot.
 *
 * Everything that crosses a worker or shard boundary (Cell, CellResult) is plain JSON. `runCell`
 * is pure given the cell (its randomness comes only from `cell.seed`), so a cell re-run anywhere
 * gives the same numbers. Browser-safe: no node imports here.
 */
import { ValueError } from '../../engine/index.js';

/** JSON values (what may travel between workers, shards and result files). */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** One unit of work: one sample size, one repetition (data draw), one configuration. */
export interface Cell {
  /** Unique within the experiment, e.g. `n=1000/rep=3` (used to de-duplicate merged shards). */
  readonly id: string;
  /** Sample size (the x of the rate plot). */
  readonly n: number;
  /** Repetition index (independent data draw). */
  readonly rep: number;
  /** Seed for every random thing in this cell (data, init, bootstrap). */
  readonly seed: number;
  /** Experiment-specific settings (model variant, gate kind, K, ...). Plain JSON. */
  readonly params: { readonly [key: string]: Json };
}

/** What a cell produces. `metrics` are the numbers summarised and plotted (losses, errors). */
export interface CellResult {
  /** The cell's `Cell.id` (merged shards are de-duplicated by it). */
  readonly id: string;
  /** The cell's sample size `Cell.n`. */
  readonly n: number;
  /** The cell's repetition index `Cell.rep`. */
  readonly rep: number;
  /** The cell's seed `Cell.seed` (re-running the cell with it gives the same numbers). */
  readonly seed: number;
  /** Named measurements, e.g. `{ D1: 0.012, fnL2: 0.003 }`. NaN allowed (failed fit); summaries skip it. */
  readonly metrics: { readonly [series: string]: number };
  /** Anything else worth keeping (fitted parameters, iterations, converged flag). */
  readonly info?: { readonly [key: string]: Json };
  /** Wall time of the cell in milliseconds (for ETAs and the report). */
  readonly ms?: number;
}

/**
 * A `CellResult` read back from JSON (a journal line, a cells file). JSON has no NaN or ±Infinity —
 * `JSON.stringify` writes them as null — so a null metric is read back as NaN: a non-finite value,
 * which summaries skip and count, instead of a null that breaks the rate fits.
 * @throws ValueError when `value` is not an object with a string `id`, numbers `n`, `rep`, `seed` and a `metrics` object.
 */
export function reviveCellResult(value: unknown): CellResult {
  const op = 'reviveCellResult', r = value as Record<string, unknown> | null;
  if (r === null || typeof r !== 'object' || Array.isArray(r)) throw new ValueError(op, `expected a cell result object; got ${JSON.stringify(value)?.slice(0, 80)}`);
  if (typeof r.id !== 'string' || ![r.n, r.rep, r.seed].every((v) => typeof v === 'number')) throw new ValueError(op, `a cell result needs a string id and numbers n, rep, seed; got id ${JSON.stringify(r.id)}`);
  const m = r.metrics as Record<string, unknown> | null;
  if (m === null || typeof m !== 'object' || Array.isArray(m)) throw new ValueError(op, `cell ${r.id}: metrics must be an object; got ${JSON.stringify(m)}`);
  const metrics: Record<string, number> = {};
  for (const [k, v] of Object.entries(m)) {
    if (v !== null && typeof v !== 'number') throw new ValueError(op, `cell ${r.id}: metric ${k} must be a number or null; got ${JSON.stringify(v)}`);
    metrics[k] = v === null ? Number.NaN : v;
  }
  return { ...(r as unknown as CellResult), metrics };
}

/** One row of the summary table: a series at one n. */
export interface SummaryRow {
  /** Metric name (a key of `CellResult.metrics`). */
  readonly series: string;
  /** Sample size. */
  readonly n: number;
  /** Mean of the metric over repetitions (finite values only). */
  readonly mean: number;
  /** Sample standard deviation over repetitions. */
  readonly std: number;
  /** Number of finite values averaged. */
  readonly count: number;
}

/** The x-axis a rate is fitted against: `n` (slope of log loss vs log n, negative for decay),
 *  `logn/n` (slope of log loss vs log(log n / n), the papers' `O_P((log n / n)^a)` exponent a), or
 *  `1/logn` (slope of log loss vs log(1/log n): a loss ∝ (log n)^(−a) has slope a; rates slower than
 *  any polynomial, arXiv 2503.03213). */
export type RateAxis = 'n' | 'logn/n' | '1/logn';

/** A fitted rate: log-log least squares over the per-n means, with a bootstrap interval. */
export interface RateFit {
  /** Series the fit is for (matches SummaryRow.series). */
  readonly label: string;
  /** The x-axis of the fit (see `RateAxis` for what the slope means on each). */
  readonly axis: RateAxis;
  /** Least-squares slope of log(mean loss) against the axis value (negative for a decaying loss on 'n'). */
  readonly slope: number;
  /** Intercept of the same line (log loss at axis value 0). */
  readonly intercept: number;
  /** Percentile bootstrap interval of the slope (resampling repetitions within each n). */
  readonly ci: readonly [number, number];
  /** The paper's number for the same quantity, when there is one. */
  readonly reported?: number;
  /** What theory predicts (e.g. 0.5), when stated. */
  readonly expected?: number;
  /** R² of the least-squares line through the per-n log means. */
  readonly r2?: number;
  /** Slope of log(median loss) on the same axis. */
  readonly slopeMedian?: number;
  /** Slope of mean(log loss) on the same axis. */
  readonly slopeMeanLog?: number;
  /** Fewest and most usable repetitions at one n. */
  readonly reps?: readonly [number, number];
  /** The slope a pure n^(−theoryExponent) law has on this axis over the same n grid (`powerLawSlope`). */
  readonly theory?: number;
  /** The exponent a of the n^(−a) law behind `theory`, as given to `fitRates`. */
  readonly theoryExponent?: number;
}

/** How the CLI should draw the summary (vega-lite, log-log, mean ± std error bars, fitted lines). */
export interface PlotSpec {
  /** Plot title. */
  readonly title: string;
  /** y-axis label (the loss plotted, log scale). */
  readonly yLabel: string;
  /** x-axis label; defaults to "n". */
  readonly xLabel?: string;
  /** Series to draw (defaults to every series in the rows). */
  readonly series?: readonly string[];
  /** Series that are fractions in [0, 1] (drawn in a second panel on a linear axis). */
  readonly fractions?: readonly string[];
}

/** What `Experiment.summarize` returns: the per-(series, n) table, the rate fits and how to plot them. */
export interface ExperimentSummary {
  /** Mean, std and count per series and n (see `summaryRows`). */
  readonly rows: readonly SummaryRow[];
  /** Fitted rates, one per fitted series (see `fitRates`). */
  readonly fits: readonly RateFit[];
  /** How to draw `rows` and `fits`. */
  readonly plot: PlotSpec;
  /** Free-form remarks printed under the table (setup caveats, deviations from the paper). */
  readonly notes?: readonly string[];
  /** One row per cell for a per-fit table (e.g. stop reason, iterations, max|∇| of every fit); written as CSV. */
  readonly perCell?: readonly { readonly [column: string]: string | number }[];
}

/** The paper's reported figure(s) for this experiment, e.g. `{ label: 'D1 exponent', value: 0.451 }`. */
export interface ReportedValue {
  /** What the number is, e.g. `D1 exponent`. */
  readonly label: string;
  /** The number as the paper reports it. */
  readonly value: number;
  /** Which axis the paper's number refers to. */
  readonly axis?: RateAxis;
}

/** A reproducible sweep. Implementations must be pure and seeded, and importable in a worker. */
export interface Experiment {
  /** CLI name, e.g. `thm1`, `ffn-exact-vs-over`. Lowercase, no spaces. */
  readonly name: string;
  /** One line for `moegrad list`. */
  readonly description: string;
  /** Paper id and item, e.g. `arXiv 2505.10860 Thm 1 (App. G.1)`. */
  readonly paper: string;
  /** The paper's own figures for this sweep, to print next to the fitted ones. */
  readonly reported?: readonly ReportedValue[];
  /** All cells of the sweep. `quick` must finish in about a minute on 2 cores. */
  cells(opts: { readonly quick: boolean }): Cell[];
  /** Runs one cell (inside a worker thread). Deterministic given the cell. */
  runCell(cell: Cell): CellResult;
  /** Recomputes a finished cell's metrics from what it stored (e.g. fitted models) after the measurement changed; `merge --remeasure`. */
  remeasure?(result: CellResult): CellResult;
  /** Rough CPU milliseconds one cell will take on this machine (for the estimate printed before a sweep). */
  estimateCellMs?(cell: Cell): number;
  /** Aggregates results (possibly merged from shards, in any order) into rows, fits and a plot spec. */
  summarize(results: readonly CellResult[], opts?: { readonly quick?: boolean }): ExperimentSummary;
}

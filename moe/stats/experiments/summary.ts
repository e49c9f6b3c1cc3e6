/**
 * Shared summarising helpers for experiments 2–6: rate tables with bootstrap slopes, and
 * per-step training-curve tables (mean ± std over seeds) for the router experiments.
 */
import type { CellResult, ExperimentSummary, PlotSpec, RateAxis, RateFit, SummaryRow } from '../experiment.js';
import { fitRates, summaryRows } from '../rates.js';

/** A series to tabulate and fit: its metric name, axis, and the theory's and the paper's numbers when known. */
export interface SeriesSpec { readonly series: string; readonly axis?: RateAxis; readonly expected?: number; readonly reported?: number }

/**
 * Rows for every listed series present in the results, and a log-log rate fit for each with ≥ 2
 * sample sizes. A series whose fit `fitRate` refuses (fewer than 2 repetitions at some n, no spread)
 * gets no fit and a note saying why, instead of failing the whole summary.
 */
export function rateSummary(results: readonly CellResult[], specs: readonly SeriesSpec[], plot: PlotSpec, notes: readonly string[] = []): ExperimentSummary {
  const present = new Set(results.flatMap((r) => Object.keys(r.metrics)));
  const used = specs.filter((s) => present.has(s.series));
  const rows = summaryRows(results, used.map((s) => s.series));
  const fits: RateFit[] = [], refused: string[] = [];
  for (const spec of used) {
    try { fits.push(...fitRates(results, [spec], { resamples: 1000, seed: 0 })); }
    catch (e) { refused.push(`${spec.series}: no rate fit (${e instanceof Error ? e.message : String(e)})`); }
  }
  return { rows, fits, plot: { ...plot, ...(plot.series ? { series: plot.series.filter((s) => present.has(s)) } : {}) }, notes: [...notes, ...refused] };
}

/** Mean and sample std of the finite values (NaN mean and 0 std when none). */
export function meanStd(values: readonly number[]): { mean: number; std: number; count: number } {
  const ok = values.filter(Number.isFinite);
  const mean = ok.length ? ok.reduce((a, v) => a + v, 0) / ok.length : NaN;
  const std = ok.length > 1 ? Math.sqrt(ok.reduce((a, v) => a + (v - mean) ** 2, 0) / (ok.length - 1)) : 0;
  return { mean, std, count: ok.length };
}

/**
 * Training curves stored in `info.curve` as { step: number[], [metric]: number[] } by each cell
 * (one cell = one configuration × seed) → summary rows with n = step, series `${config}: ${metric}`.
 */
export function curveRows(results: readonly CellResult[], metrics: readonly string[]): SummaryRow[] {
  const groups = new Map<string, Map<number, number[]>>();
  for (const r of results) {
    const config = String(r.info?.config ?? '');
    const curve = r.info?.curve as { [key: string]: number[] } | undefined;
    if (!curve || !Array.isArray(curve.step)) continue;
    for (const m of metrics) {
      const ys = curve[m];
      if (!Array.isArray(ys)) continue;
      const key = `${config}: ${m}`;
      let g = groups.get(key);
      if (!g) groups.set(key, (g = new Map()));
      curve.step.forEach((step, i) => { const v = ys[i]; if (typeof v === 'number') { let a = g!.get(step); if (!a) g!.set(step, (a = [])); a.push(v); } });
    }
  }
  const rows: SummaryRow[] = [];
  for (const [series, byStep] of groups) {
    for (const [n, vs] of [...byStep.entries()].sort((a, b) => a[0] - b[0])) rows.push({ series, n, ...meanStd(vs) });
  }
  return rows;
}

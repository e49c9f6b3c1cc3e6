/**
 * Writes an experiment's outputs: summary JSON, per-n CSV, and an SVG plot (log-log means with
 * ±1 std error bars and the fitted lines) compiled with vega-lite and rendered headless by vega's
 * View.toSVG. Node-only (file system); not reachable from the library index.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { axisValue } from '../moe/stats/rates.js';
import { checkPlotDeps, importVega, importVegaLite } from './optional-deps.js';
import type { CellResult, Experiment, ExperimentSummary } from '../moe/stats/experiment.js';

const AXIS_LABEL = { 'n': 'log n', 'logn/n': 'log(log n/n)', '1/logn': 'log(1/log n)' } as const;
const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#e377c2', '#17becf'];

/**
 * The vega-lite spec of an experiment summary: per series the mean with its 95 % confidence band
 * (mean ± 1.96·std/√reps), the fitted power line in the series' colour with slope and CI in the
 * legend, and a grey n^(−1/2) reference line through the fit's centre; log–log axes fitted to the
 * data. Series listed in `plot.fractions` get a second panel with a linear y axis in [0, 1] (e.g. how
 * often the global fit is another root).
 */
export function plotSpec(summary: ExperimentSummary): Record<string, unknown> {
  const wanted = summary.plot.series;
  const main = summary.rows.filter((r) => (wanted ? wanted.includes(r.series) : true) && Number.isFinite(r.mean) && r.mean > 0);
  const names = [...new Set(main.map((r) => r.series))];
  const colour = (s: string) => PALETTE[names.indexOf(s) % PALETTE.length]!;
  const fitOf = (s: string) => summary.fits.find((f) => f.label === s && f.axis === 'logn/n') ?? summary.fits.find((f) => f.label === s);
  const legend = (s: string) => { const f = fitOf(s); return f ? `${s}: slope ${f.slope.toFixed(2)} [${f.ci[0].toFixed(2)}, ${f.ci[1].toFixed(2)}] vs ${AXIS_LABEL[f.axis]}` : s; };
  const minPos = Math.min(...main.map((r) => r.mean)) / 10;
  const points = main.map((r) => {
    const half = r.count > 1 ? 1.96 * r.std / Math.sqrt(r.count) : 0;
    return { series: legend(r.series), n: r.n, mean: r.mean, lo: Math.max(r.mean - half, minPos), hi: r.mean + half };
  });
  const ns = [...new Set(main.map((r) => r.n))].sort((a, b) => a - b);
  const lines: Record<string, unknown>[] = [], theory: Record<string, unknown>[] = [];
  for (const s of names) {
    const f = fitOf(s);
    if (!f) continue;
    for (const n of ns) lines.push({ series: legend(s), n, y: Math.exp(f.intercept + f.slope * axisValue(n, f.axis)) });
    const nc = Math.sqrt(ns[0]! * ns[ns.length - 1]!), yc = Math.exp(f.intercept + f.slope * axisValue(nc, f.axis));
    for (const n of [ns[0]!, ns[ns.length - 1]!]) theory.push({ ref: 'n^-1/2 reference (through each fit\'s centre)', series: legend(s), n, y: yc * Math.sqrt(nc / n) });
  }
  const yAll = [...points.flatMap((p) => [p.lo, p.hi]), ...lines.map((l) => l.y as number), ...theory.map((t) => t.y as number)].filter((v) => v > 0);
  const x = { field: 'n', type: 'quantitative', scale: { type: 'log', domain: [ns[0]! / 1.15, ns[ns.length - 1]! * 1.15], nice: false }, title: summary.plot.xLabel ?? 'n (sample size)' };
  const yScale = { type: 'log', domain: [Math.min(...yAll) / 1.3, Math.max(...yAll) * 1.3], nice: false };
  const color = { field: 'series', type: 'nominal', scale: { domain: names.map(legend), range: names.map(colour) }, legend: { orient: 'bottom', direction: 'vertical', labelLimit: 900, title: null } };
  const mainPanel = {
    width: 560, height: 340, title: summary.plot.title,
    layer: [
      { data: { values: points }, mark: { type: 'area', opacity: 0.18 }, encoding: { x, y: { field: 'lo', type: 'quantitative', scale: yScale, title: summary.plot.yLabel }, y2: { field: 'hi' }, color } },
      { data: { values: points }, mark: { type: 'errorbar', ticks: true }, encoding: { x, y: { field: 'lo', type: 'quantitative', scale: yScale, title: summary.plot.yLabel }, y2: { field: 'hi' }, color } },
      { data: { values: points }, mark: { type: 'point', filled: true, size: 45 }, encoding: { x, y: { field: 'mean', type: 'quantitative', scale: yScale, title: summary.plot.yLabel }, color } },
      { data: { values: lines }, mark: { type: 'line', strokeDash: [6, 3], strokeWidth: 1.6 }, encoding: { x, y: { field: 'y', type: 'quantitative', scale: yScale, title: summary.plot.yLabel }, color } },
      { data: { values: theory }, mark: { type: 'line', color: '#777', strokeDash: [2, 2], strokeWidth: 1 }, encoding: { x, y: { field: 'y', type: 'quantitative', scale: yScale, title: summary.plot.yLabel }, detail: { field: 'series' }, opacity: { field: 'ref', type: 'nominal', legend: { orient: 'bottom', title: null, labelLimit: 600 } } } },
    ],
  };
  const fractions = summary.rows.filter((r) => (summary.plot.fractions ?? []).includes(r.series));
  const fracNames = [...new Set(fractions.map((r) => r.series))];
  const panels: Record<string, unknown>[] = [mainPanel];
  if (fracNames.length) {
    panels.push({
      width: 560, height: 140, title: 'fraction of cells',
      data: { values: fractions.map((r) => ({ series: r.series, n: r.n, value: r.mean })) },
      mark: { type: 'line', point: true },
      encoding: { x, y: { field: 'value', type: 'quantitative', scale: { domain: [0, 1] }, title: 'fraction' }, color: { field: 'series', type: 'nominal', scale: { range: ['#555', '#e6550d', '#31a354', '#3182bd'] }, legend: { orient: 'bottom', title: null, labelLimit: 600 } },
        strokeDash: { field: 'series', type: 'nominal', scale: { range: [[1, 0], [5, 3], [2, 2], [6, 2, 1, 2]] }, legend: null } },
    });
  }
  return { $schema: 'https://vega.github.io/schema/vega-lite/v6.json', vconcat: panels, resolve: { scale: { color: 'independent', opacity: 'independent' } }, config: { font: 'DejaVu Sans' } };
}

/** Renders a vega-lite spec to an SVG string (headless). */
export async function renderSvg(vlSpec: Record<string, unknown>): Promise<string> {
  const vl = await importVegaLite();
  const vega = await importVega();
  const compiled = vl.compile(vlSpec as never).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}

/** One RFC 4180 field: quoted when it holds a comma, quote, CR or LF (quotes doubled). */
export function csvField(v: string | number): string {
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** RFC 4180 CSV from a header and rows. */
export function toCsv(header: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  return [header, ...rows].map((r) => r.map(csvField).join(',')).join('\r\n') + '\r\n';
}

/** CSV of the summary rows (series, n, mean, std, count). */
export function summaryCsv(summary: ExperimentSummary): string {
  return toCsv(['series', 'n', 'mean', 'std', 'count'], summary.rows.map((r) => [r.series, r.n, r.mean, r.std, r.count]));
}

export interface WrittenFiles { json: string; csv: string; svg: string; cells: string }

/** Writes <out>/<name>.{json,csv,svg} and <name>.cells.json; returns the paths. */
export async function writeOutputs(out: string, exp: Experiment, summary: ExperimentSummary, results: readonly CellResult[], meta: Record<string, unknown>, cellsFile = `${exp.name}.cells.json`): Promise<WrittenFiles> {
  await mkdir(out, { recursive: true });
  const files: WrittenFiles = { json: join(out, `${exp.name}.json`), csv: join(out, `${exp.name}.csv`), svg: join(out, `${exp.name}.svg`), cells: join(out, cellsFile) };
  await writeFile(files.cells, JSON.stringify({ experiment: exp.name, ...meta, results }, null, 1));
  await writeFile(files.json, JSON.stringify({ experiment: exp.name, paper: exp.paper, description: exp.description, reported: exp.reported ?? [], ...meta, ...summary }, null, 2));
  await writeFile(files.csv, summaryCsv(summary));
  if (summary.perCell?.length) {
    const cols = Object.keys(summary.perCell[0]!);
    await writeFile(join(out, `${exp.name}.fits.csv`), toCsv(cols, summary.perCell.map((r) => cols.map((c) => r[c] ?? ''))));
  }
  // The plot packages are optional peer dependencies: without them the numbers are still written.
  const missing = await checkPlotDeps();
  if (missing) { console.error(`moegrad: no SVG plot (${missing.message})`); files.svg = '(no plot: vega/vega-lite not installed)'; }
  else await writeFile(files.svg, await renderSvg(plotSpec(summary)));
  return files;
}

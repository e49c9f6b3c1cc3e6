/**
 * Writes an experiment's outputs: summary JSON, per-n CSV, and an SVG plot (log-log means with
 * ±1 std error bars and the fitted lines) compiled with vega-lite and rendered headless by vega's
 * View.toSVG. Node-only (file system); not reachable from the library index.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { axisValue } from '../moe/stats/rates.js';
import { importVega, importVegaLite } from './optional-deps.js';
import type { CellResult, Experiment, ExperimentSummary } from '../moe/stats/experiment.js';

/** The vega-lite spec of an experiment summary (exported for tests and for custom rendering). */
export function plotSpec(summary: ExperimentSummary): Record<string, unknown> {
  const wanted = summary.plot.series;
  const rows = summary.rows.filter((r) => (wanted ? wanted.includes(r.series) : true) && Number.isFinite(r.mean) && r.mean > 0);
  const points = rows.map((r) => ({
    series: r.series, n: r.n, mean: r.mean,
    // Error bars on a log axis: clamp the lower end to a positive value.
    lo: Math.max(r.mean - r.std, r.mean * 1e-3), hi: r.mean + r.std,
  }));
  const ns = [...new Set(rows.map((r) => r.n))].sort((a, b) => a - b);
  const lines = summary.fits.filter((f) => f.axis === 'n' || !summary.fits.some((g) => g.label === f.label && g.axis === 'n'))
    .filter((f) => rows.some((r) => r.series === f.label))
    .flatMap((f) => ns.map((n) => ({ fit: `${f.label} fit: slope ${f.slope.toFixed(3)} vs ${f.axis === 'n' ? 'n' : 'log(n)/n'}`, series: f.label, n, y: Math.exp(f.intercept + f.slope * axisValue(n, f.axis)) })));
  const x = { field: 'n', type: 'quantitative', scale: { type: 'log' }, title: summary.plot.xLabel ?? 'n' };
  const yScale = { type: 'log' };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: summary.plot.title,
    width: 520, height: 340,
    layer: [
      { data: { values: points }, mark: { type: 'rule' }, encoding: { x, y: { field: 'lo', type: 'quantitative', scale: yScale, title: summary.plot.yLabel }, y2: { field: 'hi' }, color: { field: 'series', type: 'nominal' } } },
      { data: { values: points }, mark: { type: 'line', point: true }, encoding: { x, y: { field: 'mean', type: 'quantitative', scale: yScale }, color: { field: 'series', type: 'nominal' } } },
      { data: { values: lines }, mark: { type: 'line', strokeDash: [6, 3, 2, 3], color: 'orange' }, encoding: { x, y: { field: 'y', type: 'quantitative', scale: yScale }, detail: { field: 'fit', type: 'nominal' } } },
    ],
  };
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

/** CSV of the summary rows plus the fits as comment-free extra rows. */
export function summaryCsv(summary: ExperimentSummary): string {
  const lines = ['series,n,mean,std,count'];
  for (const r of summary.rows) lines.push([r.series, r.n, r.mean, r.std, r.count].join(','));
  return lines.join('\n') + '\n';
}

export interface WrittenFiles { json: string; csv: string; svg: string; cells: string }

/** Writes <out>/<name>.{json,csv,svg} and <name>.cells.json; returns the paths. */
export async function writeOutputs(out: string, exp: Experiment, summary: ExperimentSummary, results: readonly CellResult[], meta: Record<string, unknown>, cellsFile = `${exp.name}.cells.json`): Promise<WrittenFiles> {
  await mkdir(out, { recursive: true });
  const files: WrittenFiles = { json: join(out, `${exp.name}.json`), csv: join(out, `${exp.name}.csv`), svg: join(out, `${exp.name}.svg`), cells: join(out, cellsFile) };
  await writeFile(files.cells, JSON.stringify({ experiment: exp.name, ...meta, results }, null, 1));
  await writeFile(files.json, JSON.stringify({ experiment: exp.name, paper: exp.paper, description: exp.description, reported: exp.reported ?? [], ...meta, ...summary }, null, 2));
  await writeFile(files.csv, summaryCsv(summary));
  await writeFile(files.svg, await renderSvg(plotSpec(summary)));
  return files;
}

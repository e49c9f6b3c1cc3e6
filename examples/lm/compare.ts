/**
 * The gating comparison on real text (issue 11; 2505.10860 §3): the same MoE character LM and budget
 * for every gate × {no shared expert, one shared expert} × seeds, reporting validation bits/char
 * (mean and 95 % t-interval over seeds), router saturation and change rate over training (§3.3) and
 * expert load balance (Jain's index).
 *
 *   npm run lm:compare -- [--shard i/n] [--steps N] [--seeds 0,1,2] [--gates a,b] [--out DIR] [--quick] [--only CELL]
 *   npm run lm:compare -- --summarize [--out DIR]      (summary.md and curves.svg)
 *
 * Each cell writes DIR/<cell>.json when it finishes (a cell already there is skipped) and checkpoints to
 * DIR/.work/<cell>/ at every evaluation, so an interrupted run continues where it stopped: rerun the
 * same command. Shards split the cells by index (cell i goes to shard i mod n); run one per core.
 * `--summarize` reads every finished cell and writes DIR/summary.md. Default DIR: results/lm.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run, quickSettings, type EvalRecord } from './cli.js';
import { LM_GATES, type LMGate } from './model.js';

export interface Cell { readonly id: string; readonly gate: LMGate; readonly shared: number; readonly seed: number }

export function cells(gates: readonly LMGate[], seeds: readonly number[]): Cell[] {
  const out: Cell[] = [];
  for (const seed of seeds) for (const gate of gates) for (const shared of [0, 1]) out.push({ id: `${gate}-shared${shared}-seed${seed}`, gate, shared, seed });
  return out;
}

interface CellResult { cell: Cell; steps: number; unigram: number; finalBpc: number; history: EvalRecord[]; sample: string; seconds: number }

/** 95 % two-sided Student t quantiles for n − 1 = 1..10 degrees of freedom. */
const T975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228];
function meanCi(xs: number[]): string {
  const n = xs.length, m = xs.reduce((a, b) => a + b, 0) / n;
  if (n < 2) return `${m.toFixed(3)} (n = 1)`;
  const sd = Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (n - 1));
  return `${m.toFixed(3)} ± ${((T975[Math.min(n - 2, T975.length - 1)]! * sd) / Math.sqrt(n)).toFixed(3)} (n = ${n})`;
}

export function summarize(dir: string): string {
  const results = finished(dir);
  const variants = new Map<string, CellResult[]>();
  for (const r of results) { const k = variantOf(r); variants.set(k, [...(variants.get(k) ?? []), r]); }
  const lines = ['| variant | steps | validation bits/char (mean ± 95 % CI) | saturation at 25 % of training | change rate, last eval | Jain, last eval |', '| --- | ---: | --- | ---: | ---: | ---: |'];
  for (const [k, rs] of [...variants].sort()) {
    const sat = rs.map((r) => r.history[Math.floor((r.history.length - 1) / 4)]!.saturation ?? NaN);
    const last = rs.map((r) => r.history.at(-1)!);
    lines.push(`| ${k} | ${rs[0]!.steps} | ${meanCi(rs.map((r) => r.finalBpc))} | ${meanCi(sat)} | ${meanCi(last.map((h) => h.changeRate ?? NaN))} | ${meanCi(last.map((h) => h.jain))} |`);
  }
  const unigram = results[0]?.unigram;
  return `# MoE character LM on Moby-Dick: gating comparison\n\n${results.length} finished cells; unigram baseline ${unigram?.toFixed(3) ?? '—'} bits/char.\n\n${lines.join('\n')}\n${pairedTable(results)}`;
}

/**
 * Paired contrasts of the final validation bits/char (2505.10860 §3's claims): each pair shares the seed
 * (same data order and initial weights where the shapes agree), so seed-to-seed spread cancels.
 * Negative = the first variant is better. Mean ± 95 % t-interval over the seeds present in both.
 */
function pairedTable(results: readonly CellResult[]): string {
  const bpc = new Map(results.map((r) => [`${r.cell.gate}|${r.cell.shared}|${r.cell.seed}`, r.finalBpc]));
  const seeds = [...new Set(results.map((r) => r.cell.seed))].sort((a, b) => a - b);
  const gates = [...new Set(results.map((r) => r.cell.gate))].sort();
  const contrasts: [string, (seed: number) => [string, string]][] = [];
  for (const g of gates) contrasts.push([`${g}: 1 shared − no shared`, (s) => [`${g}|1|${s}`, `${g}|0|${s}`]]);
  for (const g of gates.filter((x) => x !== 'topKSoftmax')) {
    for (const sh of [0, 1]) contrasts.push([`${g} − topKSoftmax, ${sh ? '1 shared' : 'no shared'}`, (s) => [`${g}|${sh}|${s}`, `topKSoftmax|${sh}|${s}`]]);
  }
  const rows = contrasts.map(([label, keys]) => {
    const d = seeds.map((s) => keys(s)).filter(([a, b]) => bpc.has(a) && bpc.has(b)).map(([a, b]) => bpc.get(a)! - bpc.get(b)!);
    return d.length ? `| ${label} | ${meanCi(d)} |` : null;
  }).filter((r): r is string => r !== null);
  return rows.length ? `\nPaired differences of the final validation bits/char (same seed; negative = the first is better):\n\n| contrast | difference (mean ± 95 % CI) |\n| --- | --- |\n${rows.join('\n')}\n` : '';
}

/**
 * The curves of the comparison as one vega-lite spec, three panels sharing the step axis: validation
 * bits/char, router saturation (§3.3 of 2505.10860: the share of validation tokens whose top-K set at
 * this step already equals the one at the end of training) and the change rate between evaluations,
 * each the mean over seeds of one variant.
 */
export function curvesSpec(dir: string): Record<string, unknown> {
  const results = finished(dir);
  const by = new Map<string, Map<number, { bpc: number[]; sat: number[]; change: number[] }>>();
  for (const r of results) {
    const k = variantOf(r);
    const steps = by.get(k) ?? new Map(); by.set(k, steps);
    for (const h of r.history) {
      const e = steps.get(h.step) ?? { bpc: [], sat: [], change: [] }; steps.set(h.step, e);
      e.bpc.push(h.bpc); if (h.saturation !== undefined) e.sat.push(h.saturation); if (h.changeRate !== null) e.change.push(h.changeRate);
    }
  }
  const avg = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);
  const values = [...by].flatMap(([variant, steps]) => [...steps].flatMap(([step, e]) => [
    // bits/char from the first evaluation after step 0: the untrained ≈ 7 would flatten the differences that matter (≈ 0.01–0.1).
    { variant, step, panel: 'validation bits/char', y: step > 0 ? avg(e.bpc) : null }, { variant, step, panel: 'router saturation', y: avg(e.sat) },
    { variant, step, panel: 'router change rate', y: avg(e.change) },
  ]).filter((v) => v.y !== null));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'MoE char LM on Moby-Dick: gates × shared expert (mean over seeds)',
    data: { values },
    facet: { row: { field: 'panel', type: 'nominal', title: null, sort: ['validation bits/char', 'router saturation', 'router change rate'] } },
    spec: { width: 560, height: 170, mark: { type: 'line', point: true },
      encoding: { x: { field: 'step', type: 'quantitative', title: 'training step' }, y: { field: 'y', type: 'quantitative', title: null, scale: { zero: false } }, color: { field: 'variant', type: 'nominal', title: 'variant', legend: { labelLimit: 320, orient: 'bottom', columns: 2 } } } },
    resolve: { scale: { y: 'independent' } },
  };
}

function finished(dir: string): CellResult[] {
  return readdirSync(dir).filter((f) => f.endsWith('.json') && !f.startsWith('.')).map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as CellResult).filter((r) => r.cell);
}
const variantOf = (r: CellResult) => `${r.cell.gate}, ${r.cell.shared ? '1 shared' : 'no shared'}`;

async function main(argv: readonly string[]): Promise<void> {
  const value = (name: string) => { const i = argv.indexOf(name); return i >= 0 ? argv[i + 1] : undefined; };
  const dir = value('--out') ?? 'results/lm';
  if (argv.includes('--summarize')) {
    const md = summarize(dir);
    writeFileSync(join(dir, 'summary.md'), md);
    const { renderSvg } = await import('../../cli/render.js');
    writeFileSync(join(dir, 'curves.svg'), await renderSvg(curvesSpec(dir)));
    console.log(`${md}\nwrote ${join(dir, 'summary.md')}, ${join(dir, 'curves.svg')}`);
    return;
  }
  const quick = argv.includes('--quick');
  const gates = (value('--gates')?.split(',') ?? LM_GATES) as LMGate[];
  for (const g of gates) if (!LM_GATES.includes(g)) throw new Error(`--gates: unknown gate '${g}'; expected ${LM_GATES.join(', ')}`);
  const seeds = (value('--seeds') ?? '0,1,2').split(',').map(Number);
  const steps = Number(value('--steps') ?? (quick ? 30 : 1500));
  const [shard, shards] = (value('--shard') ?? '0/1').split('/').map(Number) as [number, number];
  if (!(shards >= 1 && shard >= 0 && shard < shards)) throw new Error(`--shard must be i/n with 0 ≤ i < n; got ${value('--shard')}`);
  const only = value('--only');
  const todo = cells(gates, seeds).filter((c, i) => i % shards === shard && (!only || c.id === only));
  mkdirSync(dir, { recursive: true });
  for (const cell of todo) {
    const file = join(dir, `${cell.id}.json`);
    if (existsSync(file)) { console.log(`${cell.id}: done, skipped`); continue; }
    const work = join(dir, '.work', cell.id);
    const ckpt = join(work, 'checkpoint.safetensors');
    const base = quickSettings(cell.gate, cell.shared, 0, cell.seed);
    const t0 = performance.now();
    console.log(`${cell.id}: ${existsSync(ckpt) ? 'resuming' : 'starting'} (${steps} steps)`);
    const r = run({
      config: base.config, hparams: { ...base.hparams, steps, warmup: Math.min(base.hparams.warmup, Math.max(1, Math.floor(steps / 10))) },
      evalEvery: quick ? 10 : 100, evalWindows: quick ? 32 : 256, outDir: work, ...(existsSync(ckpt) ? { resume: ckpt } : {}),
      sample: 200, temperature: 0.8, topK: 10, progress: false, log: (line) => console.log(`  ${line.split('\n').join('\n  ')}`),
    });
    const result: CellResult = { cell, steps, unigram: r.unigram, finalBpc: r.history.at(-1)!.bpc, history: r.history, sample: r.sample, seconds: (performance.now() - t0) / 1000 };
    writeFileSync(file, JSON.stringify(result, null, 1));
  }
}

if (process.argv[1] && /examples[\\/]lm[\\/]compare\.ts$/.test(process.argv[1])) await main(process.argv.slice(2));

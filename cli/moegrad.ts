#!/usr/bin/env node
/**
 * `moegrad` command line: demo, certify, list, reproduce, merge, bench.
 * Bad arguments print the usage on stderr and exit with code 2.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { readFile, readdir, rename, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { execFileSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { EXPERIMENTS } from '../moe/stats/registry.js';
import type { CellResult, Experiment, ExperimentSummary } from '../moe/stats/experiment.js';
import { reviveCellResult } from '../moe/stats/experiment.js';
import { parseShard, runCells, shardCells, type Shard } from './sweep.js';
import { writeOutputs } from './render.js';
import { checkPlotDeps } from './optional-deps.js';
import { reproduceOnSlurm } from './slurm.js';
import { allExperiments, loadExperimentModules, ModuleError, modulePaths, resolveExperiment } from './user-experiments.js';

/** Each command's usage lines (the `help <command>` / `<command> --help` text; the full usage lists them all). */
export const COMMAND_USAGE: Readonly<Record<string, string>> = {
  demo: `  demo [--skip-reproduce]      run the end-to-end demo (cli/demo.ts): train an MoE layer, the gradient
                               certificate, a small Thm 1 reproduction (written to out/demo-thm1)
`,
  certify: `  certify [--out file.json] [--cases N] [--seed S]
                               print the gradient certificate (cli/certify.ts):
                               N cases per op (default 8, an integer ≥ 1), seed S (default 0),
                               JSON written to --out (default out/certificate.json)
`,
  bench: `  bench [--quick]              run the benchmarks: from a source checkout bench/run.ts (vs tfjs, jax-js,
                               PyTorch); from the installed package moegrad's own matmul GFLOP/s and
                               MoE layer tokens/s (cli/bench-lite.ts)
`,
  list: `  list                         list the reproducible experiments
`,
  reproduce: `  reproduce <name> [options]   run an experiment sweep and write JSON, CSV and an SVG plot
      --quick                  the ~1-minute version
      --shard i/N              run only shard i of N (1-based; merge the outputs with 'moegrad merge')
      --workers n              worker threads (default: available cores; 0 = run inline)
      --out dir                output folder (default results/<name>[-quick])
      --reps k                 keep only the first k repetitions of every n (smoke runs)
      --n-max N                keep only the cells with n ≤ N (smoke runs)
      --resume                 skip cells already finished in the output folder (journal or shard files)
      --module file.js         import a research script's module that exports its own experiments
                               (export const experiments = [...]); repeatable; also for merge
      --slurm                  submit the sweep as a Slurm array job (one shard per task) plus a
                               merge job that waits for it (afterok); scripts and logs in <out>/slurm
        --array-size N         array tasks = shards (default: min(10, cells))
        --partition P, --time T, --cpus-per-task C (worker threads per task; default 1)
        --dry-run              print both batch scripts and the sbatch commands; submit nothing
`,
  merge: `  merge <dir|files...> [--out dir] [--allow-partial] [--remeasure] [--module file.js]
                               merge shard outputs (*.cells.json, *.journal.jsonl) and summarise them;
                               exits 2 when cells are missing unless --allow-partial;
                               --remeasure recomputes the losses from the fitted models the cells stored
`,
  help: `  help [command]               this usage, or one command's (also: moegrad <command> --help)
`,
};

export const USAGE = `usage: moegrad <command> [options]

commands:
${Object.values(COMMAND_USAGE).join('')}
options:
  -V, --version                print the version and exit
  -h, --help                   print this usage and exit
`;

/** The usage of one command (`moegrad help <command>`, `moegrad <command> --help`). */
export function commandUsage(cmd: string): string {
  return `usage: moegrad ${cmd === 'help' ? 'help [command]' : `${cmd}${cmd === 'list' ? '' : ' [options]'}`}\n\n${COMMAND_USAGE[cmd]}`;
}

/** The package version, from the package.json above this file (source checkout: ../, built: ../../). */
export function version(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let up = 0; up < 4; up++, dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'moegrad' && typeof pkg.version === 'string') return pkg.version;
    } catch { /* not here: look one folder up */ }
  }
  return 'unknown';
}

class UsageError extends Error {}

function fail(msg: string): never { throw new UsageError(msg); }

/**
 * Checks `certify`'s arguments before delegating to cli/certify.ts (which reports its own
 * errors with exit code 2 but cannot hand that code back through `main`): --out <file>,
 * --cases <integer ≥ 1>, --seed <finite number>.
 */
function checkCertifyArgs(args: readonly string[]): void {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a !== '--out' && a !== '--cases' && a !== '--seed') fail(`certify: unknown argument '${a}'`);
    const v = args[++i];
    if (v === undefined || v.startsWith('--')) fail(`certify: ${a} needs a value`);
    if (a === '--cases' && !(/^\d+$/.test(v) && Number(v) >= 1)) fail(`certify: --cases must be an integer ≥ 1; got '${v}'`);
    if (a === '--seed' && !(v.trim() !== '' && Number.isFinite(Number(v)))) fail(`certify: --seed must be a finite number; got '${v}'`);
  }
}

/** Runs a module from a source checkout with argv rewritten; calls its exported main() if present. */
async function delegate(relPath: string, args: string[], what: string): Promise<void> {
  const url = new URL(relPath, import.meta.url);
  process.argv = [process.argv[0]!, url.pathname, ...args];
  let mod: { main?: (argv?: string[]) => unknown };
  try {
    mod = (await import(url.href)) as typeof mod;
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' && String((e as Error).message).includes(relPath.replace(/^\.{1,2}\//, '').replace(/\.ts$/, ''))) {
      throw new Error(`${what} is not available here (${relPath} missing); run it from a source checkout with 'npx tsx cli/moegrad.ts ${what}'`);
    }
    throw e;
  }
  if (typeof mod.main === 'function') await mod.main(args);
}

const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';

const AXIS_NAME = { 'n': 'log n', 'logn/n': 'log(log n / n)', '1/logn': 'log(1 / log n)' } as const;

function fmtFits(summary: ExperimentSummary): string {
  if (summary.fits.length === 0) return '  (none)';
  return summary.fits.map((f) => {
    const extra = [
      f.theory !== undefined ? `theory n^-${f.theoryExponent} on this axis and grid: ${f.theory.toFixed(3)}` : '',
      f.slopeMedian !== undefined ? `median ${f.slopeMedian.toFixed(3)}, mean-of-log ${f.slopeMeanLog!.toFixed(3)}` : '',
      f.r2 !== undefined ? `R² ${f.r2.toFixed(2)}` : '',
      f.reps ? `${f.reps[0] === f.reps[1] ? f.reps[0] : `${f.reps[0]}–${f.reps[1]}`} reps per n` : '',
      f.reported !== undefined ? `paper ${f.reported}` : '',
    ].filter(Boolean).join('; ');
    return `  ${f.label}: slope ${f.slope.toFixed(3)}  95% CI [${f.ci[0].toFixed(3)}, ${f.ci[1].toFixed(3)}]  vs ${AXIS_NAME[f.axis]}${extra ? `  (${extra})` : ''}`;
  }).join('\n');
}

function fmtPerCell(rows: NonNullable<ExperimentSummary['perCell']>): string[] {
  if (rows.length === 0) return [];
  const cols = Object.keys(rows[0]!);
  const cell = (v: string | number) => (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toExponential(2)) : v);
  const table = [cols, ...rows.map((r) => cols.map((c) => cell(r[c] ?? '')))];
  const width = cols.map((_, k) => Math.max(...table.map((r) => r[k]!.length)));
  return ['per-fit convergence:', ...table.map((r) => '  ' + r.map((v, k) => v.padStart(width[k]!)).join('  '))];
}

function printSummary(exp: Experiment, summary: ExperimentSummary, files: { json: string; csv: string; svg: string }): void {
  const perCell = summary.perCell ?? [];
  const lines = [`${exp.name}: ${exp.paper}`, ...summary.rows.map((r) => `  ${r.series.padEnd(24)} n=${String(r.n).padStart(7)}  mean ${r.mean.toExponential(3)}  std ${r.std.toExponential(2)}  (${r.count} reps)`),
    ...(perCell.length <= 40 ? fmtPerCell(perCell) : [`per-fit convergence: ${perCell.length} rows in the .fits.csv file`]),
    'fitted rates:', fmtFits(summary), ...(summary.notes ?? []).map((s) => `  note: ${s}`),
    `wrote ${files.json}, ${files.csv}, ${files.svg}`];
  console.log(lines.join('\n'));
}

/** Imports the --module files (their experiments join the lookup); a bad one is a usage error. */
async function loadModules(paths: string[] | undefined): Promise<string[]> {
  const modules = modulePaths(paths);
  try { await loadExperimentModules(modules); } catch (e) { if (e instanceof ModuleError) fail(e.message); throw e; }
  return modules;
}

async function reproduce(args: string[]): Promise<void> {
  if (args.includes('--slurm')) { await reproduceOnSlurm(args, fileURLToPath(import.meta.url), fail); return; }
  const { values, positionals } = parseArgs({ args, allowPositionals: true, strict: true, options: {
    quick: { type: 'boolean' }, shard: { type: 'string' }, workers: { type: 'string' }, out: { type: 'string' }, reps: { type: 'string' },
    'n-max': { type: 'string' }, resume: { type: 'boolean' }, module: { type: 'string', multiple: true } } });
  if (positionals.length !== 1) fail(`reproduce needs exactly one experiment name; got ${positionals.length}`);
  const name = positionals[0]!;
  const modules = await loadModules(values.module);
  const exp = resolveExperiment(name);
  if (!exp) fail(`unknown experiment '${name}'; known: ${allExperiments().map((e) => e.name).join(', ')}`);
  let shard: Shard | null = null;
  if (values.shard !== undefined) { shard = parseShard(values.shard); if (!shard) fail(`--shard must be i/N with 1 ≤ i ≤ N; got '${values.shard}'`); }
  const workers = values.workers === undefined ? availableParallelism() : Number(values.workers);
  if (!Number.isInteger(workers) || workers < 0) fail(`--workers must be a non-negative integer; got '${values.workers}'`);
  const reps = values.reps === undefined ? Infinity : Number(values.reps);
  if (!(Number.isInteger(reps) && reps >= 1) && reps !== Infinity) fail(`--reps must be a positive integer; got '${values.reps}'`);
  const nMax = values['n-max'] === undefined ? Infinity : Number(values['n-max']);
  if (!(nMax >= 1)) fail(`--n-max must be a number ≥ 1; got '${values['n-max']}'`);
  const quick = values.quick === true;
  const out = values.out ?? join('results', `${name}${quick ? '-quick' : ''}`);
  const all = exp.cells({ quick }).filter((c) => c.rep < reps && c.n <= nMax);
  const mine = shardCells(all, shard);
  const done = values.resume ? await finishedCells(out, name) : new Map<string, CellResult>();
  const cells = mine.filter((c) => !done.has(c.id));
  if (done.size) console.error(`${name}: resuming, ${mine.length - cells.length} of ${mine.length} cells already finished in ${out}`);
  if (exp.estimateCellMs) {
    const ms = cells.reduce((s, c) => s + exp.estimateCellMs!(c), 0), w = Math.max(1, workers);
    console.error(`${name}: ${cells.length} cells, estimated CPU time ${(ms / 3.6e6).toFixed(2)} core-hours (≈ ${(ms / 3.6e6 / w).toFixed(2)} h on ${w} worker(s); a rough model calibrated on this machine)`);
  }
  const noPlot = await checkPlotDeps();
  if (noPlot) console.error(`${name}: the SVG plot will be skipped (${noPlot.message}); JSON and CSV are written as usual`);
  // Every finished cell is journalled at once, so an interrupted run loses nothing (--resume).
  mkdirSync(out, { recursive: true });
  const tag = `${name}${shard ? `.shard-${shard.index}-of-${shard.count}` : ''}`;
  const journal = join(out, `${tag}.journal.jsonl`);
  // What this run is for, so that `merge` can tell a partial journal from a finished sweep.
  const metaFile = join(out, `${tag}.meta.json`); // written atomically: merge reads it while other shards run
  await writeFile(metaFile + '.tmp', JSON.stringify({ experiment: name, quick, cellIds: all.map((c) => c.id), provenance: provenance(['reproduce', ...args]) }, null, 1));
  await rename(metaFile + '.tmp', metaFile);
  const t0 = Date.now();
  // A run killed mid-line (a re-queued Slurm task) left a torn last line: end it, so the next record starts on its own line.
  const tail = await readFile(journal, 'utf8').catch(() => '');
  if (tail !== '' && !tail.endsWith('\n')) appendFileSync(journal, '\n');
  const fresh = await runCells(exp, cells, workers, `${name}${shard ? ` shard ${shard.index}/${shard.count}` : ''}`, (r) => appendFileSync(journal, JSON.stringify(r) + '\n'), modules);
  const seconds = (Date.now() - t0) / 1000;
  const byId = new Map([...done, ...fresh.map((r) => [r.id, r] as const)]);
  const results = mine.map((c) => byId.get(c.id)).filter((r): r is CellResult => r !== undefined);
  const meta = { quick, shard: shard ? `${shard.index}/${shard.count}` : null, totalCells: all.length, cellIds: all.map((c) => c.id), seconds, workers, provenance: provenance(['reproduce', ...args]) };
  if (shard) {
    const file = join(out, `${name}.shard-${shard.index}-of-${shard.count}.cells.json`);
    await writeFile(file + '.tmp', JSON.stringify({ experiment: name, ...meta, results }, null, 1));
    await rename(file + '.tmp', file); // atomic: a re-run never leaves half a shard file
    console.log(`${name} shard ${shard.index}/${shard.count}: ${results.length} of ${all.length} cells in ${seconds.toFixed(1)} s; wrote ${file}\nmerge all shards with: moegrad merge ${out}`);
    return;
  }
  const summary = exp.summarize(results, { quick });
  const files = await writeOutputs(out, exp, summary, results, meta);
  printSummary(exp, summary, files);
  console.log(`${results.length} cells in ${seconds.toFixed(1)} s on ${workers} worker(s)`);
}

/** Where a result came from: the code's commit (and whether the tree was dirty), the command, the machine and its load. */
function provenance(args: readonly string[]): Record<string, string | number | boolean> {
  const git = (...a: string[]) => { try { return execFileSync('git', a, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim(); } catch { return ''; } };
  return {
    commit: git('rev-parse', 'HEAD') || 'unknown', dirty: git('status', '--porcelain', '--', 'moe', 'engine', 'cli') !== '',
    command: `npx tsx cli/moegrad.ts ${args.join(' ')}`, node: process.version, cpu: cpus()[0]?.model ?? 'unknown', cores: availableParallelism(),
    loadavg1: Number(loadavg()[0]!.toFixed(2)), date: new Date().toISOString(),
  };
}

/** Cell results already in `out` for experiment `name`: shard/cells files and journals (a torn last journal line is ignored). */
async function finishedCells(out: string, name: string): Promise<Map<string, CellResult>> {
  const found = new Map<string, CellResult>();
  const files = await readdir(out).catch(() => [] as string[]);
  for (const f of files.filter((f) => f.startsWith(name + '.')).sort()) {
    const path = join(out, f);
    if (f.endsWith('.cells.json')) {
      const doc = JSON.parse(await readFile(path, 'utf8')) as { experiment: string; results: CellResult[] };
      if (doc.experiment === name) for (const r of doc.results) found.set(r.id, reviveCellResult(r));
    } else if (f.endsWith('.journal.jsonl')) {
      for (const line of (await readFile(path, 'utf8')).split('\n')) {
        if (!line.trim()) continue;
        try { const r = reviveCellResult(JSON.parse(line)); found.set(r.id, r); } catch { /* torn last line of an interrupted run */ }
      }
    }
  }
  return found;
}

async function merge(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, strict: true, options: { out: { type: 'string' }, 'allow-partial': { type: 'boolean' }, remeasure: { type: 'boolean' }, module: { type: 'string', multiple: true } } });
  if (positionals.length === 0) fail('merge needs a folder or *.cells.json / *.journal.jsonl files');
  await loadModules(values.module);
  const files: string[] = [];
  for (const p of positionals) {
    const st = await stat(p).catch(() => null);
    if (!st) fail(`no such file or folder: ${p}`);
    if (st.isDirectory()) files.push(...(await readdir(p)).filter((f) => f.endsWith('.cells.json') || f.endsWith('.journal.jsonl') || f.endsWith('.meta.json')).sort().map((f) => join(p, f)));
    else files.push(p);
  }
  if (files.length === 0) fail(`no *.cells.json or *.journal.jsonl files in ${positionals.join(', ')}`);
  const byId = new Map<string, CellResult>();
  let name: string | null = null, quick = false;
  const expected = new Set<string>();
  const setName = (n: string, f: string) => { if (name !== null && n !== name) fail(`cannot merge different experiments: ${name} and ${n} (${f})`); name = n; };
  for (const f of files) {
    if (f.endsWith('.meta.json')) {
      const meta = JSON.parse(await readFile(f, 'utf8')) as { experiment: string; quick: boolean; cellIds: string[] };
      setName(meta.experiment, f); quick = meta.quick; for (const id of meta.cellIds) expected.add(id);
      continue;
    }
    if (f.endsWith('.journal.jsonl')) {
      setName(f.split('/').pop()!.split('.')[0]!, f);
      for (const line of (await readFile(f, 'utf8')).split('\n')) {
        if (!line.trim()) continue;
        try { const r = reviveCellResult(JSON.parse(line)); byId.set(r.id, r); } catch { /* torn last line */ }
      }
      continue;
    }
    const doc = JSON.parse(await readFile(f, 'utf8')) as { experiment: string; quick?: boolean; cellIds?: string[]; results: CellResult[] };
    setName(doc.experiment, f);
    quick = doc.quick === true;
    for (const id of doc.cellIds ?? []) expected.add(id);
    for (const r of doc.results) byId.set(r.id, reviveCellResult(r));
  }
  const exp = resolveExperiment(name!);
  if (!exp) fail(`unknown experiment '${name}' in ${files[0]}${values.module ? '' : ' (a --module experiment? pass the same --module)'}`);
  const ids = expected.size ? [...expected] : exp.cells({ quick }).map((c) => c.id);
  const missing = ids.filter((id) => !byId.has(id));
  if (missing.length) {
    const msg = `${missing.length} of ${ids.length} cells missing (e.g. ${missing.slice(0, 3).join(', ')})`;
    if (!values['allow-partial']) fail(`${msg}; re-run the missing shards (or --resume), or pass --allow-partial to summarise what is there`);
    console.error(`warning: ${msg}; summarising what is there (--allow-partial)`);
  }
  if (values.remeasure) {
    if (!exp.remeasure) fail(`experiment '${exp.name}' cannot re-measure stored cells`);
    for (const [id, r] of byId) byId.set(id, exp.remeasure(r));
  }
  const order = new Map(ids.map((id, k) => [id, k]));
  const results = [...byId.values()].sort((a, b) => (order.get(a.id) ?? 1e9) - (order.get(b.id) ?? 1e9));
  const summary = exp.summarize(results, { quick });
  const out = values.out ?? (positionals.length === 1 && (await stat(positionals[0]!)).isDirectory() ? positionals[0]! : join('results', name!));
  const written = await writeOutputs(out, exp, summary, results, { quick, shard: null, totalCells: ids.length, missingCells: missing.length, cellIds: ids, mergedFrom: files, provenance: provenance(['merge', ...args]) }, `${exp.name}.merged.json`);
  printSummary(exp, summary, written);
}

/** The exit code a delegated script set (a failed certificate is 1), 0 when it set none. */
function exitCodeOf(): number {
  const code = Number(process.exitCode ?? 0);
  return Number.isInteger(code) ? code : 1;
}

/** Entry point; returns the process exit code. */
export async function main(argv: string[] = process.argv.slice(2)): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    if (cmd !== undefined && cmd in COMMAND_USAGE && (rest.includes('--help') || rest.includes('-h'))) {
      console.log(commandUsage(cmd)); return 0;
    }
    switch (cmd) {
      case 'list':
        if (rest.length) fail('list takes no arguments');
        for (const e of EXPERIMENTS) console.log(`${e.name.padEnd(22)} ${e.description}`);
        return 0;
      case 'reproduce': await reproduce(rest); return 0;
      case 'merge': await merge(rest); return 0;
      case 'demo': return await (await import('./demo.js')).runDemo(rest, main);
      case 'certify': checkCertifyArgs(rest); await delegate(`./certify${ext}`, rest, 'certify'); return exitCodeOf();
      case 'bench':
        // A source checkout runs the full benchmarks (peers are devDependencies); the package its own subset.
        if (existsSync(fileURLToPath(new URL(`../bench/run${ext}`, import.meta.url)))) { await delegate(`../bench/run${ext}`, rest, 'bench'); return exitCodeOf(); }
        return await (await import('./bench-lite.js')).runBenchLite(rest);
      case 'help':
        if (rest.length > 1) fail('help takes at most one command');
        if (rest.length === 1 && !(rest[0]! in COMMAND_USAGE)) fail(`unknown command '${rest[0]}'`);
        console.log(rest.length === 1 ? commandUsage(rest[0]!) : USAGE); return 0;
      case '-h': case '--help':
        if (rest.length) fail(`${cmd} takes no arguments`);
        console.log(USAGE); return 0;
      case '-V': case '--version':
        if (rest.length) fail(`${cmd} takes no arguments`);
        console.log(version()); return 0;
      case undefined: fail('missing command');
      default: fail(`unknown command '${cmd}'`);
    }
  } catch (e) {
    if (e instanceof UsageError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`moegrad: ${(e as Error).message}\n\n${USAGE}`);
      return 2;
    }
    process.stderr.write(`moegrad: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
    return 1;
  }
}

// Run when executed directly (tsx cli/moegrad.ts, node dist/cli/moegrad.js, or the npm bin link).
const invoked = process.argv[1] ? (await import('node:fs')).realpathSync(process.argv[1]) : '';
if (invoked && (await import('node:url')).fileURLToPath(import.meta.url) === invoked) {
  process.exitCode = await main();
}

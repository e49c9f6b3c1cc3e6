/**
 * `moegrad reproduce <name> --slurm`: runs a sweep as a Slurm array job, one shard per array task,
 * plus a merge job that waits for every task (`--dependency=afterok:<array job id>`).
 *
 * Two batch scripts are written to `<out>/slurm/`: `<name>.array.sh` (task i of N runs
 * `reproduce <name> --shard i/N --resume --out <out>`, so a re-queued or re-submitted task keeps the
 * cells its journal already holds, and the shard file is written atomically) and `<name>.merge.sh`
 * (`merge <out>`). Both call the CLI the way it was invoked here: the installed `dist/cli/moegrad.js`
 * or, in a source checkout, `cli/moegrad.ts` through the checkout's tsx, with absolute paths and the
 * absolute path of this node (falling back to `node` on PATH), after checking Node.js ≥ 20.
 * `--dry-run` prints both scripts and the sbatch commands and submits nothing.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadExperimentModules, modulePaths, resolveExperiment } from './user-experiments.js';

/** What the two batch scripts are built from. */
export interface SlurmPlanOptions {
  /** Experiment name (built-in or from a `--module`). */
  readonly name: string;
  /** Number of array tasks = number of shards. */
  readonly shards: number;
  /** Absolute output folder of the sweep (logs go to `<out>/slurm/`). */
  readonly out: string;
  /** Arguments every task passes on to `reproduce` (`--quick`, `--reps k`, `--n-max N`, `--module path`). */
  readonly sweepArgs: readonly string[];
  /** Arguments the merge passes on (`--module path`). */
  readonly mergeArgs: readonly string[];
  /** `#SBATCH --cpus-per-task`, also the worker threads of each task. */
  readonly cpusPerTask: number;
  /** `#SBATCH --partition`, when given. */
  readonly partition?: string | undefined;
  /** `#SBATCH --time`, when given. */
  readonly time?: string | undefined;
  /** The command that runs the CLI (absolute paths), e.g. `[node, tsx/cli.mjs, cli/moegrad.ts]`. */
  readonly command: readonly string[];
  /** Folder the jobs `cd` into (where reproduce was called). */
  readonly cwd: string;
}

/** The two scripts, where they go, and how they are submitted. */
export interface SlurmPlan {
  /** `<out>/slurm/<name>.array.sh` and its text. */
  readonly array: { readonly path: string; readonly text: string };
  /** `<out>/slurm/<name>.merge.sh` and its text. */
  readonly merge: { readonly path: string; readonly text: string };
  /** The sbatch argument lists: the array job, then the merge (with `<array job id>` to fill in). */
  readonly submit: readonly [readonly string[], readonly string[]];
}

const SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** Quotes `s` for a POSIX shell (left alone when it has no special characters). */
export function shellQuote(s: string): string {
  return s !== '' && SAFE.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * The command that runs this CLI from a batch job: `[node, cli file]` for the built package, or
 * `[node, <checkout>/node_modules/tsx/dist/cli.mjs, <checkout>/cli/moegrad.ts]` for a source checkout.
 * `cliFile` is the absolute path of cli/moegrad.ts or dist/cli/moegrad.js.
 */
export function cliCommand(cliFile: string, node = process.execPath): string[] {
  if (!cliFile.endsWith('.ts')) return [node, cliFile];
  const tsx = createRequire(cliFile).resolve('tsx/cli');
  return [node, tsx, cliFile];
}

function nodeCheck(node: string): string[] {
  return [
    '# The node that submitted this job (or node on PATH, e.g. after `module load nodejs`), at least v20.',
    `NODE=${shellQuote(node)}`,
    '[ -x "$NODE" ] || NODE=$(command -v node || true)',
    'if [ -z "$NODE" ] || ! "$NODE" -e \'process.exit(+process.versions.node.split(".")[0] >= 20 ? 0 : 1)\'; then',
    '  echo "moegrad needs Node.js >= 20 on $(hostname); found: ${NODE:-no node} $("${NODE:-false}" --version 2>/dev/null || true)" >&2',
    '  exit 1',
    'fi',
  ];
}

/** Builds the array and merge scripts (pure: writes nothing). */
export function slurmPlan(o: SlurmPlanOptions): SlurmPlan {
  const dir = join(o.out, 'slurm');
  const q = shellQuote;
  const arrayPath = join(dir, `${o.name}.array.sh`), mergePath = join(dir, `${o.name}.merge.sh`);
  const [node, ...cli] = o.command;
  const run = ['"$NODE"', ...cli.map(q)].join(' ');
  const common = (job: string, log: string, cpus: number) => [
    `#SBATCH --job-name=${q(job)}`,
    `#SBATCH --cpus-per-task=${cpus}`,
    ...(o.partition ? [`#SBATCH --partition=${q(o.partition)}`] : []),
    ...(o.time ? [`#SBATCH --time=${q(o.time)}`] : []),
    `#SBATCH --output=${q(join(dir, log))}`,
    '#SBATCH --open-mode=append',
  ];
  const array = [
    '#!/bin/bash',
    `# moegrad sweep '${o.name}' as a Slurm array: task i of ${o.shards} runs shard i/${o.shards}; ${o.name}.merge.sh merges them.`,
    `# A failed task i can be re-run alone: sbatch --array=i ${q(arrayPath)}`,
    '# (--resume keeps the cells its journal already holds; the shard file is written atomically).',
    ...common(`moegrad-${o.name}`, `${o.name}-%A_%a.out`, o.cpusPerTask),
    `#SBATCH --array=1-${o.shards}`,
    'set -euo pipefail',
    `SHARDS=${o.shards}  # fixed: a re-run of one index has SLURM_ARRAY_TASK_COUNT=1 but is still shard i of ${o.shards}`,
    'i=${SLURM_ARRAY_TASK_ID:?this is a Slurm array job: submit it with sbatch}',
    'if [ "$i" -lt 1 ] || [ "$i" -gt "$SHARDS" ]; then echo "array index $i is not in 1-$SHARDS" >&2; exit 2; fi',
    'echo "shard $i/$SHARDS (array task $i, ${SLURM_ARRAY_TASK_COUNT:-?} task(s) in this submission) on $(hostname)"',
    ...nodeCheck(node!),
    `cd ${q(o.cwd)}`,
    `${run} reproduce ${q(o.name)} ${o.sweepArgs.map(q).join(' ')}${o.sweepArgs.length ? ' ' : ''}--shard "$i/$SHARDS" --resume --workers ${o.cpusPerTask} --out ${q(o.out)}`,
    '',
  ].join('\n');
  const merge = [
    '#!/bin/bash',
    `# Merges the ${o.shards} shards of '${o.name}' in ${o.out} (submitted with --dependency=afterok:<array job id>).`,
    ...common(`moegrad-${o.name}-merge`, `${o.name}-merge-%j.out`, 1), // merging is single-threaded
    'set -euo pipefail',
    ...nodeCheck(node!),
    `cd ${q(o.cwd)}`,
    `${run} merge ${q(o.out)}${o.mergeArgs.length ? ' ' + o.mergeArgs.map(q).join(' ') : ''}`,
    '',
  ].join('\n');
  return {
    array: { path: arrayPath, text: array },
    merge: { path: mergePath, text: merge },
    submit: [['--parsable', arrayPath], ['--parsable', '--dependency=afterok:<array job id>', '--kill-on-invalid-dep=yes', mergePath]],
  };
}

const TIME = /^(\d+-)?\d+(:\d+){0,2}$|^(UNLIMITED|INFINITE)$/i;
const PARTITION = /^[A-Za-z0-9_.-]+(,[A-Za-z0-9_.-]+)*$/;

function writeAtomic(path: string, text: string): void {
  writeFileSync(path + '.tmp', text, { mode: 0o755 });
  renameSync(path + '.tmp', path);
}

/**
 * `reproduce <name> --slurm ...`: validates the options (a bad one calls `fail`, exit code 2),
 * then prints (`--dry-run`) or writes and submits the array job and the dependent merge job.
 * `cliFile` is the absolute path of the running CLI entry (cli/moegrad.ts or dist/cli/moegrad.js).
 */
export async function reproduceOnSlurm(args: readonly string[], cliFile: string, fail: (msg: string) => never): Promise<void> {
  const { values, positionals } = parseArgs({ args: [...args], allowPositionals: true, strict: true, options: {
    slurm: { type: 'boolean' }, 'dry-run': { type: 'boolean' }, 'array-size': { type: 'string' }, partition: { type: 'string' },
    time: { type: 'string' }, 'cpus-per-task': { type: 'string' }, out: { type: 'string' }, quick: { type: 'boolean' },
    reps: { type: 'string' }, 'n-max': { type: 'string' }, module: { type: 'string', multiple: true },
    shard: { type: 'string' }, workers: { type: 'string' }, resume: { type: 'boolean' } } });
  if (positionals.length !== 1) fail(`reproduce needs exactly one experiment name; got ${positionals.length}`);
  if (values.shard !== undefined) fail('--slurm runs every shard as an array task: drop --shard (use --array-size N)');
  if (values.workers !== undefined) fail('--slurm: each task runs --cpus-per-task worker threads; drop --workers');
  if (values.resume) fail('--slurm: every array task already runs with --resume; drop --resume');
  const modules = modulePaths(values.module);
  try { await loadExperimentModules(modules); } catch (e) { fail((e as Error).message); }
  const name = positionals[0]!;
  const exp = resolveExperiment(name);
  if (!exp) fail(`unknown experiment '${name}'${modules.length ? '' : ' (a research script\'s own experiment: pass --module path/to/module.js)'}`);
  const reps = values.reps === undefined ? Infinity : Number(values.reps);
  if (!(Number.isInteger(reps) && reps >= 1) && reps !== Infinity) fail(`--reps must be a positive integer; got '${values.reps}'`);
  const nMax = values['n-max'] === undefined ? Infinity : Number(values['n-max']);
  if (!(nMax >= 1)) fail(`--n-max must be a number ≥ 1; got '${values['n-max']}'`);
  const quick = values.quick === true;
  const cells = exp.cells({ quick }).filter((c) => c.rep < reps && c.n <= nMax).length;
  if (cells === 0) fail(`${name}: no cells left with these --reps/--n-max`);
  const shards = values['array-size'] === undefined ? Math.min(10, cells) : Number(values['array-size']);
  if (!Number.isInteger(shards) || shards < 1) fail(`--array-size must be a positive integer; got '${values['array-size']}'`);
  if (shards > cells) fail(`--array-size ${shards} is more than the ${cells} cells of this sweep`);
  const cpus = values['cpus-per-task'] === undefined ? 1 : Number(values['cpus-per-task']);
  if (!Number.isInteger(cpus) || cpus < 1) fail(`--cpus-per-task must be a positive integer; got '${values['cpus-per-task']}'`);
  if (values.time !== undefined && !TIME.test(values.time)) fail(`--time must be a Slurm time limit (minutes, HH:MM:SS, D-HH:MM, ...); got '${values.time}'`);
  if (values.partition !== undefined && !PARTITION.test(values.partition)) fail(`--partition must be a partition name (or a comma-separated list); got '${values.partition}'`);
  const out = resolve(values.out ?? join('results', `${name}${quick ? '-quick' : ''}`));
  const moduleArgs = modules.flatMap((m) => ['--module', m]);
  const sweepArgs = [...(quick ? ['--quick'] : []), ...(values.reps !== undefined ? ['--reps', String(reps)] : []),
    ...(values['n-max'] !== undefined ? ['--n-max', String(nMax)] : []), ...moduleArgs];
  const plan = slurmPlan({ name, shards, out, sweepArgs, mergeArgs: moduleArgs, cpusPerTask: cpus, partition: values.partition, time: values.time,
    command: cliCommand(cliFile), cwd: process.cwd() });
  const sbatchLine = (a: readonly string[]) => ['sbatch', ...a].map((s) => (s.startsWith('--dependency') ? s : shellQuote(s))).join(' ');
  if (values['dry-run']) {
    console.log([`# dry run: ${cells} cells of '${name}' in ${shards} array tasks; nothing written, nothing submitted.`,
      `# ---- ${plan.array.path}`, plan.array.text.trimEnd(), `# ---- ${plan.merge.path}`, plan.merge.text.trimEnd(),
      '# ---- submitted with', sbatchLine(plan.submit[0]), sbatchLine(plan.submit[1])].join('\n'));
    return;
  }
  mkdirSync(join(out, 'slurm'), { recursive: true });
  writeAtomic(plan.array.path, plan.array.text);
  writeAtomic(plan.merge.path, plan.merge.text);
  const sbatch = (a: readonly string[]): string => {
    try {
      return execFileSync('sbatch', [...a], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim().split(';')[0]!;
    } catch (e) {
      const err = e as { code?: string; stderr?: string };
      if (err.code === 'ENOENT') throw new Error(`sbatch not found: submit from a Slurm login node, or print the scripts with --dry-run (written to ${join(out, 'slurm')})`);
      throw new Error(`sbatch ${a.join(' ')} failed: ${(err.stderr ?? String(e)).trim()}`);
    }
  };
  const arrayId = sbatch(plan.submit[0]);
  if (!/^\d+$/.test(arrayId)) throw new Error(`sbatch --parsable printed '${arrayId}', not a job id`);
  const mergeArgs = plan.submit[1].map((s) => s.replace('<array job id>', arrayId));
  const mergeId = sbatch(mergeArgs);
  console.log([`submitted array job ${arrayId} (${shards} tasks, ${cells} cells of '${name}') and merge job ${mergeId} (afterok:${arrayId})`,
    `scripts and logs: ${join(out, 'slurm')}; results: ${out}`,
    `watch: squeue -j ${arrayId},${mergeId}   a failed task i: sbatch --array=i ${shellQuote(plan.array.path)}, then sbatch --dependency=afterok:<its id> ${shellQuote(plan.merge.path)}`].join('\n'));
}

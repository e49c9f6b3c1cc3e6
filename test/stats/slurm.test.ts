/**
 * `moegrad reproduce --slurm` without a Slurm installation: the --dry-run scripts (array range, shard
 * arguments, resume, dependency, merge command), the README's dry-run block and research-script
 * module, submission through a stand-in `sbatch` on PATH, and bad arguments (exit code 2). The real
 * scheduler runs in scripts/ci-slurm.sh.
 */
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../cli/moegrad.js';
import { rewriteImports } from '../../scripts/readme-snippets.js';

const root = join(import.meta.dirname, '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'moegrad-slurm-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const savedPath = process.env['PATH'];
afterEach(() => { process.env['PATH'] = savedPath; });

/** Runs the CLI in-process; returns its exit code and what it printed. */
async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '', stderr = '';
  const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => { stdout += a.join(' ') + '\n'; });
  const err = vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => { stderr += a.join(' ') + '\n'; });
  const write = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => { stderr += String(s); return true; });
  try {
    return { code: await main(args), stdout, stderr };
  } finally {
    log.mockRestore(); err.mockRestore(); write.mockRestore();
  }
}

const readme = readFileSync(join(root, 'README.md'), 'utf8');
const section = readme.slice(readme.indexOf('## Running a sweep on a Slurm cluster'));
/** The fenced blocks of the README's Slurm section: info string and text. */
const end = section.indexOf("\n## ", 5);
const blocks = [...section.slice(0, end < 0 ? undefined : end).matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)].map((m) => ({ info: m[1]!, text: m[2]! }));

describe('reproduce --slurm', () => {
  it('--dry-run prints the array script (1-N, shard $i/N, --resume, node check), the merge script and the afterok submission; writes and submits nothing', async () => {
    process.env['PATH'] = dir; // no sbatch anywhere
    const out = join(dir, 'dry');
    const r = await cli('reproduce', 'temperature-gating', '--quick', '--reps', '2', '--n-max', '900', '--slurm', '--array-size', '4',
      '--partition', 'short', '--time', '0:20:00', '--cpus-per-task', '2', '--out', out, '--dry-run');
    expect(r.code, r.stderr).toBe(0);
    const s = r.stdout;
    expect(s).toMatch(/^# dry run: 16 cells of 'temperature-gating' in 4 array tasks; nothing written, nothing submitted\./);
    expect(s).toContain(`# ---- ${out}/slurm/temperature-gating.array.sh\n#!/bin/bash\n`);
    for (const line of ['#SBATCH --array=1-4', '#SBATCH --partition=short', '#SBATCH --time=0:20:00', '#SBATCH --cpus-per-task=2',
      `#SBATCH --output=${out}/slurm/temperature-gating-%A_%a.out`, `#SBATCH --output=${out}/slurm/temperature-gating-merge-%j.out`,
      'SHARDS=4', 'i=${SLURM_ARRAY_TASK_ID:?', `NODE=${process.execPath}`, `cd ${process.cwd()}`]) expect(s).toContain(line);
    expect(s).toMatch(/process\.versions\.node\.split\("\."\)\[0\] >= 20/);
    // the CLI as invoked here: this checkout's tsx and cli/moegrad.ts, absolute paths
    const run = `"$NODE" ${join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs')} ${join(root, 'cli', 'moegrad.ts')}`;
    expect(s).toContain(`${run} reproduce temperature-gating --quick --reps 2 --n-max 900 --shard "$i/$SHARDS" --resume --workers 2 --out ${out}\n`);
    expect(s).toContain(`${run} merge ${out}\n`);
    expect(s).toContain(`# ---- submitted with\nsbatch --parsable ${out}/slurm/temperature-gating.array.sh\n`
      + `sbatch --parsable --dependency=afterok:<array job id> --kill-on-invalid-dep=yes ${out}/slurm/temperature-gating.merge.sh\n`);
    // the #SBATCH lines come before the first command (sbatch stops reading them there)
    const array = s.slice(s.indexOf('#!/bin/bash'), s.indexOf('# ---- ', s.indexOf('#!/bin/bash')));
    const firstCommand = array.split('\n').findIndex((l) => l !== '' && !l.startsWith('#'));
    expect(array.split('\n').findLastIndex((l) => l.startsWith('#SBATCH'))).toBeLessThan(firstCommand);
    expect(existsSync(out)).toBe(false);
  });

  it('the README shows the real --dry-run output (paths of a checkout in /home/me/moegrad)', async () => {
    const cmd = blocks.map((b) => /^npx tsx cli\/moegrad\.ts (reproduce .*--dry-run)$/m.exec(b.text)?.[1]).find(Boolean);
    const shown = blocks.find((b) => b.info === 'text' && b.text.startsWith('# dry run:'));
    expect(cmd, 'an sh block with npx tsx cli/moegrad.ts reproduce … --dry-run').toBeDefined();
    expect(shown, 'a text block with its output').toBeDefined();
    const r = await cli(...cmd!.split(/\s+/));
    expect(r.code, r.stderr).toBe(0);
    const normalized = r.stdout.replaceAll(process.execPath, '/usr/bin/node').replaceAll(root.replace(/\/$/, ''), '/home/me/moegrad');
    expect(shown!.text).toBe(normalized);
  });

  it("submits the array with sbatch --parsable, then the merge with --dependency=afterok:<its id> (a stand-in sbatch on PATH)", async () => {
    const bin = join(dir, 'bin');
    const calls = join(dir, 'sbatch-calls');
    rmSync(bin, { recursive: true, force: true });
    writeFileSync(join(dir, 'sbatch-id'), '4241');
    mkdirSync(bin);
    writeFileSync(join(bin, 'sbatch'), `#!/bin/sh\necho "$*" >> ${calls}\nid=$(($(cat ${dir}/sbatch-id) + 1)); echo $id > ${dir}/sbatch-id; echo "$id;cluster"\n`);
    chmodSync(join(bin, 'sbatch'), 0o755);
    process.env['PATH'] = `${bin}:${savedPath}`;
    const out = join(dir, 'submit');
    const r = await cli('reproduce', 'thm2', '--quick', '--slurm', '--array-size', '3', '--out', out);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^submitted array job 4242 \(3 tasks, \d+ cells of 'thm2'\) and merge job 4243 \(afterok:4242\)/);
    expect(readFileSync(calls, 'utf8')).toBe(`--parsable ${out}/slurm/thm2.array.sh\n--parsable --dependency=afterok:4242 --kill-on-invalid-dep=yes ${out}/slurm/thm2.merge.sh\n`);
    expect(readdirSync(join(out, 'slurm')).sort()).toEqual(['thm2.array.sh', 'thm2.merge.sh']); // no .tmp left
    expect(statSync(join(out, 'slurm', 'thm2.array.sh')).mode & 0o111).not.toBe(0);
    expect(readFileSync(join(out, 'slurm', 'thm2.array.sh'), 'utf8')).toMatch(/^#SBATCH --array=1-3$/m);
    // sbatch refusing (exit 1, its message shown), and no sbatch at all
    writeFileSync(join(bin, 'sbatch'), '#!/bin/sh\necho "sbatch: error: invalid partition specified: nope" >&2\nexit 1\n');
    const refused = await cli('reproduce', 'thm2', '--quick', '--slurm', '--out', out);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('invalid partition specified: nope');
    process.env['PATH'] = dir;
    const missing = await cli('reproduce', 'thm2', '--quick', '--slurm', '--out', out);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/sbatch not found: submit from a Slurm login node, or print the scripts with --dry-run/);
  });

  it.each([
    [['--array-size', '0'], /--array-size must be a positive integer; got '0'/],
    [['--array-size', '2.5'], /--array-size must be a positive integer/],
    [['--array-size', '17'], /--array-size 17 is more than the 16 cells of this sweep/],
    [['--cpus-per-task', '0'], /--cpus-per-task must be a positive integer/],
    [['--time', '20min'], /--time must be a Slurm time limit/],
    [['--partition', 'a b'], /--partition must be a partition name/],
    [['--shard', '1/2'], /--slurm runs every shard as an array task: drop --shard/],
    [['--workers', '2'], /drop --workers/],
    [['--resume'], /already runs with --resume/],
    [['--reps', '0'], /--reps must be a positive integer/],
    [['--bogus'], /Unknown option '--bogus'/],
    [['--module', '/no/such/file.mjs'], /--module \/no\/such\/file\.mjs: no such file/],
  ])('bad argument %j → exit 2 with a clear message', async (extra, message) => {
    const r = await cli('reproduce', 'temperature-gating', '--quick', '--reps', '2', '--n-max', '900', '--slurm', '--dry-run', ...extra);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toContain('usage: moegrad <command>');
    expect(r.stdout).toBe('');
  });

  it('unknown experiments and modules that export none are usage errors too', async () => {
    const none = join(dir, 'none.mjs');
    writeFileSync(none, 'export const x = 1;\n');
    expect((await cli('reproduce', 'nope', '--slurm', '--dry-run')).stderr).toMatch(/unknown experiment 'nope' \(a research script's own experiment: pass --module/);
    const r = await cli('reproduce', 'nope', '--slurm', '--dry-run', '--module', none);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/exports no experiments/);
  });

  it("the README's research-script module registers its experiment: --slurm passes --module to the tasks and the merge; a local run's workers load it", async () => {
    const js = blocks.find((b) => b.info === 'js' && b.text.includes('export const experiments'));
    expect(js, 'a js block exporting experiments').toBeDefined();
    const file = join(dir, 'my-sweep.mjs');
    writeFileSync(file, rewriteImports(js!.text, { moegrad: join(root, 'index.ts') }));
    const dry = await cli('reproduce', 'sample-mean', '--module', file, '--quick', '--slurm', '--array-size', '2', '--out', join(dir, 'mine'), '--dry-run');
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain(`reproduce sample-mean --quick --module ${file} --shard "$i/$SHARDS"`);
    expect(dry.stdout).toContain(`merge ${join(dir, 'mine')} --module ${file}\n`);
    // the same module in a real (local) run: one worker thread imports it to find the experiment
    const run = await cli('reproduce', 'sample-mean', '--module', file, '--quick', '--workers', '1', '--out', join(dir, 'mine'));
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/error: slope -0\.\d{3}/);
    const merged = await cli('merge', join(dir, 'mine'), '--module', file);
    expect(merged.code, merged.stderr).toBe(0);
  }, 30_000);
});

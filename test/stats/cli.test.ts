import { describe, expect, it, vi } from 'vitest';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..', '..');
const tsx = join(root, 'node_modules', '.bin', 'tsx');
const pkgVersion = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
const cli = (...args: string[]) => spawnSync(tsx, [join(root, 'cli', 'moegrad.ts'), ...args], { cwd: root, encoding: 'utf8', timeout: 120_000 });

describe('moegrad CLI', () => {
  it.each([
    [[]], [['frobnicate']], [['reproduce']], [['reproduce', 'nope']], [['reproduce', 'thm1', '--bogus']],
    [['reproduce', 'thm1', '--shard', '3/2']], [['reproduce', 'thm1', '--workers', '-1']], [['merge']], [['list', 'extra']],
  ])('bad arguments %j → usage on stderr, exit code 2', (args) => {
    const r = cli(...args);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/usage: moegrad <command>/);
    expect(r.stdout).toBe('');
  });

  it('--version prints package.json\'s version; certify --bogus exits 2 with the usage (separate processes: the exit codes)', () => {
    const r = cli('--version');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(pkgVersion);
    const bogus = cli('certify', '--bogus');
    expect(bogus.status).toBe(2);
    expect(bogus.stderr).toMatch(/certify: unknown argument '--bogus'[\s\S]*usage: moegrad <command>/);
    expect(bogus.stdout).toBe('');
  });

  // In-process (no fitting, no new process): per-command help and the certify argument checks.
  const run = async (...argv: string[]) => {
    const { main } = await import('../../cli/moegrad.js');
    const out: string[] = [], err: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => { out.push(a.join(' ')); });
    const write = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => { err.push(String(chunk)); return true; });
    try { return { code: await main(argv), stdout: out.join('\n'), stderr: err.join('') }; } finally { log.mockRestore(); write.mockRestore(); }
  };

  it.each(['demo', 'certify', 'bench', 'list', 'reproduce', 'merge', 'help'])('%s: "help <command>", "<command> --help" and "<command> -h" print that command\'s usage, exit 0', async (cmd) => {
    const { COMMAND_USAGE } = await import('../../cli/moegrad.js');
    for (const argv of [['help', cmd], [cmd, '--help'], [cmd, '-h']]) {
      const r = await run(...argv);
      expect(r.code, `${argv.join(' ')}: ${r.stderr}`).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^usage: moegrad ${cmd}`));
      expect(r.stdout).toContain(COMMAND_USAGE[cmd]!.trimEnd());
      expect(r.stdout).not.toMatch(/^commands:/m); // one command, not the whole list
    }
  });

  it('-V prints the version (in-process)', async () => {
    const r = await run('-V');
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(pkgVersion);
  });

  it('reproduce <name> --help is help, not "Unknown option"; help, --help and -h print the full usage', async () => {
    expect((await run('reproduce', 'thm1', '--quick', '--help')).stdout).toMatch(/^usage: moegrad reproduce/);
    for (const argv of [['help'], ['--help'], ['-h']]) {
      const r = await run(...argv);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^usage: moegrad <command>[\s\S]*-V, --version/);
    }
  });

  it.each([
    [['certify', '--bogus'], /unknown argument '--bogus'/], [['certify', '--cases', '0'], /--cases must be an integer ≥ 1; got '0'/],
    [['certify', '--cases', '2.5'], /--cases must be/], [['certify', '--cases'], /--cases needs a value/], [['certify', '--seed', 'x'], /--seed must be a finite number/],
    [['certify', '--out'], /--out needs a value/], [['certify', 'extra'], /unknown argument 'extra'/],
    [['help', 'nope'], /unknown command 'nope'/], [['help', 'list', 'merge'], /at most one command/], [['--version', 'x'], /takes no arguments/],
  ])('usage error %j → exit 2, usage on stderr, nothing on stdout', async (argv, msg) => {
    const r = await run(...argv);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(msg);
    expect(r.stderr).toMatch(/usage: moegrad <command>/);
    expect(r.stdout).toBe('');
  });

  it('list names the four theorems', () => {
    const r = cli('list');
    expect(r.status).toBe(0);
    for (const t of ['thm1', 'thm2', 'thm3', 'thm4']) expect(r.stdout).toMatch(new RegExp(`^${t} `, 'm'));
  });

  it('reproduce writes JSON, CSV, per-fit CSV and a vega SVG, prints per-fit convergence; shards merge to the same summary; --resume; merge refuses missing cells', () => {
    const dir = mkdtempSync(join(tmpdir(), 'moegrad-cli-'));
    const small = ['--quick', '--reps', '2', '--n-max', '320'];
    const whole = cli('reproduce', 'thm2', ...small, '--workers', '2', '--out', join(dir, 'whole'));
    expect(whole.status, whole.stderr).toBe(0);
    expect(whole.stdout).toMatch(/D2 global: slope -?\d+\.\d{3} {2}95% CI/);
    expect(whole.stdout).toMatch(/theory n\^-0\.5 on this axis and grid: 0\.\d{3}/);
    expect(whole.stdout).toMatch(/per-fit convergence:\n.*local stop/);
    expect(whole.stderr).toMatch(/estimated CPU time/);
    const files = readdirSync(join(dir, 'whole')).sort();
    expect(files).toEqual(['thm2.cells.json', 'thm2.csv', 'thm2.fits.csv', 'thm2.journal.jsonl', 'thm2.json', 'thm2.meta.json', 'thm2.svg']);
    expect(readFileSync(join(dir, 'whole', 'thm2.svg'), 'utf8')).toMatch(/^<svg[^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    expect(readFileSync(join(dir, 'whole', 'thm2.csv'), 'utf8').split('\r\n')[0]).toBe('series,n,mean,std,count');
    expect(readFileSync(join(dir, 'whole', 'thm2.fits.csv'), 'utf8').split('\r\n')).toHaveLength(4 + 2); // header, 4 cells, trailing ''
    for (const s of ['1/2', '2/2']) {
      const r = cli('reproduce', 'thm2', ...small, '--workers', '0', '--shard', s, '--out', join(dir, 'shards'));
      expect(r.status, r.stderr).toBe(0);
    }
    const merged = cli('merge', join(dir, 'shards'));
    expect(merged.status, merged.stderr).toBe(0);
    const a = JSON.parse(readFileSync(join(dir, 'whole', 'thm2.json'), 'utf8')), b = JSON.parse(readFileSync(join(dir, 'shards', 'thm2.json'), 'utf8'));
    expect(b.rows).toEqual(a.rows);
    expect(b.fits).toEqual(a.fits);
    // --resume finds every cell in the journal and the shard files, and runs none again.
    const resumed = cli('reproduce', 'thm2', ...small, '--workers', '0', '--resume', '--out', join(dir, 'whole'));
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(/resuming, 4 of 4 cells already finished/);
    expect(JSON.parse(readFileSync(join(dir, 'whole', 'thm2.json'), 'utf8')).rows).toEqual(a.rows);
    // Only one shard: merge refuses (exit 2) unless --allow-partial.
    // (shard 1's own files, copied rather than fitted again: the test stays cheap)
    mkdirSync(join(dir, 'half'));
    for (const f of ['thm2.shard-1-of-2.cells.json', 'thm2.shard-1-of-2.meta.json']) copyFileSync(join(dir, 'shards', f), join(dir, 'half', f));
    const refused = cli('merge', join(dir, 'half'));
    expect(refused.status).toBe(2);
    expect(refused.stderr).toMatch(/2 of 4 cells missing/);
    expect(cli('merge', join(dir, 'half'), '--allow-partial').status).toBe(0);
  }, 240_000);
});

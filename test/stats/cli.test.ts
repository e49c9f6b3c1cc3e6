import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..', '..');
const tsx = join(root, 'node_modules', '.bin', 'tsx');
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

  it('list names the four theorems', () => {
    const r = cli('list');
    expect(r.status).toBe(0);
    for (const t of ['thm1', 'thm2', 'thm3', 'thm4']) expect(r.stdout).toMatch(new RegExp(`^${t} `, 'm'));
  });

  it('reproduce writes JSON, CSV and a vega SVG; two shards merged give the same summary', () => {
    const dir = mkdtempSync(join(tmpdir(), 'moegrad-cli-'));
    const whole = cli('reproduce', 'thm1', '--quick', '--reps', '1', '--workers', '2', '--out', join(dir, 'whole'));
    expect(whole.status, whole.stderr).toBe(0);
    expect(whole.stdout).toMatch(/D1: slope -?\d+\.\d{3}/);
    const files = readdirSync(join(dir, 'whole')).sort();
    expect(files).toEqual(['thm1.cells.json', 'thm1.csv', 'thm1.json', 'thm1.svg']);
    expect(readFileSync(join(dir, 'whole', 'thm1.svg'), 'utf8')).toMatch(/^<svg[^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    expect(readFileSync(join(dir, 'whole', 'thm1.csv'), 'utf8').split('\n')[0]).toBe('series,n,mean,std,count');
    for (const s of ['1/2', '2/2']) {
      const r = cli('reproduce', 'thm1', '--quick', '--reps', '1', '--workers', '0', '--shard', s, '--out', join(dir, 'shards'));
      expect(r.status, r.stderr).toBe(0);
    }
    const merged = cli('merge', join(dir, 'shards'));
    expect(merged.status, merged.stderr).toBe(0);
    const a = JSON.parse(readFileSync(join(dir, 'whole', 'thm1.json'), 'utf8')), b = JSON.parse(readFileSync(join(dir, 'shards', 'thm1.json'), 'utf8'));
    expect(b.rows).toEqual(a.rows);
    expect(b.fits).toEqual(a.fits);
  });
});

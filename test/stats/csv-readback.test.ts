/**
 * The CSV files `moegrad reproduce`/`merge` write (`<name>.csv`, `<name>.fits.csv`) read back with
 * a strict RFC 4180 parser (written here, independent of cli/render.ts) and agree with the JSON
 * written beside them: same header, same number of fields in every record, same strings, numbers
 * equal to the last bit. Input: a small finished sweep stored under results/ (read only; the
 * outputs go to a temp folder), plus a summary whose series names and cells hold commas, quotes
 * and line breaks.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeOutputs } from '../../cli/render.js';
import { findExperiment } from '../../moe/stats/registry.js';
import type { CellResult, Experiment, ExperimentSummary } from '../../moe/stats/experiment.js';

const root = join(import.meta.dirname, '..', '..');

/**
 * RFC 4180 (strict): records end with CRLF (the last one may omit it); a field is either unquoted
 * (no comma, quote, CR or LF) or enclosed in double quotes with embedded quotes doubled; anything
 * else (a bare quote inside an unquoted field, text after a closing quote, an unterminated quote,
 * a bare LF or CR) is an error.
 */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let i = 0;
  const n = text.length;
  if (n === 0) return records;
  for (;;) {
    const record: string[] = [];
    for (;;) {
      let field = '';
      if (text[i] === '"') {
        i++;
        for (;;) {
          if (i >= n) throw new Error('unterminated quoted field');
          const c = text[i]!;
          if (c === '"') {
            if (text[i + 1] === '"') { field += '"'; i += 2; continue; }
            i++; break;
          }
          field += c; i++;
        }
        if (i < n && text[i] !== ',' && !(text[i] === '\r' && text[i + 1] === '\n')) throw new Error(`text after a closing quote at offset ${i}`);
      } else {
        while (i < n && text[i] !== ',' && text[i] !== '\r' && text[i] !== '\n') {
          if (text[i] === '"') throw new Error(`quote inside an unquoted field at offset ${i}`);
          field += text[i]; i++;
        }
        if (text[i] === '\n' || (text[i] === '\r' && text[i + 1] !== '\n')) throw new Error(`bare line break at offset ${i}`);
      }
      record.push(field);
      if (text[i] === ',') { i++; continue; }
      break;
    }
    records.push(record);
    if (i >= n) return records;
    i += 2; // CRLF
    if (i >= n) return records;
  }
}

/** A CSV cell against the JSON value it was written from (numbers exactly: String(x) round-trips doubles; NaN is null in JSON). */
function same(field: string, json: unknown): boolean {
  if (typeof json === 'number' || json === null) {
    const v = Number(field);
    return json === null ? field === 'NaN' || field === '' : Object.is(v, json) && field.trim() === field && field !== '';
  }
  return field === String(json ?? '');
}

/** Parses `<out>/<name>.csv` and `.fits.csv` and checks them against `<out>/<name>.json`; returns the record counts. */
function checkAgainstJson(out: string, name: string): { rows: number; perCell: number } {
  const json = JSON.parse(readFileSync(join(out, `${name}.json`), 'utf8')) as ExperimentSummary;
  const csv = parseCsv(readFileSync(join(out, `${name}.csv`), 'utf8'));
  const header = ['series', 'n', 'mean', 'std', 'count'];
  expect(csv[0]).toEqual(header);
  expect(csv.length - 1).toBe(json.rows.length);
  csv.slice(1).forEach((rec, k) => {
    expect(rec, `${name}.csv record ${k + 1}`).toHaveLength(header.length);
    const row = json.rows[k] as unknown as Record<string, unknown>;
    header.forEach((h, c) => expect(same(rec[c]!, row[h]), `${name}.csv record ${k + 1} ${h}: '${rec[c]}' vs ${JSON.stringify(row[h])}`).toBe(true));
  });
  const perCell = json.perCell ?? [];
  if (perCell.length) {
    const fits = parseCsv(readFileSync(join(out, `${name}.fits.csv`), 'utf8'));
    const cols = Object.keys(perCell[0]!);
    expect(fits[0]).toEqual(cols);
    expect(fits.length - 1).toBe(perCell.length);
    fits.slice(1).forEach((rec, k) => {
      expect(rec, `${name}.fits.csv record ${k + 1}`).toHaveLength(cols.length);
      cols.forEach((col, c) => expect(same(rec[c]!, perCell[k]![col]), `${name}.fits.csv record ${k + 1} ${col}: '${rec[c]}' vs ${JSON.stringify(perCell[k]![col])}`).toBe(true));
    });
  }
  return { rows: json.rows.length, perCell: perCell.length };
}

describe('CSV outputs read back with a strict RFC 4180 parser', () => {
  it('the parser itself: quoted fields with commas, doubled quotes and line breaks; malformed input refused', () => {
    expect(parseCsv('a,b\r\n"x, y","say ""hi""\r\nbye"\r\n,""\r\n')).toEqual([['a', 'b'], ['x, y', 'say "hi"\r\nbye'], ['', '']]);
    expect(parseCsv('a,b')).toEqual([['a', 'b']]);
    for (const bad of ['a,"b\r\n', 'a,b"c\r\n', '"a"b,c\r\n', 'a\nb\r\n', 'a\rb\r\n']) expect(() => parseCsv(bad), bad).toThrow();
  });

  it('a stored quick sweep (results/thm2-quick) re-summarised and written to a temp folder: CSV = JSON', async () => {
    const exp = findExperiment('thm2')!;
    const cells = JSON.parse(readFileSync(join(root, 'results', 'thm2-quick', 'thm2.cells.json'), 'utf8')) as { results: CellResult[] };
    const summary = exp.summarize(cells.results, { quick: true });
    const out = mkdtempSync(join(tmpdir(), 'moegrad-csv-'));
    await writeOutputs(out, exp, summary, cells.results, { quick: true });
    const counts = checkAgainstJson(out, 'thm2');
    expect(counts.rows).toBeGreaterThan(0);
    expect(counts.perCell).toBe(cells.results.length);
    // The stored files themselves (read only) parse and agree with their JSON too.
    expect(checkAgainstJson(join(root, 'results', 'thm2-quick'), 'thm2')).toEqual(counts);
  }, 60_000);

  it('series names and per-cell strings with commas, quotes and line breaks survive; NaN means are written as NaN', async () => {
    const names = ['truth sigmoid, fit softmax', 'say "hi"', 'two\r\nlines', 'lf\nonly', 'plain'];
    const rows = names.flatMap((series, k) => [100, 1000].map((n) => ({ series, n, mean: k === 4 && n === 1000 ? NaN : (k + 1) / 3 / n, std: 0.1 / n, count: 5 })));
    const perCell = names.map((s, k) => ({ cell: `n=100/rep=${k}`, 'stop, reason': s, 'value "x"': k / 7 }));
    const summary: ExperimentSummary = { rows, fits: [], perCell, plot: { title: 'CSV, "quoting"', yLabel: 'loss', series: names } };
    const exp = { name: 'csv-quoting', paper: 'none', description: 'RFC 4180 round trip' } as unknown as Experiment;
    const out = mkdtempSync(join(tmpdir(), 'moegrad-csv-'));
    await writeOutputs(out, exp, summary, [], { quick: true });
    expect(checkAgainstJson(out, 'csv-quoting')).toEqual({ rows: rows.length, perCell: perCell.length });
    const parsed = parseCsv(readFileSync(join(out, 'csv-quoting.csv'), 'utf8'));
    expect(parsed.slice(1).map((r) => r[0])).toEqual(rows.map((r) => r.series));
    expect(parsed[parsed.length - 1]![2]).toBe('NaN');
  }, 60_000);
});

describe('cell results read back from JSON (journals, cells files)', () => {
  it('a non-finite metric (written as null by JSON) comes back as NaN, so rate fits skip it instead of failing', async () => {
    const { reviveCellResult } = await import('../../moe/stats/experiment.js');
    const { fitRate, groupByN } = await import('../../moe/stats/rates.js');
    const cells = [100, 1000, 10000].flatMap((n) => [0, 1, 2].map((rep) => ({ id: `n=${n}/rep=${rep}`, n, rep, seed: rep, metrics: { loss: n === 1000 && rep === 1 ? Number.NaN : 1 / Math.sqrt(n) * (1 + 0.1 * rep) } })));
    const back = cells.map((c) => reviveCellResult(JSON.parse(JSON.stringify(c))));
    expect(JSON.parse(JSON.stringify(cells[4])).metrics.loss).toBeNull();
    expect(back[4]!.metrics.loss).toBeNaN();
    expect(back[0]).toEqual(cells[0]);
    const fit = fitRate(groupByN(back, 'loss'), { axis: 'n', resamples: 50, seed: 1 });
    expect(fit.slope).toBeCloseTo(-0.5, 1);
    expect(() => reviveCellResult({ id: 'x', n: 1, rep: 0, seed: 0, metrics: { a: 'oops' } })).toThrow(/reviveCellResult: cell x: metric a must be a number or null/);
    expect(() => reviveCellResult([1])).toThrow(/reviveCellResult/);
  });
});

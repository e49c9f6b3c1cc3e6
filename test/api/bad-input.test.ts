/**
 * Registry-driven bad-input property test (issue 12): for every public export, corrupt one argument
 * at a time with a bad value of the argument's kind (shape, dtype, axis, k, finite number, count,
 * tree, backend, function, options, ...). Each call must throw a MoegradError subclass whose `op` is
 * the function and whose message shows the offending value — never a TypeError/RangeError, never a
 * silent result, never slower than 1 s. Coverage (exports with an entry / exports) is printed; an
 * export without an entry fails. moe/stats (statistics toolkit) is covered too; its coverage is
 * also printed on its own.
 */
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import * as api from '../../index.js';
import * as stats from '../../moe/stats/index.js';
import { MoegradError, Tensor, fmtShape } from '../../index.js';
import { describeValue } from '../../engine/validate.js';
import { ENTRIES, NO_INPUT, BAD, type ApiEntry, type Fuzz } from './bad-input.registry.js';

type Fn = (...args: unknown[]) => unknown;

function callOf(entry: ApiEntry): Fn {
  if (entry.call) return entry.call as Fn;
  const target = (api as Record<string, unknown>)[entry.name];
  if (typeof target !== 'function') throw new Error(`registry entry '${entry.name}' is not an exported function`);
  return target as Fn;
}

/** The arguments of `entry` with the bad value put where `fuzz` says. */
function corrupt(entry: ApiEntry, fuzz: Fuzz, bad: unknown): unknown[] {
  const args = entry.valid();
  if (typeof fuzz.at === 'number') {
    args[fuzz.at] = bad;
  } else {
    const [i, key] = fuzz.at;
    args[i] = { ...(args[i] as object | undefined), [key]: bad };
  }
  return args;
}

/**
 * Does the message show the offending value: its number, its string, its shape, its type as the
 * library's describeValue prints it — or, for a structure (tree, plan, array of tensors), the
 * element or path that is wrong?
 */
function mentions(message: string, v: unknown): boolean {
  if (message.includes(describeValue(v))) return true;
  if (v === null) return message.includes('null');
  if (v === undefined) return message.includes('undefined') || message.includes('none') || message.includes('missing');
  if (typeof v === 'number') return message.includes(String(v)) || (v === 2 ** 40 && message.includes('1099511627776'));
  if (typeof v === 'string') return v === '' ? message.includes("''") || message.includes('empty') : message.includes(v);
  if (typeof v === 'boolean') return message.includes(String(v));
  if (typeof v === 'function') return /function|fn|return/.test(message);
  if (v instanceof Tensor) return message.includes(fmtShape(v.shape)) || message.includes(v.dtype) || /NaN|Infinity/.test(message);
  if (ArrayBuffer.isView(v)) return message.includes(v.constructor.name) || /index|indices|length|offsets|elements|entries|out of range|got \d|got \[\d/.test(message);
  if (Array.isArray(v)) {
    // an array of records (atoms, specs, results): the offending leaf inside one of them
    if (v.some((x) => x !== null && typeof x === 'object' && !(x instanceof Tensor)) && nestedLeaves(v).some((x) => message.includes(describeValue(x)))) return true;
    if (v.some((x) => (x instanceof Tensor ? message.includes(fmtShape(x.shape)) || message.includes(x.dtype) : message.includes(describeValue(x))))) return true;
    return message.includes('Array') || (v.every((x) => typeof x === 'number') && message.includes(fmtShape(v as number[])))
      || v.some((x) => typeof x === 'number' && message.includes(String(x)) && !Number.isInteger(x)) || /NaN|Infinity|-\d|ragged|length|entries|differ at|path/.test(message);
  }
  if (v !== null && typeof v === 'object' && Object.values(v).some((x) => (typeof x === 'string' ? message.includes(x) : message.includes(describeValue(x))))) return true;
  if (v !== null && typeof v === 'object' && nestedLeaves(v).some((x) => message.includes(describeValue(x)))) return true;
  return /object|Object|missing|lacks|key|got|path|differ at|match|top-K/.test(message);
}

/** The scalar leaves (numbers, strings, booleans, null) of a small nested value, at most 4 levels deep. */
function nestedLeaves(v: unknown, depth = 0, out: unknown[] = []): unknown[] {
  if (v === null || typeof v !== 'object') { if (depth > 0 && (v === null || ['number', 'string', 'boolean'].includes(typeof v))) out.push(v); return out; }
  if (depth >= 4 || v instanceof Tensor || ArrayBuffer.isView(v)) return out;
  for (const x of Object.values(v)) nestedLeaves(x, depth + 1, out);
  return out;
}

const acceptedOps = (entry: ApiEntry): string[] => {
  const op = (entry as { op?: string | string[] }).op ?? entry.name;
  return Array.isArray(op) ? op : [op];
};

/** Runs one corrupted call; returns null when it behaved, else what went wrong. */
function misbehaviour(entry: ApiEntry, fuzz: Fuzz, bad: unknown): string | null {
  const fn = callOf(entry);
  let args: unknown[];
  try { args = corrupt(entry, fuzz, bad); } catch (e) { return `building the arguments threw ${String(e)}`; }
  const t0 = performance.now();
  let result: unknown, error: unknown = null;
  try { result = fn(...args); } catch (e) { error = e; }
  const ms = performance.now() - t0;
  const where = `${entry.name} with ${typeof fuzz.at === 'number' ? `argument ${fuzz.at}` : `argument ${fuzz.at[0]}.${fuzz.at[1]}`} = ${show(bad)}`;
  if (ms > 1000) return `${where}: took ${ms.toFixed(0)} ms`;
  if (error === null) return `${where}: no error (returned ${show(result)})`;
  if (!(error instanceof MoegradError)) return `${where}: ${(error as Error)?.name ?? typeof error} instead of a MoegradError: ${(error as Error)?.message ?? String(error)}`;
  const ops = acceptedOps(entry);
  if (!ops.includes(error.op)) return `${where}: the error names '${error.op}', not ${ops.map((o) => `'${o}'`).join(' or ')}: ${error.message}`;
  if (!mentions(error.message, bad)) return `${where}: the message does not show the offending value: ${error.message}`;
  return null;
}

function show(v: unknown): string {
  if (v instanceof Tensor) return `Tensor ${v.dtype} ${fmtShape(v.shape)}`;
  if (typeof v === 'string') return `'${v}'`;
  if (typeof v === 'function') return 'function';
  if (ArrayBuffer.isView(v)) return `${v.constructor.name}(${(v as unknown as ArrayLike<number>).length})`;
  try { return JSON.stringify(v) ?? String(v); } catch { return String(v); }
}

const valuesOf = (fuzz: Fuzz): readonly unknown[] => (typeof fuzz.bad === 'string' ? BAD[fuzz.bad] : fuzz.bad);

const statsNames = new Set(Object.keys(stats));
const exportNames = Object.keys(api).sort();
const covered = new Set([...ENTRIES.map((e) => e.name.split(/[.#]/)[0]!), ...NO_INPUT.map((e) => e.name)]);

describe('bad input: registry-driven property test', () => {
  it('every export (moe/stats included) has a registry entry; coverage is printed', () => {
    const missing = exportNames.filter((n) => !covered.has(n));
    const fuzzed = exportNames.filter((n) => ENTRIES.some((e) => e.name.split(/[.#]/)[0] === n));
    const calls = ENTRIES.reduce((acc, e) => acc + e.fuzz.reduce((a, fz) => a + valuesOf(fz).length, 0), 0);
    console.log(`bad-input coverage: ${exportNames.length - missing.length}/${exportNames.length} exports `
      + `(${fuzzed.length} fuzzed through ${ENTRIES.length} entries, ${calls} corrupted calls; ${exportNames.length - fuzzed.length - missing.length} without inputs); `
      + `moe/stats: ${[...statsNames].filter((n) => covered.has(n)).length}/${statsNames.size} exports covered (${[...statsNames].filter((n) => ENTRIES.some((e) => e.name.split(/[.#]/)[0] === n)).length} fuzzed)`);
    expect(missing, 'exports without a bad-input registry entry').toEqual([]);
  });

  it('every entry\'s valid call succeeds (so the corrupted calls test the corruption)', () => {
    const failures: string[] = [];
    for (const entry of ENTRIES) {
      try { callOf(entry)(...entry.valid()); } catch (e) { failures.push(`${entry.name}: ${(e as Error).message}`); }
    }
    expect(failures).toEqual([]);
  });

  it('every listed bad value is rejected with a MoegradError naming the function and the value', () => {
    const failures: string[] = [];
    for (const entry of ENTRIES) {
      for (const fuzz of entry.fuzz) {
        for (const bad of valuesOf(fuzz)) {
          const m = misbehaviour(entry, fuzz, bad);
          if (m) failures.push(m);
        }
      }
    }
    expect(failures).toEqual([]);
  });

  // Random bad values of each kind (beyond the fixed lists): fast-check picks the entry, the argument
  // and the value; shrinking reports the smallest failing call.
  const numericKinds = {
    count: fc.oneof(fc.integer({ max: -1 }), fc.double({ noNaN: true, min: 0.01, max: 1e6 }).filter((x) => !Number.isInteger(x)), fc.constantFrom(NaN, Infinity, -Infinity, 2 ** 40, 2 ** 53)),
    posCount: fc.oneof(fc.integer({ min: -1e9, max: 0 }), fc.double({ noNaN: true, min: 0.01, max: 1e6 }).filter((x) => !Number.isInteger(x)), fc.constantFrom(NaN, Infinity, 2 ** 40)),
    positive: fc.oneof(fc.double({ noNaN: true, max: 0 }), fc.constantFrom(NaN, Infinity)),
    nonneg: fc.oneof(fc.double({ noNaN: true, max: -1e-300 }), fc.constantFrom(NaN, Infinity)),
    finite: fc.constantFrom(NaN, Infinity, -Infinity),
    k: fc.oneof(fc.integer({ min: -1e9, max: 0 }), fc.double({ noNaN: true, min: 0.01, max: 50 }).filter((x) => !Number.isInteger(x)), fc.integer({ min: 1e6, max: 2 ** 31 })),
    axis: fc.oneof(fc.integer({ min: 7, max: 1e9 }), fc.integer({ min: -1e9, max: -9 }), fc.double({ noNaN: true, min: -5, max: 5 }).filter((x) => !Number.isInteger(x))),
    shape: fc.array(fc.oneof(fc.integer({ min: -1e6, max: -1 }), fc.double({ noNaN: true, min: 0.01, max: 9 }).filter((x) => !Number.isInteger(x))), { minLength: 1, maxLength: 3 }),
    dtype: fc.string({ maxLength: 8 }).filter((s) => s !== 'float64' && s !== 'float32'),
  } as const;
  const cases = ENTRIES.flatMap((entry) => entry.fuzz
    .filter((fz) => typeof fz.bad === 'string' && fz.bad in numericKinds)
    .map((fz) => ({ entry, fuzz: fz, kind: fz.bad as keyof typeof numericKinds })));

  it('random bad numbers, shapes and dtypes of each kind are rejected (fast-check)', () => {
    fc.assert(
      fc.property(fc.constantFrom(...cases).chain((c) => numericKinds[c.kind].map((bad: unknown) => ({ ...c, bad }))), ({ entry, fuzz, bad }) => {
        const m = misbehaviour(entry, fuzz, bad);
        if (m) throw new Error(m);
      }),
      { numRuns: 400, seed: 12 },
    );
  });
});

/**
 * Entry checks shared by the moe/stats functions: models (`GaussianMoE`), data sets, parameter
 * spaces, number arrays, enums, cells and cell results. Each throws a ValueError naming the public
 * function (`op`), the argument and the offending value — never a TypeError from inside a loop.
 *
 * All checks run once per public call, at entry, in O(size of the argument); none runs inside a
 * per-point loop or inside an objective closure, and none changes a computed number: valid input
 * goes through exactly the same arithmetic as before.
 */
import { Rng, ValueError } from '../../engine/index.js';
import { MAX_COUNT, checkCountIn, checkNumber, checkOptions, describeValue } from '../../engine/validate.js';
import type { GaussianMoE } from './gaussian-moe.js';

export { checkNumber, checkOptions, checkCountIn, describeValue, MAX_COUNT };

const FAMILIES = ['linear', 'relu', 'gelu', 'sigmoid', 'tanh'] as const;
const GATES = ['softmax', 'normalizedSigmoid'] as const;

/** Throws unless `v` is one of `allowed` (strings); returns it. */
export function checkEnum<T extends string>(op: string, name: string, v: unknown, allowed: readonly T[]): T {
  if (!allowed.includes(v as T)) {
    const q = allowed.map((a) => `'${a}'`), list = q.length > 1 ? `${q.slice(0, -1).join(', ')} or ${q[q.length - 1]}` : q.join('');
    throw new ValueError(op, `${name} must be ${list}; got ${describeValue(v)}`);
  }
  return v as T;
}

/** Throws unless `v` is a plain object (not null, not an array); `what` says what was expected. */
export function checkRecord<T extends object>(op: string, name: string, v: unknown, what = 'an object'): T {
  if (v === null || typeof v !== 'object' || Array.isArray(v) || ArrayBuffer.isView(v)) throw new ValueError(op, `${name} must be ${what}; got ${describeValue(v)}`);
  return v as T;
}

/** Throws unless `v` is an array (a plain one); returns it. */
export function checkArray<T>(op: string, name: string, v: unknown): readonly T[] {
  if (!Array.isArray(v)) throw new ValueError(op, `${name} must be an array; got ${describeValue(v)}`);
  return v as T[];
}

/** Throws unless `v` is a string; returns it. */
export function checkString(op: string, name: string, v: unknown): string {
  if (typeof v !== 'string') throw new ValueError(op, `${name} must be a string; got ${describeValue(v)}`);
  return v;
}

/** Throws unless `v` is a function; returns it. */
export function checkFn<F>(op: string, name: string, v: unknown): F {
  if (typeof v !== 'function') throw new ValueError(op, `${name} must be a function; got ${describeValue(v)}`);
  return v as F;
}

/** Throws unless `v` is an Rng; returns it. */
export function checkRng(op: string, v: unknown, name = 'rng'): Rng {
  if (!(v instanceof Rng)) throw new ValueError(op, `${name} must be an Rng; got ${describeValue(v)}`);
  return v;
}

/** Throws unless `v` is undefined or a boolean. */
export function checkOptBoolean(op: string, name: string, v: unknown): void {
  if (v !== undefined && typeof v !== 'boolean') throw new ValueError(op, `${name} must be a boolean; got ${describeValue(v)}`);
}

/**
 * Throws unless `v` is an array or typed array of numbers (of `length` entries when given; every
 * entry finite when `finite`). O(length).
 */
export function checkNumberArray(op: string, name: string, v: unknown, opts: { length?: number; finite?: boolean } = {}): ArrayLike<number> {
  if (!(Array.isArray(v) || (ArrayBuffer.isView(v) && !(v instanceof DataView)))) throw new ValueError(op, `${name} must be an array of numbers; got ${describeValue(v)}`);
  const a = v as unknown as ArrayLike<unknown>;
  if (opts.length !== undefined && a.length !== opts.length) throw new ValueError(op, `${name} must hold ${opts.length} numbers; got ${a.length} entries`);
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    if (typeof x !== 'number' || (opts.finite && !Number.isFinite(x))) throw new ValueError(op, `${name}[${i}] must be a ${opts.finite ? 'finite ' : ''}number; got ${describeValue(x)}`);
  }
  return a as ArrayLike<number>;
}

/** Throws unless `v` is a Float64Array (of `length` entries when given), every entry finite. O(length). */
export function checkFloat64(op: string, name: string, v: unknown, length?: number): Float64Array {
  if (!(v instanceof Float64Array)) throw new ValueError(op, `${name} must be a Float64Array; got ${describeValue(v)}`);
  if (length !== undefined && v.length !== length) throw new ValueError(op, `${name} must hold ${length} values; got ${v.length}`);
  for (let i = 0; i < v.length; i++) if (!Number.isFinite(v[i]!)) throw new ValueError(op, `${name} must hold finite values; got ${v[i]} at index ${i}`);
  return v;
}

/** An expert shape: { family, bias? }. */
export function checkExpertShape(op: string, name: string, e: unknown): void {
  const r = checkRecord<{ family?: unknown; bias?: unknown }>(op, name, e, "an expert shape { family, bias? }");
  checkEnum(op, `${name}.family`, r.family, FAMILIES);
  checkOptBoolean(op, `${name}.bias`, r.bias);
}

const paramCount = (e: { family: string; bias?: boolean }, d: number) => (e.family === 'linear' ? d + 1 : d + (e.bias === false ? 0 : 1) + 1);

/** The parts of a model the flat layout needs: d, the two expert shapes, the shared and routed arrays. */
export function checkModelShape(op: string, m: unknown, name = 'model'): void {
  const r = checkRecord<Record<string, unknown>>(op, name, m, 'a GaussianMoE object');
  checkCountIn(op, `${name}.d`, r.d, 1, 1 << 20);
  checkExpertShape(op, `${name}.sharedExpert`, r.sharedExpert);
  checkExpertShape(op, `${name}.routedExpert`, r.routedExpert);
  checkArray(op, `${name}.shared`, r.shared);
  checkArray(op, `${name}.routed`, r.routed);
}

/**
 * A `GaussianMoE`: structure (d, gate, expert shapes, atoms with correctly sized parameter
 * arrays) and, when `strict` (the default), finite parameters with weights and variances > 0 and at
 * least one expert. `strict: false` (losses, gauges) checks the structure and that every parameter
 * is a number: a NaN parameter then gives a NaN loss (propagated, not hidden). O(model size).
 */
export function checkModel(op: string, m: unknown, name = 'model', strict = true): GaussianMoE {
  checkModelShape(op, m, name);
  const model = m as GaussianMoE;
  checkEnum(op, `${name}.gate`, model.gate, GATES);
  const d = model.d, p1 = paramCount(model.sharedExpert, d), p2 = paramCount(model.routedExpert, d);
  const num = (atom: string, field: string, v: unknown, positive = false) => {
    if (typeof v !== 'number' || (strict && !(Number.isFinite(v) && (!positive || v > 0)))) {
      throw new ValueError(op, `${name}: ${atom}: ${field} must be a ${strict ? 'finite ' : ''}number${strict && positive ? ' > 0' : ''}; got ${describeValue(v)}`);
    }
  };
  const arr = (atom: string, field: string, v: unknown, len: number, what: string) => {
    if (!Array.isArray(v) && !ArrayBuffer.isView(v)) throw new ValueError(op, `${name}: ${atom}: ${field} must be an array of ${len} ${what}; got ${describeValue(v)}`);
    const a = v as ArrayLike<unknown>;
    if (a.length !== len) throw new ValueError(op, `${name}: ${atom}: expected ${len} ${what} in ${field}; got ${a.length}`);
    for (let t = 0; t < len; t++) num(atom, `${field}[${t}]`, a[t]);
  };
  model.shared.forEach((a, i) => {
    const atom = `shared atom ${i}`;
    checkRecord(op, `${name}: ${atom}`, a, 'an object { weight, expert, variance }');
    num(atom, 'weight', a.weight, true);
    arr(atom, 'expert', a.expert, p1, 'expert params');
    num(atom, 'variance', a.variance, true);
  });
  model.routed.forEach((a, j) => {
    const atom = `routed atom ${j}`;
    checkRecord(op, `${name}: ${atom}`, a, 'an object { beta0, beta1, expert, variance }');
    num(atom, 'beta0', a.beta0);
    arr(atom, 'beta1', a.beta1, d, 'gate slopes');
    arr(atom, 'expert', a.expert, p2, 'expert params');
    num(atom, 'variance', a.variance, true);
  });
  if (strict && model.shared.length + model.routed.length === 0) throw new ValueError(op, `${name}: the model has no experts; got shared: Array(0), routed: Array(0)`);
  return model;
}

/** Two models whose atoms can be compared (losses, gauges): same gate, same d and the same expert shapes. */
export function checkSameStructure(op: string, a: GaussianMoE, b: GaussianMoE, names: readonly [string, string]): void {
  const shape = (e: { family: string; bias?: boolean }) => `${e.family}${e.family !== 'linear' && e.bias === false ? ' (no bias)' : ''}`;
  if (a.gate !== b.gate) throw new ValueError(op, `${names[0]} and ${names[1]} do not match: gate '${a.gate}' vs '${b.gate}'`);
  if (a.d !== b.d) throw new ValueError(op, `${names[0]} and ${names[1]} do not match: d = ${a.d} vs ${b.d}`);
  for (const k of ['sharedExpert', 'routedExpert'] as const) {
    if (shape(a[k]) !== shape(b[k])) throw new ValueError(op, `${names[0]} and ${names[1]} do not match: ${k} ${shape(a[k])} vs ${shape(b[k])}`);
  }
}

/** A data set { x, y, w? } of finite Float64Arrays: y of n ≥ 1 values, x of n·d (d given, or any multiple of n), w ≥ 0. O(n·d). */
export function checkData(op: string, data: unknown, d?: number, name = 'data'): { x: Float64Array; y: Float64Array; w?: Float64Array } {
  const r = checkRecord<{ x?: unknown; y?: unknown; w?: unknown }>(op, name, data, 'a data set { x, y, w? }');
  const y = checkFloat64(op, `${name}.y`, r.y);
  if (y.length === 0) throw new ValueError(op, `${name}.y must hold at least 1 value; got 0`);
  const x = checkFloat64(op, `${name}.x`, r.x);
  if (d !== undefined ? x.length !== y.length * d : x.length % y.length !== 0 || x.length === 0) {
    throw new ValueError(op, `${name}.x must hold n·d = ${y.length}·${d ?? 'd'} values; got ${x.length}`);
  }
  if (r.w !== undefined) {
    const w = checkFloat64(op, `${name}.w`, r.w, y.length);
    for (let i = 0; i < w.length; i++) if (w[i]! < 0) throw new ValueError(op, `${name}.w[${i}] must be ≥ 0; got ${w[i]}`);
  }
  return r as { x: Float64Array; y: Float64Array; w?: Float64Array };
}

/** A parameter space (A.1): finite bounds > 0, varianceCeil > varianceFloor. */
export function checkSpace(op: string, s: unknown): void {
  const r = checkRecord<Record<string, unknown>>(op, 'space', s, 'a ParameterSpace object');
  for (const k of ['gateBox', 'expertBox', 'varianceFloor', 'varianceCeil', 'weightBox'] as const) {
    const v = r[k];
    if (!(typeof v === 'number' && Number.isFinite(v) && v > 0)) throw new ValueError(op, `parameter space: ${k} must be a finite number > 0; got ${describeValue(v)}`);
  }
  if (!((r.varianceCeil as number) > (r.varianceFloor as number))) throw new ValueError(op, `parameter space: varianceCeil must exceed varianceFloor; got [${r.varianceFloor}, ${r.varianceCeil}]`);
}

/** An index array: integers in [0, size). */
export function checkIndices(op: string, name: string, v: unknown, size: number): readonly number[] {
  const a = checkArray<unknown>(op, name, v);
  a.forEach((t, i) => {
    if (!(typeof t === 'number' && Number.isInteger(t) && t >= 0 && t < size)) throw new ValueError(op, `${name}[${i}] must be an integer in [0, ${size}); got ${describeValue(t)}`);
  });
  return a as number[];
}

/** Cell results: an array of { id, n, metrics: { name: number } } objects. O(results). */
export function checkResults(op: string, results: unknown, name = 'results'): void {
  const a = checkArray<unknown>(op, name, results);
  a.forEach((r, i) => {
    const o = checkRecord<{ n?: unknown; metrics?: unknown }>(op, `${name}[${i}]`, r, 'a CellResult { id, n, rep, seed, metrics }');
    if (typeof o.n !== 'number') throw new ValueError(op, `${name}[${i}].n must be a number; got ${describeValue(o.n)}`);
    checkRecord(op, `${name}[${i}].metrics`, o.metrics, 'an object of numbers');
  });
}

/**
 * Boundary validation shared by every public function (engine and moe): dtype strings, loop counts
 * and sizes, finite hyperparameters, tensors and plain option objects. Each helper throws a
 * MoegradError subclass whose message names the function, the argument, what was expected and what
 * was given — never a TypeError from deep inside a loop, never a silent default.
 */
import { DTypeError, ValueError, fmtShape } from './errors.js';
import { Tensor, type DType } from './tensor.js';

/** The dtypes tensors can have. */
export const DTYPES: readonly DType[] = Object.freeze(['float64', 'float32'] as const);

/** A short, bounded description of any value for error messages (`NaN`, `-1`, `string 'float16'`, `Array(2)`, `null`). */
export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (v instanceof Tensor) return `Tensor ${v.dtype} ${fmtShape(v.shape)}`;
  switch (typeof v) {
    case 'number': return String(v);
    case 'bigint': return `bigint ${String(v)}`;
    case 'string': return `string '${v.length > 40 ? `${v.slice(0, 40)}…` : v}'`;
    case 'boolean': return `boolean ${String(v)}`;
    case 'function': return `function ${(v as { name?: string }).name || '(anonymous)'}`;
    case 'symbol': return 'symbol';
    default: break;
  }
  if (Array.isArray(v)) return `Array(${v.length})`;
  if (ArrayBuffer.isView(v)) return `${v.constructor.name}(${(v as unknown as ArrayLike<number>).length})`;
  const name = (v as object).constructor?.name;
  return name && name !== 'Object' ? `${name} object` : 'object';
}

/** Throws a DTypeError unless `dtype` is `'float64'` or `'float32'` (exact spelling); returns it. */
export function checkDType(op: string, dtype: unknown, name = 'dtype'): DType {
  if (dtype !== 'float64' && dtype !== 'float32') {
    throw new DTypeError(op, `${name} must be one of ${DTYPES.map((d) => `'${d}'`).join(', ')}; got ${describeValue(dtype)}`);
  }
  return dtype;
}

/**
 * Throws a ValueError unless `v` is a finite number ≥ `min` (and an integer unless `integer` is
 * false). For loop counts, sizes, sample counts and tolerances: ∞, NaN, 2.5 reps or −1 steps are
 * refused before any loop starts. Same signature and message as moe/stats's `checkCount`.
 */
export function checkCount(op: string, name: string, v: unknown, min: number, integer = true): number {
  if (!(typeof v === 'number' && Number.isFinite(v) && v >= min && (!integer || Number.isInteger(v)))) {
    throw new ValueError(op, `${name} must be a finite ${integer ? 'integer' : 'number'} ≥ ${min}; got ${describeValue(v)}`);
  }
  return v;
}

/** Largest loop count or size a public function accepts (2^31 − 1: typed-array lengths and Int32 indices). */
export const MAX_COUNT = 0x7fffffff;

/** Like {@link checkCount} with an upper bound too (sizes that allocate: refuse 2^40 before allocating). */
export function checkCountIn(op: string, name: string, v: unknown, min: number, max: number): number {
  if (!(typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max)) {
    const kind = min === 1 ? 'a positive integer' : min === 0 ? 'a non-negative integer' : `an integer ≥ ${min}`;
    throw new ValueError(op, `${name} must be ${kind}${typeof v === 'number' && v > max ? ` ≤ ${max}` : ''}; got ${describeValue(v)}`);
  }
  return v;
}

/** Range options for {@link checkNumber}. */
export interface NumberRange {
  /** Lower bound (inclusive unless `minExclusive`). */
  readonly min?: number;
  readonly minExclusive?: boolean;
  /** Upper bound (inclusive unless `maxExclusive`). */
  readonly max?: number;
  readonly maxExclusive?: boolean;
  /** Accept ±Infinity (default false: the value must be finite). */
  readonly allowInfinity?: boolean;
}

/** Throws a ValueError unless `v` is a (finite, by default) number in the range; returns it. */
export function checkNumber(op: string, name: string, v: unknown, range: NumberRange = {}): number {
  const { min, max, minExclusive = false, maxExclusive = false, allowInfinity = false } = range;
  const ok = typeof v === 'number' && !Number.isNaN(v) && (allowInfinity || Number.isFinite(v))
    && (min === undefined || (minExclusive ? v > min : v >= min))
    && (max === undefined || (maxExclusive ? v < max : v <= max));
  if (!ok) {
    const lo = min === undefined ? '' : `${minExclusive ? '>' : '≥'} ${min}`;
    const hi = max === undefined ? '' : `${maxExclusive ? '<' : '≤'} ${max}`;
    const range2 = [lo, hi].filter((s) => s !== '').join(' and ');
    throw new ValueError(op, `${name} must be a ${allowInfinity ? '' : 'finite '}number${range2 ? ` ${range2}` : ''}; got ${describeValue(v)}`);
  }
  return v as number;
}

/** Throws a DTypeError unless `x` is a Tensor; returns it (the guard every op runs on its tensor arguments). */
export function checkTensor(op: string, x: unknown, name = 'input'): Tensor {
  if (!(x instanceof Tensor)) throw new DTypeError(op, `${name} must be a Tensor; got ${describeValue(x)}`);
  return x;
}

/** Throws a ValueError unless `v` is an Int32Array (index arrays); returns it. */
export function checkIndexArray(op: string, v: unknown, name = 'indices'): Int32Array {
  if (!(v instanceof Int32Array)) throw new ValueError(op, `${name} must be an Int32Array; got ${describeValue(v)}`);
  return v;
}

/** Throws a ValueError unless `v` is undefined or a plain object (an options bag); returns it or `{}`. */
export function checkOptions<T extends object>(op: string, v: T | undefined, name = 'options'): T {
  if (v === undefined) return {} as T;
  if (v === null || typeof v !== 'object' || Array.isArray(v) || v instanceof Tensor) {
    throw new ValueError(op, `${name} must be an object; got ${describeValue(v)}`);
  }
  return v;
}

/** Throws a ValueError unless `v` is a boolean (or undefined, giving `fallback`). */
export function checkBoolean(op: string, name: string, v: unknown, fallback: boolean): boolean {
  if (v === undefined) return fallback;
  if (typeof v !== 'boolean') throw new ValueError(op, `${name} must be a boolean; got ${describeValue(v)}`);
  return v;
}

/** Throws a ValueError unless `v` is a function; returns it. */
export function checkFunction<F extends (...args: never[]) => unknown>(op: string, v: unknown, name = 'f'): F {
  if (typeof v !== 'function') throw new ValueError(op, `${name} must be a function; got ${describeValue(v)}`);
  return v as F;
}

/** Throws a ValueError unless `v` is a non-null object (not an array); `what` says what was expected. */
export function checkObject<T extends object>(op: string, v: unknown, name: string, what: string): T {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new ValueError(op, `${name} must be ${what}; got ${describeValue(v)}`);
  return v as T;
}

/** Throws a ValueError unless `v` is an array or typed array of numbers (every entry a number). */
export function checkNumbers(op: string, v: unknown, name = 'values'): ArrayLike<number> {
  const ok = v !== null && typeof v === 'object' && (Array.isArray(v) || ArrayBuffer.isView(v)) && typeof (v as ArrayLike<number>).length === 'number';
  if (!ok) throw new ValueError(op, `${name} must be an array or typed array of numbers; got ${describeValue(v)}`);
  const a = v as ArrayLike<number>;
  for (let i = 0; i < a.length; i++) if (typeof a[i] !== 'number') throw new ValueError(op, `${name}[${i}] must be a number; got ${describeValue(a[i])}`);
  return a;
}

/**
 * Checks a strided line d[base + j·stride], j < n, lies inside `d` (O(1), for the exported line
 * kernels): non-negative integer base/stride/n, an array-like `d` long enough.
 */
export function checkLine(op: string, d: unknown, base: unknown, stride: unknown, n: unknown): void {
  if (d === null || typeof d !== 'object' || typeof (d as ArrayLike<number>).length !== 'number') {
    throw new ValueError(op, `values must be an array or typed array of numbers; got ${describeValue(d)}`);
  }
  checkCount(op, 'base', base, 0); checkCount(op, 'stride', stride, 0); checkCount(op, 'n', n, 0);
  const last = (base as number) + ((n as number) - 1) * (stride as number);
  if ((n as number) > 0 && last >= (d as ArrayLike<number>).length) {
    throw new ValueError(op, `line base ${base}, stride ${stride}, n ${n} reaches index ${last} of ${(d as ArrayLike<number>).length} values`);
  }
}


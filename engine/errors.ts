/**
 * Error classes thrown at public op boundaries. Every message names the op and the
 * offending shapes or values, e.g. `matmul: inner dimensions must match; got [8, 16] and [32, 4]`.
 */

/** Shapes are printed as `[2, 3]` (never `2,3`, which is ambiguous). */
export function fmtShape(shape: readonly number[]): string {
  if (!Array.isArray(shape)) throw new ShapeError('fmtShape', `shape must be an array of numbers; got ${shape === null ? 'null' : typeof shape === 'string' ? `string '${shape}'` : `${typeof shape} ${typeof shape === 'object' ? '' : String(shape)}`.trim()}`);
  return `[${shape.join(', ')}]`;
}

/** Base class: carries the op name so callers can branch on it. */
export class MoegradError extends Error {
  /** The public function or op that threw (the message's `op:` prefix), e.g. `'matmul'`. */
  readonly op: string;
  constructor(op: string, message: string) {
    super(`${op}: ${message}`);
    this.op = op;
    this.name = new.target.name;
  }
}

/** Incompatible shapes, bad axes, wrong ranks. */
export class ShapeError extends MoegradError {}
/** Mixed or unsupported dtypes. */
export class DTypeError extends MoegradError {}
/** Out-of-range or non-finite values (k > E, NaN inputs, τ ≤ 0, ...). */
export class ValueError extends MoegradError {}

/** Throws a ShapeError when `cond` is false; the message is built lazily (hot paths). */
export function assertShape(cond: boolean, op: string, message: () => string): asserts cond {
  if (!cond) throw new ShapeError(op, message());
}

/** Throws a ValueError when `cond` is false; the message is built lazily. */
export function assertValue(cond: boolean, op: string, message: () => string): asserts cond {
  if (!cond) throw new ValueError(op, message());
}

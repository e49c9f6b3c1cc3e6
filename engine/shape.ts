/** Shape helpers shared by every op: sizes, strides, axes, broadcasting. */
import { ShapeError, fmtShape } from './errors.js';
import { describeValue } from './validate.js';

/** A tensor shape; frozen when stored on a Tensor. */
export type Shape = readonly number[];

/** Number of elements of a shape (1 for a scalar `[]`). */
export function sizeOf(shape: Shape): number {
  if (!Array.isArray(shape)) checkShape(shape, 'sizeOf');
  let n = 1;
  for (const d of shape) n *= d;
  if (!(n >= 0 && n <= MAX_ELEMENTS && Number.isInteger(n))) checkShape(shape, 'sizeOf'); // a bad entry (NaN, −1, 1.5, not an array): say which
  return n;
}

/** Row-major (C-order) strides. */
export function stridesOf(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i]!;
  }
  return strides;
}

export function sameShape(a: Shape, b: Shape): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Turns a possibly negative axis into `0..rank-1`; throws a ShapeError naming the op (and the
 * shape, when given) otherwise.
 */
export function normalizeAxis(axis: number, rank: number, op: string, shape?: Shape): number {
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank) {
    const of = shape ? `shape ${fmtShape(shape)} (rank ${rank})` : `a tensor of rank ${rank}`;
    throw new ShapeError(op, `axis ${axis} is out of range for ${of}; valid axes are ${-rank}..${rank - 1}`);
  }
  return axis < 0 ? axis + rank : axis;
}

/** NumPy broadcasting: align trailing dims; each pair must be equal or contain a 1. */
export function broadcastShapes(a: Shape, b: Shape, op = 'broadcastShapes'): number[] {
  if (typeof op !== 'string') throw new ShapeError('broadcastShapes', `op must be a string naming the caller; got ${op === null ? 'null' : typeof op} ${String(op)}`);
  checkShape(a, op); checkShape(b, op);
  const rank = Math.max(a.length, b.length);
  const out = new Array<number>(rank);
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new ShapeError(op, `shapes cannot be broadcast together; got ${fmtShape(a)} and ${fmtShape(b)}`);
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/** Validates a user-supplied shape: non-negative integers. */
export function checkShape(shape: Shape, op: string): void {
  if (!Array.isArray(shape)) {
    throw new ShapeError(op, `shape must be an array of non-negative integers; got ${describeValue(shape)}`);
  }
  let n = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new ShapeError(op, `shape entries must be non-negative integers; got ${fmtShape(shape)}`);
    n *= d;
  }
  if (n > MAX_ELEMENTS) throw new ShapeError(op, `shape ${fmtShape(shape)} has ${n} elements, more than the ${MAX_ELEMENTS} a tensor can hold`);
}

/** Most elements one tensor may hold (2^31 − 1: typed-array lengths and Int32 indices). */
export const MAX_ELEMENTS = 0x7fffffff;

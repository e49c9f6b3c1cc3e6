/**
 * Layout ops and their duals: reshape↔reshape, broadcastTo↔sumTo, permute↔inverse permute,
 * slice↔unslice, concat↔slices. Each VJP is the dual op, so grad of grad works for free; each op
 * is linear, so its JVP is the op itself applied to the tangent.
 */
import { Tensor, allocate, fromData, commonDType, assertTensor } from '../tensor.js';
import { record } from '../tape.js';
import { type Shape, sizeOf, stridesOf, sameShape, normalizeAxis, checkShape } from '../shape.js';
import { ShapeError, fmtShape } from '../errors.js';
import { stridedGather, stridedScatterAdd } from './strided.js';
import { describeValue } from '../validate.js';

/** Throws a ShapeError unless `v` is an array of numbers (shapes, axes, starts/ends). */
function checkNumberList(op: string, name: string, v: unknown): readonly number[] {
  if (!Array.isArray(v) || v.some((d) => typeof d !== 'number')) throw new ShapeError(op, `${name} must be an array of numbers; got ${describeValue(v)}`);
  return v;
}

/** Throws a ShapeError unless `xs` is a non-empty array of Tensors. */
function checkTensorList(op: string, xs: unknown): readonly Tensor[] {
  if (!Array.isArray(xs)) throw new ShapeError(op, `expects an array of tensors; got ${describeValue(xs)}`);
  if (xs.length === 0) throw new ShapeError(op, 'needs at least one tensor; got Array(0)');
  xs.forEach((x, i) => assertTensor(x, op, `tensor ${i}`));
  return xs;
}

/** Same data, new shape (one dim may be −1). dx = reshape(dy, x.shape);  ẏ = reshape(ẋ, shape) */
export function reshape(x: Tensor, shape: Shape): Tensor {
  const op = 'reshape';
  assertTensor(x, op);
  checkNumberList(op, 'shape', shape);
  const inferAt = shape.indexOf(-1);
  if (shape.indexOf(-1, inferAt + 1) > inferAt && inferAt >= 0) throw new ShapeError(op, `only one -1 may be inferred; got ${fmtShape(shape)}`);
  let target = shape.slice();
  if (inferAt >= 0) {
    const known = sizeOf(shape.filter((_, i) => i !== inferAt));
    if (known === 0 || x.size % known !== 0) throw new ShapeError(op, `cannot infer -1 in ${fmtShape(shape)} for ${x.size} elements (from ${fmtShape(x.shape)})`);
    target[inferAt] = x.size / known;
  }
  checkShape(target, op);
  if (sizeOf(target) !== x.size) throw new ShapeError(op, `cannot reshape ${fmtShape(x.shape)} (${x.size} elements) to ${fmtShape(shape)}`);
  if (sameShape(target, x.shape)) return x;
  const y = fromData(x.data, target);
  return record(op, [x], y, (dy) => [reshape(dy, x.shape)], (t) => reshape(t[0]!, target));
}

/** Strides of `from` aligned to the trailing dims of `to`, with 0 where `from` broadcasts. */
function broadcastStrides(from: Shape, to: Shape): number[] {
  const s = stridesOf(from);
  const lead = to.length - from.length;
  return to.map((_, i) => (i < lead || from[i - lead] === 1 ? 0 : s[i - lead]!));
}

/** Repeats size-1 and missing leading dims up to `shape` (NumPy rules). dx = sumTo(dy, x.shape);  ẏ = broadcastTo(ẋ, shape) */
export function broadcastTo(x: Tensor, shape: Shape): Tensor {
  const op = 'broadcastTo';
  assertTensor(x, op);
  checkNumberList(op, 'shape', shape);
  checkShape(shape, op);
  if (sameShape(x.shape, shape)) return x;
  const lead = shape.length - x.shape.length;
  const ok = lead >= 0 && x.shape.every((d, i) => d === 1 || d === shape[i + lead]);
  if (!ok) throw new ShapeError(op, `cannot broadcast ${fmtShape(x.shape)} to ${fmtShape(shape)}`);
  const out = allocate(x.dtype, sizeOf(shape));
  stridedGather(x.data, 0, broadcastStrides(x.shape, shape), shape, out);
  const y = fromData(out, shape);
  return record(op, [x], y, (dy) => [sumTo(dy, x.shape)], (t) => broadcastTo(t[0]!, shape));
}

/** Sums `x` down to a shape it broadcasts from (the VJP of broadcastTo). dx = broadcastTo(dy, x.shape);  ẏ = sumTo(ẋ, shape) */
export function sumTo(x: Tensor, shape: Shape): Tensor {
  const op = 'sumTo';
  assertTensor(x, op);
  checkNumberList(op, 'shape', shape);
  checkShape(shape, op);
  if (sameShape(x.shape, shape)) return x;
  const lead = x.shape.length - shape.length;
  const ok = lead >= 0 && shape.every((d, i) => d === 1 || d === x.shape[i + lead]);
  if (!ok) throw new ShapeError(op, `cannot sum ${fmtShape(x.shape)} down to ${fmtShape(shape)}`);
  const out = allocate(x.dtype, sizeOf(shape));
  stridedScatterAdd(out, 0, broadcastStrides(shape, x.shape), x.data, x.shape);
  const y = fromData(out, shape);
  return record(op, [x], y, (dy) => [broadcastTo(dy, x.shape)], (t) => sumTo(t[0]!, shape));
}

/** Reorders axes: y.shape[i] = x.shape[axes[i]]. dx = permute(dy, inverse(axes));  ẏ = permute(ẋ, axes) */
export function permute(x: Tensor, axes: readonly number[]): Tensor {
  const op = 'permute';
  assertTensor(x, op);
  checkNumberList(op, 'axes', axes);
  const rank = x.rank;
  const norm = axes.map((a) => normalizeAxis(a, rank, op, x.shape));
  if (norm.length !== rank || new Set(norm).size !== rank) {
    throw new ShapeError(op, `axes ${fmtShape(axes)} are not a permutation of ${rank} axes (input ${fmtShape(x.shape)})`);
  }
  if (norm.every((a, i) => a === i)) return x;
  const s = stridesOf(x.shape);
  const shape = norm.map((a) => x.shape[a]!);
  const out = allocate(x.dtype, x.size);
  stridedGather(x.data, 0, norm.map((a) => s[a]!), shape, out);
  const inverse = new Array<number>(rank);
  norm.forEach((a, i) => { inverse[a] = i; });
  const y = fromData(out, shape);
  return record(op, [x], y, (dy) => [permute(dy, inverse)], (t) => permute(t[0]!, norm));
}

/** Swaps the last two axes (matrix transpose, batched). */
export function transpose(x: Tensor): Tensor {
  assertTensor(x, 'transpose');
  if (x.rank < 2) throw new ShapeError('transpose', `needs rank ≥ 2; got ${fmtShape(x.shape)}`);
  const axes = x.shape.map((_, i) => i);
  axes[x.rank - 1] = x.rank - 2; axes[x.rank - 2] = x.rank - 1;
  return permute(x, axes);
}

function checkSliceBounds(op: string, shape: Shape, starts: readonly number[], sizes: readonly number[]): void {
  if (starts.length !== shape.length || sizes.length !== shape.length) {
    throw new ShapeError(op, `starts and sizes need ${shape.length} entries for shape ${fmtShape(shape)}; got ${fmtShape(starts)} and ${fmtShape(sizes)}`);
  }
  for (let d = 0; d < shape.length; d++) {
    const s = starts[d]!, n = sizes[d]!;
    if (!Number.isInteger(s) || !Number.isInteger(n) || s < 0 || n < 0 || s + n > shape[d]!) {
      throw new ShapeError(op, `slice starts ${fmtShape(starts)} sizes ${fmtShape(sizes)} out of range for ${fmtShape(shape)}`);
    }
  }
}

/**
 * Contiguous block: y = x[starts[0] : ends[0], ...] (ends exclusive; negative values count from the end;
 * fewer entries than the rank mean "everything" for the remaining dims). dx = unslice(dy, starts, x.shape);
 * ẏ = slice(ẋ, starts, ends)
 */
export function slice(x: Tensor, starts: readonly number[], ends?: readonly number[]): Tensor {
  const op = 'slice';
  assertTensor(x, op);
  checkNumberList(op, 'starts', starts);
  if (ends !== undefined) checkNumberList(op, 'ends', ends);
  if (starts.length > x.rank || (ends !== undefined && ends.length > x.rank)) {
    throw new ShapeError(op, `starts ${fmtShape(starts)}${ends !== undefined ? ` and ends ${fmtShape(ends)}` : ''} have more entries than the rank ${x.rank} of ${fmtShape(x.shape)}`);
  }
  const st = x.shape.map((d, i) => { const s = starts[i] ?? 0; return s < 0 ? s + d : s; });
  const en = x.shape.map((d, i) => { const e = ends?.[i] ?? d; return e < 0 ? e + d : e; });
  const sizes = st.map((s, i) => en[i]! - s);
  checkSliceBounds(op, x.shape, st, sizes);
  if (sameShape(sizes, x.shape)) return x;
  const strides = stridesOf(x.shape);
  const offset = st.reduce((acc, s, i) => acc + s * strides[i]!, 0);
  const out = allocate(x.dtype, sizeOf(sizes));
  stridedGather(x.data, offset, strides, sizes, out);
  const y = fromData(out, sizes);
  return record(op, [x], y, (dy) => [unslice(dy, st, x.shape)], (t) => slice(t[0]!, st, en));
}

/** Places `x` at `starts` inside zeros of `shape` (the VJP of slice). dx = slice(dy, starts, starts + x.shape);  ẏ = unslice(ẋ, starts, shape) */
export function unslice(x: Tensor, starts: readonly number[], shape: Shape): Tensor {
  const op = 'unslice';
  assertTensor(x, op);
  checkNumberList(op, 'starts', starts);
  checkNumberList(op, 'shape', shape);
  checkShape(shape, op);
  checkSliceBounds(op, shape, starts, x.shape);
  const strides = stridesOf(shape);
  const offset = starts.reduce((acc, s, i) => acc + s * strides[i]!, 0);
  const out = allocate(x.dtype, sizeOf(shape));
  stridedScatterAdd(out, offset, strides, x.data, x.shape);
  const y = fromData(out, shape);
  return record(op, [x], y, (dy) => [slice(dy, starts, starts.map((s, i) => s + x.shape[i]!))], (t) => unslice(t[0]!, starts, shape));
}

/** Joins tensors along `axis` (all other dims equal). dxᵢ = slice of dy;  ẏ = concat(ẋᵢ) (zeros for a zero tangent) */
export function concat(xs: readonly Tensor[], axis = 0): Tensor {
  const op = 'concat';
  checkTensorList(op, xs);
  commonDType(op, ...xs);
  const first = xs[0]!;
  const ax = normalizeAxis(axis, first.rank, op, first.shape);
  for (const x of xs) {
    if (x.rank !== first.rank || x.shape.some((d, i) => i !== ax && d !== first.shape[i])) {
      throw new ShapeError(op, `all shapes must match except on axis ${ax}; got ${xs.map((t) => fmtShape(t.shape)).join(', ')}`);
    }
  }
  if (xs.length === 1) return first;
  const shape = first.shape.slice();
  shape[ax] = xs.reduce((acc, x) => acc + x.shape[ax]!, 0);
  const out = allocate(first.dtype, sizeOf(shape));
  const strides = stridesOf(shape);
  const starts: number[] = [];
  let at = 0;
  for (const x of xs) {
    starts.push(at);
    stridedScatterAdd(out, at * strides[ax]!, strides, x.data, x.shape);
    at += x.shape[ax]!;
  }
  const y = fromData(out, shape);
  return record(op, xs, y, (dy, needs) => xs.map((x, i) => {
    if (!needs[i]) return null;
    const st = shape.map((_, d) => (d === ax ? starts[i]! : 0));
    return slice(dy, st, st.map((s, d) => s + x.shape[d]!));
  }), (ts) => concat(ts.map((t, i) => t ?? fromData(allocate(xs[i]!.dtype, xs[i]!.size), xs[i]!.shape)), ax));
}

/** Inserts a size-1 axis at `axis` (negative counts from the end of the new rank). */
export function expandDims(x: Tensor, axis: number): Tensor {
  assertTensor(x, 'expandDims', 'x');
  const ax = normalizeAxis(axis, x.rank + 1, 'expandDims', x.shape);
  const shape = x.shape.slice();
  shape.splice(ax, 0, 1);
  return reshape(x, shape);
}

/** Removes size-1 axes (all of them, or the one given). */
export function squeeze(x: Tensor, axis?: number): Tensor {
  assertTensor(x, 'squeeze', 'x');
  if (axis === undefined) return reshape(x, x.shape.filter((d) => d !== 1));
  const ax = normalizeAxis(axis, x.rank, 'squeeze', x.shape);
  if (x.shape[ax] !== 1) throw new ShapeError('squeeze', `axis ${axis} has size ${x.shape[ax]}, not 1 (shape ${fmtShape(x.shape)})`);
  return reshape(x, x.shape.filter((_, i) => i !== ax));
}

/** Stacks equal-shaped tensors along a new axis. */
export function stack(xs: readonly Tensor[], axis = 0): Tensor {
  const op = 'stack';
  checkTensorList(op, xs);
  const first = xs[0]!;
  for (const x of xs) {
    if (!sameShape(x.shape, first.shape)) throw new ShapeError(op, `all tensors must have the same shape; got ${xs.map((t) => fmtShape(t.shape)).join(', ')}`);
  }
  const ax = normalizeAxis(axis, first.rank + 1, op, first.shape);
  return concat(xs.map((x) => expandDims(x, ax)), ax);
}

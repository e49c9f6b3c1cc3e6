/**
 * Index ops, written as dual pairs (PyTorch's index_select ↔ index_add, gather ↔ scatter_add):
 *   gatherRows ↔ scatterAddRows,   takeAlongAxis ↔ scatterAlongAxis.
 * Indices are Int32Arrays and never differentiable. topk builds on takeAlongAxis.
 */
import { Tensor, allocate, fromData, assertTensor, type DType } from '../tensor.js';
import { record } from '../tape.js';
import { sizeOf } from '../shape.js';
import { ShapeError, ValueError, fmtShape } from '../errors.js';
import { axisLayout, forEachLine } from './kernels.js';
import { argExtreme } from './reduce.js';
import { checkCountIn, checkDType, checkIndexArray, describeValue, MAX_COUNT } from '../validate.js';

function checkIndices(op: string, indices: Int32Array, bound: number): void {
  checkIndexArray(op, indices);
  for (let i = 0; i < indices.length; i++) {
    const v = indices[i]!;
    if (v < 0 || v >= bound) throw new ValueError(op, `index ${v} at position ${i} is out of range [0, ${bound})`);
  }
}

/** y[i] = x[indices[i]] for x [N, ...] → [M, ...].  dx = scatterAddRows(dy, indices, N);  ẏ = gatherRows(ẋ, indices) */
export function gatherRows(x: Tensor, indices: Int32Array): Tensor {
  const op = 'gatherRows';
  assertTensor(x, op);
  checkIndexArray(op, indices);
  if (x.rank < 1) throw new ShapeError(op, `needs rank ≥ 1; got ${fmtShape(x.shape)}`);
  const n = x.shape[0]!;
  checkIndices(op, indices, n);
  const row = x.size / Math.max(n, 1);
  const out = allocate(x.dtype, indices.length * row);
  const d = x.data;
  for (let i = 0; i < indices.length; i++) out.set(d.subarray(indices[i]! * row, indices[i]! * row + row), i * row);
  const y = fromData(out, [indices.length, ...x.shape.slice(1)]);
  return record(op, [x], y, (dy) => [scatterAddRows(dy, indices, n)], (t) => gatherRows(t[0]!, indices));
}

/** y[indices[i]] += x[i] for x [M, ...] → [numRows, ...].  dx = gatherRows(dy, indices);  ẏ = scatterAddRows(ẋ, indices, numRows) */
export function scatterAddRows(x: Tensor, indices: Int32Array, numRows: number): Tensor {
  const op = 'scatterAddRows';
  assertTensor(x, op);
  checkIndexArray(op, indices);
  checkCountIn(op, 'numRows', numRows, 0, MAX_COUNT);
  if (x.rank < 1 || x.shape[0] !== indices.length) {
    throw new ShapeError(op, `source must have one row per index; got ${fmtShape(x.shape)} and ${indices.length} indices`);
  }
  checkIndices(op, indices, numRows);
  const row = sizeOf(x.shape.slice(1));
  const out = allocate(x.dtype, numRows * row);
  const d = x.data;
  for (let i = 0; i < indices.length; i++) {
    const dst = indices[i]! * row, src = i * row;
    for (let j = 0; j < row; j++) out[dst + j] = out[dst + j]! + d[src + j]!;
  }
  const y = fromData(out, [numRows, ...x.shape.slice(1)]);
  return record(op, [x], y, (dy) => [gatherRows(dy, indices)], (t) => scatterAddRows(t[0]!, indices, numRows));
}

/** Shape of an index array along `axis` of `shape`: same dims except `axis`, which is k. */
function alongAxisLayout(op: string, shape: readonly number[], indices: Int32Array, axis: number) {
  const layout = axisLayout(shape, axis, op);
  const lines = layout.outer * layout.inner;
  if (lines === 0 || indices.length % lines !== 0) {
    throw new ShapeError(op, `${indices.length} indices do not fit ${lines} lines along axis ${axis} of ${fmtShape(shape)}`);
  }
  const k = indices.length / lines;
  const idxShape = shape.map((d, i) => (i === layout.axis ? k : d));
  return { layout, k, idxShape };
}

/**
 * y[..., j, ...] = x[..., indices[..., j, ...], ...] along `axis` (NumPy take_along_axis);
 * `indices` is laid out like y.  dx = scatterAlongAxis(dy, indices, axis, x.shape[axis]);  ẏ = takeAlongAxis(ẋ, indices, axis)
 */
export function takeAlongAxis(x: Tensor, indices: Int32Array, axis = -1): Tensor {
  const op = 'takeAlongAxis';
  assertTensor(x, op);
  checkIndexArray(op, indices);
  const { layout, k, idxShape } = alongAxisLayout(op, x.shape, indices, axis);
  checkIndices(op, indices, layout.n);
  const out = allocate(x.dtype, indices.length);
  const d = x.data;
  const inner = layout.inner;
  for (let o = 0; o < layout.outer; o++) {
    for (let j = 0; j < k; j++) {
      for (let i = 0; i < inner; i++) {
        const at = (o * k + j) * inner + i;
        out[at] = d[(o * layout.n + indices[at]!) * inner + i]!;
      }
    }
  }
  const y = fromData(out, idxShape);
  return record(op, [x], y, (dy) => [scatterAlongAxis(dy, indices, layout.axis, layout.n)], (t) => takeAlongAxis(t[0]!, indices, layout.axis));
}

/**
 * Scatter-add along `axis` into a tensor whose `axis` has size `size`: y[..., idx[..j..], ...] += x[..., j, ...].
 * dx = takeAlongAxis(dy, indices, axis);  ẏ = scatterAlongAxis(ẋ, indices, axis, size)
 */
export function scatterAlongAxis(x: Tensor, indices: Int32Array, axis: number, size: number): Tensor {
  const op = 'scatterAlongAxis';
  assertTensor(x, op);
  checkIndexArray(op, indices);
  checkCountIn(op, 'size', size, 0, MAX_COUNT);
  if (indices.length !== x.size) throw new ShapeError(op, `indices (${indices.length}) must match the source ${fmtShape(x.shape)}`);
  checkIndices(op, indices, size);
  const layout = axisLayout(x.shape, axis, op);
  const k = layout.n, inner = layout.inner;
  const outShape = x.shape.map((d, i) => (i === layout.axis ? size : d));
  const out = allocate(x.dtype, sizeOf(outShape));
  const d = x.data;
  for (let o = 0; o < layout.outer; o++) {
    for (let j = 0; j < k; j++) {
      for (let i = 0; i < inner; i++) {
        const at = (o * k + j) * inner + i;
        const dst = (o * size + indices[at]!) * inner + i;
        out[dst] = out[dst]! + d[at]!;
      }
    }
  }
  const y = fromData(out, outShape);
  return record(op, [x], y, (dy) => [takeAlongAxis(dy, indices, layout.axis)], (t) => scatterAlongAxis(t[0]!, indices, layout.axis, size));
}

/** One-hot rows: [indices.length, depth], a constant (indices are not differentiable). */
export function oneHot(indices: Int32Array, depth: number, dtype: DType = 'float64'): Tensor {
  const op = 'oneHot';
  checkDType(op, dtype);
  checkIndexArray(op, indices);
  checkCountIn(op, 'depth', depth, 1, MAX_COUNT);
  if (indices.length * depth > MAX_COUNT) throw new ValueError(op, `${indices.length} rows × depth ${depth} exceed the ${MAX_COUNT} elements a tensor can hold`);
  checkIndices(op, indices, depth);
  const out = allocate(dtype, indices.length * depth);
  for (let i = 0; i < indices.length; i++) out[i * depth + indices[i]!] = 1;
  return fromData(out, [indices.length, depth]);
}

/** Result of topk: differentiable values and their (non-differentiable) positions. */
export interface TopK {
  /** Shape of x with `axis` replaced by k; sorted descending along `axis`. */
  readonly values: Tensor;
  /** Positions along `axis`, laid out like `values`. */
  readonly indices: Int32Array;
}

/**
 * The k largest entries along `axis`, sorted descending. NOTE: ties are broken by the lowest index
 * (stable), so the result is deterministic. The gradient flows only to the selected positions.
 */
export function topk(x: Tensor, k: number, axis = -1): TopK {
  const op = 'topk';
  assertTensor(x, op);
  if (x.rank === 0) throw new ShapeError(op, 'needs rank ≥ 1; got a scalar');
  const layout = axisLayout(x.shape, axis, op);
  if (!Number.isInteger(k) || k < 1 || k > layout.n) {
    throw new ValueError(op, `k must be an integer in [1, ${layout.n}] for axis ${axis} of ${fmtShape(x.shape)}; got ${k}`);
  }
  const indices = new Int32Array(layout.outer * k * layout.inner);
  const d = x.data;
  const order = new Int32Array(layout.n);
  forEachLine(layout, (base, stride) => {
    for (let j = 0; j < layout.n; j++) {
      order[j] = j;
      if (Number.isNaN(d[base + j * stride]!)) throw new ValueError(op, `input contains NaN (shape ${fmtShape(x.shape)})`);
    }
    selectTopK(order, k, (j) => d[base + j * stride]!);
    const o = Math.floor(base / (layout.n * layout.inner)), i = base % layout.inner;
    for (let j = 0; j < k; j++) indices[(o * k + j) * layout.inner + i] = order[j]!;
  });
  return { values: takeAlongAxis(x, indices, layout.axis), indices };
}

/** Moves the k best positions of `order` to its front, best first; ties → lower index first. */
export function selectTopK(order: Int32Array, k: number, value: (j: number) => number): void {
  checkIndexArray('selectTopK', order, 'order');
  checkCountIn('selectTopK', 'k', k, 0, order.length);
  if (typeof value !== 'function') throw new ValueError('selectTopK', `value must be a function; got ${describeValue(value)}`);
  const better = (a: number, b: number) => { const va = value(a), vb = value(b); return va > vb || (va === vb && a < b); };
  // Partial selection sort: O(n·k), fine for the small k of routing; a full sort for large k.
  if (k * 8 > order.length) {
    const sorted = Array.from(order).sort((a, b) => (better(a, b) ? -1 : better(b, a) ? 1 : 0));
    order.set(sorted);
    return;
  }
  for (let j = 0; j < k; j++) {
    let best = j;
    for (let m = j + 1; m < order.length; m++) if (better(order[m]!, order[best]!)) best = m;
    const t = order[j]!; order[j] = order[best]!; order[best] = t;
  }
}

/** Index of the largest entry along `axis` (ties → lowest index), laid out without that axis. */
export function argmax(x: Tensor, axis = -1): Int32Array {
  assertTensor(x, 'argmax');
  if (x.rank === 0) throw new ShapeError('argmax', 'needs rank ≥ 1; got a scalar');
  return argExtreme(x, axis, 'argmax', 1).index;
}

/**
 * Reductions with `axis` (negative allowed; sum/mean also take a list) and `keepDims`.
 * sum is the primitive (VJP: broadcast back); mean and variance compose it; max/min route the
 * gradient to the arg-extreme through takeAlongAxis's dual; logsumexp is max-shifted.
 */
import { Tensor, allocate, fromData, assertTensor, type TypedArray } from '../tensor.js';
import { record, derivativesWanted } from '../tape.js';
import { type Shape, sizeOf, stridesOf, normalizeAxis } from '../shape.js';
import { ShapeError, ValueError, fmtShape } from '../errors.js';
import { stridedScatterAdd } from './strided.js';
import { checkLine, describeValue } from '../validate.js';
import { axisLayout, forEachLine, reducedShape, type AxisLayout } from './kernels.js';
import { broadcastTo, reshape } from './shape-ops.js';
import { mul, sub, square, scale } from './arithmetic.js';
import { softmax, softmaxLine, softmaxOfValues } from './softmax.js';
import { scatterAlongAxis, takeAlongAxis } from './index-ops.js';

/** Axis list → sorted unique normalized axes (undefined = all axes). */
function normalizeAxes(axis: number | readonly number[] | undefined, shape: Shape, op: string): number[] {
  const rank = shape.length;
  if (axis === undefined) return Array.from({ length: rank }, (_, i) => i);
  if (typeof axis !== 'number' && !Array.isArray(axis)) throw new ShapeError(op, `axis must be a number or an array of numbers; got ${describeValue(axis)}`);
  const list = typeof axis === 'number' ? [axis] : axis;
  const norm = list.map((a) => normalizeAxis(a, rank, op, shape));
  if (new Set(norm).size !== norm.length) throw new ShapeError(op, `repeated axis in ${fmtShape(list)} for shape ${fmtShape(shape)}`);
  return norm.sort((a, b) => a - b);
}

/** Σ over `axis` (all axes by default).  dx = broadcastTo(dy reshaped with kept dims, x.shape);  ẏ = Σ ẋ over the same axes */
export function sum(x: Tensor, axis?: number | readonly number[], keepDims = false): Tensor {
  const op = 'sum';
  assertTensor(x, op);
  const axes = normalizeAxes(axis, x.shape, op);
  const keptShape = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const outShape = keepDims ? keptShape : x.shape.filter((_, i) => !axes.includes(i));
  const out = allocate(x.dtype, sizeOf(keptShape));
  const s = stridesOf(keptShape);
  stridedScatterAdd(out, 0, x.shape.map((_, i) => (axes.includes(i) ? 0 : s[i]!)), x.data, x.shape);
  const y = fromData(out, outShape);
  return record(op, [x], y, (dy) => [broadcastTo(reshape(dy, keptShape), x.shape)], (t) => sum(t[0]!, axes, keepDims));
}

/** Mean over `axis` (all by default) = sum / count. */
export function mean(x: Tensor, axis?: number | readonly number[], keepDims = false): Tensor {
  assertTensor(x, 'mean');
  const axes = normalizeAxes(axis, x.shape, 'mean');
  const count = axes.reduce((acc, a) => acc * x.shape[a]!, 1);
  if (count === 0) throw new ValueError('mean', `mean over an empty axis of ${fmtShape(x.shape)}`);
  return scale(sum(x, axes, keepDims), 1 / count);
}

/**
 * Variance over `axis`: mean((x − mean x)²) · n/(n − correction). correction = 0 (population,
 * default, like NumPy) or 1 (sample, like torch.var's default).
 */
export function variance(x: Tensor, axis?: number | readonly number[], keepDims = false, correction = 0): Tensor {
  assertTensor(x, 'variance');
  const axes = normalizeAxes(axis, x.shape, 'variance');
  const count = axes.reduce((acc, a) => acc * x.shape[a]!, 1);
  if (count - correction <= 0) throw new ValueError('variance', `needs more than ${correction} elements along the axes; got ${count} (shape ${fmtShape(x.shape)})`);
  const centered = sub(x, mean(x, axes, true));
  return scale(sum(square(centered), axes, keepDims), 1 / (count - correction));
}

/**
 * Index of the max (`sign` 1) or min (`sign` −1) along one axis; ties go to the lowest index.
 * Not differentiable (integer output; used by `max`, `min`, `argmax`, `argmin`).
 *
 * @param op - the public op name used in errors.
 * @throws {@link ShapeError} for a bad axis or an empty axis; {@link ValueError} on NaN.
 */
export function argExtreme(x: Tensor, axis: number, op: string, sign: 1 | -1): {
  /** Flat indices along the axis, one per output position (row-major over `shape`). */
  index: Int32Array;
  /** The output shape: `x.shape` without the axis. */
  shape: number[];
  /** The axis, normalized to [0, rank). */
  ax: number;
} {
  if (typeof op !== 'string') throw new ValueError('argExtreme', `op must be a string; got ${describeValue(op)}`);
  assertTensor(x, op);
  if (sign !== 1 && sign !== -1) throw new ValueError(op, `sign must be 1 (max) or -1 (min); got ${describeValue(sign)}`);
  const layout = axisLayout(x.shape, axis, op);
  if (layout.n === 0) throw new ShapeError(op, `cannot reduce an empty axis of ${fmtShape(x.shape)}`);
  const d = x.data;
  const index = new Int32Array(layout.outer * layout.inner);
  forEachLine(layout, (base, stride, line) => {
    let best = 0, bestV = sign * d[base]!;
    for (let j = 0; j < layout.n; j++) {
      const v = sign * d[base + j * stride]!;
      if (Number.isNaN(v)) throw new ValueError(op, `input contains NaN (shape ${fmtShape(x.shape)})`);
      if (v > bestV) { bestV = v; best = j; }
    }
    index[line] = best;
  });
  return { index, shape: reducedShape(x.shape, layout.axis, true), ax: layout.axis };
}

function extreme(x: Tensor, axis: number | undefined, keepDims: boolean, op: string, sign: 1 | -1): Tensor {
  assertTensor(x, op);
  const flat = axis === undefined;
  const src = flat ? reshape(x, [x.size]) : x;
  const ax = flat ? 0 : axis;
  const { index, shape, ax: a } = argExtreme(src, ax, op, sign);
  const out = allocate(x.dtype, index.length);
  const layout = axisLayout(src.shape, a, op);
  const d = src.data;
  forEachLine(layout, (base, stride, line) => { out[line] = d[base + index[line]! * stride]!; });
  const kept = fromData(out, shape);
  // VJP: the gradient goes to the selected position only (scatter along the axis);
  // JVP: the tangent of the selected position (ẏ = takeAlongAxis(ẋ, argmax)).
  const y = record(op, [src], kept, (dy) => [scatterAlongAxis(dy, index, a, src.shape[a]!)], (t) => takeAlongAxis(t[0]!, index, a));
  if (flat) return keepDims ? reshape(y, x.shape.map(() => 1)) : reshape(y, []);
  return keepDims ? y : reshape(y, reducedShape(src.shape, a, false));
}

/** Max over one axis (all elements when omitted). NOTE: ties send the gradient to the lowest index. */
export function max(x: Tensor, axis?: number, keepDims = false): Tensor { return extreme(x, axis, keepDims, 'max', 1); }
/** Min over one axis (all elements when omitted). NOTE: ties send the gradient to the lowest index. */
export function min(x: Tensor, axis?: number, keepDims = false): Tensor { return extreme(x, axis, keepDims, 'min', -1); }

/**
 * log Σ exp(x) along `axis`, computed as m + log Σ exp(x − m) with m the max (finite for ±1e4 inputs).
 * dx = dy · softmax(x);  ẏ = Σ softmax(x) ⊙ ẋ along the axis
 */
export function logsumexp(x: Tensor, axis = -1, keepDims = false): Tensor {
  const op = 'logsumexp';
  assertTensor(x, op);
  const layout = axisLayout(x.shape, axis, op);
  const d = x.data;
  const out = allocate(x.dtype, layout.outer * layout.inner);
  // When derivatives may be taken, the softmax they need is formed from this pass's exponentials
  // (the same operations as softmax(x), so the same bits) instead of a second pass of exp.
  const w = derivativesWanted() ? allocate(x.dtype, x.size) : null;
  if (w === null) {
    const { outer, n, inner } = layout;
    for (let o = 0, line = 0; o < outer; o++) for (let i = 0; i < inner; i++, line++) out[line] = lseLine(d, o * n * inner + i, inner, n, op);
  } else {
    lseLinesWithSoftmax(d, out, w, layout, op);
  }
  const keptShape: Shape = reducedShape(x.shape, layout.axis, true);
  const kept = fromData(out, keptShape);
  const softmaxX = () => (w === null ? softmax(x, layout.axis) : softmaxOfValues(x, layout.axis, w));
  // dy [.., 1, ..] multiplies softmax(x) by stride broadcasting: no broadcast copy of dy
  const y = record(op, [x], kept, (dy) => [mul(dy, softmaxX())], (t) => sum(mul(t[0]!, softmaxX()), layout.axis, true));
  return keepDims ? y : reshape(y, reducedShape(x.shape, layout.axis, false));
}

/**
 * lse of every line of `layout` into `out`, and softmax of every line into `w` (x's shape): for a
 * line with a finite max m, e_j = exp(x_j − m), s = Σ e_j in order, lse = m + log s, w_j = e_j / s —
 * the operations of {@link lseLine} and softmaxLines, in their order, so the same bits as
 * `logsumexp` and `softmax` separately. Lines whose max is not finite go through lseLine and
 * softmaxLine themselves (NaN throws, ±∞ as they define).
 */
function lseLinesWithSoftmax(d: TypedArray, out: TypedArray, w: TypedArray, layout: AxisLayout, op: string): void {
  const { outer, n, inner } = layout;
  for (let o = 0, line = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++, line++) {
      const base = o * n * inner + i;
      let m = -Infinity;
      for (let j = 0, q = base; j < n; j++, q += inner) { const v = d[q]!; if (v > m || Number.isNaN(v)) m = v; }
      if (!Number.isFinite(m)) {
        out[line] = lseLine(d, base, inner, n, op);
        softmaxLine(d, base, inner, n, w, base, inner, op);
        continue;
      }
      let s = 0;
      for (let j = 0, q = base; j < n; j++, q += inner) { const e = Math.exp(d[q]! - m); w[q] = e; s += e; }
      out[line] = m + Math.log(s);
      for (let j = 0, q = base; j < n; j++, q += inner) w[q] = w[q]! / s;
    }
  }
}

/** Stable log-sum-exp of one strided line. NaN throws a ValueError naming `op`; all −∞ gives −∞. */
export function lseLine(d: ArrayLike<number>, base: number, stride: number, n: number, op = 'lseLine'): number {
  // Called once per line by softmax/logsumexp, so the common valid case is decided inline and
  // checkLine (which builds the error message) only runs when something is off.
  const ok = d !== null && typeof d === 'object' && Number.isInteger(base) && base >= 0 && Number.isInteger(stride) && stride >= 0
    && Number.isInteger(n) && n >= 0 && (n === 0 || base + (n - 1) * stride < d.length);
  if (!ok) checkLine('lseLine', d, base, stride, n);
  let m = -Infinity;
  for (let j = 0; j < n; j++) {
    const v = d[base + j * stride]!;
    if (Number.isNaN(v)) throw new ValueError(op, 'input contains NaN');
    if (v > m) m = v;
  }
  if (m === -Infinity || m === Infinity) return m;
  let s = 0;
  for (let j = 0; j < n; j++) s += Math.exp(d[base + j * stride]! - m);
  return m + Math.log(s);
}

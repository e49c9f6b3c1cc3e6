/**
 * Shared inner loops for ops (so no two op files copy a kernel), and argument coercion.
 * They allocate the output once and do no per-element allocation. The elementwise loops live in
 * elementwise-kernels.ts (compiled per op, broadcasting by strides).
 */
import { Tensor, wrapTrusted, assertTensor, type TypedArray } from '../tensor.js';
import { sizeOf, normalizeAxis, type Shape } from '../shape.js';

/** Number operands become scalar tensors in the dtype of the tensor operand. */
export function asTensor(v: Tensor | number, like: Tensor | number, op: string): Tensor {
  if (typeof v === 'number') {
    const data = like instanceof Tensor && like.dtype === 'float32' ? new Float32Array(1) : new Float64Array(1);
    data[0] = v;
    return wrapTrusted(data, SCALAR_SHAPE);
  }
  assertTensor(v, op);
  return v;
}
const SCALAR_SHAPE: readonly number[] = Object.freeze([]);

/** View of a shape around one axis as [outer, n, inner] (row-major). */
export interface AxisLayout { readonly outer: number; readonly n: number; readonly inner: number; readonly axis: number }

export function axisLayout(shape: Shape, axisIn: number, op: string): AxisLayout {
  const axis = normalizeAxis(axisIn, shape.length, op, shape);
  return {
    axis,
    outer: sizeOf(shape.slice(0, axis)),
    n: shape[axis]!,
    inner: sizeOf(shape.slice(axis + 1)),
  };
}

/** Shape with `axis` set to 1 (keepDims) or removed. */
export function reducedShape(shape: Shape, axis: number, keepDims: boolean): number[] {
  return keepDims ? shape.map((d, i) => (i === axis ? 1 : d)) : shape.filter((_, i) => i !== axis);
}

/**
 * Visits every line along an axis: `visit(base, stride)` where the line's elements are at
 * base + j*stride for j < n, and `line` is the output index (outer*inner order).
 */
export function forEachLine(layout: AxisLayout, visit: (base: number, stride: number, line: number) => void): void {
  const { outer, n, inner } = layout;
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) visit(o * n * inner + i, inner, o * inner + i);
  }
}

export type { TypedArray };

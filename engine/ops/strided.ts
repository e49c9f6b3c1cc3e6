/**
 * The two strided loops every layout op shares (no copy-pasted kernels):
 *  - gather:      out[i] = src[offset + Σ_d idx_d · srcStrides[d]]   (broadcastTo, permute, slice)
 *  - scatterAdd:  dst[offset + Σ_d idx_d · dstStrides[d]] += src[i]  (sumTo/sum, un-slice)
 * A stride of 0 repeats (gather) or accumulates (scatterAdd) along that dim: broadcasting and its
 * VJP, summation, are the same loop read in opposite directions.
 */
import type { TypedArray } from '../tensor.js';
import type { Shape } from '../shape.js';

/**
 * One innermost 2-d block: rows `r < rows` at off + r·rowStride, elements `j < n` at + j·stride, flat
 * (row-major) position `flat` onwards in the other array. `a` is the strided side, `b` the flat one.
 */
type Block = (a: TypedArray, b: TypedArray, flat: number, off: number, rows: number, rowStride: number, n: number, stride: number) => void;

/**
 * Walks a row-major multi-index over `shape`, calling `block` once per innermost 2-d block (see
 * {@link Block}). Blocks rather than rows, so a [10000, 3] reduction costs one call, not 10000 (the
 * per-row callback was most of `sum(x, -1)` and sumTo on small trailing dims). The block loops are
 * module-level functions, not closures made per call: each is optimized once and stays optimized.
 */
function walkBlocks(shape: Shape, strides: readonly number[], offset: number, a: TypedArray, b: TypedArray, block: Block): void {
  const rank = shape.length;
  if (rank === 0) { block(a, b, 0, offset, 1, 0, 1, 0); return; }
  for (const d of shape) if (d === 0) return;
  if (rank === 1) { block(a, b, 0, offset, 1, 0, shape[0]!, strides[0]!); return; }
  const rows = shape[rank - 2]!, rowStride = strides[rank - 2]!, n = shape[rank - 1]!, stride = strides[rank - 1]!;
  const outer = rank - 2;
  const idx = new Array<number>(outer).fill(0);
  let off = offset, flat = 0;
  for (;;) {
    block(a, b, flat, off, rows, rowStride, n, stride);
    flat += rows * n;
    // increment the multi-index over dims [0, rank-2)
    let d = outer - 1;
    while (d >= 0) {
      idx[d]!++;
      off += strides[d]!;
      if (idx[d]! < shape[d]!) break;
      off -= strides[d]! * shape[d]!;
      idx[d] = 0;
      d--;
    }
    if (d < 0) return;
  }
}

/** b[flat..] = a[off + r·rowStride + j·stride] (the gather block). */
function gatherBlock(src: TypedArray, out: TypedArray, flat: number, off: number, rows: number, rowStride: number, n: number, stride: number): void {
  if (stride === 1 && n < 16 && rows > 1) {
    // short rows (broadcastTo of [3] to [10⁴, 3]): one flat loop
    const total = rows * n, back = rowStride - n;
    for (let i = 0, j = 0; i < total; i++) {
      out[flat + i] = src[off]!;
      off++;
      if (++j === n) { j = 0; off += back; }
    }
  } else if (stride === 1) {
    for (let r = 0; r < rows; r++, off += rowStride) for (let j = 0; j < n; j++) out[flat++] = src[off + j]!;
  } else {
    for (let r = 0; r < rows; r++, off += rowStride) for (let j = 0; j < n; j++) out[flat++] = src[off + j * stride]!;
  }
}

/**
 * a[off + r·rowStride + j·stride] += b[flat..] (the scatter-add block); along a 0-stride innermost dim
 * the row is summed first, then added once. The inner-stride case is decided once per block, not per
 * row (same additions in the same order).
 */
function scatterAddBlock(dst: TypedArray, src: TypedArray, flat: number, off: number, rows: number, rowStride: number, n: number, stride: number): void {
  if (stride === 0) {
    for (let r = 0; r < rows; r++, off += rowStride, flat += n) {
      let acc = 0;
      for (let j = 0; j < n; j++) acc += src[flat + j]!;
      dst[off] = dst[off]! + acc;
    }
  } else if (stride === 1 && n < 16 && rows > 1) {
    // short rows (sumTo of [10⁴, 3] to [3]): one flat loop, the same additions in the same order
    const total = rows * n, back = rowStride - n;
    for (let i = 0, j = 0; i < total; i++) {
      dst[off] = dst[off]! + src[flat + i]!;
      off++;
      if (++j === n) { j = 0; off += back; }
    }
  } else if (stride === 1) {
    for (let r = 0; r < rows; r++, off += rowStride, flat += n) for (let j = 0; j < n; j++) dst[off + j] = dst[off + j]! + src[flat + j]!;
  } else {
    for (let r = 0; r < rows; r++, off += rowStride, flat += n) for (let j = 0; j < n; j++) dst[off + j * stride] = dst[off + j * stride]! + src[flat + j]!;
  }
}

/** out[i] = src[offset + Σ idx_d·srcStrides[d]] over `outShape` (row-major). */
export function stridedGather(src: TypedArray, offset: number, srcStrides: readonly number[], outShape: Shape, out: TypedArray): void {
  walkBlocks(outShape, srcStrides, offset, src, out, gatherBlock);
}

/**
 * dst[offset + Σ idx_d·dstStrides[d]] += src[i] over `srcShape` (row-major). Along a 0-stride
 * innermost dim the row is summed first, then added once: dst += (((0 + s0) + s1) + ...).
 */
export function stridedScatterAdd(dst: TypedArray, offset: number, dstStrides: readonly number[], src: TypedArray, srcShape: Shape): void {
  walkBlocks(srcShape, dstStrides, offset, dst, src, scatterAddBlock);
}

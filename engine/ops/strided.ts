/**
 * The two strided loops every layout op shares (no copy-pasted kernels):
 *  - gather:      out[i] = src[offset + Σ_d idx_d · srcStrides[d]]   (broadcastTo, permute, slice)
 *  - scatterAdd:  dst[offset + Σ_d idx_d · dstStrides[d]] += src[i]  (sumTo/sum, un-slice)
 * A stride of 0 repeats (gather) or accumulates (scatterAdd) along that dim: broadcasting and its
 * VJP, summation, are the same loop read in opposite directions.
 */
import type { TypedArray } from '../tensor.js';
import type { Shape } from '../shape.js';

/** Walks a row-major multi-index over `shape`, calling `inner(flat, offset, n, stride)` per innermost row. */
function walkRows(shape: Shape, strides: readonly number[], offset: number, inner: (flat: number, off: number, n: number, stride: number) => void): void {
  const rank = shape.length;
  if (rank === 0) { inner(0, offset, 1, 0); return; }
  for (const d of shape) if (d === 0) return;
  const n = shape[rank - 1]!, stride = strides[rank - 1]!;
  const idx = new Array<number>(rank - 1).fill(0);
  let off = offset, flat = 0;
  for (;;) {
    inner(flat, off, n, stride);
    flat += n;
    // increment the multi-index over dims [0, rank-1)
    let d = rank - 2;
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

/** out[i] = src[offset + Σ idx_d·srcStrides[d]] over `outShape` (row-major). */
export function stridedGather(src: TypedArray, offset: number, srcStrides: readonly number[], outShape: Shape, out: TypedArray): void {
  walkRows(outShape, srcStrides, offset, (flat, off, n, stride) => {
    for (let j = 0; j < n; j++) out[flat + j] = src[off + j * stride]!;
  });
}

/** dst[offset + Σ idx_d·dstStrides[d]] += src[i] over `srcShape` (row-major). */
export function stridedScatterAdd(dst: TypedArray, offset: number, dstStrides: readonly number[], src: TypedArray, srcShape: Shape): void {
  walkRows(srcShape, dstStrides, offset, (flat, off, n, stride) => {
    if (stride === 0) {
      let acc = 0;
      for (let j = 0; j < n; j++) acc += src[flat + j]!;
      dst[off] = dst[off]! + acc;
    } else {
      for (let j = 0; j < n; j++) dst[off + j * stride] = dst[off + j * stride]! + src[flat + j]!;
    }
  });
}

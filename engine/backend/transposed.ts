/**
 * Transposed-operand products without materialising the transpose as a tensor:
 *   op(A) = A or Aᵀ, op(B) = B or Bᵀ,  out[b] = op(A)[b] · op(B)[b]   (op(A) [m, k], op(B) [k, n])
 * With transA the stored A block is [k, m]; with transB the stored B block is [n, k]. Backward
 * passes need exactly these (dX = dY·Wᵀ, dW = Xᵀ·dY), so they no longer allocate and fill a
 * permuted copy of every weight each step: the CPU backend folds the transpose into the copy into
 * wasm memory it makes anyway (see WasmGemm.matmul), and any other backend gets it here, through
 * its plain `matmul` on a scratch transpose (same numbers: the product sees the same values in
 * the same k order).
 */
import type { TypedArray } from '../tensor.js';
import type { MatmulBackend } from './backend.js';

/** Square tile of the blocked transpose: 32×32 float64 = 8 KiB per side, well inside L1. */
const TILE = 32;

/**
 * dst[dOff + c·rows + r] = src[sOff + r·cols + c] for a row-major [rows, cols] block (→ [cols, rows]).
 * Blocked in TILE×TILE tiles so both the strided reads and the strided writes stay in cache.
 */
export function transposeInto(src: TypedArray, sOff: number, rows: number, cols: number, dst: TypedArray, dOff: number): void {
  for (let r0 = 0; r0 < rows; r0 += TILE) {
    const r1 = Math.min(rows, r0 + TILE);
    for (let c0 = 0; c0 < cols; c0 += TILE) {
      const c1 = Math.min(cols, c0 + TILE);
      for (let r = r0; r < r1; r++) {
        const s = sOff + r * cols;
        for (let c = c0; c < c1; c++) dst[dOff + c * rows + r] = src[s + c]!;
      }
    }
  }
}

/** `batch` blocks of [rows, cols] transposed into a fresh array of the same dtype. */
export function transposedCopy(x: TypedArray, batch: number, rows: number, cols: number): TypedArray {
  const out = x instanceof Float32Array ? new Float32Array(batch * rows * cols) : new Float64Array(batch * rows * cols);
  for (let b = 0; b < batch; b++) transposeInto(x, b * rows * cols, rows, cols, out, b * rows * cols);
  return out;
}

/**
 * out[b] = op(A)[b]·op(B)[b] on `backend`: its own `matmulT` when it has one, else a scratch
 * transpose and its `matmul`. Sizes are those of the product: op(A) [m, k], op(B) [k, n].
 */
export function matmulTransposed(backend: MatmulBackend, a: TypedArray, b: TypedArray, out: TypedArray, batch: number, m: number, k: number, n: number, transA: boolean, transB: boolean): void {
  if (!transA && !transB) { backend.matmul(a, b, out, batch, m, k, n); return; }
  if (backend.matmulT) { backend.matmulT(a, b, out, batch, m, k, n, transA, transB); return; }
  backend.matmul(transA ? transposedCopy(a, batch, k, m) : a, transB ? transposedCopy(b, batch, n, k) : b, out, batch, m, k, n);
}

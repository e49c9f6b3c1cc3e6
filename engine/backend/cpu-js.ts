/**
 * Pure-JS matmul kernels: the fallback where WebAssembly SIMD is unavailable, and the path for tiny
 * products (where copying into wasm memory costs more than the product). Float64Array and
 * Float32Array alike (JS arithmetic is float64; float32 outputs are rounded once per k-block).
 */
import type { TypedArray } from '../tensor.js';

const K_BLOCK = 256;

/** C = A·B for one row-major product: i-k-j order, blocked over k (streams rows of B and C). */
export function matmulBlocked(a: TypedArray, aOff: number, b: TypedArray, bOff: number, c: TypedArray, cOff: number, m: number, k: number, n: number): void {
  c.fill(0, cOff, cOff + m * n);
  for (let p0 = 0; p0 < k; p0 += K_BLOCK) {
    const p1 = Math.min(k, p0 + K_BLOCK);
    for (let i = 0; i < m; i++) {
      const cRow = cOff + i * n, aRow = aOff + i * k;
      for (let p = p0; p < p1; p++) {
        // No `av === 0` shortcut: 0·∞ and 0·NaN must give NaN (IEEE), as on the wasm and tiled paths.
        const av = a[aRow + p]!;
        const bRow = bOff + p * n;
        for (let j = 0; j < n; j++) c[cRow + j] = c[cRow + j]! + av * b[bRow + j]!;
      }
    }
  }
}

let panelScratch = new Float64Array(0);

/**
 * C = A·B with B packed into 4-column panels (float64 scratch, reused across calls) and a 4×4
 * register tile of float64 accumulators: 8 loads feed 16 multiply-adds per k-step. Edge rows and
 * columns (m or n not a multiple of 4) go through the blocked kernel's inner loops.
 */
export function matmulTiled(a: TypedArray, aOff: number, b: TypedArray, bOff: number, c: TypedArray, cOff: number, m: number, k: number, n: number): void {
  const n4 = n - (n % 4), m4 = m - (m % 4);
  if (panelScratch.length < k * n4) panelScratch = new Float64Array(k * n4);
  const bp = panelScratch;
  for (let j0 = 0; j0 < n4; j0 += 4) {
    const base = j0 * k;
    for (let p = 0; p < k; p++) {
      const s = bOff + p * n + j0, d = base + p * 4;
      bp[d] = b[s]!; bp[d + 1] = b[s + 1]!; bp[d + 2] = b[s + 2]!; bp[d + 3] = b[s + 3]!;
    }
  }
  for (let j0 = 0; j0 < n4; j0 += 4) {
    const pan = j0 * k;
    for (let i = 0; i < m4; i += 4) {
      const a0 = aOff + i * k, a1 = a0 + k, a2 = a1 + k, a3 = a2 + k;
      let c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
      let c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
      for (let p = 0, q = pan; p < k; p++, q += 4) {
        const b0 = bp[q]!, b1 = bp[q + 1]!, b2 = bp[q + 2]!, b3 = bp[q + 3]!;
        const x0 = a[a0 + p]!, x1 = a[a1 + p]!, x2 = a[a2 + p]!, x3 = a[a3 + p]!;
        c00 += x0 * b0; c01 += x0 * b1; c02 += x0 * b2; c03 += x0 * b3;
        c10 += x1 * b0; c11 += x1 * b1; c12 += x1 * b2; c13 += x1 * b3;
        c20 += x2 * b0; c21 += x2 * b1; c22 += x2 * b2; c23 += x2 * b3;
        c30 += x3 * b0; c31 += x3 * b1; c32 += x3 * b2; c33 += x3 * b3;
      }
      let o = cOff + i * n + j0;
      c[o] = c00; c[o + 1] = c01; c[o + 2] = c02; c[o + 3] = c03; o += n;
      c[o] = c10; c[o + 1] = c11; c[o + 2] = c12; c[o + 3] = c13; o += n;
      c[o] = c20; c[o + 1] = c21; c[o + 2] = c22; c[o + 3] = c23; o += n;
      c[o] = c30; c[o + 1] = c31; c[o + 2] = c32; c[o + 3] = c33;
    }
  }
  // edges: rows ≥ m4 (all columns) and columns ≥ n4 (rows < m4), one dot product each
  for (let i = 0; i < m; i++) {
    for (let j = i < m4 ? n4 : 0; j < n; j++) {
      let s = 0;
      for (let p = 0, ai = aOff + i * k, bj = bOff + j; p < k; p++, bj += n) s += a[ai + p]! * b[bj]!;
      c[cOff + i * n + j] = s;
    }
  }
}

/** Batched JS matmul: tiled when both m and n are ≥ 4, blocked otherwise. */
export function matmulJs(a: TypedArray, b: TypedArray, out: TypedArray, batch: number, m: number, k: number, n: number): void {
  const kernel = m >= 4 && n >= 4 ? matmulTiled : matmulBlocked;
  for (let t = 0; t < batch; t++) kernel(a, t * m * k, b, t * k * n, out, t * m * n, m, k, n);
}

/**
 * C = op(A)·op(B) as one dot product per output, reading transposed operands by stride (no copy):
 * op(A)[i, p] = a[i·k + p] (a[p·m + i] when `transA`), op(B)[p, j] = b[p·n + j] (b[j·k + p] when
 * `transB`). For products with a handful of outputs and a long k — the weight gradient gᵀx of a
 * [10⁴, 3] × [10⁴, 2] pair — where the wasm kernel would copy both operands in and pad the outputs
 * to its register tile (a 2 × 8 float64 tile for 3 × 2 outputs). Each sum runs over k ascending
 * from 0 with a separate multiply and add, as the other float64 paths do, so float64 results are
 * the same bits; float32 outputs are summed in float64 and rounded once.
 */
export function matmulDot(a: TypedArray, b: TypedArray, c: TypedArray, batch: number, m: number, k: number, n: number, transA: boolean, transB: boolean): void {
  const sAi = transA ? 1 : k, sAp = transA ? m : 1, sBp = transB ? 1 : n, sBj = transB ? k : 1;
  for (let t = 0; t < batch; t++) {
    const a0 = t * m * k, b0 = t * k * n, c0 = t * m * n;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0, ia = a0 + i * sAi, ib = b0 + j * sBj; p < k; p++, ia += sAp, ib += sBp) s += a[ia]! * b[ib]!;
        c[c0 + i * n + j] = s;
      }
    }
  }
}

/**
 * The default CPU matmul: cache-blocked over k, i-k-j order so the inner loop streams one row of B
 * and one row of C (unit stride, no bounds surprises for V8). Works on Float64Array and Float32Array.
 */
import type { TypedArray } from '../tensor.js';
import type { MatmulBackend } from './backend.js';

const K_BLOCK = 256;

/** C = A·B for one row-major product, accumulating within k-blocks. */
export function matmulBlocked(a: TypedArray, aOff: number, b: TypedArray, bOff: number, c: TypedArray, cOff: number, m: number, k: number, n: number): void {
  c.fill(0, cOff, cOff + m * n);
  for (let p0 = 0; p0 < k; p0 += K_BLOCK) {
    const p1 = Math.min(k, p0 + K_BLOCK);
    for (let i = 0; i < m; i++) {
      const cRow = cOff + i * n, aRow = aOff + i * k;
      for (let p = p0; p < p1; p++) {
        const av = a[aRow + p]!;
        if (av === 0) continue;
        const bRow = bOff + p * n;
        for (let j = 0; j < n; j++) c[cRow + j] = c[cRow + j]! + av * b[bRow + j]!;
      }
    }
  }
}

export const cpuBackend: MatmulBackend = {
  name: 'cpu',
  describe: () => 'cpu:blocked',
  matmul(a, b, out, batch, m, k, n) {
    for (let t = 0; t < batch; t++) matmulBlocked(a, t * m * k, b, t * k * n, out, t * m * n, m, k, n);
  },
};

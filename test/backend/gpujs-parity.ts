/**
 * Shared parity check for the gpu.js backend tests: random operands, an independent float64 reference
 * (plain triple loop, deliberately not moegrad's CPU kernel), and a tolerance that scales with K.
 */
import { expect } from 'vitest';
import { Rng, type MatmulBackend } from '../../engine/index.js';

export type Shape3 = readonly [batch: number, m: number, k: number, n: number];

/** Float64 reference C = A·B plus S = |A|·|B| (the scale of the rounding error), per batch item. */
export function reference(a: ArrayLike<number>, b: ArrayLike<number>, [batch, m, k, n]: Shape3): { ref: Float64Array; absSum: Float64Array } {
  const ref = new Float64Array(batch * m * n), absSum = new Float64Array(batch * m * n);
  for (let t = 0; t < batch; t++) {
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0, s1 = 0;
        for (let p = 0; p < k; p++) {
          const x = a[t * m * k + i * k + p]! * b[t * k * n + p * n + j]!;
          s += x; s1 += Math.abs(x);
        }
        ref[t * m * n + i * n + j] = s; absSum[t * m * n + i * n + j] = s1;
      }
    }
  }
  return { ref, absSum };
}

/** Allowed |C − C_ref|: float32 accumulation over K terms plus input/output rounding, (K+3)·2⁻²⁴·Σ|a||b|. */
export function tolerance(k: number, absSum: number): number {
  return 1.05 * (k + 3) * 2 ** -24 * absSum + 1e-300;
}

export function randomArray(rng: Rng, size: number, dtype: 'float32' | 'float64'): Float32Array | Float64Array {
  const out = dtype === 'float32' ? new Float32Array(size) : new Float64Array(size);
  for (let i = 0; i < size; i++) out[i] = rng.uniform() * 2 - 1;
  return out;
}

/**
 * Runs backend.matmul on random U(−1,1) operands and asserts every element is within the K-scaled
 * tolerance of the float64 reference. Returns the worst error as a fraction of its tolerance.
 */
export function expectParity(backend: MatmulBackend, shape: Shape3, seed: number, dtype: 'float32' | 'float64' = 'float32'): number {
  const [batch, m, k, n] = shape;
  const rng = new Rng(seed);
  const a = randomArray(rng, batch * m * k, dtype), b = randomArray(rng, batch * k * n, dtype);
  const out = dtype === 'float32' ? new Float32Array(batch * m * n).fill(NaN) : new Float64Array(batch * m * n).fill(NaN);
  backend.matmul(a, b, out, batch, m, k, n);
  const { ref, absSum } = reference(a, b, shape);
  let worst = 0, worstAt = -1;
  for (let i = 0; i < out.length; i++) {
    const ratio = Math.abs(out[i]! - ref[i]!) / tolerance(k, absSum[i]!);
    if (Number.isNaN(ratio)) { worst = NaN; worstAt = i; break; } // an unwritten (NaN-filled) cell
    if (ratio > worst) { worst = ratio; worstAt = i; }
  }
  expect(worst, `${backend.describe()} ${shape.join('×')} worst at ${worstAt}: ${out[worstAt]} vs ${ref[worstAt]}`).toBeLessThanOrEqual(1);
  return worst;
}

/**
 * The wasm GEMM's register tile, k unroll and k-block length change only speed, not numbers: every
 * kernel variant adds the k products of one C element in ascending k into one accumulator (partial
 * sums cross k-blocks through C exactly), so for the same FMA mode the results are bit-identical.
 * Also checks the default tile over several k-blocks and row chunks (threaded too) against a
 * float64 reference with the recursive-summation bound
 *   |C − C_ref| ≤ (K + 2)·u·Σ_p |a_ip||b_pj|   (u = 2⁻²⁴ for float32, 2·2⁻⁵³ for float64).
 */
import { describe, it, expect } from 'vitest';
import { WasmGemm, wasmRelaxedFmaSupported } from '../../engine/backend/cpu-wasm.js';
import { DEFAULT_GEMM_CONFIG, type GemmConfig } from '../../engine/backend/wasm/gemm-kernel.js';
import { Rng, type TypedArray } from '../../engine/index.js';

type Ctor = Float32ArrayConstructor | Float64ArrayConstructor;
/** [batch, m, k, n]: odd sizes so row padding, partial panels of every width (narrow last-panel tiles) and a k remainder all occur. */
const SHAPES: readonly (readonly [number, number, number, number])[] = [[1, 37, 301, 45], [2, 13, 150, 70], [1, 130, 67, 33], [3, 5, 9, 17], [1, 29, 40, 11], [2, 7, 33, 28], [1, 62, 20, 3]];

function filled(T: Ctor, n: number, rng: Rng): TypedArray {
  const a = new T(n);
  for (let i = 0; i < n; i++) a[i] = rng.uniform() * 2 - 1;
  return a;
}

/** max over elements of |C − C_ref| / ((K + 2)·u·Σ|a||b|): ≤ 1 means within the bound. */
function boundRatio(a: TypedArray, b: TypedArray, out: TypedArray, [batch, m, k, n]: readonly number[]): number {
  const u = a instanceof Float64Array ? 2 ** -52 : 2 ** -24;
  let worst = 0;
  for (let q = 0; q < batch!; q++) {
    for (let i = 0; i < m!; i++) {
      for (let j = 0; j < n!; j++) {
        let s = 0, abs = 0;
        for (let p = 0; p < k!; p++) { const x = a[(q * m! + i) * k! + p]! * b[(q * k! + p) * n! + j]!; s += x; abs += Math.abs(x); }
        const err = Math.abs(out[(q * m! + i) * n! + j]! - s), tol = (k! + 2) * u * abs;
        worst = Math.max(worst, tol > 0 ? err / tol : err > 0 ? Infinity : 0);
      }
    }
  }
  return worst;
}

const VARIANTS: readonly Omit<GemmConfig, 'fma'>[] = [
  { f32: { mr: 6, nv: 2 }, f64: { mr: 4, nv: 2 }, unroll: 4, shuffleA: true }, // the tiles before the 2×16 kernel
  { f32: { mr: 3, nv: 3 }, f64: { mr: 3, nv: 3 }, unroll: 1, kc: { f32: 64, f64: 100 } },
  { ...DEFAULT_GEMM_CONFIG, kc: { f32: 48, f64: 80 }, maxRows: 8 },
];

describe('wasm GEMM tile variants', () => {
  const modes = wasmRelaxedFmaSupported() ? [false, true] : [false];
  for (const fma of modes) {
    it(`${fma ? 'FMA' : 'mul + add'}: every tile / unroll / k-block variant is bit-identical to the default kernel`, () => {
      const base = new WasmGemm({ ...DEFAULT_GEMM_CONFIG, fma });
      const others = VARIANTS.map((v) => new WasmGemm({ ...v, fma }));
      for (const [s, shape] of SHAPES.entries()) {
        for (const T of [Float32Array, Float64Array] as Ctor[]) {
          const [batch, m, k, n] = shape, rng = new Rng(900 + s);
          const a = filled(T, batch * m * k, rng), b = filled(T, batch * k * n, rng);
          const want = new T(batch * m * n);
          base.matmul(a, b, want, batch, m, k, n, 1);
          for (const g of others) {
            const got = new T(batch * m * n).fill(Number.NaN);
            g.matmul(a, b, got, batch, m, k, n, 1);
            expect(got).toEqual(want);
          }
        }
      }
    });
  }

  it('the default tile over several k-blocks and row chunks (threaded too) stays within the summation bound', () => {
    const g = new WasmGemm({ ...DEFAULT_GEMM_CONFIG, kc: { f32: 64, f64: 100 }, maxRows: 32 });
    g.threadsReady(10_000);
    for (const T of [Float32Array, Float64Array] as Ctor[]) {
      for (const threads of [1, 2]) {
        const shape = [2, 515, 230, 37] as const, rng = new Rng(threads);
        const a = filled(T, 2 * 515 * 230, rng), b = filled(T, 2 * 230 * 37, rng), out = new T(2 * 515 * 37).fill(Number.NaN);
        g.matmul(a, b, out, ...shape, threads);
        expect(boundRatio(a, b, out, shape)).toBeLessThanOrEqual(1);
      }
    }
    g.stopThreads();
  });
});

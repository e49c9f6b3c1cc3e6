/**
 * Parity of every CPU matmul path (JS, wasm SIMD f32x4 / f64x2, threaded wasm, size-dispatched
 * `cpu`) against a naive float64 reference of the same inputs. Error bound per element:
 *   |C − C_ref| ≤ (K + 2)·u·Σ_p |a_ip||b_pj|   (u = 2⁻²⁴ for float32, 2·2⁻⁵³ for float64)
 * which is the standard recursive-summation bound, so it scales with K instead of a fixed rtol.
 */
import { describe, it, expect, beforeAll } from 'vitest';
import fc from 'fast-check';
import { createCpuBackend, wasmGemm, defaultFmaMode, JS_MAX_MACS, THREAD_MIN_MACS, DOT_MAX_OUTPUTS } from '../../engine/backend/cpu.js';
import { WasmGemm, wasmRelaxedFmaSupported } from '../../engine/backend/cpu-wasm.js';
import { DEFAULT_GEMM_CONFIG } from '../../engine/backend/wasm/gemm-kernel.js';
import { uleb, sleb } from '../../engine/backend/wasm/emit.js';
import { Rng, tensor, randn, matmul, grad, sum, mul, withBackend, gradcheck, cast, type Tensor, type TypedArray } from '../../engine/index.js';

type Ctor = Float32ArrayConstructor | Float64ArrayConstructor;
type Shape4 = readonly [batch: number, m: number, k: number, n: number];

const paths = {
  js: createCpuBackend({ mode: 'js' }),
  wasm: createCpuBackend({ mode: 'wasm' }),
  threads: createCpuBackend({ mode: 'wasm-threads' }),
  auto: createCpuBackend(),
};

function filled(T: Ctor, n: number, rng: Rng): TypedArray {
  const a = new T(n);
  for (let i = 0; i < n; i++) a[i] = rng.uniform() * 2 - 1;
  return a;
}

/** Checks `out` against a float64 i-k-j reference with the K-scaled bound; returns the worst ratio err/bound. */
function checkAgainstReference(a: TypedArray, b: TypedArray, out: TypedArray, [batch, m, k, n]: Shape4): number {
  const u = out instanceof Float32Array ? 2 ** -24 : 2 * 2 ** -53;
  let worst = 0, nonFinite = 0;
  for (let t = 0; t < batch; t++) {
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0, abs = 0;
        for (let p = 0; p < k; p++) {
          const x = a[t * m * k + i * k + p]! * b[t * k * n + p * n + j]!;
          s += x; abs += Math.abs(x);
        }
        const got = out[t * m * n + i * n + j]!;
        const bound = (k + 2) * u * abs + Number.MIN_VALUE;
        if (!Number.isFinite(got)) nonFinite++; // counted, asserted once below (an expect() per element cost ~10 s)
        worst = Math.max(worst, Math.abs(got - s) / bound);
      }
    }
  }
  expect(nonFinite, 'non-finite outputs').toBe(0);
  return worst;
}

function runPath(name: keyof typeof paths, T: Ctor, shape: Shape4, seed: number): number {
  const [batch, m, k, n] = shape;
  const rng = new Rng(seed);
  const a = filled(T, batch * m * k, rng), b = filled(T, batch * k * n, rng);
  const out = new T(batch * m * n).fill(Number.NaN); // must be fully overwritten
  paths[name].matmul(a, b, out, batch, m, k, n);
  return checkAgainstReference(a, b, out, shape);
}

const ODD_SHAPES: Shape4[] = [
  [1, 1, 1, 1], [1, 37, 91, 53], [1, 1, 300, 1], [1, 129, 1, 257], [1, 5, 1500, 7], [1, 33, 1031, 17],
  [4, 17, 33, 19], [3, 1, 64, 129], [2, 64, 64, 64], [1, 3, 5, 3],
];

beforeAll(() => {
  // workers start asynchronously; wait so the threaded path really runs with helpers
  wasmGemm()?.threadsReady(10_000);
});

describe('cpu matmul parity vs float64 reference (error ≤ (K+2)·u·Σ|a||b|)', () => {
  for (const name of Object.keys(paths) as (keyof typeof paths)[]) {
    for (const T of [Float32Array, Float64Array] as Ctor[]) {
      it(`${name} ${T.name}: odd, K > 1000 and batched shapes`, () => {
        ODD_SHAPES.forEach((shape, i) => {
          const worst = runPath(name, T, shape, 100 + i);
          expect(worst, `${name} ${T.name} ${shape.join('×')}`).toBeLessThanOrEqual(1);
        });
      });
    }
  }

  it('random shapes agree on every path (fast-check)', () => {
    fc.assert(fc.property(
      fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 300 }), fc.integer({ min: 1, max: 40 }),
      fc.boolean(), fc.integer({ min: 0, max: 1e6 }),
      (batch, m, k, n, f64, seed) => {
        for (const name of Object.keys(paths) as (keyof typeof paths)[]) {
          expect(runPath(name, f64 ? Float64Array : Float32Array, [batch, m, k, n], seed)).toBeLessThanOrEqual(1);
        }
      }), { numRuns: 25, seed: 7 });
  });

  it('float64 results are bit-identical on every path (same k order, no FMA), so dispatch never changes numbers', () => {
    for (const [i, shape] of [...ODD_SHAPES, [1, 130, 700, 90] as Shape4].entries()) {
      const [batch, m, k, n] = shape;
      const rng = new Rng(900 + i);
      const a = filled(Float64Array, batch * m * k, rng), b = filled(Float64Array, batch * k * n, rng);
      const outs = Object.values(paths).map((be) => { const o = new Float64Array(batch * m * n); be.matmul(a, b, o, batch, m, k, n); return o; });
      for (const o of outs.slice(1)) expect(o).toEqual(outs[0]);
    }
  });

  it('growing shapes (wasm memory grows between calls) stay correct', () => {
    for (const [i, s] of [8, 40, 130, 300, 520].entries()) {
      for (const T of [Float32Array, Float64Array] as Ctor[]) {
        expect(runPath('auto', T, [1, s, 48, s], 200 + i)).toBeLessThanOrEqual(1);
        expect(runPath('wasm', T, [1, 3, 48, s], 300 + i)).toBeLessThanOrEqual(1);
      }
    }
    // and shrinking again after the largest
    expect(runPath('threads', Float32Array, [2, 9, 70, 11], 9)).toBeLessThanOrEqual(1);
  });

  it('k = 0 gives zeros', () => {
    for (const be of Object.values(paths)) {
      const out = new Float32Array(6).fill(5);
      be.matmul(new Float32Array(0), new Float32Array(0), out, 1, 2, 0, 3);
      expect([...out]).toEqual([0, 0, 0, 0, 0, 0]);
    }
  });
});

describe('kernel variants', () => {
  it('other register-tile shapes (6×8 f32, 3×8 f64, unroll 2: load-splat A) agree with the reference', () => {
    const g = new WasmGemm({ f32: { mr: 6, nv: 2 }, f64: { mr: 3, nv: 4 }, unroll: 2, fma: false });
    for (const [i, shape] of ODD_SHAPES.entries()) {
      for (const T of [Float32Array, Float64Array] as Ctor[]) {
        const [batch, m, k, n] = shape;
        const rng = new Rng(500 + i);
        const a = filled(T, batch * m * k, rng), b = filled(T, batch * k * n, rng), out = new T(batch * m * n).fill(Number.NaN);
        g.matmul(a, b, out, batch, m, k, n, 1);
        expect(checkAgainstReference(a, b, out, shape)).toBeLessThanOrEqual(1);
      }
    }
  });

  it('row chunks stay multiples of the tile height (6-row tiles, 32-row cap, a 4-row last chunk, threaded too)', () => {
    const g = new WasmGemm({ f32: { mr: 6, nv: 2 }, f64: { mr: 6, nv: 1 }, unroll: 4, fma: false, maxRows: 32, kc: { f32: 64, f64: 100 } });
    g.threadsReady(10_000);
    for (const T of [Float32Array, Float64Array] as Ctor[]) {
      for (const threads of [1, 2]) {
        const shape: Shape4 = [2, 514, 150, 37]; // 514 rows pad to 516 = 16·32 + 4
        const rng = new Rng(threads);
        const a = filled(T, 2 * 514 * 150, rng), b = filled(T, 2 * 150 * 37, rng), out = new T(2 * 514 * 37).fill(Number.NaN);
        g.matmul(a, b, out, ...shape, threads);
        expect(checkAgainstReference(a, b, out, shape)).toBeLessThanOrEqual(1);
      }
    }
    g.stopThreads();
  });

  // Node 20 validates relaxed SIMD only behind --experimental-wasm-relaxed-simd, which
  // wasmRelaxedFmaSupported() turns on itself (v8.setFlagsFromString) before it probes.
  it('relaxed SIMD is detected in Node (the flag is set at run time when needed)', () => {
    expect(wasmRelaxedFmaSupported()).toBe(true);
  });

  it.skipIf(!wasmRelaxedFmaSupported())('relaxed-simd FMA kernel agrees with the reference', () => {
    const g = new WasmGemm({ ...DEFAULT_GEMM_CONFIG, fma: true });
    for (const [i, shape] of ODD_SHAPES.entries()) {
      for (const T of [Float32Array, Float64Array] as Ctor[]) {
        const [batch, m, k, n] = shape;
        const rng = new Rng(600 + i);
        const a = filled(T, batch * m * k, rng), b = filled(T, batch * k * n, rng), out = new T(batch * m * n);
        g.matmul(a, b, out, batch, m, k, n, 1);
        expect(checkAgainstReference(a, b, out, shape)).toBeLessThanOrEqual(1);
      }
    }
  });

  it.skipIf(!wasmRelaxedFmaSupported())('FMA and mul + add differ by at most rounding; fma: none keeps float64 bit-identical to JS', () => {
    const fused = createCpuBackend({ mode: 'wasm', fma: 'all' }), plain = createCpuBackend({ mode: 'wasm', fma: 'none' });
    for (const [i, shape] of [...ODD_SHAPES, [1, 130, 700, 90] as Shape4].entries()) {
      for (const T of [Float32Array, Float64Array] as Ctor[]) {
        const [batch, m, k, n] = shape;
        const rng = new Rng(700 + i);
        const a = filled(T, batch * m * k, rng), b = filled(T, batch * k * n, rng);
        const of = new T(batch * m * n), op = new T(batch * m * n), oj = new T(batch * m * n);
        fused.matmul(a, b, of, batch, m, k, n); plain.matmul(a, b, op, batch, m, k, n); paths.js.matmul(a, b, oj, batch, m, k, n);
        // both are within (k + 2)·u·Σ|a||b| of the exact sum, so within twice that of each other
        const u = T === Float32Array ? 2 ** -24 : 2 ** -52;
        for (let t = 0; t < batch; t++) for (let r = 0; r < m; r++) for (let c = 0; c < n; c++) {
          let abs = 0;
          for (let p = 0; p < k; p++) abs += Math.abs(a[t * m * k + r * k + p]! * b[t * k * n + p * n + c]!);
          const j = t * m * n + r * n + c;
          expect(Math.abs(of[j]! - op[j]!)).toBeLessThanOrEqual(2 * (k + 2) * u * abs + Number.MIN_VALUE);
        }
        if (T === Float64Array) expect(op).toEqual(oj);
      }
    }
    expect(fused.describe()).toBe('cpu:wasm-simd-fma-f64x2');
    expect(plain.describe()).toBe('cpu:wasm-simd-f64x2');
  });

  it('the default FMA mode is float32 only, and MOEGRAD_NO_FMA / MOEGRAD_FMA override it', () => {
    const saved = { no: process.env.MOEGRAD_NO_FMA, fma: process.env.MOEGRAD_FMA };
    try {
      delete process.env.MOEGRAD_NO_FMA; delete process.env.MOEGRAD_FMA;
      expect(defaultFmaMode()).toBe('f32');
      process.env.MOEGRAD_FMA = 'all';
      expect(defaultFmaMode()).toBe('all');
      process.env.MOEGRAD_NO_FMA = '1';
      expect(defaultFmaMode()).toBe('none');
    } finally {
      for (const [k, v] of [['MOEGRAD_NO_FMA', saved.no], ['MOEGRAD_FMA', saved.fma]] as const) { if (v === undefined) delete process.env[k]; else process.env[k] = v; }
    }
    expect(() => createCpuBackend({ fma: 'yes' as never })).toThrow(/createCpuBackend: fma must be one of 'f32', 'all', 'none'; got string 'yes'/);
  });
});

describe('dispatch and describe()', () => {
  it('auto takes JS below JS_MAX_MACS and wasm from it on; both sides match', () => {
    const T = Float32Array;
    const below: Shape4 = [1, 1, 1, JS_MAX_MACS - 1], at: Shape4 = [1, 1, 1, JS_MAX_MACS];
    expect(runPath('auto', T, below, 1)).toBeLessThanOrEqual(1);
    expect(paths.auto.describe()).toBe('cpu:js-tiled');
    expect(runPath('auto', T, at, 1)).toBeLessThanOrEqual(1);
    expect(paths.auto.describe()).toMatch(/^cpu:wasm-simd(-fma)?-f32x4$/);
  });

  it('auto takes strided dot products for ≤ DOT_MAX_OUTPUTS outputs: float64 bits equal the wasm path, transposes included', () => {
    const rng = new Rng(11);
    for (const [batch, m, k, n] of [[1, 3, 10_000, 2], [2, 2, 700, 3], [1, 1, 5000, 1], [1, 6, 40, 1]] as const) {
      expect(m * n).toBeLessThanOrEqual(DOT_MAX_OUTPUTS);
      for (const [tA, tB] of [[false, false], [true, false], [false, true], [true, true]] as const) {
        const a = filled(Float64Array, batch * m * k, rng), b = filled(Float64Array, batch * k * n, rng);
        const got = new Float64Array(batch * m * n).fill(Number.NaN), want = new Float64Array(batch * m * n);
        paths.auto.matmulT!(a, b, got, batch, m, k, n, tA, tB);
        expect(paths.auto.describe()).toBe('cpu:js-dot');
        paths.wasm.matmulT!(a, b, want, batch, m, k, n, tA, tB);
        expect([...got]).toEqual([...want]);
      }
      // float32: summed in float64, within the K-scaled bound
      expect(runPath('auto', Float32Array, [batch, m, k, n], 5)).toBeLessThanOrEqual(1);
      expect(paths.auto.describe()).toBe('cpu:js-dot');
    }
    // one more output goes back to the kernels
    expect(runPath('auto', Float64Array, [1, DOT_MAX_OUTPUTS + 1, 2000, 1], 6)).toBeLessThanOrEqual(1);
    expect(paths.auto.describe()).not.toBe('cpu:js-dot');
  });

  it('auto adds worker threads from THREAD_MIN_MACS on (when workers are available)', () => {
    const g = wasmGemm();
    expect(g).not.toBeNull(); // Node 20 validates WebAssembly SIMD
    const threadsAvailable = g!.shared && g!.threadsReady() > 0;
    const small: Shape4 = [1, 16, 64, THREAD_MIN_MACS / 1024 - 1];
    const big: Shape4 = [1, 16, 64, THREAD_MIN_MACS / 1024];
    expect(runPath('auto', Float64Array, small, 2)).toBeLessThanOrEqual(1);
    expect(paths.auto.describe()).toBe('cpu:wasm-simd-f64x2');
    // from the threshold on, threads are requested; a busy worker may still miss one call, so retry
    let described = '';
    for (let i = 0; i < 30 && !/threads$/.test(described); i++) {
      expect(runPath('auto', Float64Array, big, 2)).toBeLessThanOrEqual(1);
      described = paths.auto.describe();
      if (!threadsAvailable) break;
    }
    if (threadsAvailable) expect(described).toMatch(/^cpu:wasm-simd(-fma)?-f64x2x[2-9]threads$/);
    else expect(described).toBe('cpu:wasm-simd-f64x2');
  });

  it('the threaded path really uses the workers on a large product', () => {
    const g = wasmGemm()!;
    if (!g.shared || g.threadsReady() === 0) return; // single-core machine: nothing to assert
    let sawThreads = false;
    for (let i = 0; i < 30 && !sawThreads; i++) { // on a loaded machine the worker may miss a few calls
      expect(runPath('threads', Float32Array, [1, 256, 128, 256], i)).toBeLessThanOrEqual(1);
      sawThreads = /x\dthreads$/.test(paths.threads.describe());
    }
    expect(sawThreads).toBe(true);
  });
});

describe('through the engine matmul op', () => {
  const rng = new Rng(3);
  const shapes: [number[], number[]][] = [[[37, 91], [91, 53]], [[3, 17, 40], [3, 40, 9]], [[2, 5, 1100], [1100, 6]]];

  it('forward and gradients match the JS path on every wasm path (float64 and float32)', () => {
    for (const [sa, sb] of shapes) {
      for (const dtype of ['float64', 'float32'] as const) {
        const a = cast(randn(rng, sa), dtype), b = cast(randn(rng, sb), dtype);
        const w = cast(randn(rng, [...sa.slice(0, -1), sb[sb.length - 1]!]), dtype);
        const loss = (p: { a: Tensor; b: Tensor }): Tensor => sum(mul(matmul(p.a, p.b), w));
        const ref = withBackend(paths.js, () => ({ y: matmul(a, b), g: grad(loss)({ a, b }) }));
        for (const name of ['wasm', 'threads', 'auto'] as const) {
          const got = withBackend(paths[name], () => ({ y: matmul(a, b), g: grad(loss)({ a, b }) }));
          const k = sa[sa.length - 1]!;
          const tol = (dtype === 'float32' ? 2 ** -23 : 2 ** -51) * (k + 2) * 10;
          for (const [x, y] of [[got.y, ref.y], [got.g.a, ref.g.a], [got.g.b, ref.g.b]] as const) {
            expect(x.shape).toEqual(y.shape);
            const scale = Math.max(...Array.from(y.data, Math.abs));
            const err = Math.max(...Array.from(x.data, (v, i) => Math.abs(v - y.data[i]!)));
            expect(err, `${name} ${dtype} ${sa}@${sb}`).toBeLessThanOrEqual(tol * scale * Math.sqrt(k));
          }
        }
      }
    }
  });

  it('gradcheck passes with the wasm f64 kernel forced', () => {
    const a = randn(rng, [6, 9]), b = randn(rng, [9, 5]);
    const report = withBackend(paths.wasm, () => gradcheck((p: { a: Tensor; b: Tensor }) => sum(mul(matmul(p.a, p.b), matmul(p.a, p.b))), { a, b }));
    expect(report.ok, report.summary).toBe(true);
    expect(report.maxRelError).toBeLessThan(1e-6);
  });

  it('shared right operand [B,m,k]@[k,n] matches per-batch products', () => {
    const a = randn(rng, [3, 20, 30]), b = randn(rng, [30, 10]);
    const y = withBackend(paths.threads, () => matmul(a, b));
    const y2 = withBackend(paths.js, () => matmul(a, b));
    y.data.forEach((v, i) => expect(Math.abs(v - y2.data[i]!)).toBeLessThan(1e-12 * 30 * 10));
  });
});

describe('wasm emitter encodings', () => {
  it('LEB128 round numbers', () => {
    expect(uleb(0)).toEqual([0]);
    expect(uleb(127)).toEqual([127]);
    expect(uleb(128)).toEqual([0x80, 0x01]);
    expect(uleb(624485)).toEqual([0xe5, 0x8e, 0x26]);
    expect(sleb(-1)).toEqual([0x7f]);
    expect(sleb(63)).toEqual([0x3f]);
    expect(sleb(64)).toEqual([0xc0, 0x00]);
    expect(sleb(-123456)).toEqual([0xc0, 0xbb, 0x78]);
  });

  it('small-integer products are exact on every path', () => {
    // small integers: every path must be exact
    const a = tensor([[1, 2], [3, 4]], undefined, 'float32'), b = tensor([[5, 6], [7, 8]], undefined, 'float32');
    for (const be of Object.values(paths)) expect(withBackend(be, () => matmul(a, b)).toArray()).toEqual([19, 22, 43, 50]);
  });
});

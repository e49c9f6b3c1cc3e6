/**
 * gpu.js backend without a GPU: the `webasm` and `cpu` gpu.js modes always run here (no native parts),
 * so the kernel generation, caching, tiling, dtype conversion and reporting are tested on every machine.
 * The GLSL path is tested in gpujs-headlessgl.test.ts (under xvfb-run in CI).
 */
import { createRequire } from 'node:module';
import { afterEach, describe, expect, it } from 'vitest';
import {
  Rng, ValueError, calibrateBackends, registerBackend, createGpujsBackend, getBackend, getCalibration, matmul, mul, randn, sum,
  useBackend, valueAndGrad, withBackend, type GpujsConstructor, type GpujsInputFn, type Tensor,
} from '../../engine/index.js';
import { expectParity, reference, tolerance, type Shape3 } from './gpujs-parity.js';

const MODES = [
  { mode: 'webasm', kernelClass: 'WebAssemblyKernel' },
  { mode: 'cpu', kernelClass: 'CPUKernel' },
] as const;

afterEach(() => { useBackend('cpu'); });

describe.each(MODES)('gpu.js $mode mode', ({ mode, kernelClass }) => {
  it('small, odd and non-square shapes match the float64 reference within (K+3)·2⁻²⁴·Σ|a||b|', () => {
    const backend = createGpujsBackend({ mode });
    const shapes: Shape3[] = [[1, 1, 1, 1], [1, 1, 300, 1], [1, 129, 1, 257], [1, 37, 91, 53], [1, 64, 64, 64], [1, 2, 5, 200], [1, 256, 256, 256]];
    shapes.forEach((s, i) => expectParity(backend, s, 100 + i));
    expect(backend.kernelClass).toBe(kernelClass);
    expect(backend.describe()).toBe(`gpujs:${mode}`);
    expect(backend.fallbackReason).toBeNull();
    expect(backend.stats().compiled).toBe(shapes.length);
  });

  it('K > 1000 sums every term (no silent cap at loopMaxIterations = 1000)', () => {
    const backend = createGpujsBackend({ mode });
    const shape: Shape3 = [1, 3, 1500, 5];
    expectParity(backend, shape, 7);
    // The tolerance is tight enough to catch the capped sum: dropping terms 1000..1499 must violate it.
    const rng = new Rng(8);
    const a = Float32Array.from({ length: 3 * 1500 }, () => rng.uniform() * 2 - 1);
    const b = Float32Array.from({ length: 1500 * 5 }, () => rng.uniform() * 2 - 1);
    const out = new Float32Array(15);
    backend.matmul(a, b, out, 1, 3, 1500, 5);
    const { ref, absSum } = reference(a, b, shape);
    let violations = 0;
    for (let i = 0; i < 15; i++) {
      let capped = 0;
      for (let p = 0; p < 1000; p++) capped += a[Math.floor(i / 5) * 1500 + p]! * b[p * 5 + (i % 5)]!;
      if (Math.abs(capped - ref[i]!) > tolerance(1500, absSum[i]!)) violations++;
      expect(Math.abs(out[i]! - ref[i]!)).toBeLessThanOrEqual(tolerance(1500, absSum[i]!));
    }
    expect(violations).toBeGreaterThan(10);
  });

  it('growing and revisited shapes never reuse a kernel across shapes (stale results)', () => {
    const backend = createGpujsBackend({ mode });
    // one K for all, so only (m, n) tells the shapes apart
    const shapes: Shape3[] = [[1, 37, 64, 53], [1, 64, 64, 64], [1, 100, 64, 130], [1, 37, 64, 53], [1, 64, 64, 64]];
    shapes.forEach((s, i) => expectParity(backend, s, 200 + i)); // new data every call, revisits included
    expect(backend.stats()).toMatchObject({ compiled: 3, cached: 3, calls: 5, launches: 5 });
  });

  it('batched products, float32 and float64, with operands that are offset subarray views', () => {
    const backend = createGpujsBackend({ mode });
    expectParity(backend, [3, 17, 33, 9], 300);
    expectParity(backend, [4, 5, 1200, 3], 301, 'float64');
    // views into larger buffers (what the engine passes for slices of a batch)
    const rng = new Rng(302);
    const big = Float32Array.from({ length: 1000 }, () => rng.uniform() * 2 - 1);
    const a = big.subarray(7, 7 + 2 * 4 * 6), b = big.subarray(300, 300 + 2 * 6 * 5);
    const outBuf = new Float32Array(100).fill(NaN), out = outBuf.subarray(11, 11 + 2 * 4 * 5);
    backend.matmul(a, b, out, 2, 4, 6, 5);
    const { ref, absSum } = reference(a, b, [2, 4, 6, 5]);
    out.forEach((v, i) => expect(Math.abs(v - ref[i]!)).toBeLessThanOrEqual(tolerance(6, absSum[i]!)));
    expect(Number.isNaN(outBuf[10]!) && Number.isNaN(outBuf[51]!)).toBe(true); // nothing written outside the view
  });

  it('float64 operands are computed in float32 and widened back into the float64 output', () => {
    const backend = createGpujsBackend({ mode });
    const a = Float64Array.of(1 + 2 ** -40, 3), b = Float64Array.of(1, 0);
    const out = new Float64Array(1);
    backend.matmul(a, b, out, 1, 1, 2, 1);
    expect(out[0]).toBe(1); // 1 + 2⁻⁴⁰ rounds to 1 in float32: the documented float32 accuracy
    expectParity(backend, [1, 30, 70, 20], 400, 'float64');
  });

  it('outputs larger than the max texture size are tiled (forced by a 16-texel override)', () => {
    const backend = createGpujsBackend({ mode, maxTextureSize: 16 });
    expectParity(backend, [2, 40, 23, 37], 500);
    // rows 16+16+8 × cols 16+16+5 → 4 distinct tile kernels, 9 launches per batch item
    expect(backend.stats()).toMatchObject({ compiled: 4, launches: 18, maxTextureSize: 16 });
    expectParity(backend, [1, 16, 1100, 1], 501); // exactly one tile, K > 1000
  });

  it('matmulAsync gives the same numbers as matmul (the path webgpu needs)', async () => {
    const backend = createGpujsBackend({ mode, maxTextureSize: 32 });
    const rng = new Rng(550);
    const a = Float32Array.from({ length: 2 * 40 * 19 }, () => rng.uniform() * 2 - 1);
    const b = Float32Array.from({ length: 2 * 19 * 45 }, () => rng.uniform() * 2 - 1);
    const sync = new Float32Array(2 * 40 * 45), async = new Float32Array(2 * 40 * 45).fill(NaN);
    backend.matmul(a, b, sync, 2, 40, 19, 45);
    await backend.matmulAsync(a, b, async, 2, 40, 19, 45);
    expect(async).toEqual(sync);
    expect(backend.stats().launches).toBe(16); // 2 batch × 2 row tiles × 2 col tiles, twice
  });

  it('empty products: K = 0 gives zeros, m = 0 or n = 0 writes nothing', () => {
    const backend = createGpujsBackend({ mode });
    const out = new Float32Array(6).fill(NaN);
    backend.matmul(new Float32Array(0), new Float32Array(0), out, 1, 2, 0, 3);
    expect([...out]).toEqual([0, 0, 0, 0, 0, 0]);
    backend.matmul(new Float32Array(0), new Float32Array(12), new Float32Array(0), 1, 0, 4, 3);
    expect(backend.stats().launches).toBe(0);
  });

  it('the engine matmul op and its gradients run on it and agree with the CPU kernel', () => {
    const rng = new Rng(600);
    for (const dtype of ['float32', 'float64'] as const) {
      const a = randn(rng, [2, 13, 21], 1, dtype), b = randn(rng, [21, 11], 1, dtype), w = randn(rng, [2, 13, 11], 1, dtype);
      const f = (p: { a: Tensor; b: Tensor }) => sum(mul(matmul(p.a, p.b), w));
      const cpu = valueAndGrad(f)({ a, b });
      const backend = createGpujsBackend({ mode });
      const gpu = withBackend(backend, () => valueAndGrad(f)({ a, b }));
      expect(backend.describe()).toBe(`gpujs:${mode}`);
      expect(gpu.grad.a.dtype).toBe(dtype);
      // three products ran on gpu.js: forward, dA = dY·Bᵀ (K = 11), dB = Aᵀ·dY (K = 26, one product of [21, 26]@[26, 11])
      expect(backend.stats().calls).toBe(3);
      const close = (x: Tensor, y: Tensor, k: number) => {
        const xs = x.toArray(), ys = y.toArray();
        xs.forEach((v, i) => expect(Math.abs(v - ys[i]!)).toBeLessThanOrEqual(tolerance(k, 40 * k) + 1e-12));
      };
      close(gpu.grad.a, cpu.grad.a, 11);
      close(gpu.grad.b, cpu.grad.b, 26);
      expect(Math.abs(gpu.value.item() - cpu.value.item())).toBeLessThanOrEqual(tolerance(21, 40 * 21) * 2 * 13 * 11);
    }
  });
});

describe('gpu.js backend selection and reporting', () => {
  it("useBackend('gpujs:<mode>') selects it and describe() reports the kernel class that ran", () => {
    expect(createGpujsBackend({ mode: 'webasm' }).describe()).toBe('gpujs:webasm (nothing has run yet)');
    const prev = useBackend('gpujs:webasm');
    expect(prev.name).toBe('cpu');
    expect(getBackend().name).toBe('gpujs:webasm');
    matmul(randn(new Rng(1), [4, 3]), randn(new Rng(2), [3, 2]));
    expect(getBackend().describe()).toBe('gpujs:webasm');
  });

  it("useBackend('gpujs') lets gpu.js choose and reports a fallback from GL with its reason", () => {
    useBackend('gpujs');
    matmul(randn(new Rng(1), [4, 3]), randn(new Rng(2), [3, 2]));
    const d = getBackend().describe();
    if (d.startsWith('gpujs:headlessgl') || d.startsWith('gpujs:webgl')) {
      expect(d).not.toMatch(/fell back/); // a display and `gl` are present (e.g. under xvfb-run)
    } else {
      expect(d).toMatch(/^gpujs:webasm \(fell back: gpu\.js found no WebGL context/);
    }
  });

  it('modes that cannot run here fail at selection with a ValueError that says why', async () => {
    expect(() => useBackend('gpujs:webgl2')).toThrow(ValueError);
    expect(() => useBackend('gpujs:webgl2')).toThrow(/gpujs:webgl2: gpu\.js mode 'webgl2' is not available here/);
    // (useBackend('gpujs:webgpu') runs on a worker thread in Node: gpujs-worker.test.ts)
    expect(() => createGpujsBackend({ mode: 'webgpu' })).toThrow(/createGpujsBackend: gpu.js mode 'webgpu' is asynchronous only.*asyncOnly: true/);
    const webgpu = createGpujsBackend({ mode: 'webgpu', asyncOnly: true });
    expect(() => webgpu.matmul(new Float32Array(1), new Float32Array(1), new Float32Array(1), 1, 1, 1, 1)).toThrow(/matmul: .*asynchronous only/);
    // no navigator.gpu in Node: the async path fails with gpu.js's reason rather than hanging
    await expect(webgpu.matmulAsync(new Float32Array(1), new Float32Array(1), new Float32Array(1), 1, 1, 1, 1)).rejects.toThrow(/'webgpu' is not available here/);
    expect(() => useBackend('gpujs:nonsense')).toThrow(/unknown backend 'gpujs:nonsense'.*gpujs:webasm/);
    expect(() => createGpujsBackend({ mode: 'metal' as never })).toThrow(/unknown gpu.js mode 'metal'/);
    expect(getBackend().name).toBe('cpu'); // a failed selection leaves the active backend alone
  });

  it("calibration times each candidate, records why others could not run, and 'auto' keeps the fastest", () => {
    const cal = calibrateBackends({ candidates: ['cpu', 'gpujs:webasm', 'gpujs:webgl2'], size: 64, force: true });
    expect(cal.entries.map((e) => e.name)).toEqual(['cpu', 'gpujs:webasm', 'gpujs:webgl2']);
    const ran = cal.entries.filter((e) => e.gflops !== null);
    expect(ran.map((e) => e.name)).toEqual(['cpu', 'gpujs:webasm']);
    expect(cal.entries[1]!.describe).toBe('gpujs:webasm');
    expect(cal.entries[2]!.error).toMatch(/webgl2/);
    const fastest = ran.reduce((x, y) => (y.gflops! > x.gflops! ? y : x));
    expect(cal.backend.name).toBe(fastest.name);

    // a fast but wrong backend is never kept
    registerBackend({ name: 'test:zeros', describe: () => 'test:zeros', matmul: (_a, _b, out) => { out.fill(0); } });
    const guarded = calibrateBackends({ candidates: ['cpu', 'test:zeros'], size: 32, force: true });
    expect(guarded.entries[1]!.error).toMatch(/wrong result/);
    expect(guarded.backend.name).toBe('cpu');

    useBackend('auto'); // full 256³ calibration over every candidate, once
    const auto = getCalibration()!;
    expect(auto.size).toBe(256);
    expect(getBackend()).toBe(auto.backend);
    const best = auto.entries.filter((e) => e.gflops !== null).reduce((x, y) => (y.gflops! > x.gflops! ? y : x));
    expect(getBackend().name).toBe(best.name);
    useBackend('auto');
    expect(getCalibration()).toBe(auto); // cached: calibrates once
  });

  it('accepts an injected GPU constructor (as the browser build passes window.GPU) and rejects non-gpu.js ones', () => {
    const lib = createRequire(import.meta.url)('gpu.js') as { GPU: GpujsConstructor; input: GpujsInputFn };
    const backend = createGpujsBackend({ mode: 'webasm', GPU: lib.GPU, input: lib.input, name: 'gpujs:injected' });
    expect(backend.name).toBe('gpujs:injected');
    expectParity(backend, [1, 9, 8, 7], 700);
    expect(backend.kernelClass).toBe('WebAssemblyKernel');
    const notGpujs = function NotGpujs() { /* e.g. the native WebGPU `GPU` interface */ } as unknown as GpujsConstructor;
    expect(() => createGpujsBackend({ GPU: notGpujs }).init()).toThrow(/not gpu\.js/);
  });

  it('dispose() frees the kernels; the backend rebuilds them when used again', () => {
    const backend = createGpujsBackend({ mode: 'webasm' });
    expectParity(backend, [1, 8, 8, 8], 800);
    backend.dispose();
    expect(backend.stats().cached).toBe(0);
    expectParity(backend, [1, 8, 8, 8], 801);
    expect(backend.stats().compiled).toBe(2);
  });
});

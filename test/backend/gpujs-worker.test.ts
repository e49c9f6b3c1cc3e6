/**
 * gpu.js on a Node worker thread behind the synchronous matmul (how `gpujs:webgpu` runs in Node).
 * The bridge (SharedArrayBuffer + Atomics.wait + receiveMessageOnPort) is tested with the worker running
 * gpu.js `webasm`, which works everywhere; `gpujs:webgpu` itself needs a WebGPU adapter (a GPU and
 * webgpu's Dawn build, glibc ≥ 2.38): where there is none, selecting it must fail with the reason.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  Rng, ValueError, createGpujsWorkerBackend, getBackend, matmul, mul, randn, sum, useBackend, valueAndGrad, withBackend,
  type Tensor,
} from '../../engine/index.js';
import { expectParity, tolerance, type Shape3 } from './gpujs-parity.js';

afterEach(() => { useBackend('cpu'); });

describe('gpu.js worker-thread backend', () => {
  const backend = createGpujsWorkerBackend({ mode: 'webasm', name: 'gpujs:webasm-worker' });

  it('odd shapes, K > 1000, growing shapes and batches match the float64 reference; describe() names the class', () => {
    const shapes: Shape3[] = [[1, 1, 1, 1], [1, 129, 1, 257], [1, 37, 91, 53], [1, 3, 1500, 5], [1, 37, 64, 53], [1, 100, 64, 130], [1, 37, 64, 53], [3, 17, 33, 9]];
    shapes.forEach((s, i) => expectParity(backend, s, 2000 + i));
    expectParity(backend, [2, 5, 1200, 3], 2100, 'float64');
    expect(backend.kernelClass).toBe('WebAssemblyKernel');
    expect(backend.describe()).toBe('gpujs:webasm');
    expect(backend.fallbackReason).toBeNull();
    expect(backend.stats()).toMatchObject({ compiled: 8, calls: 9 });
  });

  it('the engine matmul op and its gradients run through the worker', () => {
    const rng = new Rng(2200);
    const a = randn(rng, [2, 13, 21], 1, 'float32'), b = randn(rng, [21, 11], 1, 'float32'), w = randn(rng, [2, 13, 11], 1, 'float32');
    const f = (p: { a: Tensor; b: Tensor }) => sum(mul(matmul(p.a, p.b), w));
    const cpu = valueAndGrad(f)({ a, b });
    const before = backend.stats().calls;
    const viaWorker = withBackend(backend, () => valueAndGrad(f)({ a, b }));
    expect(backend.stats().calls - before).toBe(3);
    for (const [x, y, k] of [[viaWorker.grad.a, cpu.grad.a, 11], [viaWorker.grad.b, cpu.grad.b, 26]] as const) {
      const ys = y.toArray();
      x.toArray().forEach((v, i) => expect(Math.abs(v - ys[i]!)).toBeLessThanOrEqual(tolerance(k, 40 * k)));
    }
  });

  it('dispose() stops the worker; the next product starts a fresh one', () => {
    backend.dispose();
    expect(backend.describe()).toMatch(/nothing has run yet/);
    expectParity(backend, [1, 8, 9, 10], 2300);
    expect(backend.describe()).toBe('gpujs:webasm');
    backend.dispose();
  });

  it('a worker-side failure comes back as a ValueError naming the backend and mode', () => {
    expect(() => createGpujsWorkerBackend({ mode: 'webgl2' as never })).toThrow(/mode must be 'webgpu', 'webasm' or 'cpu'/);
    const webgpu = createGpujsWorkerBackend({ mode: 'webgpu', name: 'gpujs:webgpu-probe' });
    let ran: string;
    try {
      webgpu.init();
      ran = webgpu.describe();
    } catch (e) {
      expect(e).toBeInstanceOf(ValueError);
      ran = (e as Error).message;
      expect(ran).toMatch(/^gpujs:webgpu-probe: gpu\.js mode 'webgpu' is not available here: ./);
    } finally {
      webgpu.dispose();
    }
    console.log(`[gpujs-worker] webgpu here: ${ran}`);
  });

  it("useBackend('gpujs:webgpu') either runs WebGPUKernel or fails at selection, leaving the backend alone", () => {
    let selected = false;
    try { useBackend('gpujs:webgpu'); selected = true; } catch (e) { expect((e as Error).message).toMatch(/webgpu/); }
    if (selected) {
      expectParity(getBackend(), [1, 64, 1100, 48], 2400);
      expect(getBackend().describe()).toBe('gpujs:webgpu');
    } else {
      expect(getBackend().name).toBe('cpu');
    }
  });
});

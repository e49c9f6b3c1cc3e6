/**
 * The GLSL code path of the gpu.js backend, through headless-gl (Mesa llvmpipe under Xvfb in CI).
 *
 * - MOEGRAD_REQUIRE_HEADLESSGL=1 (set by scripts/ci-headlessgl.sh): every test runs and must run on
 *   HeadlessGLKernel; if headless-gl cannot start, the tests FAIL with the reason.
 * - Otherwise the tests run when headless-gl works here (e.g. `xvfb-run -a npx vitest run ...` with `gl`
 *   installed) and are skipped with the reason printed when it does not.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  Rng, calibrateBackends, createGpujsBackend, getBackend, matmul, mul, randn, sum, useBackend, valueAndGrad,
  withBackend, type Tensor,
} from '../../engine/index.js';
import { expectParity, tolerance, type Shape3 } from './gpujs-parity.js';

const REQUIRED = process.env.MOEGRAD_REQUIRE_HEADLESSGL === '1';

function unavailableReason(): string | null {
  try {
    createGpujsBackend({ mode: 'headlessgl' }).init();
    return null;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

const reason = unavailableReason();
const skip = reason !== null && !REQUIRED;
if (skip) {
  console.log(`[gpujs-headlessgl] SKIPPED (set MOEGRAD_REQUIRE_HEADLESSGL=1 to make this a failure): ${reason}`);
}

afterEach(() => { useBackend('cpu'); });

function glBackend(maxTextureSize?: number) {
  if (reason !== null) throw new Error(`MOEGRAD_REQUIRE_HEADLESSGL=1 but headless-gl cannot run: ${reason}`);
  return createGpujsBackend(maxTextureSize === undefined ? { mode: 'headlessgl' } : { mode: 'headlessgl', maxTextureSize });
}

function expectRanHeadlessGL(backend: ReturnType<typeof glBackend>): void {
  expect(backend.kernelClass).toBe('HeadlessGLKernel');
  expect(backend.describe()).toBe('gpujs:headlessgl');
  expect(backend.fallbackReason).toBeNull();
}

describe.skipIf(skip)(`gpu.js headless-gl (GLSL) path${skip ? ` — skipped: ${reason}` : ''}`, () => {
  it('small, odd and non-square shapes and K > 1000 match the float64 reference on HeadlessGLKernel', () => {
    const backend = glBackend();
    const shapes: Shape3[] = [[1, 1, 1, 1], [1, 1, 300, 1], [1, 129, 1, 257], [1, 37, 91, 53], [1, 64, 64, 64], [1, 3, 1500, 5], [1, 256, 256, 256]];
    shapes.forEach((s, i) => expectParity(backend, s, 1000 + i));
    expectRanHeadlessGL(backend);
    const maxTex = backend.stats().maxTextureSize;
    expect(Number.isFinite(maxTex) && maxTex >= 1024).toBe(true); // the GL MAX_TEXTURE_SIZE was detected
  });

  it('growing and revisited shapes get their own kernels (a resized GL kernel returns stale results)', () => {
    const backend = glBackend();
    const shapes: Shape3[] = [[1, 37, 64, 53], [1, 64, 64, 64], [1, 256, 64, 256], [1, 37, 64, 53], [1, 128, 64, 128]];
    shapes.forEach((s, i) => expectParity(backend, s, 1100 + i));
    expect(backend.stats()).toMatchObject({ compiled: 4, calls: 5 });
    expectRanHeadlessGL(backend);
  });

  it('batched float32 and float64 products', () => {
    const backend = glBackend();
    expectParity(backend, [3, 17, 33, 9], 1200);
    expectParity(backend, [2, 5, 1200, 3], 1201, 'float64');
    expectRanHeadlessGL(backend);
  });

  it('tiles outputs over the real MAX_TEXTURE_SIZE and over a forced 16-texel limit', () => {
    const real = glBackend();
    real.init(); // creates the GPU instance, which reads MAX_TEXTURE_SIZE
    const maxTex = real.stats().maxTextureSize;
    expect(maxTex).toBeGreaterThan(0);
    // n = maxTex + 7 columns: one GL output of that width would throw "Texture size … larger than supported"
    expectParity(real, [1, 2, 3, maxTex + 7], 1300);
    expect(real.stats()).toMatchObject({ compiled: 2, launches: 2 });
    const forced = glBackend(16);
    expectParity(forced, [2, 40, 23, 37], 1301);
    expect(forced.stats()).toMatchObject({ compiled: 4, launches: 18, maxTextureSize: 16 });
    expectRanHeadlessGL(forced);
  });

  it('the engine matmul op and its gradients run on HeadlessGLKernel and agree with the CPU kernel', () => {
    const rng = new Rng(1400);
    const a = randn(rng, [2, 13, 21], 1, 'float32'), b = randn(rng, [21, 11], 1, 'float32'), w = randn(rng, [2, 13, 11], 1, 'float32');
    const f = (p: { a: Tensor; b: Tensor }) => sum(mul(matmul(p.a, p.b), w));
    const cpu = valueAndGrad(f)({ a, b });
    const backend = glBackend();
    const gl = withBackend(backend, () => valueAndGrad(f)({ a, b }));
    expectRanHeadlessGL(backend);
    expect(backend.stats().calls).toBe(3);
    for (const [x, y, k] of [[gl.grad.a, cpu.grad.a, 11], [gl.grad.b, cpu.grad.b, 26]] as const) {
      const ys = y.toArray();
      x.toArray().forEach((v, i) => expect(Math.abs(v - ys[i]!)).toBeLessThanOrEqual(tolerance(k, 40 * k)));
    }
  });

  it("useBackend('gpujs') picks headless-gl with no fallback, and auto calibration times it", () => {
    useBackend('gpujs');
    matmul(randn(new Rng(1), [8, 3], 1, 'float32'), randn(new Rng(2), [3, 5], 1, 'float32'));
    expect(getBackend().describe()).toBe('gpujs:headlessgl');
    const cal = calibrateBackends({ candidates: ['cpu', 'gpujs:headlessgl', 'gpujs:webasm'], size: 128, force: true });
    console.log('[gpujs-headlessgl] calibration 128³:', cal.entries.map((e) => `${e.name}=${e.gflops?.toFixed(2) ?? e.error} GFLOP/s`).join(', '));
    const entry = cal.entries.find((e) => e.name === 'gpujs:headlessgl')!;
    expect(entry.describe).toBe('gpujs:headlessgl');
    expect(entry.gflops).toBeGreaterThan(0);
  });
});

/**
 * The gpu.js backend in a real browser: Debian's headless Chromium (WebGL through SwiftShader), driven by
 * playwright-core, with gpu.js's minified browser build injected as `window.GPU` — the way the browser
 * build and the playground use it. Checks WebGL2 (with forced tiling), WebGL1, gpu.js's own pick, webasm
 * and cpu against a float64 reference, and the kernel class that ran.
 * Skipped, with the reason printed, when Chromium is not installed (CHROMIUM_PATH, default /usr/bin/chromium).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const GPU_BROWSER = `${ROOT}node_modules/gpu.js/dist/gpu-browser.min.js`;
const reason = !existsSync(CHROMIUM) ? `no Chromium at ${CHROMIUM}` : !existsSync(GPU_BROWSER) ? `no ${GPU_BROWSER}` : null;
if (reason) console.log(`[gpujs-browser] SKIPPED: ${reason}`);

interface ModeResult { mode: string; describe: string; kernelClass: string | null; worst: number; compiled: number; maxTextureSize: number | null }

describe.skipIf(reason !== null)(`gpu.js backend in headless Chromium${reason ? ` — skipped: ${reason}` : ''}`, () => {
  it('WebGL2 (tiled), WebGL1, gpu.js default, webasm and cpu match float64 and report the kernel class', async () => {
    const { build } = await import('esbuild');
    const { chromium } = await import('playwright-core');
    const bundle = await build({ entryPoints: [`${ROOT}engine/index.ts`], bundle: true, platform: 'browser', format: 'iife', globalName: 'moegrad', write: false, logLevel: 'silent' });
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu'] });
    try {
      const page = await browser.newPage();
      await page.setContent('<!doctype html><html><body></body></html>');
      await page.addScriptTag({ path: GPU_BROWSER });
      await page.addScriptTag({ content: bundle.outputFiles[0]!.text });
      const results = await page.evaluate(() => {
        const w = window as unknown as { moegrad: typeof import('../../engine/index.js'); GPU: import('../../engine/index.js').GpujsConstructor };
        const m = w.moegrad;
        const M = 40, K = 1100, N = 37; // K > 1000; 40×37 output is tiled 16×16 when maxTextureSize is 16
        const rng = new m.Rng(11);
        const a = Float32Array.from({ length: M * K }, () => rng.uniform() * 2 - 1);
        const b = Float32Array.from({ length: K * N }, () => rng.uniform() * 2 - 1);
        const out: ModeResult[] = [];
        for (const mode of ['webgl2', 'webgl', 'gpu', 'webasm', 'cpu'] as const) {
          const backend = m.createGpujsBackend({ mode, GPU: w.GPU, ...(mode === 'webgl2' ? { maxTextureSize: 16 } : {}) });
          const c = new Float32Array(M * N);
          backend.matmul(a, b, c, 1, M, K, N);
          let worst = 0;
          for (let i = 0; i < M; i++) {
            for (let j = 0; j < N; j++) {
              let s = 0, s1 = 0;
              for (let p = 0; p < K; p++) { const x = a[i * K + p]! * b[p * N + j]!; s += x; s1 += Math.abs(x); }
              worst = Math.max(worst, Math.abs(c[i * N + j]! - s) / (1.05 * (K + 3) * 2 ** -24 * s1));
            }
          }
          const st = backend.stats();
          out.push({ mode, describe: backend.describe(), kernelClass: backend.kernelClass, worst, compiled: st.compiled, maxTextureSize: Number.isFinite(st.maxTextureSize) ? st.maxTextureSize : null });
        }
        return out;
      });
      console.log(results.map((r) => `[gpujs-browser] ${r.mode}: ${r.describe} (${r.kernelClass}), worst/bound ${r.worst.toExponential(2)}, maxTextureSize ${r.maxTextureSize}`).join('\n'));
      const by = Object.fromEntries(results.map((r) => [r.mode, r]));
      for (const r of results) expect(r.worst, r.mode).toBeLessThanOrEqual(1);
      expect(by.webgl2).toMatchObject({ describe: 'gpujs:webgl2', kernelClass: 'WebGL2Kernel', compiled: 4, maxTextureSize: 16 });
      expect(by.webgl).toMatchObject({ describe: 'gpujs:webgl', kernelClass: 'WebGLKernel', compiled: 1 });
      expect(by.webgl!.maxTextureSize).toBeGreaterThanOrEqual(4096); // detected from the GL context
      expect(by.gpu).toMatchObject({ describe: 'gpujs:webgl2', kernelClass: 'WebGL2Kernel' }); // gpu.js's own pick, no fallback
      expect(by.webasm).toMatchObject({ describe: 'gpujs:webasm', kernelClass: 'WebAssemblyKernel' });
      expect(by.cpu).toMatchObject({ describe: 'gpujs:cpu', kernelClass: 'CPUKernel' });
    } finally {
      await browser.close();
    }
  });
});

/**
 * The CPU backend in a real browser: engine/backend/cpu.ts bundled for the browser (no node:
 * imports may survive), run in Debian's headless Chromium (no cross-origin isolation, so no
 * SharedArrayBuffer: single-thread WebAssembly SIMD), compared with the pure-JS path.
 * Skipped with the reason when /usr/bin/chromium is absent.
 */
import { describe, it, expect } from 'vitest';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { chromium } from 'playwright-core';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const backendEntry = fileURLToPath(new URL('../../engine/backend/cpu.ts', import.meta.url));

// runs in the page: the bundle exposes the module as `cpuMod`
const PAGE_CHECK = `(() => {
  const { cpuBackend, createCpuBackend } = cpuMod;
  const js = createCpuBackend({ mode: 'js' });
  const rows = [];
  for (const T of [Float32Array, Float64Array]) {
    const m = 70, k = 300, n = 45;
    const a = new T(m * k).map((_, i) => Math.sin(i)), b = new T(k * n).map((_, i) => Math.cos(i));
    const o1 = new T(m * n), o2 = new T(m * n);
    cpuBackend.matmul(a, b, o1, 1, m, k, n); js.matmul(a, b, o2, 1, m, k, n);
    let err = 0, scale = 0;
    o1.forEach((v, i) => { err = Math.max(err, Math.abs(v - o2[i])); scale = Math.max(scale, Math.abs(o2[i])); });
    rows.push({ dtype: T.name, path: cpuBackend.describe(), err, scale });
  }
  return rows;
})()`;

describe.skipIf(!existsSync(CHROMIUM))(`cpu backend in headless Chromium (${CHROMIUM})`, () => {
  it('bundles without node: imports and runs wasm SIMD single-threaded, matching the JS path', async () => {
    const out = await build({ entryPoints: [backendEntry], bundle: true, platform: 'browser', format: 'iife', globalName: 'cpuMod', write: false, logLevel: 'error' });
    const code = out.outputFiles[0]!.text;
    // node builtins may appear only inside strings / guarded getBuiltinModule calls, never as imports
    expect(code).not.toMatch(/\bimport\s*\(?\s*['"]node:/);
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu'] });
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      await page.setContent('<html><body></body></html>');
      await page.addScriptTag({ content: code });
      const rows = (await page.evaluate(PAGE_CHECK)) as { dtype: string; path: string; err: number; scale: number }[];
      expect(errors).toEqual([]);
      for (const r of rows) {
        // Chromium has relaxed SIMD natively, so float32 uses FMA by default; float64 never does by default
        if (r.dtype === 'Float32Array') expect(r.path).toMatch(/^cpu:wasm-simd(-fma)?-f32x4$/);
        else expect(r.path).toBe('cpu:wasm-simd-f64x2');
        // float64: bit-identical to JS (same k order, no FMA); float32: K-scaled rounding bound, k = 300
        if (r.dtype === 'Float64Array') expect(r.err).toBe(0);
        else expect(r.err).toBeLessThanOrEqual(302 * 2 ** -24 * 300);
      }
    } finally {
      await browser.close();
    }
  }, 60_000);
});

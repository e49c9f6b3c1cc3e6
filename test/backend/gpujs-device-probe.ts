/**
 * Manual probe, NOT a unit test (vitest only runs *.test.ts): does gpu.js, through moegrad's gpujs backend,
 * run on a real GPU? Used once on an NVIDIA H100 machine without internet (see the report in issue #4):
 *
 *   npx esbuild test/backend/gpujs-device-probe.ts --bundle --platform=node --format=esm \
 *     --external:gpu.js --external:webgpu --outfile=.gpurun/run.mjs
 *   # carry .gpurun/ with: node (xz), node_modules/{gpu.js,acorn,gpu-mock.js,webgpu} (linux-x64 dawn.node only),
 *   # and Debian's libvulkan1 deb; there: dpkg -x the deb to /, ldconfig,
 *   # VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json XDG_RUNTIME_DIR=/tmp node run.mjs
 *
 * Path: gpu.js mode 'webgpu' → webgpu@0.2.9 (Dawn, needs glibc ≥ 2.38) → Vulkan → the NVIDIA driver.
 * It times matmulAsync for n = 256…4096 (checked against the CPU kernel for n ≤ 1024) and prints describe().
 */
import { createGpujsBackend, f32MatmulErrorBound, getBackend, Rng } from '../../engine/index.js';

const log = (...a: unknown[]) => console.log(...a);
const t0 = performance.now();
const el = () => ((performance.now() - t0) / 1000).toFixed(1) + 's';

function rand(n: number, seed: number): Float32Array { const r = new Rng(seed); return Float32Array.from({ length: n }, () => r.uniform() * 2 - 1); }

async function bench(label: string, run: (a: Float32Array, b: Float32Array, o: Float32Array, n: number) => Promise<void> | void, describe: () => string, sizes: number[], checkUpTo: number) {
  for (const n of sizes) {
    const a = rand(n * n, 1), b = rand(n * n, 2), o = new Float32Array(n * n);
    const tc = performance.now();
    await run(a, b, o, n);
    const first = performance.now() - tc;
    let check = 'unchecked';
    if (n <= checkUpTo) {
      const ref = new Float32Array(n * n); getBackend().matmul(a, b, ref, 1, n, n, n);
      const bound = f32MatmulErrorBound(a, b, 1, n, n, n);
      let worst = 0; for (let i = 0; i < o.length; i++) worst = Math.max(worst, Math.abs(o[i]! - ref[i]!) / (2 * bound[i]!));
      check = worst <= 1 ? `ok (worst ${worst.toExponential(2)} of the 2x f32 bound)` : `WRONG (worst ${worst.toExponential(2)})`;
    }
    const reps = n >= 2048 ? 3 : 5, ts: number[] = [];
    for (let r = 0; r < reps; r++) { const s = performance.now(); await run(a, b, o, n); ts.push(performance.now() - s); }
    ts.sort((x, y) => x - y);
    const med = ts[reps >> 1]!;
    log(`[${el()}] ${label} n=${n}: first ${first.toFixed(1)} ms, median ${med.toFixed(2)} ms, ${(2 * n ** 3 / med / 1e6).toFixed(2)} GFLOP/s, ${check}; describe(): ${describe()}`);
  }
}

async function main() {
  log(`node ${process.version}, cpu backend: ${getBackend().describe()}`);
  // WebGPU (Dawn) → Vulkan on the NVIDIA driver
  let gpuOk = false;
  try {
    const webgpu = await import('webgpu') as { create: (o: string[]) => unknown; globals: object };
    Object.assign(globalThis, webgpu.globals);
    for (const [opts, extra] of [[[], {}], [['backend=vulkan'], {}], [['backend=opengles'], { featureLevel: 'compatibility' }], [['backend=opengl'], { featureLevel: 'compatibility' }]] as const) {
      const gpu = webgpu.create([...opts]) as { requestAdapter(o?: object): Promise<any> };
      const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance', ...extra });
      const info = adapter ? (adapter.info ?? (adapter.requestAdapterInfo ? await adapter.requestAdapterInfo() : {})) : null;
      log(`[${el()}] webgpu.create(${JSON.stringify(opts)}) adapter:`, info ? JSON.stringify({ vendor: info.vendor, architecture: info.architecture, device: info.device, description: info.description }) : null);
      if (adapter) {
        // Probe-only shim: webgpu@0.2.9 (Dawn) refuses a plain function for device.onuncapturederror, which
        // gpu.js assigns; route it to addEventListener instead.
        const patchDevice = (dev: any) => {
          try {
            Object.defineProperty(dev, 'onuncapturederror', { configurable: true, get: () => null, set: (fn: any) => { try { dev.addEventListener?.('uncapturederror', fn); } catch { /* ignore */ } } });
          } catch (e) { log('device shim failed:', (e as Error).message); }
          return dev;
        };
        const requestAdapter = async (o?: object) => {
          const ad = await gpu.requestAdapter({ powerPreference: 'high-performance', ...extra, ...(o ?? {}) });
          if (!ad) return ad;
          const orig = ad.requestDevice.bind(ad);
          try { ad.requestDevice = async (d?: object) => patchDevice(await orig(d)); }
          catch { return new Proxy(ad, { get: (t, p) => (p === 'requestDevice' ? async (d?: object) => patchDevice(await orig(d)) : (typeof t[p] === 'function' ? t[p].bind(t) : t[p])) }); }
          return ad;
        };
        (globalThis as any).navigator = { gpu: { requestAdapter, getPreferredCanvasFormat: () => 'rgba8unorm' } };
        gpuOk = true; break;
      }
    }
  } catch (e) { log('webgpu load failed:', (e as Error).message); }
  if (gpuOk) {
    try {
      const wg = createGpujsBackend({ mode: 'webgpu', asyncOnly: true });
      await bench('gpujs:webgpu (matmulAsync)', (a, b, o, n) => wg.matmulAsync(a, b, o, 1, n, n, n), () => wg.describe(), [256, 512, 1024, 2048, 4096], 1024);
      log('stats', JSON.stringify(wg.stats()));
    } catch (e) { log('gpujs webgpu failed:', (e as Error).stack); }
  }
  for (const mode of ['gpu', 'webasm'] as const) {
    try {
      const bk = createGpujsBackend({ mode });
      await bench(`gpujs mode '${mode}' (sync)`, (a, b, o, n) => bk.matmul(a, b, o, 1, n, n, n), () => bk.describe(), [256, 512], 512);
    } catch (e) { log(`gpujs ${mode} failed:`, (e as Error).message); }
  }
  await bench('moegrad cpu', (a, b, o, n) => getBackend().matmul(a, b, o, 1, n, n, n), () => getBackend().describe(), [256, 512, 1024], 0);
  log(`[${el()}] done`);
  process.exit(0);
}
main();

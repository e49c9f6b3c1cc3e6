/**
 * Manual probe, NOT a unit test (vitest only runs *.test.ts): does gpu.js, through moegrad's gpujs backends,
 * run on a real GPU? Used on an NVIDIA H100 machine without internet (see the report in issue #4):
 *
 *   npx esbuild test/backend/gpujs-device-probe.ts --bundle --platform=node --format=esm \
 *     --external:gpu.js --external:webgpu --outfile=.gpurun/run.mjs
 *   # carry .gpurun/ with: node (xz), node_modules/{gpu.js,acorn,gpu-mock.js,webgpu} (linux-x64 dawn.node only),
 *   # and Debian's libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2 debs; there: dpkg -x them
 *   # all to / (the NVIDIA Vulkan ICD, libGLX_nvidia, needs glvnd's libGLdispatch: with libvulkan1 alone the
 *   # loader says "Could not get 'vkCreateInstance'"), ldconfig, then
 *   # VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json XDG_RUNTIME_DIR=/tmp \
 *   #   LD_LIBRARY_PATH=/usr/local/nvidia/lib64 node run.mjs
 *
 * Path: useBackend('gpujs:webgpu') → gpu.js on a worker thread → webgpu@0.2.9 (Dawn, glibc ≥ 2.38) → Vulkan
 * → the NVIDIA driver. Times the synchronous matmul for n = 256…4096 (checked against the CPU kernel for
 * n ≤ 1024), the engine matmul op with gradients, and `auto`; prints describe() throughout.
 */
import {
  Rng, f32MatmulErrorBound, getBackend, getCalibration, matmul, mul, randn, sum, useBackend, valueAndGrad, withBackend,
  type MatmulBackend, type Tensor,
} from '../../engine/index.js';

const log = (...a: unknown[]) => console.log(...a);
const t0 = performance.now();
const el = () => ((performance.now() - t0) / 1000).toFixed(1) + 's';

function rand(n: number, seed: number): Float32Array { const r = new Rng(seed); return Float32Array.from({ length: n }, () => r.uniform() * 2 - 1); }

function bench(backend: MatmulBackend, sizes: number[], checkUpTo: number, cpu: MatmulBackend): void {
  for (const n of sizes) {
    const a = rand(n * n, 1), b = rand(n * n, 2), o = new Float32Array(n * n);
    const tc = performance.now();
    backend.matmul(a, b, o, 1, n, n, n);
    const first = performance.now() - tc;
    let check = 'unchecked';
    if (n <= checkUpTo) {
      const ref = new Float32Array(n * n); cpu.matmul(a, b, ref, 1, n, n, n);
      const bound = f32MatmulErrorBound(a, b, 1, n, n, n);
      let worst = 0; for (let i = 0; i < o.length; i++) worst = Math.max(worst, Math.abs(o[i]! - ref[i]!) / (2 * bound[i]!));
      check = worst <= 1 ? `ok (worst ${worst.toExponential(2)} of the 2x f32 bound)` : `WRONG (worst ${worst.toExponential(2)})`;
    }
    const reps = n >= 2048 ? 3 : 5, ts: number[] = [];
    for (let r = 0; r < reps; r++) { const s = performance.now(); backend.matmul(a, b, o, 1, n, n, n); ts.push(performance.now() - s); }
    ts.sort((x, y) => x - y);
    const med = ts[reps >> 1]!;
    log(`[${el()}] ${backend.name} n=${n}: first ${first.toFixed(1)} ms, median ${med.toFixed(2)} ms, ${(2 * n ** 3 / med / 1e6).toFixed(2)} GFLOP/s, ${check}; describe(): ${backend.describe()}`);
  }
}

const cpu = getBackend();
log(`node ${process.version}, default backend: ${cpu.name} → ${cpu.describe()}`);
try {
  useBackend('gpujs:webgpu');
  const gpu = getBackend();
  log(`[${el()}] useBackend('gpujs:webgpu') ok: ${gpu.describe()}`);
  bench(gpu, [256, 512, 1024, 2048, 4096], 1024, cpu);
  // the engine op with gradients on the GPU vs the CPU kernel
  const rng = new Rng(3);
  const a = randn(rng, [4, 512, 1024], 1, 'float32'), b = randn(rng, [1024, 768], 1, 'float32'), w = randn(rng, [4, 512, 768], 1, 'float32');
  const f = (p: { a: Tensor; b: Tensor }) => sum(mul(matmul(p.a, p.b), w));
  const tg = performance.now();
  const onGpu = withBackend(gpu, () => valueAndGrad(f)({ a, b }));
  const tGpu = performance.now() - tg;
  const tc = performance.now();
  const onCpu = withBackend(cpu, () => valueAndGrad(f)({ a, b }));
  const tCpu = performance.now() - tc;
  const da = onGpu.grad.a.toArray(), dc = onCpu.grad.a.toArray();
  let rel = 0; for (let i = 0; i < da.length; i++) rel = Math.max(rel, Math.abs(da[i]! - dc[i]!) / (Math.abs(dc[i]!) + 1));
  log(`[${el()}] engine value+grad of sum(matmul([4,512,1024],[1024,768])·w): gpu ${tGpu.toFixed(0)} ms vs cpu ${tCpu.toFixed(0)} ms, max |ΔdA|/(|dA|+1) ${rel.toExponential(2)}; describe(): ${gpu.describe()}`);
} catch (e) { log(`[${el()}] gpujs:webgpu failed:`, (e as Error).message); }
useBackend('cpu');
for (const name of ['gpujs', 'gpujs:webasm']) {
  try { useBackend(name); bench(getBackend(), [256, 512], 512, cpu); } catch (e) { log(`${name} failed:`, (e as Error).message); }
}
useBackend('cpu');
bench(cpu, [256, 512, 1024, 2048], 0, cpu);
const ta = performance.now();
useBackend('auto');
log(`[${el()}] auto (${(performance.now() - ta).toFixed(0)} ms) → ${getBackend().name}: ${getBackend().describe()}`);
for (const e of getCalibration()!.entries) log(`  ${e.name}: ${e.gflops === null ? `n/a (${e.error})` : `${e.gflops.toFixed(2)} GFLOP/s`} — ${e.describe}`);
log(`[${el()}] done`);
process.exit(0);

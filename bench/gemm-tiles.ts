/**
 * Micro-bench for the GEMM micro-kernel shape: GFLOP/s of `WasmGemm.matmul` (n×n×n, 1 thread,
 * copies and packing included) for several kernel configs, interleaved in one process, best of
 * `reps` rounds (on a shared machine the least disturbed run), next to the FMA ceiling loop.
 * `npx tsx bench/gemm-tiles.ts [n | m,k,n] [reps] [dtype]`; configs as JSON lines in GEMM_CONFIGS override the list,
 * GEMM_FMA=0 measures mul + add (kernels and ceiling loop).
 */
import { WasmGemm, wasmRelaxedFmaSupported } from '../engine/backend/cpu-wasm.js';
import { DEFAULT_GEMM_CONFIG, type GemmConfig } from '../engine/backend/wasm/gemm-kernel.js';
import { ceilingPeak } from './ceiling.js';
import { loadAverage } from './timing.js';

const [m, k, n] = (process.argv[2] ?? '512').split(',').map(Number).concat([0, 0]).map((x, i, xs) => (i > 0 && !x ? xs[0]! : x)) as [number, number, number];
const reps = Number(process.argv[3] ?? 15), dtype = process.argv[4] ?? 'float32';
const isF64 = dtype === 'float64';
const fma = wasmRelaxedFmaSupported() && process.env.GEMM_FMA !== '0';
const variants: [string, Partial<GemmConfig>][] = process.env.GEMM_CONFIGS
  ? process.env.GEMM_CONFIGS.split('\n').filter(Boolean).map((l) => [l, JSON.parse(l) as Partial<GemmConfig>])
  : [['default', {}]];
const load0 = loadAverage();
const T = isF64 ? Float64Array : Float32Array;
const a = new T(m * k).map((_, i) => Math.sin(i)), b = new T(k * n).map((_, i) => Math.cos(i));
const ref = new T(m * n);
const runs: [string, () => void, number][] = [];
const peak = ceilingPeak(isF64, fma), iters = 20_000_000;
runs.push(['ceiling', () => peak.run(iters), peak.flops(iters)]);
variants.forEach(([label, over], vi) => {
  const g = new WasmGemm({ ...DEFAULT_GEMM_CONFIG, fma, ...over });
  const c = new T(m * n);
  g.matmul(a, b, c, 1, m, k, n, 1);
  if (vi === 0) ref.set(c);
  let maxDiff = 0;
  for (let i = 0; i < c.length; i++) maxDiff = Math.max(maxDiff, Math.abs(c[i]! - ref[i]!));
  process.stderr.write(`${label}: max |diff| vs first ${maxDiff}\n`);
  runs.push([label, () => g.matmul(a, b, c, 1, m, k, n, 1), 2 * m * k * n]);
});
const best = new Map<string, number>();
for (let r = -2; r < reps; r++) {
  for (const [label, fn] of runs) {
    const t = performance.now(); fn(); const ms = performance.now() - t;
    if (r >= 0) best.set(label, Math.min(best.get(label) ?? Infinity, ms));
  }
}
const ceil = peak.flops(iters) / (best.get('ceiling')! * 1e6);
for (const [label, , flops] of runs) {
  const gf = flops / (best.get(label)! * 1e6);
  console.log(`${dtype} ${m}×${k}×${n} ${label.padEnd(60)} ${gf.toFixed(1).padStart(6)} GFLOP/s  ${((100 * gf) / ceil).toFixed(0).padStart(3)} % of the ${fma ? 'FMA' : 'mul + add'} ceiling`);
}
console.log(`load ${load0.toFixed(2)} → ${loadAverage().toFixed(2)}, best of ${reps}`);
process.exit(0);

/**
 * The WebAssembly SIMD ceiling of this machine, and the GEMM's share of it: a register-only loop
 * that keeps ACC independent v128 accumulators busy (acc_i = acc_i + a·b_i, as mul + add or as one
 * relaxed fused multiply-add), so it is bound by the FP ports alone — no loads, no stores. The
 * GEMM micro-kernel does the same arithmetic plus loads, so "GEMM at X % of the ceiling" says how
 * much of the machine wasm can reach the kernel really uses.
 *   flops per call = iters · ACC · lanes · 2
 * `npx tsx bench/ceiling.ts` prints the table; bench/run.ts embeds it in RESULTS.md.
 */
import { FuncBuilder, assemble, I32, V128, Op, Simd } from '../engine/backend/wasm/emit.js';
import { WasmGemm, wasmRelaxedFmaSupported } from '../engine/backend/cpu-wasm.js';
import { DEFAULT_GEMM_CONFIG } from '../engine/backend/wasm/gemm-kernel.js';
import { gemmKernelAlone } from './gemm-kernel-alone.js';
import { loadAverage } from './timing.js';

/** Independent accumulators: enough to hide the add (or FMA) latency on 2 ports, and with a, b and a temporary still within x64's 16 vector registers (more spill). */
const ACC = 10;

/** peak(iters): ACC accumulators, each iteration does acc_i += a·b_i (mul + add, or madd). */
function ceilingModule(isF64: boolean, fma: boolean, accs = ACC): Uint8Array {
  const f = new FuncBuilder([I32], []);
  const acc = Array.from({ length: accs }, () => f.local(V128));
  const a = f.local(V128), b = Array.from({ length: 2 }, () => f.local(V128));
  const splat = isF64 ? Simd.f64x2Splat : Simd.f32x4Splat;
  const mul = isF64 ? Simd.f64x2Mul : Simd.f32x4Mul, add = isF64 ? Simd.f64x2Add : Simd.f32x4Add;
  const madd = isF64 ? Simd.f64x2RelaxedMadd : Simd.f32x4RelaxedMadd;
  const konst = (x: number): void => { if (isF64) f.op(0x44, ...new Uint8Array(new Float64Array([x]).buffer)); else f.op(0x43, ...new Uint8Array(new Float32Array([x]).buffer)); };
  konst(0.999999); f.simd(splat).set(a);
  for (let i = 0; i < 2; i++) { konst(1e-7 * (i + 1)); f.simd(splat).set(b[i]!); }
  for (const c of acc) f.v128Zero().set(c);
  f.whileLoop(() => f.get(0).i32(1).op(Op.i32LtS), () => {
    acc.forEach((c, i) => {
      if (fma) f.get(a).get(b[i % 2]!).get(c).simd(madd).set(c);
      else f.get(c).get(a).get(b[i % 2]!).simd(mul).simd(add).set(c);
    });
    f.addTo(0, -1);
  });
  // fold the accumulators so none is dead code
  f.i32(0).get(acc[0]!);
  for (let i = 1; i < accs; i++) f.get(acc[i]!).simd(add);
  f.simdMem(Simd.store, 4, 0);
  return assemble({ memory: { min: 1, max: 1, shared: false }, funcs: [{ name: 'peak', fn: f }] });
}

/** The ceiling loop for one dtype and mode (`accs` accumulators), ready to run: `run(iters)` does `flops(iters)` flops. */
export function ceilingPeak(isF64: boolean, fma: boolean, accs = ACC): { run(iters: number): void; flops(iters: number): number } {
  const mod = new WebAssembly.Module(ceilingModule(isF64, fma, accs) as BufferSource);
  const inst = new WebAssembly.Instance(mod, { env: { memory: new WebAssembly.Memory({ initial: 1, maximum: 1 }) } });
  return { run: (inst.exports as { peak(i: number): void }).peak, flops: (iters) => iters * accs * (isF64 ? 2 : 4) * 2 };
}

export interface CeilingRow {
  dtype: 'float32' | 'float64'; ceilingMulAdd: number; ceilingFma: number | null; gemmMulAdd: number; gemmFma: number | null;
  /** The kernel alone (bench/gemm-kernel-alone.ts: operands resident and packed, no copies). */
  kernelMulAdd: number; kernelFma: number | null;
}

/** GFLOP/s of the ceiling loops and of the GEMM (1 thread, n×n×n), with and without FMA: best of `reps` interleaved rounds. */
export async function benchCeiling(n: number, reps: number, log: (s: string) => void): Promise<{ rows: CeilingRow[]; load: [number, number] }> {
  const fma = wasmRelaxedFmaSupported();
  const loadStart = loadAverage();
  const rows: CeilingRow[] = [];
  const plain = new WasmGemm({ ...DEFAULT_GEMM_CONFIG, fma: false });
  const fused = fma ? new WasmGemm({ ...DEFAULT_GEMM_CONFIG, fma: true }) : null;
  for (const dtype of ['float32', 'float64'] as const) {
    const isF64 = dtype === 'float64', lanes = isF64 ? 2 : 4;
    const iters = 20_000_000; // ~50 ms a call: long enough for the timer, short enough to dodge preemption often
    const flopsPeak = iters * ACC * lanes * 2;
    const inst = (f: boolean) => (new WebAssembly.Instance(new WebAssembly.Module(ceilingModule(isF64, f) as BufferSource), { env: { memory: new WebAssembly.Memory({ initial: 1, maximum: 1 }) } }).exports as { peak(i: number): void }).peak;
    const peakPlain = inst(false), peakFma = fma ? inst(true) : null;
    const T = isF64 ? Float64Array : Float32Array;
    const a = new T(n * n).map((_, i) => Math.sin(i)), b = new T(n * n).map((_, i) => Math.cos(i)), c = new T(n * n);
    const runs: [string, () => void, number][] = [
      ['ceiling mul+add', () => peakPlain(iters), flopsPeak],
      ['gemm mul+add', () => plain.matmul(a, b, c, 1, n, n, n, 1), 2 * n ** 3],
      ['kernel mul+add', gemmKernelAlone({ ...DEFAULT_GEMM_CONFIG, fma: false }, isF64, n).run, 2 * n ** 3],
    ];
    if (fused) {
      runs.push(['ceiling fma', () => peakFma!(iters), flopsPeak], ['gemm fma', () => fused.matmul(a, b, c, 1, n, n, n, 1), 2 * n ** 3]);
      runs.push(['kernel fma', gemmKernelAlone({ ...DEFAULT_GEMM_CONFIG, fma: true }, isF64, n).run, 2 * n ** 3]);
    }
    // best of `reps` interleaved rounds (after 2 warm-ups): on a shared machine the fastest run is the
    // one least disturbed by other processes, for the ceiling and the GEMM alike
    const best = new Map<string, number>();
    for (let r = -2; r < reps; r++) {
      for (const [label, fn] of runs) {
        const t = performance.now(); fn(); const ms = performance.now() - t;
        if (r >= 0) best.set(label, Math.min(best.get(label) ?? Infinity, ms));
      }
    }
    log(`  ${dtype}: ${runs.map(([l, , f]) => `${l} ${(f / (best.get(l)! * 1e6)).toFixed(1)}`).join(', ')} GFLOP/s`);
    const g = (label: string, flops: number): number | null => { const ms = best.get(label); return ms ? flops / (ms * 1e6) : null; };
    rows.push({
      dtype, ceilingMulAdd: g('ceiling mul+add', flopsPeak)!, gemmMulAdd: g('gemm mul+add', 2 * n ** 3)!,
      ceilingFma: g('ceiling fma', flopsPeak), gemmFma: g('gemm fma', 2 * n ** 3),
      kernelMulAdd: g('kernel mul+add', 2 * n ** 3)!, kernelFma: g('kernel fma', 2 * n ** 3),
    });
  }
  fused?.stopThreads(); plain.stopThreads();
  return { rows, load: [loadStart, loadAverage()] };
}

/** Markdown table of {@link benchCeiling}. */
export function ceilingTable(rows: CeilingRow[], n: number): string {
  const f = (x: number | null): string => (x === null ? '—' : x.toFixed(1));
  const pct = (x: number | null, y: number | null): string => (x === null || y === null ? '—' : `${((100 * x) / y).toFixed(0)} %`);
  const lines = [
    `| dtype | ceiling mul+add | ceiling FMA | GEMM n=${n} mul+add | GEMM n=${n} FMA | GEMM mul+add / its ceiling | GEMM FMA / FMA ceiling | GEMM FMA / mul+add ceiling | FMA speed-up (GEMM) | kernel alone mul+add / its ceiling | kernel alone FMA / FMA ceiling |`,
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows) {
    lines.push(`| ${r.dtype} | ${f(r.ceilingMulAdd)} | ${f(r.ceilingFma)} | ${f(r.gemmMulAdd)} | ${f(r.gemmFma)} | ${pct(r.gemmMulAdd, r.ceilingMulAdd)} | ${pct(r.gemmFma, r.ceilingFma)} | ${pct(r.gemmFma, r.ceilingMulAdd)} | ${r.gemmFma ? `${(r.gemmFma / r.gemmMulAdd).toFixed(2)}×` : '—'} | ${pct(r.kernelMulAdd, r.ceilingMulAdd)} | ${pct(r.kernelFma, r.ceilingFma)} |`);
  }
  return lines.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const n = 512;
  const { rows, load } = await benchCeiling(n, 15, (s) => process.stderr.write(`${s}\n`));
  console.log(ceilingTable(rows, n));
  console.log(`\n1-minute load average ${load[0].toFixed(2)} → ${load[1].toFixed(2)}; 1 thread, GFLOP/s, best of 15 interleaved rounds.`);
  process.exit(0);
}

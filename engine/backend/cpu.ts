/**
 * The default CPU matmul backend. It dispatches each call by size to the fastest correct path:
 *  - products with ≤ DOT_MAX_OUTPUTS outputs (m·n) per batch item: strided JS dot products (no copies),
 *  - tiny products (< JS_MAX_MACS multiply-adds): pure JS (copying into wasm memory costs more),
 *  - otherwise WebAssembly SIMD generated at runtime (f32x4 for float32, f64x2 for float64),
 *  - from THREAD_MIN_MACS on, the same kernel split over worker_threads on a shared memory
 *    (Node only; the main thread takes a share and waits with Atomics.wait),
 *  - pure JS everywhere when WebAssembly SIMD does not validate.
 * `describe()` names the path the last call really took, e.g. `cpu:wasm-simd-f32x2threads`.
 */
import type { TypedArray } from '../tensor.js';
import type { MatmulBackend } from './backend.js';
import { matmulDot, matmulJs } from './cpu-js.js';
import { WasmGemm, wasmSimdSupported, wasmRelaxedFmaSupported, type GemmEpilogue } from './cpu-wasm.js';
import { DEFAULT_GEMM_CONFIG } from './wasm/gemm-kernel.js';
import { hardwareThreads } from './threads.js';
import { transposedCopy } from './transposed.js';
import { ValueError } from '../errors.js';
import { checkCount, checkOptions, describeValue } from '../validate.js';

export { matmulBlocked, matmulTiled, matmulJs, matmulDot } from './cpu-js.js';

/** Below this many multiply-adds (batch·m·k·n) the JS kernel runs. */
export const JS_MAX_MACS = 8192;
/**
 * Products with at most this many outputs per batch item (m·n) run as strided dot products
 * ({@link matmulDot}): 2.1–2.5× faster than the wasm path at m·n = 4–6 and k = 512–10⁴, where the
 * wasm kernel pads the outputs to its tile; at m·n = 16 the wasm path is already 1.2× faster.
 */
export const DOT_MAX_OUTPUTS = 6;
/** From this many multiply-adds on (≈ 161³), worker threads join (when available); at 128³ the wake-up cost still ate the gain on the quiet 2-core run. */
export const THREAD_MIN_MACS = 1 << 22;

/**
 * CPU kernel paths: `auto` picks by size (JS below {@link JS_MAX_MACS} multiply-adds, WebAssembly SIMD
 * above, worker threads from {@link THREAD_MIN_MACS}); the others force one path.
 */
export type CpuMode = 'auto' | 'js' | 'wasm' | 'wasm-threads';
const CPU_MODES: readonly CpuMode[] = ['auto', 'js', 'wasm', 'wasm-threads'];

/**
 * Which products use relaxed-SIMD fused multiply-add (where the runtime has it; see
 * wasmRelaxedFmaSupported): `f32` (the default), `all` (float64 too) or `none`.
 *
 * Why float32 only by default: FMA rounds a·b + c once, so float64 results change in the last bits
 * and would then depend on the size class a product falls in (the JS kernel below JS_MAX_MACS has no
 * FMA); without it every float64 path is bit-identical to the JS reference and dispatch never
 * changes numbers (test/backend/cpu.test.ts), which the float64 statistics rely on. Relaxed madd may
 * also be fused on one CPU and not on another, so float64 FMA results are not portable either.
 * Measured on the 2-core AMD EPYC (Zen, Node 20, bench/ceiling.ts, n = 512, 1 thread): FMA made the
 * GEMM 1.17–1.21× faster in float32 and 1.10–1.20× in float64 — worth it where bits are not the
 * contract. `MOEGRAD_NO_FMA=1` turns it off (bit-reproducible mul + add everywhere), `MOEGRAD_FMA=all`
 * turns it on for float64 too; the backend option {@link CpuBackendOptions.fma} overrides both.
 */
export type FmaMode = 'f32' | 'all' | 'none';
const FMA_MODES: readonly FmaMode[] = ['f32', 'all', 'none'];

/** The process default: MOEGRAD_NO_FMA=1 → none, MOEGRAD_FMA=all|f32|none, else f32. */
export function defaultFmaMode(): FmaMode {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env ?? {};
  if (env.MOEGRAD_NO_FMA !== undefined && env.MOEGRAD_NO_FMA !== '' && env.MOEGRAD_NO_FMA !== '0') return 'none';
  const m = env.MOEGRAD_FMA;
  return m !== undefined && (FMA_MODES as readonly string[]).includes(m) ? (m as FmaMode) : 'f32';
}

/** Options of {@link createCpuBackend}; every field is optional. */
export interface CpuBackendOptions {
  /** Registry name (default `cpu`). */
  name?: string;
  /** `auto` dispatches by size; the others force one path (for benchmarks and tests). */
  mode?: CpuMode;
  /** Thread cap for the threaded path (default: hardware threads). */
  threads?: number;
  /** Overrides of the size thresholds (tests use these to exercise the boundary). */
  jsMaxMacs?: number;
  /** Multiply-adds (batch·m·k·n) from which worker threads join (default {@link THREAD_MIN_MACS}). */
  threadMinMacs?: number;
  /** Fused multiply-add use ({@link FmaMode}; default from the environment: MOEGRAD_NO_FMA=1 → 'none', MOEGRAD_FMA=all → 'all', else 'f32'). */
  fma?: FmaMode;
}

const engines = new Map<string, WasmGemm | null>();

/**
 * The process-wide wasm engine for an FMA mode (one memory and worker pool, shared by every CPU
 * backend with that mode), or null without WebAssembly SIMD. FMA is used only where relaxed SIMD
 * validates, so `all` and `f32` fall back to mul + add elsewhere.
 */
export function wasmGemm(fma: FmaMode = defaultFmaMode()): WasmGemm | null {
  const has = fma !== 'none' && wasmRelaxedFmaSupported();
  const cfg = { f32: has, f64: has && fma === 'all' };
  const key = `${cfg.f32}-${cfg.f64}`;
  let g = engines.get(key);
  if (g === undefined) {
    try { g = wasmSimdSupported() ? new WasmGemm({ ...DEFAULT_GEMM_CONFIG, fma: cfg }) : null; } catch { g = null; }
    engines.set(key, g);
  }
  return g;
}

/** Below this many elements the JS ReLU-backward loop is as fast as copying into wasm memory. */
const RELU_WASM_MIN = 4096;

/** A CPU backend with its own dispatch settings (all share the wasm memory and worker pool). */
export function createCpuBackend(options: CpuBackendOptions = {}): MatmulBackend & {
  /** The path the last product took, e.g. `wasm-simd-f32x4x2threads` (`''` before the first). */
  lastPath(): string;
} {
  const op = 'createCpuBackend';
  checkOptions(op, options);
  const mode = options.mode ?? 'auto';
  if (!CPU_MODES.includes(mode)) throw new ValueError(op, `mode must be one of ${CPU_MODES.map((m) => `'${m}'`).join(', ')}; got ${describeValue(mode)}`);
  if (options.name !== undefined && (typeof options.name !== 'string' || options.name === '')) throw new ValueError(op, `name must be a non-empty string; got ${describeValue(options.name)}`);
  const name = options.name ?? (mode === 'auto' ? 'cpu' : `cpu-${mode}`);
  if (options.threads !== undefined) checkCount(op, 'threads', options.threads, 1);
  if (options.threads !== undefined && options.threads > 256) throw new ValueError(op, `threads must be ≤ 256; got ${options.threads}`);
  if (options.jsMaxMacs !== undefined) checkCount(op, 'jsMaxMacs', options.jsMaxMacs, 0);
  if (options.threadMinMacs !== undefined) checkCount(op, 'threadMinMacs', options.threadMinMacs, 0);
  if (options.fma !== undefined && !FMA_MODES.includes(options.fma)) throw new ValueError(op, `fma must be one of ${FMA_MODES.map((m) => `'${m}'`).join(', ')}; got ${describeValue(options.fma)}`);
  const fma = options.fma ?? defaultFmaMode();
  const maxThreads = options.threads ?? hardwareThreads();
  const jsMax = options.jsMaxMacs ?? JS_MAX_MACS, threadMin = options.threadMinMacs ?? THREAD_MIN_MACS;
  let last = '';
  const planned = (): string => {
    const g = mode === 'js' ? null : wasmGemm(fma);
    if (!g) return mode === 'js' ? 'js-tiled' : 'js-tiled (WebAssembly SIMD unavailable)';
    const thr = mode === 'wasm' ? 1 : g.shared ? maxThreads : 1;
    const f = g.fma.f64 ? '-fma' : g.fma.f32 ? '-fma(f32)' : '';
    return `wasm-simd${f}${thr > 1 ? ` (+${thr - 1} worker threads from ${threadMin} MACs)` : ''}`;
  };
  const backend = {
    name,
    describe: () => `cpu:${last || planned()}`,
    lastPath: () => last,
    matmul(a: TypedArray, b: TypedArray, out: TypedArray, batch: number, m: number, k: number, n: number): void {
      run(a, b, out, batch, m, k, n, false, false);
    },
    matmulT(a: TypedArray, b: TypedArray, out: TypedArray, batch: number, m: number, k: number, n: number, transA: boolean, transB: boolean): void {
      run(a, b, out, batch, m, k, n, transA === true, transB === true);
    },
    matmulBiasAct(a: TypedArray, b: TypedArray, out: TypedArray, m: number, k: number, n: number, bias: TypedArray, biasOff: number, act: 'identity' | 'relu'): void {
      if (act !== 'identity' && act !== 'relu') throw new ValueError('matmulBiasAct', `act must be 'identity' or 'relu'; got ${describeValue(act)}`);
      if (!(bias instanceof a.constructor) || !Number.isInteger(biasOff) || biasOff < 0 || biasOff + n > bias.length) {
        throw new ValueError('matmulBiasAct', `bias must be a ${a.constructor.name} with ${n} entries from biasOff ${describeValue(biasOff)}; got ${describeValue(bias)}`);
      }
      const relu = act === 'relu';
      if (run(a, b, out, 1, m, k, n, false, false, { bias, biasOff, relu })) return;
      // the JS path: the same sums, rounded the same way (an f32 + f32 add in float64 rounds like f32 addition)
      for (let i = 0; i < m; i++) {
        const o = i * n;
        for (let j = 0; j < n; j++) { const v = out[o + j]! + bias[biasOff + j]!; out[o + j] = relu && v < 0 ? 0 : v; }
      }
    },
    /** The wasm lane-mask ReLU backward from {@link RELU_WASM_MIN} elements (declines below, and in 'js' mode). */
    reluGrad(dy: TypedArray, s: TypedArray, out: TypedArray): boolean {
      const g = elementwiseEngine(out.length);
      if (!g || dy.length !== out.length || s.length !== out.length || !(dy instanceof out.constructor && s instanceof out.constructor)) return false;
      g.reluGrad(dy, s, out);
      return true;
    },
    /** Segment column sums in wasm from {@link RELU_WASM_MIN} elements with H even (declines otherwise, and in 'js' mode). */
    segmentColumnSum(x: TypedArray, out: TypedArray, offsets: Int32Array, H: number): boolean {
      const g = elementwiseEngine(x.length);
      if (!g || H % 2 !== 0 || !(out instanceof x.constructor)) return false;
      if (x.length !== (offsets[offsets.length - 1] ?? 0) * H || out.length !== (offsets.length - 1) * H) return false;
      g.segmentColumnSum(x, out, offsets, H);
      return true;
    },
  };

  /** The wasm engine for an elementwise kernel over n elements, or null (too small to pay, 'js' mode, no SIMD). */
  function elementwiseEngine(n: number): WasmGemm | null {
    return mode === 'js' || n < RELU_WASM_MIN ? null : wasmGemm(fma);
  }

  /**
   * One product on the path the mode and size pick; transposed operands are folded into the copy-in.
   * Returns whether `epilogue` was applied (only the wasm path applies it; the caller does otherwise).
   */
  function run(a: TypedArray, b: TypedArray, out: TypedArray, batch: number, m: number, k: number, n: number, transA: boolean, transB: boolean, epilogue?: GemmEpilogue): boolean {
    checkMatmulArgs(a, b, out, batch, m, k, n);
    const macs = batch * m * k * n;
    if (macs === 0) { out.fill(0); last = 'empty'; return false; }
    const isF64 = a instanceof Float64Array;
    if (mode === 'auto' && m * n <= DOT_MAX_OUTPUTS) {
      matmulDot(a, b, out, batch, m, k, n, transA, transB);
      last = 'js-dot';
      return false;
    }
    const g = mode === 'js' ? null : wasmGemm(fma);
    if (!g || (mode === 'auto' && macs < jsMax) || !g.fits(isF64, batch, m, k, n)) {
      // the JS kernels take row-major operands: transpose into scratch (small products, or no wasm)
      matmulJs(transA ? transposedCopy(a, batch, k, m) : a, transB ? transposedCopy(b, batch, n, k) : b, out, batch, m, k, n);
      last = g || mode === 'js' ? 'js-tiled' : 'js-tiled (WebAssembly SIMD unavailable)';
      return false;
    }
    const wantThreads = mode === 'wasm-threads' || (mode === 'auto' && macs >= threadMin) ? maxThreads : 1;
    const { threads } = g.matmul(a, b, out, batch, m, k, n, wantThreads, transA, transB, epilogue);
    last = `wasm-simd${g.fma[isF64 ? 'f64' : 'f32'] ? '-fma' : ''}-${isF64 ? 'f64x2' : 'f32x4'}${threads > 1 ? `x${threads}threads` : ''}`;
    return epilogue !== undefined;
  }
  return backend;
}

/**
 * Checks the raw arguments of a backend's `matmul` (O(1)): three typed arrays of one dtype, long
 * enough for batch·[m, k]·[k, n], and finite non-negative integer sizes — so a bad call fails with a
 * ValueError naming `matmul` instead of looping forever or writing out of bounds.
 */
export function checkMatmulArgs(a: unknown, b: unknown, out: unknown, batch: unknown, m: unknown, k: unknown, n: unknown): void {
  const op = 'matmul';
  // the common valid case without building the [name, value] lists (called once per product)
  const typed = (v: unknown): boolean => v instanceof Float64Array || v instanceof Float32Array;
  const count = (v: unknown): boolean => typeof v === 'number' && Number.isInteger(v) && v >= 0;
  if (!(typed(a) && typed(b) && typed(out))) {
    for (const [name, v] of [['a', a], ['b', b], ['out', out]] as const) {
      if (!typed(v)) throw new ValueError(op, `${name} must be a Float64Array or Float32Array; got ${describeValue(v)}`);
    }
  }
  const ta = a as TypedArray, tb = b as TypedArray, to = out as TypedArray;
  if (ta.constructor !== tb.constructor || ta.constructor !== to.constructor) {
    throw new ValueError(op, `a, b and out must share one dtype; got ${ta.constructor.name}, ${tb.constructor.name} and ${to.constructor.name}`);
  }
  if (!(count(batch) && count(m) && count(k) && count(n))) for (const [name, v] of [['batch', batch], ['m', m], ['k', k], ['n', n]] as const) checkCount(op, name, v, 0);
  const B = batch as number, M = m as number, K = k as number, N = n as number;
  if (ta.length < B * M * K || tb.length < B * K * N || to.length < B * M * N) {
    throw new ValueError(op, `batch ${B} of [${M}, ${K}]·[${K}, ${N}] needs a, b, out of ${B * M * K}, ${B * K * N}, ${B * M * N} elements; got ${ta.length}, ${tb.length}, ${to.length}`);
  }
}

/** The default backend (`cpu`): size-dispatched JS / wasm SIMD / threaded wasm SIMD. */
export const cpuBackend = createCpuBackend();

/** Pure-JS backend (`cpu-js`), for comparison and for runtimes without WebAssembly SIMD. */
export const cpuJsBackend = createCpuBackend({ mode: 'js' });

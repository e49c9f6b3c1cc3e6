/**
 * gpu.js matmul backend: C = A·B as one gpu.js kernel per output tile, computed in float32.
 *
 * Correctness rules, each learned from a measured gpu.js pitfall (shared design/gpujs-backends.md §5):
 * - one kernel per (mode, rows, K, cols), never reused across shapes (a resized GL kernel silently
 *   returns the previous shape's result);
 * - K is a compile-time constant, the loop bound (a runtime bound is silently capped at 1000 iterations);
 * - on GL modes every output tile stays within MAX_TEXTURE_SIZE (GL outputs map 1:1 onto a texture);
 * - the kernel class that actually ran is read back after every call (`kernel.kernel.constructor.name`),
 *   so a silent fallback (no display → webasm, GL failure → CPUKernel) shows up in `describe()`.
 *
 * Precision: every mode except gpu.js `cpu` accumulates in float32. Float64 inputs are rounded to
 * float32 before upload and the float32 result is widened back into the float64 output, so a float64
 * tensor on this backend carries float32 accuracy (|error| ≲ K·2⁻²⁴·Σ|a||b| per element).
 */
import type { TypedArray } from '../tensor.js';
import type { MatmulBackend } from './backend.js';
import { ValueError } from '../errors.js';
import { checkCount, checkOptions, describeValue } from '../validate.js';
import { cpuBackend, checkMatmulArgs } from './cpu.js';
import { gpujsFrom, loadGpujs } from './gpujs-loader.js';
import type { GpujsConstructor, GpujsInputFn, GpujsInstance, GpujsKernelRun, GpujsModule } from './gpujs-loader.js';

/** gpu.js modes. `gpu` lets gpu.js pick (headlessgl → webgl2 → webgl → webasm). */
export type GpujsMode = 'gpu' | 'webgl2' | 'webgl' | 'headlessgl' | 'webgpu' | 'webasm' | 'cpu';

/** Every {@link GpujsMode}, in the order gpu.js falls back through them. */
export const GPUJS_MODES: readonly GpujsMode[] = ['gpu', 'webgl2', 'webgl', 'headlessgl', 'webgpu', 'webasm', 'cpu'];

/** gpu.js kernel class → the name `describe()` reports after `gpujs:`. */
export const KERNEL_CLASS_MODE: Readonly<Record<string, string>> = {
  HeadlessGLKernel: 'headlessgl',
  WebGL2Kernel: 'webgl2',
  WebGLKernel: 'webgl',
  WebGPUKernel: 'webgpu',
  WebAssemblyKernel: 'webasm',
  CPUKernel: 'cpu',
};

/** `describe()` text for a kernel class that ran: `gpujs:<mode>`, plus the fallback reason if any. */
export function describeRun(kernelClass: string, fallbackReason: string | null): string {
  const ran = `gpujs:${KERNEL_CLASS_MODE[kernelClass] ?? kernelClass}`;
  return fallbackReason ? `${ran} (fell back: ${fallbackReason})` : ran;
}

/** Why `webgpu` cannot serve the synchronous matmul the engine's ops call. */
export const WEBGPU_ASYNC = "gpu.js mode 'webgpu' is asynchronous only (its readback needs mapAsync), but the engine's "
  + "matmul is synchronous: in Node, useBackend('gpujs:webgpu') runs it on a worker thread; in browsers use 'webgl2', "
  + "or createGpujsBackend({ mode: 'webgpu', asyncOnly: true }).matmulAsync()";

const GL_CLASSES = new Set(['HeadlessGLKernel', 'WebGL2Kernel', 'WebGLKernel']);

/** Kernels kept per backend (each new shape compiles one: ~10–150 ms); the oldest is destroyed beyond this. */
export const KERNEL_CACHE_LIMIT = 256;

/**
 * One output cell of a tile: C[y][x] = Σ_p A[y][p]·B[p][x], p < K with K a compile-time constant.
 * A string, not a function, so no TypeScript/bundler transform can change what gpu.js parses.
 */
export const MATMUL_SOURCE = `function matmulTile(a, b) {
  let sum = 0;
  for (let p = 0; p < this.constants.K; p++) {
    sum += a[this.thread.y][p] * b[p][this.thread.x];
  }
  return sum;
}`;

/** Options of {@link createGpujsBackend}; every field is optional. */
export interface GpujsBackendOptions {
  /** gpu.js mode (default `gpu`: gpu.js's own choice). `webgpu` needs `asyncOnly` (it works through `matmulAsync` only). */
  mode?: GpujsMode;
  /**
   * Accept `mode: 'webgpu'`, whose results gpu.js reads back asynchronously: the backend then serves
   * `matmulAsync` only and its sync `matmul` throws, so it must not be handed to `useBackend`. Without
   * this flag `webgpu` is refused at creation, so a sync backend never fails mid-training.
   */
  asyncOnly?: boolean;
  /** The gpu.js `GPU` constructor, e.g. the browser global from gpu-browser.js. Default: load gpu.js lazily. */
  GPU?: GpujsConstructor;
  /** gpu.js's `input` helper; default `GPU.input` (browser global) or the loaded module's. */
  input?: GpujsInputFn;
  /** Largest output tile side; default the GL MAX_TEXTURE_SIZE (unbounded on webasm/cpu). Tests lower it. */
  maxTextureSize?: number;
  /** Registry name; default `gpujs` for mode `gpu`, else `gpujs:<mode>`. */
  name?: string;
}

/** Counters of a gpu.js backend ({@link GpujsBackend.stats}). */
export interface GpujsStats {
  /** Kernels compiled so far (one per distinct tile shape; evicted ones included). */
  compiled: number;
  /** Kernels currently cached. */
  cached: number;
  /** matmul calls served. */
  calls: number;
  /** Kernel launches (tiles × batch items). */
  launches: number;
  /** The tile side limit in force. */
  maxTextureSize: number;
}

/** A matmul backend running on gpu.js, plus what it learned about where it really ran. */
export interface GpujsBackend extends MatmulBackend {
  /** The requested gpu.js mode (what really ran is in `kernelClass` and `describe()`). */
  readonly mode: GpujsMode;
  /** gpu.js kernel class of the last launch (e.g. `WebAssemblyKernel`), or null before the first. */
  readonly kernelClass: string | null;
  /** Why the last launch did not run on the requested mode, or null. */
  readonly fallbackReason: string | null;
  /** Kernel cache and launch counters. */
  stats(): GpujsStats;
  /**
   * Same contract as `matmul`, awaiting each kernel: the only way to use `webgpu` (gpu.js reads WebGPU
   * results back asynchronously); works on every mode. Operands must not change until it resolves.
   */
  matmulAsync(a: TypedArray, b: TypedArray, out: TypedArray, batch: number, m: number, k: number, n: number): Promise<void>;
  /** Loads gpu.js and creates its GPU instance now; throws a ValueError saying why if this mode cannot run. */
  init(): void;
  /** Destroys every cached kernel and the gpu.js instance. The backend rebuilds them if used again. */
  dispose(): void;
}

function assertMode(mode: string): asserts mode is GpujsMode {
  if (!(GPUJS_MODES as readonly string[]).includes(mode)) {
    throw new ValueError('createGpujsBackend', `unknown gpu.js mode ${typeof mode === 'string' ? `'${mode}'` : describeValue(mode)}; expected one of ${GPUJS_MODES.join(', ')}`);
  }
}

/** Copies a kernel result (rows of Float32Array, or one flat array) into out[off .. off + rows·cols). */
function copyResult(result: unknown, out: TypedArray, off: number, rows: number, cols: number, colStride: number, col0: number): void {
  if (ArrayBuffer.isView(result)) {
    const flat = result as Float32Array;
    for (let i = 0; i < rows; i++) out.set(flat.subarray(i * cols, (i + 1) * cols), off + i * colStride + col0);
    return;
  }
  const rowsOut = result as ArrayLike<Float32Array>;
  if (!rowsOut || rowsOut.length !== rows) {
    throw new ValueError('matmul', `gpu.js returned ${rowsOut ? rowsOut.length : 'no'} rows; expected ${rows}`);
  }
  for (let i = 0; i < rows; i++) {
    const row = rowsOut[i]!;
    out.set(row.length === cols ? row : row.subarray(0, cols), off + i * colStride + col0);
  }
}

/**
 * Creates a gpu.js matmul backend. Nothing is loaded or compiled until the first product.
 *
 * @example
 * useBackend(createGpujsBackend({ mode: 'webgl2', GPU: window.GPU })); // browser build
 * useBackend('gpujs');                                               // Node: gpu.js picks the mode
 * getBackend().describe();                                           // 'gpujs:webasm (fell back: …)'
 */
export function createGpujsBackend(options: GpujsBackendOptions = {}): GpujsBackend {
  checkOptions('createGpujsBackend', options);
  const mode = options.mode ?? 'gpu';
  assertMode(mode);
  if (options.maxTextureSize !== undefined) checkCount('createGpujsBackend', 'maxTextureSize', options.maxTextureSize, 1);
  if (options.name !== undefined && (typeof options.name !== 'string' || options.name === '')) {
    throw new ValueError('createGpujsBackend', `name must be a non-empty string; got ${describeValue(options.name)}`);
  }
  if (options.GPU !== undefined && typeof options.GPU !== 'function') {
    throw new ValueError('createGpujsBackend', `GPU must be gpu.js's GPU constructor; got ${describeValue(options.GPU)}`);
  }
  if (mode === 'webgpu' && !options.asyncOnly) throw new ValueError('createGpujsBackend', WEBGPU_ASYNC);
  const name = options.name ?? (mode === 'gpu' ? 'gpujs' : `gpujs:${mode}`);

  let lib: GpujsModule | null = null;
  let gpu: GpujsInstance | null = null;
  let maxTex = Infinity;
  const kernels = new Map<string, GpujsKernelRun>();
  let kernelClass: string | null = null;
  let fallbackReason: string | null = null;
  let compiled = 0, calls = 0, launches = 0;

  function instance(): GpujsInstance {
    if (gpu) return gpu;
    lib ??= options.GPU ? gpujsFrom(options.input ? { input: options.input } : undefined, options.GPU) : loadGpujs();
    try {
      gpu = new lib.GPU({ mode });
    } catch (e) {
      throw new ValueError(name, `gpu.js mode '${mode}' is not available here: ${e instanceof Error ? e.message : String(e)}`
        + (mode === 'headlessgl' ? ' (headless-gl needs the `gl` package and an X display, e.g. xvfb-run)' : ''));
    }
    const chosen = (gpu.Kernel && lib.kernelClasses.get(gpu.Kernel)) ?? gpu.Kernel?.name ?? '';
    const detected = gpu.Kernel?.features?.maxTextureSize;
    const glLimit = GL_CLASSES.has(chosen) && typeof detected === 'number' && detected > 0 ? detected : Infinity;
    maxTex = Math.min(glLimit, options.maxTextureSize ?? Infinity);
    return gpu;
  }

  function kernelFor(rows: number, k: number, cols: number): GpujsKernelRun {
    const key = `${rows}x${k}x${cols}`;
    const hit = kernels.get(key);
    if (hit) { kernels.delete(key); kernels.set(key, hit); return hit; } // LRU order
    const kernel = instance().createKernel(MATMUL_SOURCE, {
      output: [cols, rows],
      constants: { K: k },
      loopMaxIterations: Math.max(1000, k), // belt and braces: the bound is already the constant K
      precision: 'single',
      tactic: 'precision',
      dynamicOutput: false,
      dynamicArguments: false,
    });
    compiled++;
    kernels.set(key, kernel);
    if (kernels.size > KERNEL_CACHE_LIMIT) {
      const [oldKey, old] = kernels.entries().next().value as [string, GpujsKernelRun];
      kernels.delete(oldKey);
      try { old.destroy?.(); } catch { /* a failed destroy only leaks */ }
    }
    return kernel;
  }

  function noteClass(kernel: GpujsKernelRun): void {
    const ctor = kernel.kernel.constructor;
    const cls = lib?.kernelClasses.get(ctor) ?? ctor.name; // identity first: a minified build may rename classes
    kernelClass = cls;
    const ran = KERNEL_CLASS_MODE[cls] ?? cls;
    const reasons: string[] = [];
    if (kernel.kernel.fallbackReason) reasons.push(kernel.kernel.fallbackReason);
    if (mode === 'gpu' && !GL_CLASSES.has(cls)) {
      reasons.push('gpu.js found no WebGL context (in Node: the optional `gl` package is missing or no X display; try xvfb-run)');
    } else if (mode !== 'gpu' && ran !== mode) {
      reasons.push(`gpu.js ran ${cls} instead of the requested '${mode}'`);
    }
    fallbackReason = reasons.length ? reasons.join('; ') : null;
  }

  interface Launch { kernel: GpujsKernelRun; args: unknown[]; copy(result: unknown): void }

  /**
   * The kernel launches for out = a·b (each batch item, each output tile), in order. Tiles keep every
   * kernel output within maxTex: A's row block is a view; B's column block is a view when it is all of
   * B, else a (k × cols) copy (O(kn) against O(mkn) work).
   */
  function* plan(a: TypedArray, b: TypedArray, out: TypedArray, batch: number, m: number, k: number, n: number): Generator<Launch> {
    const { input } = lib!;
    // float32 views of the whole operands (no copy when they are already float32)
    const a32 = a instanceof Float32Array ? a : Float32Array.from(a.subarray(0, batch * m * k));
    const b32 = b instanceof Float32Array ? b : Float32Array.from(b.subarray(0, batch * k * n));
    for (let t = 0; t < batch; t++) {
      const aT = a32.subarray(t * m * k, (t + 1) * m * k), bT = b32.subarray(t * k * n, (t + 1) * k * n);
      for (let j0 = 0; j0 < n; j0 += maxTex) {
        const cols = Math.min(n, j0 + maxTex) - j0;
        let bBlock = bT;
        if (cols !== n) {
          bBlock = new Float32Array(k * cols);
          for (let p = 0; p < k; p++) bBlock.set(bT.subarray(p * n + j0, p * n + j0 + cols), p * cols);
        }
        const bArg = input(bBlock, [cols, k]);
        for (let i0 = 0; i0 < m; i0 += maxTex) {
          const rows = Math.min(m, i0 + maxTex) - i0;
          const kernel = kernelFor(rows, k, cols);
          const off = t * m * n + i0 * n;
          yield {
            kernel,
            args: [input(aT.subarray(i0 * k, (i0 + rows) * k), [k, rows]), bArg],
            copy: (result) => { launches++; noteClass(kernel); copyResult(result, out, off, rows, cols, n, j0); },
          };
        }
      }
    }
  }

  /** Handles the empty cases; returns false when there is nothing to launch. */
  function prepare(out: TypedArray, batch: number, m: number, k: number, n: number): boolean {
    calls++;
    if (batch * m * n === 0) return false;
    if (k === 0) { out.fill(0, 0, batch * m * n); return false; }
    instance();
    return true;
  }

  return {
    name,
    mode,
    get kernelClass() { return kernelClass; },
    get fallbackReason() { return fallbackReason; },
    describe() {
      if (kernelClass === null) {
        const chosen = gpu?.Kernel ? lib?.kernelClasses.get(gpu.Kernel) ?? gpu.Kernel.name : undefined;
        return chosen ? `gpujs:${KERNEL_CLASS_MODE[chosen] ?? chosen} (chosen by gpu.js; nothing has run yet)` : `${name} (nothing has run yet)`;
      }
      return describeRun(kernelClass, fallbackReason);
    },
    matmul(a, b, out, batch, m, k, n) {
      checkMatmulArgs(a, b, out, batch, m, k, n);
      if (mode === 'webgpu') throw new ValueError('matmul', WEBGPU_ASYNC);
      if (!prepare(out, batch, m, k, n)) return;
      for (const launch of plan(a, b, out, batch, m, k, n)) {
        const result = launch.kernel(...launch.args);
        if (result instanceof Promise) throw new ValueError('matmul', `gpu.js returned a Promise on ${launch.kernel.kernel.constructor.name}; use matmulAsync`);
        launch.copy(result);
      }
    },
    async matmulAsync(a, b, out, batch, m, k, n) {
      if (!prepare(out, batch, m, k, n)) return;
      for (const launch of plan(a, b, out, batch, m, k, n)) launch.copy(await launch.kernel(...launch.args));
    },
    init() { instance(); },
    stats: () => ({ compiled, cached: kernels.size, calls, launches, maxTextureSize: gpu ? maxTex : options.maxTextureSize ?? Infinity }),
    dispose() {
      for (const kernel of kernels.values()) { try { kernel.destroy?.(); } catch { /* ignore */ } }
      kernels.clear();
      try { gpu?.destroy?.(); } catch { /* ignore */ }
      gpu = null;
    },
  };
}

/**
 * Per-element bound on |C_f32 − C_exact| for C = A·B computed in float32 from (possibly float64) inputs:
 * (K + 3)·2⁻²⁴·Σ_p |a_ip|·|b_pj| — recursive float32 summation of K terms (γ_K ≈ K·u) plus the rounding
 * of both inputs to float32 (2u) and of the result (u), with u = 2⁻²⁴. Used by `auto`'s sanity check and
 * the parity tests; it scales with K, so it stays tight for small K and honest for K > 1000.
 */
export function f32MatmulErrorBound(a: TypedArray, b: TypedArray, batch: number, m: number, k: number, n: number): Float64Array {
  const op = 'f32MatmulErrorBound';
  for (const [name, v] of [['a', a], ['b', b]] as const) {
    if (!(v instanceof Float32Array || v instanceof Float64Array)) throw new ValueError(op, `${name} must be a Float32Array or Float64Array; got ${describeValue(v)}`);
  }
  for (const [name, v] of [['batch', batch], ['m', m], ['k', k], ['n', n]] as const) checkCount(op, name, v, 0);
  if (a.length < batch * m * k || b.length < batch * k * n) {
    throw new ValueError(op, `a needs ${batch * m * k} and b ${batch * k * n} elements for batch ${batch}, [${m}, ${k}]·[${k}, ${n}]; got ${a.length} and ${b.length}`);
  }
  const absA = Float64Array.from(a.subarray(0, batch * m * k), Math.abs);
  const absB = Float64Array.from(b.subarray(0, batch * k * n), Math.abs);
  const bound = new Float64Array(batch * m * n);
  cpuBackend.matmul(absA, absB, bound, batch, m, k, n);
  const c = 1.05 * (k + 3) * 2 ** -24;
  for (let i = 0; i < bound.length; i++) bound[i] = c * bound[i]! + Number.MIN_VALUE;
  return bound;
}

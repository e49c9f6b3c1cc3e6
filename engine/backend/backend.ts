/**
 * Matmul backends. The interface is deliberately tiny: elementwise ops stay as plain loops next to
 * their VJPs; only the O(n³) product is pluggable (CPU kernel by default, gpu.js on request).
 *
 * Selection: `useBackend('cpu')` (the default), `useBackend('gpujs')` (gpu.js picks its mode),
 * `useBackend('gpujs:webgl2' | 'gpujs:webgl' | 'gpujs:headlessgl' | 'gpujs:webasm' | 'gpujs:cpu')`,
 * `useBackend('gpujs:webgpu')` (Node: gpu.js WebGPU on a worker thread, made synchronous),
 * or `useBackend('auto')`, which times a 256³ float32 product once on every candidate and keeps the
 * fastest one that also computes it correctly. `getBackend().describe()` says what really ran.
 */
import type { TypedArray } from '../tensor.js';
import { cpuBackend } from './cpu.js';
import { ValueError } from '../errors.js';
import { checkCount, checkOptions, checkFunction, describeValue, checkBoolean } from '../validate.js';
import { Rng } from '../rng.js';
import { createGpujsBackend, GPUJS_MODES, WEBGPU_ASYNC, f32MatmulErrorBound } from './gpujs.js';
import type { GpujsBackend, GpujsMode } from './gpujs.js';
import { createGpujsWorkerBackend, gpujsWorkerSupported } from './gpujs-worker.js';

/**
 * A matrix-product backend: the one pluggable kernel of the engine (elementwise ops stay plain loops
 * next to their VJPs). Select one with {@link useBackend}; implement this to add your own and
 * register it with {@link registerBackend}.
 */
export interface MatmulBackend {
  /** Registry name, e.g. `cpu`, `gpujs`. */
  readonly name: string;
  /** What really runs, e.g. `cpu:blocked-f64`, `gpujs:webasm`, and why it fell back if it did. */
  describe(): string;
  /**
   * out[b] = a[b] · bm[b] for each of `batch` row-major products: a [batch, m, k], bm [batch, k, n],
   * out [batch, m, n] (fully overwritten). All three arrays share one dtype.
   */
  matmul(a: TypedArray, bm: TypedArray, out: TypedArray, batch: number, m: number, k: number, n: number): void;
  /**
   * Optional: the same product with stored transposes, out[b] = op(a)[b]·op(bm)[b] where op(a) is
   * [m, k] (stored [k, m] when `transA`) and op(bm) is [k, n] (stored [n, k] when `transB`).
   * Backends without it get a scratch transpose and `matmul` (engine/backend/transposed.ts).
   */
  matmulT?(a: TypedArray, bm: TypedArray, out: TypedArray, batch: number, m: number, k: number, n: number, transA: boolean, transB: boolean): void;
  /**
   * Optional: one product with a fused epilogue, out = φ(a·bm + bias[biasOff .. biasOff + n)) row by
   * row, φ = identity or relu (`v < 0 ? 0 : v`, NaN kept). Callers without it add the bias themselves.
   */
  matmulBiasAct?(a: TypedArray, bm: TypedArray, out: TypedArray, m: number, k: number, n: number, bias: TypedArray, biasOff: number, act: 'identity' | 'relu'): void;
  /**
   * Optional: the ReLU backward out = s > 0 ? dy : +0 elementwise (dy, s, out of one length and
   * dtype; a NaN s gives +0). Returns false when it declines (e.g. too small to pay); the caller
   * then runs its own loop. Results must equal that loop's bits.
   */
  reluGrad?(dy: TypedArray, s: TypedArray, out: TypedArray): boolean;
  /**
   * Optional: out[e, :] = Σ_{r = offsets[e]}^{offsets[e+1]−1} x[r, :] for x [S, H], out [E, H]
   * (E = offsets.length − 1; one dtype), each column summed over its rows in order in float64 and
   * rounded once. Returns false when it declines; the caller then runs its own loop, whose bits it
   * must equal (up to the sign and payload of a NaN result).
   */
  segmentColumnSum?(x: TypedArray, out: TypedArray, offsets: Int32Array, H: number): boolean;
}

const registry = new Map<string, MatmulBackend>([['cpu', cpuBackend]]);
let active: MatmulBackend = cpuBackend;

/** Makes a backend selectable by name (`useBackend(name)`). */
export function registerBackend(backend: MatmulBackend): void {
  checkBackend('registerBackend', backend);
  registry.set(backend.name, backend);
}

/**
 * Throws a ValueError unless `backend` has the MatmulBackend shape: a non-empty string `name`, and
 * `describe` and `matmul` functions — so a bad object fails when selected, not inside a later matmul.
 */
function checkBackend(op: string, backend: unknown): asserts backend is MatmulBackend {
  const b = backend as Partial<MatmulBackend> | null;
  if (b === null || typeof b !== 'object') {
    throw new ValueError(op, `backend must be a registered name or an object with name, describe() and matmul(); got ${describeValue(backend)}`);
  }
  const missing = [
    typeof b.name === 'string' && b.name !== '' ? null : `name (a non-empty string; got ${describeValue(b.name)})`,
    typeof b.describe === 'function' ? null : 'describe()',
    typeof b.matmul === 'function' ? null : 'matmul(a, b, out, batch, m, k, n)',
  ].filter((x) => x !== null);
  if (missing.length > 0) throw new ValueError(op, `backend object lacks ${missing.join(', ')}`);
}

/** The backend matmul currently runs on. */
export function getBackend(): MatmulBackend {
  return active;
}

/** `gpujs` → 'gpu', `gpujs:<mode>` → mode; null for other names. */
function gpujsModeOf(name: string): GpujsMode | null {
  if (name === 'gpujs') return 'gpu';
  const mode = name.startsWith('gpujs:') ? name.slice('gpujs:'.length) : null;
  return mode !== null && (GPUJS_MODES as readonly string[]).includes(mode) ? (mode as GpujsMode) : null;
}

/** Finds a backend by name, creating (and initialising) a gpu.js one on first request. Throws if unavailable. */
function resolve(name: string, op = 'useBackend'): MatmulBackend {
  if (typeof name !== 'string') throw new ValueError(op, `backend must be a name or a backend object; got ${describeValue(name)}`);
  const found = registry.get(name);
  if (found) return found;
  const mode = gpujsModeOf(name);
  if (mode === 'webgpu') {
    // gpu.js reads WebGPU back asynchronously: in Node a worker thread makes it synchronous; browsers can't block.
    if (!gpujsWorkerSupported()) throw new ValueError('useBackend', WEBGPU_ASYNC);
    const backend = createGpujsWorkerBackend({ mode: 'webgpu' });
    backend.init(); // starts the worker and runs a 1×1×1 product: no adapter → throws now, with gpu.js's reason
    registry.set(name, backend);
    return backend;
  }
  if (mode) {
    const backend = createGpujsBackend({ mode });
    backend.init(); // loads gpu.js and constructs its GPU now, so an unusable mode fails here, not mid-training
    registry.set(name, backend);
    return backend;
  }
  if (name === 'auto') return calibrateBackends().backend;
  throw new ValueError(op, `unknown backend '${name}'; registered: ${[...registry.keys()].join(', ')}; `
    + `also: auto, gpujs, ${GPUJS_MODES.filter((m) => m !== 'gpu').map((m) => `gpujs:${m}`).join(', ')}`);
}

/**
 * Selects the matmul backend by name or instance; returns the previous one. Names: registered ones
 * (`cpu`, ...), `gpujs[:mode]` (loads gpu.js; throws a ValueError saying why if that mode cannot run
 * here) and `auto` (see {@link calibrateBackends}).
 */
export function useBackend(backend: string | MatmulBackend): MatmulBackend {
  const prev = active;
  if (typeof backend !== 'string') { checkBackend('useBackend', backend); registry.set(backend.name, backend); active = backend; return prev; }
  active = resolve(backend);
  return prev;
}

/** Runs `fn` with a backend selected, restoring the previous one afterwards. */
export function withBackend<T>(backend: string | MatmulBackend, fn: () => T): T {
  checkFunction('withBackend', fn, 'fn');
  if (typeof backend !== 'string') checkBackend('withBackend', backend);
  else resolve(backend, 'withBackend');
  const prev = useBackend(backend);
  try { return fn(); } finally { active = prev; }
}

/** Names of the registered backends (gpu.js ones appear once selected). */
export function listBackends(): string[] {
  return [...registry.keys()];
}

/** One candidate's calibration result. */
export interface CalibrationEntry {
  /** The candidate's registry name, e.g. `cpu`, `gpujs:webgl2`. */
  name: string;
  /** The candidate's `describe()` after the timed runs (what really ran), or why it could not run. */
  describe: string;
  /** 2·n³ / median seconds / 1e9; null when the candidate failed. */
  gflops: number | null;
  /** Why the candidate could not run or gave a wrong product (absent when it worked). */
  error?: string;
}

/** The result of {@link calibrateBackends} (`useBackend('auto')`), also kept for {@link getCalibration}. */
export interface Calibration {
  /** The fastest correct candidate; now the active backend after `useBackend('auto')`. */
  backend: MatmulBackend;
  /** n of the timed n×n×n float32 product (256 by default). */
  size: number;
  /** Every candidate, in the order tried. */
  entries: CalibrationEntry[];
}

/**
 * gpu.js modes `auto` tries (gpu.js's own JS `cpu` mode is never faster than moegrad's CPU kernel);
 * `gpujs:webgpu` only where a worker thread can make it synchronous (Node).
 */
function autoGpujsCandidates(): string[] {
  return ['gpujs:headlessgl', 'gpujs:webgl2', 'gpujs:webgl', ...(gpujsWorkerSupported() ? ['gpujs:webgpu'] : []), 'gpujs:webasm'];
}

let lastCalibration: Calibration | null = null;
let defaultCalibration: Calibration | null = null; // the one `auto` uses, kept once made

/** The result of the last calibration (`useBackend('auto')` or {@link calibrateBackends}), or null. */
export function getCalibration(): Calibration | null {
  return lastCalibration;
}

function now(): number {
  return typeof performance !== 'undefined' ? performance.now() : Date.now();
}

/**
 * Times an n³ float32 product (default 256) on every registered backend plus the gpu.js modes that can
 * run here, checks each result against the CPU kernel (|Δ| ≤ 2·(K+3)·2⁻²⁴·Σ|a||b|), and returns the fastest
 * correct one. The default run (no size/candidates/reps) happens once and is what `useBackend('auto')` uses;
 * later default calls return it unless `force`. Cost: ~0.1–1 s.
 */
export function calibrateBackends(options: { size?: number; reps?: number; force?: boolean; candidates?: string[] } = {}): Calibration {
  const op = 'calibrateBackends';
  checkOptions(op, options);
  if (options.size !== undefined) checkCount(op, 'size', options.size, 1);
  if (options.size !== undefined && options.size > 4096) throw new ValueError(op, `size must be ≤ 4096 (a size² float32 product is timed); got ${options.size}`);
  if (options.reps !== undefined) checkCount(op, 'reps', options.reps, 1);
  if (options.reps !== undefined && options.reps > 1000) throw new ValueError(op, `reps must be ≤ 1000; got ${options.reps}`);
  checkBoolean(op, 'force', options.force, false);
  if (options.candidates !== undefined && (!Array.isArray(options.candidates) || options.candidates.some((c) => typeof c !== 'string'))) {
    throw new ValueError(op, `candidates must be an array of backend names; got ${describeValue(options.candidates)}`);
  }
  const isDefault = options.size === undefined && options.candidates === undefined && options.reps === undefined;
  if (isDefault && defaultCalibration && !options.force) return (lastCalibration = defaultCalibration);
  const n = options.size ?? 256, reps = options.reps ?? 3;
  const rng = new Rng(0x5eed);
  const a = new Float32Array(n * n).map(() => rng.uniform() * 2 - 1);
  const b = new Float32Array(n * n).map(() => rng.uniform() * 2 - 1);
  const ref = new Float32Array(n * n);
  cpuBackend.matmul(a, b, ref, 1, n, n, n);
  const bound = f32MatmulErrorBound(a, b, 1, n, n, n);
  const names = options.candidates ?? [...new Set([...registry.keys(), ...autoGpujsCandidates()])].filter((x) => x !== 'auto');
  const entries: CalibrationEntry[] = [];
  let best: { backend: MatmulBackend; gflops: number } | null = null;
  for (const name of names) {
    let backend: MatmulBackend | undefined;
    try {
      backend = resolve(name);
      const out = new Float32Array(n * n);
      backend.matmul(a, b, out, 1, n, n, n); // warm-up: compiles gpu.js kernels
      for (let i = 0; i < out.length; i++) {
        // both sides carry float32 rounding, hence twice the one-sided bound
        if (!(Math.abs(out[i]! - ref[i]!) <= 2 * bound[i]!)) {
          throw new Error(`wrong result at ${i}: ${out[i]} vs ${ref[i]} from the CPU kernel (bound ${(2 * bound[i]!).toExponential(2)})`);
        }
      }
      const times: number[] = [];
      for (let r = 0; r < reps; r++) { const t0 = now(); backend.matmul(a, b, out, 1, n, n, n); times.push(now() - t0); }
      times.sort((x, y) => x - y);
      const gflops = (2 * n * n * n) / (Math.max(times[reps >> 1]!, 1e-3) * 1e6);
      entries.push({ name, describe: backend.describe(), gflops });
      if (!best || gflops > best.gflops) best = { backend, gflops };
    } catch (e) {
      const error = e instanceof Error ? e.message : String(e);
      entries.push({ name, describe: backend ? backend.describe() : `${name} (unavailable)`, gflops: null, error });
    }
  }
  lastCalibration = { backend: best?.backend ?? cpuBackend, size: n, entries };
  if (isDefault) defaultCalibration = lastCalibration;
  return lastCalibration;
}

export type { GpujsBackend };

/**
 * Lazy, browser-safe access to gpu.js (a CommonJS package with an optional native `gl` dependency).
 *
 * Nothing here runs at import time, and there is no static `node:` import, so importing moegrad never
 * fails when gpu.js (or its native parts) is missing. gpu.js is found, in order:
 *   1. a constructor injected by the caller (`createGpujsBackend({ GPU })`, e.g. the browser build's
 *      `window.GPU` from `gpu-browser.js`);
 *   2. a global `GPU` that is gpu.js (checked by its `createKernel` method: in Chrome `window.GPU` can
 *      be the native WebGPU interface instead);
 *   3. in Node ≥ 20.16, `require('gpu.js')` through `process.getBuiltinModule('module').createRequire`,
 *      synchronously, so the sync matmul API can use it on first call;
 *   4. `await preloadGpujs()` (a guarded dynamic `import('gpu.js')`) for runtimes without (3).
 *
 * gpu.js is an optional peer dependency (see {@link OPTIONAL_DEPENDENCIES}): when it is not installed,
 * {@link loadGpujs} throws an {@link OptionalDependencyError} that says `npm install gpu.js@2.24.1`.
 *
 * @module
 */
import { MoegradError, ValueError } from '../errors.js';
import { OptionalDependencyError, importOptional, requireOptional } from '../optional-dep.js';

/** The slice of a gpu.js kernel (its run shortcut) that moegrad uses. */
export interface GpujsKernelRun {
  (...args: unknown[]): unknown;
  /** The backend kernel that actually runs; gpu.js swaps it on fallback. */
  kernel: {
    /** The kernel's class (e.g. `WebGL2Kernel`). */
    constructor: {
      /** The class name (may be minified in a browser build). */
      name: string;
    };
    /** Why gpu.js fell back from the requested kernel, if it did. */
    fallbackReason?: string | null;
  };
  /** Frees the kernel's GPU resources. */
  destroy?: (removeCanvasReferences?: boolean) => void;
}

/** The slice of a gpu.js `GPU` instance that moegrad uses. */
export interface GpujsInstance {
  /** Compiles `source` (a JS function as text) into a kernel for this instance's mode. */
  createKernel(source: string, settings: Record<string, unknown>): GpujsKernelRun;
  /** The kernel class gpu.js chose for this instance (e.g. `WebAssemblyKernel`). */
  Kernel?: {
    /** The class name. */
    name: string;
    /** What the class detected about the device (GL kernels). */
    features?: {
      /** GL `MAX_TEXTURE_SIZE`: the largest output tile side. */
      maxTextureSize?: number;
    } | null;
  } | null;
  /** Frees every kernel and context of the instance. */
  destroy?: () => unknown;
}

/** gpu.js's `GPU` constructor (Node: `require('gpu.js').GPU`; browser: the `GPU` global). */
export type GpujsConstructor = new (settings?: { mode?: string }) => GpujsInstance;

/** gpu.js's `input(flat, [width, height])`: wraps a flat array as a 2-D argument without a JS copy. */
export type GpujsInputFn = (value: Float32Array, size: number[]) => unknown;

/** The parts of gpu.js that moegrad uses, found by {@link gpujsFrom}. */
export interface GpujsModule {
  /** The `GPU` constructor. */
  GPU: GpujsConstructor;
  /** gpu.js's `input` helper. */
  input: GpujsInputFn;
  /** gpu.js's kernel classes by their source names, to name the class that ran even in a minified build. */
  kernelClasses: ReadonlyMap<unknown, string>;
}

const KERNEL_CLASS_NAMES = ['HeadlessGLKernel', 'WebGL2Kernel', 'WebGLKernel', 'WebGPUKernel', 'WebAssemblyKernel', 'CPUKernel'];

let cached: GpujsModule | Error | undefined;

/**
 * The pieces of gpu.js moegrad needs from a module object or the browser global.
 *
 * @param lib - gpu.js's module exports (Node) or the browser's `GPU` global.
 * @param GPU - a `GPU` constructor that overrides `lib.GPU`.
 * @throws {@link ValueError} when `lib`/`GPU` is not gpu.js (no constructor with `createKernel`, or no `input`).
 */
export function gpujsFrom(lib: unknown, GPU?: GpujsConstructor): GpujsModule {
  const l = (lib ?? {}) as { GPU?: unknown; input?: unknown };
  const ctor = GPU ?? (typeof l.GPU === 'function' ? (l.GPU as GpujsConstructor) : undefined);
  // gpu-browser.js copies every export onto the GPU constructor, `input` included.
  const input = typeof l.input === 'function' ? l.input : (ctor as unknown as { input?: unknown } | undefined)?.input;
  if (!ctor || typeof (ctor as unknown as { prototype?: { createKernel?: unknown } }).prototype?.createKernel !== 'function') {
    throw new ValueError('gpujsFrom', `not gpu.js: expected a GPU constructor with createKernel; got ${ctor === undefined ? 'none' : typeof ctor}`);
  }
  if (typeof input !== 'function') throw new ValueError('gpujsFrom', `gpu.js \`input\` helper not found (pass it next to GPU); got ${typeof input}`);
  const kernelClasses = new Map<unknown, string>();
  for (const source of [l, ctor] as Record<string, unknown>[]) {
    for (const name of KERNEL_CLASS_NAMES) if (typeof source[name] === 'function') kernelClasses.set(source[name], name);
  }
  return { GPU: ctor, input: input as GpujsInputFn, kernelClasses };
}

function loadSync(): GpujsModule | Error {
  const g = globalThis as { GPU?: unknown };
  if (typeof g.GPU === 'function') {
    try { return gpujsFrom(g.GPU); } catch { /* the native WebGPU `GPU` interface, not gpu.js */ }
  }
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  if (typeof proc?.getBuiltinModule !== 'function') {
    return new MoegradError('loadGpujs', 'gpu.js is not loaded: in a browser pass it in (createGpujsBackend({ GPU })) or load gpu-browser.js; '
      + 'in Node < 20.16 call `await preloadGpujs()` first');
  }
  try {
    return gpujsFrom(requireOptional('gpu.js', 'loadGpujs'));
  } catch (e) {
    return e instanceof OptionalDependencyError ? e : new OptionalDependencyError('loadGpujs', 'gpu.js', 'failed', e);
  }
}

/**
 * gpu.js, loaded on first use (the result, or the failure, is cached).
 *
 * @throws {@link OptionalDependencyError} when gpu.js is not installed (the message says
 *   `npm install gpu.js@2.24.1`) or fails to load; {@link MoegradError} in a runtime without a
 *   synchronous `require` before {@link preloadGpujs}.
 */
export function loadGpujs(): GpujsModule {
  cached ??= loadSync();
  if (cached instanceof Error) throw cached;
  return cached;
}

/** Whether gpu.js can be loaded here; never throws. */
export function gpujsAvailable(): boolean {
  try { loadGpujs(); return true; } catch { return false; }
}

/**
 * Loads gpu.js with a dynamic `import()` (for runtimes where the synchronous path is unavailable).
 * Resolves to false, without throwing, when it cannot be loaded; the gpu.js backends then throw the
 * reason ({@link OptionalDependencyError} naming the package to install).
 */
export async function preloadGpujs(): Promise<boolean> {
  if (cached !== undefined && !(cached instanceof Error)) return true;
  try {
    const lib = await importOptional<{ default?: unknown }>('gpu.js', 'preloadGpujs');
    cached = gpujsFrom(lib.default ?? lib);
    return true;
  } catch (e) {
    cached = e instanceof OptionalDependencyError ? e : new OptionalDependencyError('preloadGpujs', 'gpu.js', 'failed', e);
    return false;
  }
}

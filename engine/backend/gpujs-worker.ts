/**
 * gpu.js on a Node worker thread behind the synchronous matmul interface — how `gpujs:webgpu` runs in Node.
 *
 * The engine's ops call matmul synchronously, but gpu.js reads WebGPU results back asynchronously
 * (mapAsync). So a worker thread owns gpu.js and the WebGPU device: the main thread copies the operands
 * (as float32) into a SharedArrayBuffer, posts the job, and sleeps in Atomics.wait until the worker has
 * awaited the kernels and written the product back. Status comes back on a MessagePort, read with
 * receiveMessageOnPort (synchronous). Measured on an H100 (Vulkan, NVIDIA driver): see issue #4's report.
 *
 * WebGPU in Node comes from the `webgpu` package (Dawn) that gpu.js depends on: the worker installs its
 * `navigator.gpu`, asking for the high-performance adapter. webgpu@0.2.9 (the version gpu.js pins) needs
 * glibc ≥ 2.38, and rejects a plain function for `device.onuncapturederror` (which gpu.js assigns), so the
 * worker routes that to addEventListener.
 *
 * Node only (Atomics.wait is forbidden on a browser's main thread). Browser-safe to import:
 * node:worker_threads is reached through `process.getBuiltinModule` when a backend is first used.
 */
import type { TypedArray } from '../tensor.js';
import { ValueError } from '../errors.js';
import { checkCount, checkOptions, describeValue } from '../validate.js';
import { KERNEL_CACHE_LIMIT, KERNEL_CLASS_MODE, MATMUL_SOURCE, describeRun, type GpujsBackend } from './gpujs.js';
import { assertOptionalInstalled } from '../optional-dep.js';
import { checkMatmulArgs } from './cpu.js';

/** gpu.js modes that can run in the worker: `webgpu` is the point; `webasm` and `cpu` test the bridge. */
export type GpujsWorkerMode = 'webgpu' | 'webasm' | 'cpu';

/** Options of {@link createGpujsWorkerBackend}; every field is optional. */
export interface GpujsWorkerOptions {
  /** gpu.js mode run in the worker (default `webgpu`). */
  mode?: GpujsWorkerMode;
  /** Registry name; default `gpujs:<mode>`. */
  name?: string;
  /** Longest wait for one product, first call (adapter, compile) included. Default 120 s. */
  timeoutMs?: number;
  /** Flags for the `webgpu` package's `create()`, e.g. `['backend=vulkan']`. */
  webgpuFlags?: string[];
}

interface Port { postMessage(msg: unknown): void; unref?(): void; close(): void }
interface NodeWorker { unref(): void; terminate(): Promise<number> }
interface WorkerThreads {
  Worker: new (src: string, opts: object) => NodeWorker;
  MessageChannel: new () => { port1: Port; port2: Port };
  receiveMessageOnPort(port: Port): { message: unknown } | undefined;
  isMainThread: boolean;
}

/** Longest wait for `init()`'s 1×1×1 probe (worker start, adapter, first compile: ~0.5 s on an H100). */
const PROBE_TIMEOUT_MS = 30_000;

interface Reply { ok: boolean; cls?: string; fallbackReason?: string | null; error?: string }

// Plain JS, eval'd in the worker (no TypeScript, no imports from this package).
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { createRequire } = require('node:module');
const { pathToFileURL } = require('node:url');
const { port, base, mode, source, flags, cacheLimit } = workerData;
const req = createRequire(base);
const NAMES = ['HeadlessGLKernel', 'WebGL2Kernel', 'WebGLKernel', 'WebGPUKernel', 'WebAssemblyKernel', 'CPUKernel'];
let lib = null, gpu = null;
const kernels = new Map();

async function installWebGPU() {
  if (globalThis.navigator && globalThis.navigator.gpu) return;
  const webgpu = await import(pathToFileURL(req.resolve('webgpu')).href);
  Object.assign(globalThis, webgpu.globals);
  const g = webgpu.create(flags);
  const patch = (dev) => {
    try {
      Object.defineProperty(dev, 'onuncapturederror', { configurable: true, get: () => null,
        set: (fn) => { try { dev.addEventListener('uncapturederror', fn); } catch (e) { /* no events */ } } });
    } catch (e) { /* a binding that accepts the property as is */ }
    return dev;
  };
  const requestAdapter = async (o) => {
    const adapter = await g.requestAdapter(Object.assign({ powerPreference: 'high-performance' }, o || {}));
    if (!adapter) return adapter;
    const orig = adapter.requestDevice.bind(adapter);
    adapter.requestDevice = async (d) => patch(await orig(d));
    return adapter;
  };
  Object.defineProperty(globalThis, 'navigator', { configurable: true, writable: true,
    value: { gpu: { requestAdapter, getPreferredCanvasFormat: () => 'rgba8unorm' } } });
}

async function setup() {
  if (gpu) return;
  if (mode === 'webgpu') await installWebGPU();
  lib = req('gpu.js');
  gpu = new lib.GPU({ mode });
}

function className(C) {
  for (const name of NAMES) if (lib[name] === C) return name;
  return C.name;
}

function kernelFor(m, k, n) {
  const key = m + 'x' + k + 'x' + n;
  let kernel = kernels.get(key);
  if (kernel) { kernels.delete(key); kernels.set(key, kernel); return kernel; }
  kernel = gpu.createKernel(source, { output: [n, m], constants: { K: k }, loopMaxIterations: Math.max(1000, k),
    precision: 'single', tactic: 'precision', dynamicOutput: false, dynamicArguments: false });
  kernels.set(key, kernel);
  if (kernels.size > cacheLimit) {
    const [oldKey, old] = kernels.entries().next().value;
    kernels.delete(oldKey);
    try { old.destroy(); } catch (e) { /* leak only */ }
  }
  return kernel;
}

port.on('message', async (job) => {
  const { data, ctrl, batch, m, k, n } = job;
  const flag = new Int32Array(ctrl);
  let reply;
  try {
    await setup();
    const f = new Float32Array(data);
    const aLen = batch * m * k, bLen = batch * k * n;
    const kernel = kernelFor(m, k, n);
    for (let t = 0; t < batch; t++) {
      // plain (unshared) copies: WebGPU uploads may refuse views of a SharedArrayBuffer
      const a = f.slice(t * m * k, (t + 1) * m * k), b = f.slice(aLen + t * k * n, aLen + (t + 1) * k * n);
      const r = await kernel(lib.input(a, [k, m]), lib.input(b, [n, k]));
      const off = aLen + bLen + t * m * n;
      if (ArrayBuffer.isView(r)) f.set(r.subarray(0, m * n), off);
      else for (let i = 0; i < m; i++) f.set(r[i].subarray(0, n), off + i * n);
    }
    reply = { ok: true, cls: className(kernel.kernel.constructor), fallbackReason: kernel.kernel.fallbackReason || null };
  } catch (e) {
    reply = { ok: false, error: String((e && e.message) || e) };
  }
  port.postMessage(reply);
  Atomics.store(flag, 0, 2);
  Atomics.notify(flag, 0);
});
`;

function workerThreads(): WorkerThreads | undefined {
  try {
    const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
    const wt = typeof proc?.getBuiltinModule === 'function' ? (proc.getBuiltinModule('node:worker_threads') as WorkerThreads | undefined) : undefined;
    return wt && typeof SharedArrayBuffer !== 'undefined' ? wt : undefined;
  } catch {
    return undefined;
  }
}

/** Whether this runtime can host the worker backend (Node ≥ 20.16 with worker_threads). */
export function gpujsWorkerSupported(): boolean {
  return workerThreads() !== undefined;
}

/**
 * A synchronous matmul backend whose gpu.js kernels run on a Node worker thread — the way to use gpu.js
 * `webgpu` (a real GPU in Node, through Dawn) with the engine's ops. Float32 compute, like every gpu.js
 * mode; float64 operands are rounded on the way in and widened on the way out. One kernel per (m, k, n),
 * K a compile-time constant. `describe()` reports the kernel class the worker actually ran.
 */
export function createGpujsWorkerBackend(options: GpujsWorkerOptions = {}): GpujsBackend {
  checkOptions('createGpujsWorkerBackend', options);
  const mode = options.mode ?? 'webgpu';
  if (!['webgpu', 'webasm', 'cpu'].includes(mode)) {
    throw new ValueError('createGpujsWorkerBackend', `mode must be 'webgpu', 'webasm' or 'cpu'; got ${describeValue(mode)}`);
  }
  if (options.timeoutMs !== undefined) checkCount('createGpujsWorkerBackend', 'timeoutMs', options.timeoutMs, 1);
  if (options.name !== undefined && (typeof options.name !== 'string' || options.name === '')) {
    throw new ValueError('createGpujsWorkerBackend', `name must be a non-empty string; got ${describeValue(options.name)}`);
  }
  if (options.webgpuFlags !== undefined && (!Array.isArray(options.webgpuFlags) || options.webgpuFlags.some((f) => typeof f !== 'string'))) {
    throw new ValueError('createGpujsWorkerBackend', `webgpuFlags must be an array of strings; got ${describeValue(options.webgpuFlags)}`);
  }
  const name = options.name ?? `gpujs:${mode}`;
  const timeoutMs = options.timeoutMs ?? 120_000;

  let worker: { w: NodeWorker; port: Port; wt: WorkerThreads; ctrl: Int32Array } | null = null;
  let data: SharedArrayBuffer | null = null;
  let kernelClass: string | null = null;
  let fallbackReason: string | null = null;
  let calls = 0, launches = 0;
  const shapes = new Set<string>(); // distinct shapes run (the worker compiles one kernel per shape)

  function start(): NonNullable<typeof worker> {
    if (worker) return worker;
    const wt = workerThreads();
    if (!wt) throw new ValueError(name, 'needs Node ≥ 20.16 (worker_threads through process.getBuiltinModule) and SharedArrayBuffer');
    assertOptionalInstalled('gpu.js', name); // a clear 'npm install gpu.js' error instead of the worker's require failure
    const { port1, port2 } = new wt.MessageChannel();
    const w = new wt.Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { port: port2, base: import.meta.url, mode, source: MATMUL_SOURCE, flags: options.webgpuFlags ?? [], cacheLimit: KERNEL_CACHE_LIMIT },
      transferList: [port2],
    });
    w.unref(); // an idle worker never keeps the process alive
    port1.unref?.();
    worker = { w, port: port1, wt, ctrl: new Int32Array(new SharedArrayBuffer(4)) };
    return worker;
  }

  function stop(): void {
    if (!worker) return;
    worker.port.close();
    void worker.w.terminate();
    worker = null;
  }

  function run(a: TypedArray, b: TypedArray, out: TypedArray, batch: number, m: number, k: number, n: number, probe = false): void {
    const wk = start();
    const aLen = batch * m * k, bLen = batch * k * n, oLen = batch * m * n;
    const bytes = (aLen + bLen + oLen) * 4;
    if (!data || data.byteLength < bytes) data = new SharedArrayBuffer(Math.max(bytes, 2 * (data?.byteLength ?? 0)));
    const f = new Float32Array(data, 0, aLen + bLen + oLen);
    f.set(a.subarray(0, aLen));
    f.set(b.subarray(0, bLen), aLen);
    Atomics.store(wk.ctrl, 0, 1);
    wk.port.postMessage({ data, ctrl: wk.ctrl.buffer, batch, m, k, n });
    const limit = probe ? Math.min(timeoutMs, PROBE_TIMEOUT_MS) : timeoutMs;
    const waited = Atomics.wait(wk.ctrl, 0, 1, limit);
    const reply = wk.wt.receiveMessageOnPort(wk.port)?.message as Reply | undefined;
    if (waited === 'timed-out' || !reply) {
      stop(); // its state is unknown: the next call starts a fresh worker
      throw new ValueError(name, `gpu.js worker gave no result for ${batch}×[${m}, ${k}]@[${k}, ${n}] within ${limit} ms`);
    }
    if (!reply.ok) {
      if (kernelClass === null) stop(); // never worked: don't keep a broken worker around
      throw new ValueError(name, `gpu.js mode '${mode}' is not available here: ${reply.error}`);
    }
    out.set(f.subarray(aLen + bLen, aLen + bLen + oLen));
    if (!probe) { launches += batch; shapes.add(`${m}x${k}x${n}`); }
    kernelClass = reply.cls ?? null;
    const ran = kernelClass ? KERNEL_CLASS_MODE[kernelClass] ?? kernelClass : null;
    const reasons = [reply.fallbackReason, ran !== mode ? `gpu.js ran ${kernelClass} instead of the requested '${mode}'` : null].filter(Boolean);
    fallbackReason = reasons.length ? reasons.join('; ') : null;
  }

  function matmul(a: TypedArray, b: TypedArray, out: TypedArray, batch: number, m: number, k: number, n: number): void {
    checkMatmulArgs(a, b, out, batch, m, k, n);
    calls++;
    if (batch * m * n === 0) return;
    if (k === 0) { out.fill(0, 0, batch * m * n); return; }
    run(a, b, out, batch, m, k, n);
  }

  return {
    name,
    mode,
    get kernelClass() { return kernelClass; },
    get fallbackReason() { return fallbackReason; },
    describe() {
      if (kernelClass === null) return `${name} (worker thread; nothing has run yet)`;
      return describeRun(kernelClass, fallbackReason);
    },
    matmul,
    /** Blocks like `matmul` (the wait happens in Atomics.wait); provided for interface parity. */
    async matmulAsync(a, b, out, batch, m, k, n) { matmul(a, b, out, batch, m, k, n); },
    /** Starts the worker and runs a 1×1×1 product, so a mode that cannot run here throws now. */
    init() {
      if (kernelClass !== null) return;
      run(Float32Array.of(1), Float32Array.of(1), new Float32Array(1), 1, 1, 1, 1, true);
    },
    stats: () => ({ compiled: shapes.size, cached: Math.min(shapes.size, KERNEL_CACHE_LIMIT), calls, launches, maxTextureSize: Infinity }),
    dispose() { stop(); kernelClass = null; shapes.clear(); },
  };
}

/**
 * Worker pool for the WebAssembly matmul (Node only). Workers instantiate the same generated module
 * on the same shared WebAssembly.Memory and sleep in Atomics.wait on the control block; a job is
 * published by the main thread (seqlock on SEQ), every thread — main included — grabs row-chunk
 * tasks inside wasm `run`, and the main thread sleeps in Atomics.wait until DONE reaches the total.
 *
 * Browser-safe: node:worker_threads is reached only through `process.getBuiltinModule` at call
 * time; anywhere else (browsers, old Node) `startWorkers` returns 0 and matmul stays single-thread.
 */
import { Ctrl, CTRL_BASE } from './wasm/gemm-kernel.js';

interface NodeWorker { unref(): void; terminate(): Promise<number>; on(ev: string, fn: (...a: unknown[]) => void): void }
interface WorkerThreadsModule { Worker: new (src: string, opts: object) => NodeWorker; isMainThread: boolean }

/** Loads node:worker_threads and node:os without a static import (undefined outside Node ≥ 20.16). */
function nodeModules(): { wt: WorkerThreadsModule; cores: number } | undefined {
  try {
    const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
    const get = proc?.getBuiltinModule;
    if (typeof get !== 'function') return undefined;
    const wt = get('node:worker_threads') as WorkerThreadsModule | undefined;
    const os = get('node:os') as { availableParallelism?: () => number; cpus(): unknown[] } | undefined;
    if (!wt || !os || !wt.isMainThread) return undefined;
    const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
    return { wt, cores };
  } catch {
    return undefined;
  }
}

/** Number of hardware threads (1 where unknown). */
export function hardwareThreads(): number {
  return nodeModules()?.cores ?? 1;
}

// Plain JS run inside each worker (eval'd, so no TypeScript and no imports from this package).
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { memory, bytes, base, S } = workerData;
const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
const c = new Int32Array(memory.buffer, base, 64);
Atomics.add(c, S.READY, 1); Atomics.notify(c, S.READY);
let seen = Atomics.load(c, S.SEQ);
for (;;) {
  Atomics.wait(c, S.SEQ, seen);
  seen = Atomics.load(c, S.SEQ);
  if (Atomics.load(c, S.QUIT)) break;
  if (seen & 1) continue;
  Atomics.add(c, S.ACTIVE, 1);
  if (Atomics.load(c, S.SEQ) === seen) {
    try {
      const done = inst.exports.run(base);
      if (done > 0) { Atomics.add(c, S.DONE, done); Atomics.notify(c, S.DONE); }
    } catch (e) {
      Atomics.store(c, S.ERROR, 1); Atomics.notify(c, S.DONE);
    }
  }
  Atomics.sub(c, S.ACTIVE, 1); Atomics.notify(c, S.ACTIVE);
}
`;

/** A started pool: `workers` threads attached to the shared memory (they become ready asynchronously). */
export interface ThreadPool {
  readonly workers: number;
  /** Workers that have instantiated the module and wait for jobs. */
  ready(): number;
  /** Blocks (Atomics.wait) until all workers are ready or `timeoutMs` passes; returns ready count. */
  waitReady(timeoutMs: number): number;
  stop(): void;
}

/**
 * Starts `count` workers (default: hardware threads − 1) on a shared memory. Returns undefined where
 * worker_threads or shared memory are unavailable.
 */
export function startWorkers(memory: WebAssembly.Memory, bytes: Uint8Array, count?: number): ThreadPool | undefined {
  const mods = nodeModules();
  if (!mods || !(memory.buffer instanceof SharedArrayBuffer)) return undefined;
  const n = count ?? Math.max(0, mods.cores - 1);
  if (n <= 0) return undefined;
  const ctrl = new Int32Array(memory.buffer, CTRL_BASE, 64);
  const workers: NodeWorker[] = [];
  for (let w = 0; w < n; w++) {
    const worker = new mods.wt.Worker(WORKER_SOURCE, { eval: true, execArgv: [], workerData: { memory, bytes, base: CTRL_BASE, S: Ctrl } });
    worker.on('error', () => { Atomics.store(ctrl, Ctrl.ERROR, 1); });
    worker.unref();
    workers.push(worker);
  }
  return {
    workers: n,
    ready: () => Atomics.load(ctrl, Ctrl.READY),
    waitReady(timeoutMs) {
      const end = Date.now() + timeoutMs;
      let r: number;
      while ((r = Atomics.load(ctrl, Ctrl.READY)) < n && Date.now() < end) Atomics.wait(ctrl, Ctrl.READY, r, Math.max(1, end - Date.now()));
      return Atomics.load(ctrl, Ctrl.READY);
    },
    stop() {
      Atomics.store(ctrl, Ctrl.QUIT, 1);
      Atomics.add(ctrl, Ctrl.SEQ, 2);
      Atomics.notify(ctrl, Ctrl.SEQ);
      for (const w of workers) void w.terminate();
    },
  };
}

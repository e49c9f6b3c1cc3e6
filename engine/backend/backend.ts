/**
 * Matmul backends. The interface is deliberately tiny: elementwise ops stay as plain loops next to
 * their VJPs; only the O(n³) product is pluggable (CPU kernel by default, gpu.js on request).
 */
import type { TypedArray } from '../tensor.js';
import { cpuBackend } from './cpu.js';
import { ValueError } from '../errors.js';

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
}

const registry = new Map<string, MatmulBackend>([['cpu', cpuBackend]]);
let active: MatmulBackend = cpuBackend;

/** Makes a backend selectable by name (`useBackend(name)`). */
export function registerBackend(backend: MatmulBackend): void {
  registry.set(backend.name, backend);
}

/** The backend matmul currently runs on. */
export function getBackend(): MatmulBackend {
  return active;
}

/** Selects the matmul backend by name or instance; returns the previous one. */
export function useBackend(backend: string | MatmulBackend): MatmulBackend {
  const prev = active;
  if (typeof backend !== 'string') { registerBackend(backend); active = backend; return prev; }
  const found = registry.get(backend);
  if (!found) throw new ValueError('useBackend', `unknown backend '${backend}'; registered: ${[...registry.keys()].join(', ')}`);
  active = found;
  return prev;
}

/** Runs `fn` with a backend selected, restoring the previous one afterwards. */
export function withBackend<T>(backend: string | MatmulBackend, fn: () => T): T {
  const prev = useBackend(backend);
  try { return fn(); } finally { active = prev; }
}

/** Names of the registered backends. */
export function listBackends(): string[] {
  return [...registry.keys()];
}

/** Shared helpers for the engine's literal tests. */
import { expect } from 'vitest';
import { Tensor, fromData, randn, type Rng, type MoegradError } from '../../engine/index.js';
import { ENGINE_OPS, type OpCase, type OpSpec } from '../../engine/ops/registry.js';
import { MOE_OPS } from '../../moe/registry.js';

/** Central differences of a tensor-valued g along direction v: (g(x + εv) − g(x − εv)) / 2ε. */
export function fdAlong(g: (x: Tensor) => Tensor, x: Tensor, v: Tensor, eps = 1e-5): number[] {
  const shifted = (s: number) => g(fromData(Float64Array.from(x.data, (xi, i) => xi + s * eps * v.data[i]!), x.shape)).toArray();
  const p = shifted(1), m = shifted(-1);
  return p.map((pi, i) => (pi - m[i]!) / (2 * eps));
}

/** max |a − b| / max(|b|∞, 1e-12): a scale-relative distance between two vectors. */
export function relDist(a: readonly number[], b: readonly number[]): number {
  expect(a.length).toBe(b.length);
  const scale = Math.max(1e-12, ...b.map(Math.abs));
  return Math.max(...a.map((ai, i) => Math.abs(ai - b[i]!))) / scale;
}

/** Asserts `fn` throws an instance of `cls` whose message contains every fragment. */
export function expectError(fn: () => unknown, cls: new (...args: never[]) => MoegradError, ...fragments: string[]): void {
  let caught: unknown = null;
  try { fn(); } catch (e) { caught = e; }
  expect(caught, `expected ${cls.name}`).toBeInstanceOf(cls);
  for (const f of fragments) expect((caught as Error).message).toContain(f);
}

/** Asserts a and b have one shape and the same bits in every element (Object.is: −0 ≠ +0, NaN = NaN). */
export function sameBits(a: Tensor, b: Tensor, what: string): void {
  expect(a.shape, what).toEqual(b.shape);
  for (let i = 0; i < a.size; i++) if (!Object.is(a.data[i], b.data[i])) throw new Error(`${what}: element ${i}: ${a.data[i]} vs ${b.data[i]}`);
}

/**
 * Lets small test tensors take part in buffer reuse (pool threshold 65 bytes) for the file's tests,
 * and restores the threshold and the pool afterwards.
 */
export function poolSmallTensorsInThisFile(beforeAll: (fn: () => void) => void, afterAll: (fn: () => void) => void, set: { setPoolMinBytes: (b: number) => number; setBufferPool: (on: boolean) => void; POOL_MIN_BYTES: number }): void {
  beforeAll(() => { set.setPoolMinBytes(65); });
  afterAll(() => { set.setPoolMinBytes(set.POOL_MIN_BYTES); set.setBufferPool(true); });
}

/** Every registered engine and MoE op, `perOp` sampled cases each, with a random weight w of the op's output shape (for a scalar loss Σ w ⊙ op(x)). */
export function forEachRegisteredCase(rng: Rng, perOp: number, body: (spec: OpSpec, kase: OpCase, w: Tensor) => void): void {
  for (const spec of [...ENGINE_OPS, ...MOE_OPS]) {
    for (let c = 0; c < perOp; c++) {
      const kase = spec.sample(rng, 8);
      const out = kase.run(kase.inputs);
      body(spec, kase, randn(rng, out.shape, 1, out.dtype));
    }
  }
}

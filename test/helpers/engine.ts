/** Shared helpers for the engine's literal tests. */
import { expect } from 'vitest';
import { Tensor, fromData, type MoegradError } from '../../engine/index.js';

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

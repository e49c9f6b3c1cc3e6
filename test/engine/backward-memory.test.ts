/**
 * The backward walk's memory savings (issue 15) change nothing observable: gradients accumulated
 * in place equal the allocating path bit for bit, no caller tensor is written, `vjp`'s tape can be
 * pulled back repeatedly, and grad of grad (where the accumulation is recorded) still works.
 */
import { describe, it, expect } from 'vitest';
import { allocate } from '../../engine/tensor.js';
import {
  Rng, randn, grad, valueAndGrad, vjp, add, mul, exp, sum, tanh, withDebugNans, broadcastTo, type Tensor,
} from '../../engine/index.js';

/** x used many times (each use adds a contribution) and a row-broadcast parameter. */
function f(p: { x: Tensor; b: Tensor }): Tensor {
  let acc = mul(p.x, p.x);
  for (let i = 0; i < 6; i++) acc = add(acc, mul(tanh(add(p.x, p.b)), exp(mul(p.x, 0.1 * i))));
  return sum(add(acc, p.x));
}

describe('backward memory', () => {
  for (const dtype of ['float64', 'float32'] as const) {
    it(`in-place accumulation equals the allocating path bit for bit (${dtype})`, () => {
      const rng = new Rng(5);
      const p = { x: randn(rng, [7, 5], 1, dtype), b: randn(rng, [5], 1, dtype) };
      const before = { x: Float64Array.from(p.x.data), b: Float64Array.from(p.b.data) };
      const fast = valueAndGrad(f)(p);
      // debugNans observes every VJP contribution, so the walk allocates every sum (the old path).
      const slow = withDebugNans(() => valueAndGrad(f)(p));
      for (const k of ['x', 'b'] as const) {
        expect(fast.grad[k].shape).toEqual(p[k].shape);
        for (let i = 0; i < p[k].size; i++) expect(Object.is(fast.grad[k].data[i], slow.grad[k].data[i])).toBe(true);
        expect(Array.from(p[k].data)).toEqual(Array.from(before[k]));
      }
    });
  }

  it('a vjp pullback can be called again and never writes the cotangent', () => {
    const rng = new Rng(6);
    const x = randn(rng, [4, 3]);
    const r = vjp((t: Tensor) => add(add(mul(t, t), t), broadcastTo(sum(t, 0), [4, 3])), x);
    const dy = randn(rng, [4, 3]);
    const dyCopy = Array.from(dy.data);
    const g1 = r.vjp(dy), g2 = r.vjp(dy);
    expect(Array.from(g1.data)).toEqual(Array.from(g2.data));
    expect(Array.from(dy.data)).toEqual(dyCopy);
  });

  it('grad of grad still accumulates on the outer tape', () => {
    // f(x) = Σ (x³ + x²): f' = 3x² + 2x, f'' = 6x + 2
    const x = randn(new Rng(7), [5]);
    const d2 = grad((y: Tensor) => sum(grad((z: Tensor) => sum(add(mul(mul(z, z), z), mul(z, z))))(y)))(x);
    x.data.forEach((v, i) => expect(d2.data[i]).toBeCloseTo(6 * v + 2, 12));
  });

  it('small buffers carved from shared slabs start at zero and never overlap', () => {
    const bufs = [];
    for (let i = 0; i < 400; i++) {
      const dtype = i % 3 === 0 ? 'float32' as const : 'float64' as const;
      const n = [9, 16, 17, 33, 100, 128, 3, 0][i % 8]!;
      const b = allocate(dtype, n);
      expect(b.length).toBe(n);
      expect(b.byteOffset % 8).toBe(0);
      expect(b.every((v) => v === 0)).toBe(true);
      b.fill(i + 1);
      bufs.push({ b, v: i + 1 });
    }
    for (const { b, v } of bufs) expect(b.every((x) => x === v)).toBe(true); // no later buffer wrote into it
  });
});

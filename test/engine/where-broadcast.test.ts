/**
 * where() broadcasts its three operands by strides (no broadcast copies): values and gradients equal
 * those of where on explicitly broadcast operands, bit for bit, for every broadcast pattern.
 */
import { describe, it, expect } from 'vitest';
import { Rng, randn, fromData, where, broadcastTo, grad, sum, mul, zeros, tensor, ShapeError, type Tensor } from '../../engine/index.js';

const bits = (t: Tensor) => [...t.data];

describe('where with broadcasting', () => {
  const cases: [number[], number[], number[]][] = [
    [[3, 4], [4], [3, 1]], [[2, 3, 4], [1, 3, 1], [4]], [[5], [1], []], [[2, 1, 3], [4, 1], [2, 4, 1]], [[3, 4], [3, 4], [3, 4]], [[0, 3], [3], [1]],
  ];
  for (const [sa, sb, sm] of cases) {
    it(`a ${JSON.stringify(sa)}, b ${JSON.stringify(sb)}, mask ${JSON.stringify(sm)}`, () => {
      const rng = new Rng(sa.length * 10 + sb.length);
      const a = randn(rng, sa), b = randn(rng, sb);
      const mn = sm.reduce((x, y) => x * y, 1);
      const mask = fromData(Float64Array.from({ length: mn }, (_, i) => (i * 7 + 3) % 3 === 0 ? 0 : 1), sm);
      const y = where(mask, a, b);
      const shape = y.shape;
      const ref = where(broadcastTo(mask, shape), broadcastTo(a, shape), broadcastTo(b, shape));
      expect(shape).toEqual(ref.shape);
      expect(bits(y)).toEqual(bits(ref));
      const g = randn(rng, shape);
      const f = (p: { a: Tensor; b: Tensor }) => sum(mul(where(mask, p.a, p.b), g));
      const fr = (p: { a: Tensor; b: Tensor }) => sum(mul(where(broadcastTo(mask, shape), broadcastTo(p.a, shape), broadcastTo(p.b, shape)), g));
      const d = grad(f)({ a, b }), dr = grad(fr)({ a, b });
      expect(bits(d.a)).toEqual(bits(dr.a));
      expect(bits(d.b)).toEqual(bits(dr.b));
    });
  }

  it('scalar operands, plain-array masks and shape errors', () => {
    expect(bits(where([1, 0, 1], 2, tensor([5, 6, 7])))).toEqual([2, 6, 2]);
    expect(bits(where([true, false], tensor([[1, 2], [3, 4]]), 0))).toEqual([1, 0, 3, 0]);
    expect(() => where(tensor([1, 0, 1]), zeros([2]), zeros([2]))).toThrow(ShapeError);
    expect(() => where(tensor([1, 0, 1]), zeros([2]), zeros([2]))).toThrow(/where:/);
  });
});

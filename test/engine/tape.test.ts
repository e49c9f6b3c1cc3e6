import { describe, it, expect } from 'vitest';
import {
  tensor, grad, valueAndGrad, vjp, add, mul, square, scale, sum, tanh, noGrad, stopGradient, zeros, ShapeError,
  type Tensor,
} from '../../engine/index.js';

describe('tape', () => {
  it('y = x² + 5x + 4 ⇒ dy/dx = 2x + 5 at [3, 1, 4]', () => {
    const g = grad((x: Tensor) => sum(add(add(square(x), scale(x, 5)), 4)))(tensor([3, 1, 4]));
    expect(g.toArray()).toEqual([11, 7, 13]);
  });

  it('diamond reuse accumulates: z = x·x + x ⇒ dz/dx = 2x + 1', () => {
    const g = grad((x: Tensor) => sum(add(mul(x, x), x)))(tensor([2, -1]));
    expect(g.toArray()).toEqual([5, -1]);
  });

  it('an unused input gets zeros of its shape', () => {
    const g = grad((p: { a: Tensor; b: Tensor }) => sum(square(p.a)))({ a: tensor([1, 2]), b: tensor([[1, 2, 3]]) });
    expect(g.a.toArray()).toEqual([2, 4]);
    expect(g.b.shape).toEqual([1, 3]);
    expect(g.b.toArray()).toEqual([0, 0, 0]);
  });

  it('a 10,000-deep chain does not overflow the stack', () => {
    const g = grad((x: Tensor) => {
      let y = x;
      for (let i = 0; i < 10_000; i++) y = scale(y, 1.0001);
      return sum(y);
    })(tensor([1, 2]));
    expect(g.toArray()[0]).toBeCloseTo(Math.pow(1.0001, 10_000), 9);
  });

  it('a non-scalar output without a cotangent throws a ShapeError naming grad', () => {
    expect(() => grad((x: Tensor) => square(x))(tensor([1, 2]))).toThrow(ShapeError);
    expect(() => grad((x: Tensor) => square(x))(tensor([1, 2]))).toThrow(/grad: .*scalar.*\[2\]/);
  });

  it('vjp pulls back an explicit cotangent', () => {
    const { value, vjp: pull } = vjp((x: Tensor) => square(x), tensor([1, 2, 3]));
    expect(value.toArray()).toEqual([1, 4, 9]);
    expect(pull(tensor([1, 0, -1])).toArray()).toEqual([2, 0, -6]);
    expect(() => pull(zeros([2]))).toThrow(/vjp: cotangent must have the output's shape \[3\]/);
  });

  it('noGrad and stopGradient block the gradient', () => {
    const g1 = grad((x: Tensor) => add(sum(square(x)), sum(noGrad(() => square(x)))))(tensor([3]));
    expect(g1.toArray()).toEqual([6]);
    const g2 = grad((x: Tensor) => sum(mul(x, stopGradient(x))))(tensor([3]));
    expect(g2.toArray()).toEqual([3]);
  });

  it('grad of grad: d²/dx² tanh = −2 tanh (1 − tanh²)', () => {
    const x = tensor([0.3, -1.2, 2]);
    const d2 = grad((y: Tensor) => sum(grad((z: Tensor) => sum(tanh(z)))(y)))(x);
    x.toArray().forEach((v, i) => {
      const t = Math.tanh(v);
      expect(d2.toArray()[i]).toBeCloseTo(-2 * t * (1 - t * t), 12);
    });
  });

  it('valueAndGrad returns the value and a gradient tree of the same structure', () => {
    const { value, grad: g } = valueAndGrad((p: Tensor[]) => sum(mul(p[0]!, p[1]!)))([tensor([2]), tensor([5])]);
    expect(value.item()).toBe(10);
    expect(g.map((t) => t.item())).toEqual([5, 2]);
  });
});

/**
 * Forward mode (engine/forward.ts, `jvp`): values against hand derivatives, nesting in every order
 * (jvp of jvp, jvp of grad, grad of jvp) and the classic perturbation-confusion case.
 */
import { describe, it, expect } from 'vitest';
import {
  Tensor, tensor, scalar, jvp, grad, mul, add, sum, square, exp, matmul, record, ValueError, ShapeError, DTypeError,
  jvpFallbackOps, clearJvpFallbackOps, cast,
} from '../../index.js';

const cube = (y: Tensor) => mul(square(y), y);

describe('jvp', () => {
  it('computes J·v alongside the value', () => {
    const x = tensor([1, 2, 3]);
    const { value, tangent } = jvp((a: Tensor) => sum(square(a)), [x], [tensor([1, 1, 0])]);
    expect(value.item()).toBe(14);
    expect(tangent.item()).toBe(6);
  });

  it('takes several arguments and trees, and returns trees', () => {
    const a = tensor([[1, 2], [3, 4]]), b = tensor([[1], [-1]]);
    const { value, tangent } = jvp(
      (p: { a: Tensor; b: Tensor }, s: Tensor) => ({ y: matmul(p.a, p.b), z: [exp(s)] }),
      [{ a, b }, scalar(0)], [{ a: tensor([[1, 0], [0, 0]]), b: tensor([[0], [1]]) }, scalar(2)],
    );
    expect(value.y.toArray()).toEqual([-1, -1]);
    expect(tangent.y.toArray()).toEqual([1 + 2, 4]); // da·b + a·db = [1, 0] + [2, 4]
    expect(tangent.z[0]!.item()).toBe(2);
  });

  it('gives zero tangents to outputs that do not depend on the inputs', () => {
    const c = tensor([5]);
    const { tangent } = jvp((_x: Tensor) => c, [tensor([1])], [tensor([1])]);
    expect(tangent.toArray()).toEqual([0]);
  });

  it('nests: jvp of jvp, jvp of grad, grad of jvp', () => {
    const jj = jvp((x: Tensor) => jvp(cube, [x], [scalar(1)]).tangent, [scalar(2)], [scalar(1)]);
    expect([jj.value.item(), jj.tangent.item()]).toEqual([12, 12]); // 3x², 6x
    const x = tensor([1, 2, 3]);
    const hv = jvp((z: Tensor) => grad((w: Tensor) => sum(cube(w)))(z), [x], [tensor([1, 0, 1])]);
    expect(hv.tangent.toArray()).toEqual([6, 0, 18]);
    const gj = grad((z: Tensor) => sum(jvp(cube, [z], [tensor([1, 1, 1])]).tangent))(x);
    expect(gj.toArray()).toEqual([6, 12, 18]);
  });

  it('does not confuse perturbations: d/dx [x · d/dy (x + y)] = 1', () => {
    const inner = (x: Tensor) => jvp((y: Tensor) => add(x, y), [scalar(1)], [scalar(1)]).tangent;
    expect(jvp((x: Tensor) => mul(x, inner(x)), [scalar(2)], [scalar(1)]).tangent.item()).toBe(1);
    expect(grad((x: Tensor) => mul(x, inner(x)))(scalar(2)).item()).toBe(1);
    const innerG = (x: Tensor) => grad((y: Tensor) => mul(add(x, y), add(x, y)))(scalar(1)); // 2(x + y)
    expect(jvp((x: Tensor) => mul(x, innerG(x)), [scalar(2)], [scalar(1)]).tangent.item()).toBe(2 * (2 + 1) + 2 * 2);
    // the same tensor perturbed at two levels gets two independent tangents
    const x0 = scalar(3);
    const both = jvp((x: Tensor) => jvp((y: Tensor) => mul(x, y), [x], [scalar(1)]).tangent, [x0], [scalar(1)]);
    expect([both.value.item(), both.tangent.item()]).toEqual([3, 1]);
  });

  it('falls back to the transposed VJP for an op without a rule, and lists it', () => {
    const twice = (x: Tensor) => record('myTwice', [x], tensor(Array.from(x.data, (v) => 2 * v)), (dy) => [mul(dy, 2)]);
    clearJvpFallbackOps();
    const { tangent } = jvp((x: Tensor) => square(twice(x)), [tensor([1, 2])], [tensor([1, 1])]);
    expect(tangent.toArray()).toEqual([8, 16]); // d/dx (2x)² = 8x
    expect(jvpFallbackOps()).toContain('myTwice');
    // second order through the fallback
    const h = jvp((x: Tensor) => grad((z: Tensor) => sum(square(twice(z))))(x), [tensor([1, 2])], [tensor([1, 0])]);
    expect(h.tangent.toArray()).toEqual([8, 0]);
  });

  it('rejects mismatched tangents, naming the path', () => {
    const f = (p: { w: Tensor }) => sum(p.w);
    expect(() => jvp(f, [{ w: tensor([1, 2]) }], [{ w: tensor([1, 2, 3]) }])).toThrow(ShapeError);
    expect(() => jvp(f, [{ w: tensor([1, 2]) }], [{ w: cast(tensor([1, 2]), 'float32') }])).toThrow(DTypeError);
    expect(() => jvp(f, [{ w: tensor([1, 2]) }], [{ v: tensor([1, 2]) } as never])).toThrow(ValueError);
    expect(() => jvp(f, { w: tensor([1]) } as never, [] as never)).toThrow(/array with one entry per argument/);
    expect(() => jvp(f, [{ w: tensor([1]) }], [] as never)).toThrow(/one entry per primal/);
  });
});

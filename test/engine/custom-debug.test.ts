/**
 * customVjp / customJvp (user-written rules: every transform uses them; gradcheck catches a wrong
 * one) and debugNans (the first NaN/Inf throws, naming the op, its input shapes, the pass, and
 * whether the op created it or propagated an input's).
 */
import { describe, it, expect, afterEach } from 'vitest';
import {
  Tensor, tensor, scalar, sum, mul, add, sub, div, exp, log, sqrt, square, sigmoid, minimum, maximum, scale, grad, jvp, hessian,
  gradcheck, customVjp, customJvp, withDebugNans, setDebugNans, debugNansEnabled, NonFiniteError, ValueError, ShapeError,
} from '../../index.js';

describe('customVjp', () => {
  const cube = customVjp((x: Tensor) => [mul(square(x), x), x] as const, (x: Tensor, dy) => [mul(dy, scale(square(x), 3))], { name: 'cube' });

  it('uses the rule in reverse mode, grad of grad, and forward mode (transposed)', () => {
    const x = tensor([1, 2]);
    expect(cube(x).toArray()).toEqual([1, 8]);
    expect(grad((z: Tensor) => sum(cube(z)))(x).toArray()).toEqual([3, 12]);
    expect(grad((z: Tensor) => sum(grad((w: Tensor) => sum(cube(w)))(z)))(x).toArray()).toEqual([6, 12]);
    expect(jvp(cube, [x], [tensor([1, 1])]).tangent.toArray()).toEqual([3, 12]);
    expect(hessian((z: Tensor) => sum(cube(z)))(x).toNested()).toEqual([[6, 0], [0, 12]]);
    expect(gradcheck((z: Tensor) => cube(z), tensor([0.5, -1.5])).ok).toBe(true);
  });

  it('replaces the forward\'s own derivative (a clipped-gradient identity)', () => {
    const clip = customVjp((x: Tensor) => [x, null] as const, (_s, dy) => [minimum(maximum(dy, -1), 1)]);
    expect(grad((z: Tensor) => sum(scale(clip(z), 5)))(tensor([1, 2])).toArray()).toEqual([1, 1]);
  });

  it('gradcheck catches a deliberately wrong rule', () => {
    const wrong = customVjp((x: Tensor) => [mul(square(x), x), x] as const, (x: Tensor, dy) => [mul(dy, scale(square(x), 2.9))]);
    const report = gradcheck((z: Tensor) => wrong(z), tensor([0.5, -1.5]));
    expect(report.ok).toBe(false);
    expect(report.summary).toMatch(/FAILED/);
  });

  it('rejects bad returns from fwd and bwd', () => {
    const badFwd = customVjp((x: Tensor) => x as never, () => [null]);
    expect(() => badFwd(tensor([1]))).toThrow(ValueError);
    const badBwd = customVjp((x: Tensor) => [x, null] as const, () => [tensor([1, 2, 3])]);
    expect(() => grad((z: Tensor) => sum(badBwd(z)))(tensor([1, 2]))).toThrow(ShapeError);
  });
});

describe('customJvp', () => {
  const softplus2 = customJvp((x: Tensor) => log(add(exp(x), 1)), ([x], [t]) => mul(sigmoid(x!), t!));

  it('uses the rule in forward mode and its transpose in reverse mode', () => {
    const x = tensor([0, 1]);
    expect(jvp(softplus2, [x], [tensor([1, 1])]).tangent.toArray()).toEqual([0.5, 1 / (1 + Math.exp(-1))]);
    expect(grad((z: Tensor) => sum(softplus2(z)))(x).toArray()).toEqual([0.5, 1 / (1 + Math.exp(-1))]);
    expect(gradcheck((z: Tensor) => softplus2(z), tensor([0.3, -2])).ok).toBe(true);
    // two inputs, one perturbed: the other's tangent is passed as zeros
    const prod = customJvp((a: Tensor, b: Tensor) => mul(a, b), ([a, b], [ta, tb]) => add(mul(ta!, b!), mul(a!, tb!)));
    expect(jvp((a: Tensor) => prod(a, tensor([3])), [tensor([2])], [tensor([1])]).tangent.item()).toBe(3);
    expect(grad((b: Tensor) => sum(prod(tensor([2]), b)))(tensor([3])).item()).toBe(2);
  });

  it('gradcheck catches a deliberately wrong rule', () => {
    const wrong = customJvp((x: Tensor) => log(add(exp(x), 1)), ([x], [t]) => mul(exp(x!), t!));
    expect(gradcheck((z: Tensor) => wrong(z), tensor([0.3, -2])).ok).toBe(false);
  });
});

describe('debugNans', () => {
  afterEach(() => setDebugNans(false));
  const caught = (fn: () => unknown): NonFiniteError => {
    try { fn(); } catch (e) { if (e instanceof NonFiniteError) return e; throw e; }
    throw new Error('expected a NonFiniteError');
  };

  it('names the op that created a NaN in the forward pass, with its input shapes', () => {
    const e = caught(() => withDebugNans(() => sum(sqrt(sub(tensor([[1, 2], [3, 4]]), 3)))));
    expect(e.op).toBe('sqrt');
    expect(e.phase).toBe('forward');
    expect(e.created).toBe(true);
    expect(e.inputShapes).toEqual([[2, 2]]);
    expect(e.message).toMatch(/NaN at element 0 of the output of sqrt \(shape \[2, 2\]; inputs \[2, 2\]\) in the forward pass — sqrt created it/);
  });

  it('says when an op only propagated a NaN it was given', () => {
    const e = caught(() => withDebugNans(() => mul(tensor([1, NaN]), 2)));
    expect(e.op).toBe('mul');
    expect(e.created).toBe(false);
    expect(e.message).toMatch(/only propagated it: input 0 \[2\] already held a non-finite value/);
  });

  it('names the forward op whose backward failed (torch anomaly mode)', () => {
    const e = caught(() => withDebugNans(() => grad((x: Tensor) => sum(sqrt(x)))(tensor([0, 1]))));
    expect(e.phase).toBe('backward');
    expect(e.forwardOp).toBe('sqrt');
    expect(e.created).toBe(true);
    expect(e.message).toMatch(/Infinity .* in the backward pass, inside the VJP of sqrt/);
    // NaN only: the infinite gradient passes
    expect(withDebugNans(() => grad((x: Tensor) => sum(sqrt(x)))(tensor([0, 1])), { infs: false }).toArray()).toEqual([Infinity, 0.5]);
  });

  it('checks backward contributions and tangents', () => {
    const inf = customVjp((x: Tensor) => [x, null] as const, (_s, dy) => [div(dy, 0)], { name: 'infGrad' });
    const e = caught(() => withDebugNans(() => grad((x: Tensor) => sum(inf(x)))(tensor([1]))));
    expect([e.op, e.phase]).toEqual(['div', 'backward']);
    const t = caught(() => withDebugNans(() => jvp((x: Tensor) => sqrt(x), [tensor([0, 1])], [tensor([1, 1])])));
    expect(t.message).toMatch(/inside the JVP of sqrt/);
  });

  it('is off by default, on globally with setDebugNans, and costs nothing when off', () => {
    expect(debugNansEnabled()).toBe(false);
    expect(sqrt(scalar(-1)).item()).toBeNaN();
    setDebugNans(true);
    expect(debugNansEnabled()).toBe(true);
    expect(() => sqrt(scalar(-1))).toThrow(NonFiniteError);
    setDebugNans(false);
    expect(sqrt(scalar(-1)).item()).toBeNaN();
  });
});

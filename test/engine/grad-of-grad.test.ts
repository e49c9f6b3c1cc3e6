/**
 * Grad of grad on literal functions: Hessian-vector products from differentiating the first
 * gradient, against finite differences of the first gradient (and closed forms where they exist).
 */
import { describe, it, expect } from 'vitest';
import {
  Tensor, tensor, grad, vjp, noGrad, sum, mul, tanh, softmax, matmul, Rng, randn, stopGradient, square,
} from '../../engine/index.js';
import { fdAlong, relDist } from '../helpers/engine.js';

/** H·v by grad of ⟨∇f(x), v⟩, and by central differences of ∇f along v. */
function hvp(f: (x: Tensor) => Tensor, x: Tensor, v: Tensor): { analytic: number[]; numeric: number[] } {
  const g = grad(f);
  const analytic = grad((y: Tensor) => sum(mul(g(y), v)))(x).toArray();
  const numeric = fdAlong(g, x, v);
  return { analytic, numeric };
}

describe('grad of grad', () => {
  const rng = new Rng(11);

  it('tanh: d²/dx² Σ tanh(x) = −2 tanh(x)(1 − tanh²x), analytic and by finite differences', () => {
    const x = tensor([-1.3, -0.2, 0.4, 1.7]);
    const d2 = grad((y: Tensor) => sum(grad((z: Tensor) => sum(tanh(z)))(y)))(x).toArray();
    const closed = x.toArray().map((v) => -2 * Math.tanh(v) * (1 - Math.tanh(v) ** 2));
    expect(relDist(d2, closed)).toBeLessThan(1e-12);
    const fd = fdAlong(grad((z: Tensor) => sum(tanh(z))), x, tensor([1, 1, 1, 1]));
    expect(relDist(d2, fd)).toBeLessThan(1e-8);
    // third order too: d³/dx³ tanh = −2(1 − t²)(1 − 3t²)
    const d3 = grad((y: Tensor) => sum(grad((z: Tensor) => sum(grad((w: Tensor) => sum(tanh(w)))(z)))(y)))(x).toArray();
    expect(relDist(d3, x.toArray().map((v) => { const t = Math.tanh(v); return -2 * (1 - t * t) * (1 - 3 * t * t); }))).toBeLessThan(1e-12);
  });

  it('softmax: Hessian-vector product of Σ w ⊙ softmax(x) matches finite differences of the gradient', () => {
    const x = randn(rng, [3, 5]), w = randn(rng, [3, 5]), v = randn(rng, [3, 5]);
    const { analytic, numeric } = hvp((y) => sum(mul(softmax(y, -1), w)), x, v);
    expect(relDist(analytic, numeric)).toBeLessThan(1e-7);
    expect(Math.max(...analytic.map(Math.abs))).toBeGreaterThan(1e-3); // not trivially zero
  });

  it('matmul chain: Hessian-vector product of Σ C ⊙ tanh(tanh(X·W)·V) in W matches finite differences', () => {
    const X = randn(rng, [4, 3]), V = randn(rng, [2, 2]), C = randn(rng, [4, 2]);
    const W = randn(rng, [3, 2], 0.5), dir = randn(rng, [3, 2]);
    const f = (w: Tensor) => sum(mul(tanh(matmul(tanh(matmul(X, w)), V)), C));
    const { analytic, numeric } = hvp(f, W, dir);
    expect(relDist(analytic, numeric)).toBeLessThan(1e-7);
    expect(Math.max(...analytic.map(Math.abs))).toBeGreaterThan(1e-3);
  });

  it('matmul chain over a parameter tree: mixed second derivatives ∂²f/∂V∂W', () => {
    const X = randn(rng, [4, 3]), C = randn(rng, [4, 2]);
    const p = { W: randn(rng, [3, 2], 0.5), V: randn(rng, [2, 2], 0.5) };
    const f = (q: typeof p) => sum(mul(tanh(matmul(tanh(matmul(X, q.W)), q.V)), C));
    const dV = randn(rng, [2, 2]);
    // d/dW ⟨∂f/∂V, dV⟩ against central differences of ∂f/∂W as V moves along dV
    const analytic = grad((w: Tensor) => sum(mul(grad(f)({ W: w, V: p.V }).V, dV)))(p.W).toArray();
    const numeric = fdAlong((v: Tensor) => grad(f)({ W: p.W, V: v }).W, p.V, dV);
    expect(relDist(analytic, numeric)).toBeLessThan(1e-7);
  });

  it('grad inside noGrad still differentiates its own function; noGrad inside grad blocks the outer one', () => {
    const x = tensor([0.5, -1]);
    const inner = noGrad(() => grad((y: Tensor) => sum(square(y)))(x));
    expect(inner.toArray()).toEqual([1, -2]);
    const blocked = grad((y: Tensor) => sum(mul(noGrad(() => square(y)), y)))(x);
    expect(blocked.toArray()).toEqual([0.25, 1]); // d/dy (c·y) with c = y² held constant
    const stopped = grad((y: Tensor) => sum(mul(stopGradient(square(y)), y)))(x);
    expect(stopped.toArray()).toEqual([0.25, 1]);
  });

  it('vjp of a vjp: the pullback is itself differentiable in the primal input', () => {
    const x = tensor([[0.3, -0.7], [1.1, 0.2]]), r = tensor([[1, -2], [0.5, 3]]);
    const pull = (y: Tensor) => vjp((z: Tensor) => matmul(z, z), y).vjp(r);
    const g2 = vjp(pull, x).vjp(tensor([[1, 0], [0, 1]])).toArray();
    // against central differences of ⟨pull(y), I⟩ = pull(y)[0,0] + pull(y)[1,1], one input element at a time
    const scalarPull = (y: Tensor) => tensor([pull(y).get(0, 0) + pull(y).get(1, 1)]);
    const num = [0, 1, 2, 3].map((i) => fdAlong(scalarPull, x, tensor([0, 1, 2, 3].map((j) => (j === i ? 1 : 0)), [2, 2]))[0]!);
    expect(Math.max(...g2.map(Math.abs))).toBeGreaterThan(0.1);
    expect(relDist(g2, num)).toBeLessThan(1e-8);
  });
});

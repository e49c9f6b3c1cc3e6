/**
 * jacfwd, jacrev, jacobian, hessian, hvp, linearize: shapes (output ++ input, trees as JAX), jacfwd =
 * jacrev, the Hessian symmetric and equal to central differences of the gradient on a softmax-gate
 * loss and a small MoE layer loss, hvp = H·v without forming H.
 */
import { describe, it, expect } from 'vitest';
import {
  Tensor, Rng, tensor, randn, fromData, zeros, sum, mul, square, tanh, matmul, softmax, exp, log, logsumexp, reshape, slice, sub, scale,
  softmaxGate, MoELayer, add, treeLeaves, treeMap, jvp, grad, linearize, jacfwd, jacrev, jacobian, hessian, hvp, ShapeError, ValueError,
  noGrad, type MoELayerConfig,
} from '../../index.js';

const maxDiff = (a: Tensor, b: Tensor) => a.toArray().reduce((m, v, i) => Math.max(m, Math.abs(v - b.toArray()[i]!)), 0);
const maxAbs = (a: Tensor) => a.toArray().reduce((m, v) => Math.max(m, Math.abs(v)), 0);

/** Central differences of the gradient with one Richardson step: column j = (g(x + h e_j) − g(x − h e_j))/2h. */
function fdHessian(g: (x: Tensor) => Tensor, x: Tensor, h = 1e-4): Float64Array {
  const n = x.size, out = new Float64Array(n * n);
  const at = (j: number, t: number) => noGrad(() => g(fromData(Float64Array.from(x.data, (v, k) => (k === j ? v + t : v)), x.shape.slice())).data);
  for (let j = 0; j < n; j++) {
    const col = (s: number) => { const p = at(j, s), m = at(j, -s); return Float64Array.from(p, (v, i) => (v - m[i]!) / (2 * s)); };
    const c1 = col(h), c2 = col(h / 2);
    for (let i = 0; i < n; i++) out[i * n + j] = (4 * c2[i]! - c1[i]!) / 3;
  }
  return out;
}

/** Max |H − Hᵀ| and max |H − FD(grad)| relative to max |H|. */
function checkHessian(H: Tensor, loss: (x: Tensor) => Tensor, x: Tensor) {
  const n = x.size;
  expect(H.shape).toEqual([...x.shape, ...x.shape]);
  const d = H.data, fd = fdHessian(grad(loss), x), scaleH = maxAbs(H);
  let asym = 0, err = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
    asym = Math.max(asym, Math.abs(d[i * n + j]! - d[j * n + i]!));
    err = Math.max(err, Math.abs(d[i * n + j]! - fd[i * n + j]!));
  }
  expect(scaleH).toBeGreaterThan(1e-3);
  expect(asym / scaleH).toBeLessThan(1e-12);
  expect(err / scaleH).toBeLessThan(1e-6);
}

describe('jacfwd, jacrev, jacobian', () => {
  const rng = new Rng(3);
  const x = randn(rng, [3, 4]), w = randn(rng, [4, 5]);

  it('have shape output ++ input and agree (tanh(xW), softmax gate weights)', () => {
    for (const f of [(v: Tensor) => tanh(matmul(x, v)), (v: Tensor) => softmaxGate(matmul(x, v)).weights]) {
      const a = jacfwd(f)(w), b = jacrev(f)(w), c = jacobian(f)(w);
      expect(a.shape).toEqual([3, 5, 4, 5]);
      expect(maxDiff(a, b)).toBeLessThan(1e-14);
      expect(maxDiff(a, c)).toBeLessThan(1e-14);
    }
    // column (0, 0) of d tanh(xW)/dW against jvp
    const f = (v: Tensor) => tanh(matmul(x, v));
    const e = zeros([4, 5]).toArray(); e[0] = 1;
    const t = jvp(f, [w], [tensor(e, [4, 5])]).tangent;
    const J = jacfwd(f)(w);
    for (let i = 0; i < 15; i++) expect(J.data[i * 20]).toBeCloseTo(t.data[i]!, 15);
  });

  it('handles trees as JAX: output tree of input trees, blocks out.shape ++ in.shape', () => {
    const f = (p: { a: Tensor; b: Tensor }) => ({ y: mul(p.a, p.b), s: sum(p.a) });
    const p = { a: tensor([1, 2]), b: tensor([3, 4]) };
    for (const J of [jacfwd(f)(p), jacrev(f)(p), jacobian(f, { mode: 'rev' })(p)] as { y: { a: Tensor; b: Tensor }; s: { a: Tensor; b: Tensor } }[]) {
      expect(J.y.a.toNested()).toEqual([[3, 0], [0, 4]]);
      expect(J.y.b.toNested()).toEqual([[1, 0], [0, 2]]);
      expect(J.s.a.shape).toEqual([2]);
      expect(J.s.a.toArray()).toEqual([1, 1]);
      expect(J.s.b.toArray()).toEqual([0, 0]);
    }
  });

  it('takes extra constant arguments and rejects bad options', () => {
    expect(jacrev((v: Tensor, c: Tensor) => mul(v, c))(tensor([1, 2]), tensor([5, 6])).toNested()).toEqual([[5, 0], [0, 6]]);
    expect(() => jacobian((v: Tensor) => v, { mode: 'forward' as never })).toThrow(ValueError);
    expect(() => jacfwd((_v: Tensor) => 3 as never)(tensor([1]))).toThrow(/f must return a Tensor/);
  });
});

describe('hessian, hvp, linearize', () => {
  it('hessian of a softmax-gated Gaussian-MoE NLL is symmetric and equals central differences of grad', () => {
    const rng = new Rng(11);
    const T = 12, E = 3;
    const xs = randn(rng, [T, 2]), ys = randn(rng, [T, 1]);
    const means = tensor([[-1], [0.5], [2]]); // expert means a_e (one per expert), unit variance
    // θ = gate parameters [2, E]: gate logits x·θ; NLL = −mean_t log Σ_e w_te N(y_t | a_e, 1)
    const nll = (theta: Tensor) => {
      const w = softmaxGate(matmul(xs, theta)).weights;
      const logN = scale(square(sub(ys, reshape(means, [1, E]))), -0.5);
      return scale(sum(logsumexp(add(log(w), logN), -1)), -1 / T);
    };
    const theta = randn(rng, [2, E]);
    checkHessian(hessian(nll)(theta), nll, theta);
  });

  it('hessian of a small MoE layer loss (tree parameters, flattened) is symmetric and equals central differences of grad', () => {
    const rng = new Rng(5);
    const config: MoELayerConfig = { dModel: 2, dHidden: 2, numExperts: 3, topK: 3, expert: 'swiglu', numShared: 1, gate: { kind: 'softmax', numExperts: 3 } };
    const params0 = treeMap(MoELayer.init(rng, config), (p) => randn(rng, p.shape, 0.7));
    const leaves = treeLeaves(params0);
    const sizes = leaves.map((l) => l.size), total = sizes.reduce((a, b) => a + b, 0);
    const x = randn(rng, [4, 2]), target = randn(rng, [4, 2]);
    const loss = (theta: Tensor) => {
      let at = 0, k = 0;
      const params = treeMap(params0, (l) => { const s = sizes[k++]!; const p = reshape(slice(theta, [at], [at + s]), l.shape); at += s; return p; });
      return sum(square(sub(MoELayer.apply(params, x, config).y, target)));
    };
    const theta = fromData(Float64Array.from(leaves.flatMap((l) => l.toArray())), [total]);
    checkHessian(hessian(loss)(theta), loss, theta);
  });

  it('hvp = H·v without forming H, over trees', () => {
    const f = (p: { a: Tensor; b: Tensor }) => sum(mul(exp(p.a), square(p.b)));
    const p = { a: tensor([0.1, -0.3]), b: tensor([1, 2]) }, v = { a: tensor([1, 0.5]), b: tensor([-1, 2]) };
    const Hv = hvp(f, p, v);
    const H = hessian(f)(p) as unknown as Record<'a' | 'b', Record<'a' | 'b', Tensor>>;
    for (const o of ['a', 'b'] as const) {
      const expected = (['a', 'b'] as const).map((i) => matmul(H[o][i], reshape(v[i], [2, 1])));
      expect(maxDiff(Hv[o], reshape(add(expected[0]!, expected[1]!), [2]))).toBeLessThan(1e-14);
    }
    expect(() => hvp((q: Tensor) => q, tensor([1, 2]), tensor([1, 2]))).toThrow(ShapeError);
    expect(() => hessian((q: Tensor) => mul(q, q))(tensor([1, 2]))).toThrow(/hessian: f must return a scalar/);
  });

  it('linearize pushes many tangents through one recording, equal to jvp', () => {
    const f = (a: Tensor, b: Tensor) => softmax(mul(a, exp(b)));
    const a = tensor([0.3, -1, 2]), b = tensor([0.1, 0.2, -0.5]);
    const lin = linearize(f, [a, b]);
    expect(maxDiff(lin.value, f(a, b))).toBe(0);
    for (const [ta, tb] of [[tensor([1, 0, 0]), tensor([0, 0, 0])], [tensor([0.5, -1, 2]), tensor([1, 1, 1])]] as const) {
      expect(maxDiff(lin.jvp([ta, tb]), jvp(f, [a, b], [ta, tb]).tangent)).toBeLessThan(1e-15);
    }
  });
});

/**
 * NaN propagation and extreme values (issue 12): IEEE semantics on every matmul path, NaN-propagating
 * relu/maximum/minimum, no finite loss from NaN input, and gates that equal the engine's softmax to the
 * last ulp at logits up to 1e300 with exact gradients for a dominant expert.
 */
import { describe, it, expect } from 'vitest';
import {
  tensor, matmul, relu, maximum, minimum, grad, sum, mul, square, softmax, scale, takeAlongAxis, randn, Rng,
  withBackend, createCpuBackend, createGpujsBackend, gpujsAvailable, geluTanh, cast, MoegradError,
  topKSoftmaxGate, softmaxGate, softmaxTopKGate, temperatureSoftmaxGate, hierarchicalSoftmaxGate, MoELayer,
  type Tensor, type MatmulBackend,
} from '../../index.js';

const paths: [string, () => MatmulBackend | null][] = [
  ['js', () => createCpuBackend({ mode: 'js', name: 'nan-js' })],
  ['wasm', () => createCpuBackend({ mode: 'wasm', name: 'nan-wasm' })],
  ['wasm-threads', () => createCpuBackend({ mode: 'wasm-threads', name: 'nan-wasm-threads', threadMinMacs: 0 })],
  ['auto (size-dispatched)', () => createCpuBackend({ name: 'nan-auto' })],
  ['gpujs:cpu', () => (gpujsAvailable() ? createGpujsBackend({ mode: 'cpu', name: 'nan-gpujs-cpu' }) : null)],
];

describe('matmul: IEEE NaN/Inf on every path', () => {
  for (const [label, make] of paths) {
    it(`${label}: 0·∞ and 0·NaN give NaN, NaN in either operand propagates`, () => {
      const backend = make();
      if (!backend) return; // gpu.js not installed here
      for (const dtype of ['float64', 'float32'] as const) {
        for (const n of [1, 2, 4, 5, 17, 40]) {
          // A has a zero row; B has ∞ (and NaN) exactly where that zero meets it.
          const a = new Float64Array(n * n).fill(1), b = new Float64Array(n * n).fill(2);
          for (let j = 0; j < n; j++) a[j] = 0;   // row 0 of A is all zeros
          b[0] = Infinity;                         // B[0, 0] = ∞ → C[0, 0] = 0·∞ + … = NaN
          b[n * n - 1] = NaN;                      // B[n−1, n−1] = NaN → column n−1 of C is NaN
          const c = withBackend(backend, () => matmul(cast(tensor(a, [n, n]), dtype), cast(tensor(b, [n, n]), dtype))).data;
          expect(Number.isNaN(c[0]!), `${label} ${dtype} n=${n}: C[0,0] = 0·∞`).toBe(true);
          for (let i = 0; i < n; i++) expect(Number.isNaN(c[i * n + n - 1]!), `${label} ${dtype} n=${n}: C[${i},${n - 1}] sees NaN`).toBe(true);
          // row 1 of A is all ones: C[1, 0] = ∞ too (1·∞), and C[1, j] = 2n for a column without ∞/NaN
          if (n > 2) expect(c[n + 1], `${label} ${dtype} n=${n}: a finite entry stays finite`).toBe(2 * n);
        }
        const small = withBackend(backend, () => matmul(cast(tensor([[0, 1]]), dtype), cast(tensor([[Infinity], [2]]), dtype)));
        expect(Number.isNaN(small.item()), `${label} ${dtype}: [[0, 1]]·[[∞], [2]]`).toBe(true);
      }
    });
  }
});

describe('elementwise NaN semantics (PyTorch)', () => {
  it('relu(NaN) = NaN; maximum/minimum propagate NaN from either side', () => {
    expect(relu(tensor([NaN, -1, 0, 2])).toArray()).toEqual([NaN, 0, 0, 2]);
    for (const f of [maximum, minimum]) {
      expect(Number.isNaN(f(tensor([NaN]), 1).item())).toBe(true);
      expect(Number.isNaN(f(1, tensor([NaN])).item())).toBe(true);
      expect(Number.isNaN(f(tensor([NaN]), tensor([NaN])).item())).toBe(true);
    }
    expect(maximum(tensor([1, 3]), tensor([2, 2])).toArray()).toEqual([2, 3]);
    expect(minimum(tensor([1, 3]), tensor([2, 2])).toArray()).toEqual([1, 2]);
  });

  it('geluTanh: gradient (and its gradient) finite for huge |x|, unchanged for moderate x', () => {
    const x = tensor([1e154, -1e154, 1e200, -1e300, 1e103, 40, -40, 3, -0.5]);
    const g = grad((v: Tensor) => sum(geluTanh(v)))(x).toArray();
    expect(g.slice(0, 7)).toEqual([1, 0, 1, 0, 1, 1, 0]);
    const h = grad((v: Tensor) => sum(grad((w: Tensor) => sum(geluTanh(w)))(v)))(x).toArray();
    expect(h.every(Number.isFinite)).toBe(true);
    // moderate x: the analytic derivative of 0.5x(1 + tanh(c(x + 0.044715x³)))
    const c = Math.sqrt(2 / Math.PI);
    for (const [i, v] of [[7, 3], [8, -0.5]] as const) {
      const t = Math.tanh(c * (v + 0.044715 * v ** 3));
      expect(g[i]).toBeCloseTo(0.5 * (1 + t) + 0.5 * v * (1 - t * t) * c * (1 + 3 * 0.044715 * v * v), 14);
    }
  });

  it('NaN in a layer input is a clear error, never a finite loss', () => {
    const cfg = { dModel: 3, dHidden: 4, numExperts: 4, topK: 2, expert: 'relu', gate: { kind: 'topKSoftmax', numExperts: 4, topK: 2 } } as const;
    const params = MoELayer.init(new Rng(0), cfg);
    const x = tensor([[1, NaN, 0], [0, 1, 2]]);
    let out: unknown = null, err: unknown = null;
    try { out = sum(square(MoELayer.apply(params, x, cfg).y)).item(); } catch (e) { err = e; }
    if (err === null) expect(Number.isNaN(out as number)).toBe(true);
    else expect(err).toBeInstanceOf(MoegradError);
  });
});

describe('gates at extreme logits: the engine softmax kernel, bit for bit', () => {
  it('topKSoftmaxGate([[1e16, 1e16, 0, 0]], 2).weights = [0.5, 0.5]', () => {
    expect(topKSoftmaxGate(tensor([[1e16, 1e16, 0, 0]]), 2).weights.toArray()).toEqual([0.5, 0.5]);
    expect(softmaxGate(tensor([[1e16, 1e16, 0, 0]])).weights.toArray()).toEqual([0.5, 0.5, 0, 0]);
  });

  it('every softmax-type gate equals softmax of the same logits exactly, at scales up to 1e300', () => {
    const rng = new Rng(7);
    for (const s of [1, 40, 1e4, 1e8, 1e16, 1e100, 1e200, 1e300]) {
      const z = scale(randn(rng, [6, 5]), s);
      const p = softmax(z, 1).toArray();
      expect(softmaxGate(z).weights.toArray()).toEqual(p);
      const g = topKSoftmaxGate(z, 3);
      expect(g.weights.toArray()).toEqual(softmax(takeAlongAxis(z, g.indices, 1), 1).toArray());
      expect(g.scores.toArray()).toEqual(p);
      const st = softmaxTopKGate(z, 2);
      expect(st.weights.toArray()).toEqual(takeAlongAxis(softmax(z, 1), st.indices, 1).toArray());
      const tau = 0.5;
      expect(temperatureSoftmaxGate(z, tau).weights.toArray()).toEqual(softmax(scale(z, 1 / tau), 1).toArray());
      const z1 = scale(randn(rng, [6, 2]), s), z2 = scale(randn(rng, [6, 2, 3]), s);
      const h = hierarchicalSoftmaxGate(z1, z2).weights.toArray();
      const p1 = softmax(z1, 1).toArray(), q = softmax(z2, 2).toArray();
      expect(h).toEqual(h.map((_, i) => p1[Math.floor(i / 6) * 2 + Math.floor((i % 6) / 3)]! * q[i]!));
      for (const w of [softmaxGate(z).weights, g.weights, st.weights]) expect(w.toArray().every((v) => v >= 0 && v <= 1)).toBe(true);
    }
  });

  it('a dominant expert at logits ~40 gets the exact gradient (no 1 − w cancellation)', () => {
    // ∂w₀/∂z₀ = w₀w₁ = 1/(4 cosh²(10)) for logits [40, 20]
    const exact = 1 / (4 * Math.cosh(10) ** 2);
    const g = grad((z: Tensor) => sum(mul(softmaxGate(z).weights, tensor([[1, 0]]))))(tensor([[40, 20]])).toArray();
    expect(Math.abs(g[0]! - exact) / exact).toBeLessThan(1e-14);
    expect(Math.abs(g[1]! + exact) / exact).toBeLessThan(1e-14);
    const g2 = grad((z: Tensor) => sum(mul(topKSoftmaxGate(z, 2).weights, tensor([[1, 0]]))))(tensor([[40, 20, -5]])).toArray();
    expect(Math.abs(g2[0]! - exact) / exact).toBeLessThan(1e-14);
    expect(g2[2]).toBe(0);
    const ge = grad((z: Tensor) => sum(mul(softmax(z, 1), tensor([[1, 0]]))))(tensor([[40, 20]])).toArray();
    expect(Math.abs(ge[0]! - exact) / exact).toBeLessThan(1e-14);
  });
});

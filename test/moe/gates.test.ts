/**
 * Gates, tested three ways: (b) the fused VJPs equal the autodiff of the same gate composed from
 * engine primitives (values, gradients and second derivatives); (c) invariants (sums, zero
 * gradients, the selection-only bias, ties, extreme logits); grad of grad against finite
 * differences; and bad input. (a) gradchecks vs finite differences are in gates-props.test.ts.
 */
import { describe, it, expect } from 'vitest';
import {
  Rng, Tensor, tensor, randn, scalar, grad, vjp, sum, mul, topk, fromData, cast, reshape, ValueError, ShapeError,
} from '../../engine/index.js';
import {
  softmaxGate, topKSoftmaxGate, softmaxTopKGate, temperatureSoftmaxGate, hierarchicalSoftmaxGate, sigmoidGate,
  normalizedSigmoidGate, laplaceGate, laplaceLogits, type NormalizedSigmoidOptions,
} from '../../moe/gates/index.js';
import type { GateOutput } from '../../moe/types.js';
import { gateCases, maxDiff, vjpOf, secondOrder, gradOfGradError, logitsWithGap, referenceV3Selection } from './gates-helpers.js';

const rows = (g: GateOutput) => { const [T, K] = g.weights.shape as [number, number]; return Array.from({ length: T }, (_, t) => Array.from(g.weights.data.subarray(t * K, t * K + K))); };
const rowSums = (g: GateOutput) => rows(g).map((r) => r.reduce((a, b) => a + b, 0));
const indexRows = (g: GateOutput) => { const K = g.weights.shape[1]!; return Array.from({ length: g.weights.shape[0]! }, (_, t) => Array.from(g.indices.subarray(t * K, t * K + K))); };
/** ∂⟨w, r⟩/∂z for a gate of the logits, r random. */
function logitGrad(gate: (z: Tensor) => GateOutput, z: Tensor, seed = 0): Float64Array {
  const { value, vjp: pull } = vjp((x: Tensor) => gate(x).weights, z);
  return Float64Array.from(pull(randn(new Rng(seed), value.shape)).data);
}
const allFinite = (a: ArrayLike<number>) => Array.from(a).every(Number.isFinite);

describe('fused gate VJPs equal the composed engine-primitive gates (values, gradients, second derivatives)', () => {
  for (const seed of [1, 2, 3]) {
    for (const c of gateCases(seed)) {
      it(`${c.name} (seed ${seed})`, () => {
        const rng = new Rng(100 + seed);
        const f = c.fused(c.inputs), g = c.composed(c.inputs);
        expect(f.shape).toEqual(g.shape);
        expect(maxDiff(f.data, g.data)).toBeLessThanOrEqual(1e-12);
        const r = randn(rng, f.shape);
        const gf = vjpOf(c.fused, c.inputs, r), gc = vjpOf(c.composed, c.inputs, r);
        gf.forEach((a, i) => expect(maxDiff(a, gc[i]!), `input ${i}`).toBeLessThanOrEqual(1e-12));
        const s = c.inputs.map((x) => randn(rng, x.shape));
        const hf = secondOrder(c.fused, c.inputs, r, s), hc = secondOrder(c.composed, c.inputs, r, s);
        hf.forEach((a, i) => expect(maxDiff(a, hc[i]!), `second order, input ${i}`).toBeLessThanOrEqual(1e-11));
      });
    }
  }
});

describe('grad of grad through every gate matches finite differences of the gradient', () => {
  for (const c of gateCases(7)) {
    it(c.name, () => {
      expect(gradOfGradError(c.fused, c.inputs, 7)).toBeLessThanOrEqual(1e-6);
    });
  }
});

describe('weights sum to what they should', () => {
  const rng = new Rng(11);
  const z = randn(rng, [4, 6], 2);
  it('softmax, Mixtral top-K, temperature (dense and top-K), Laplace, hierarchical: rows sum to 1', () => {
    const gates = [
      softmaxGate(z), topKSoftmaxGate(z, 3), temperatureSoftmaxGate(z, 0.3), temperatureSoftmaxGate(z, scalar(2), 2),
      laplaceGate(randn(rng, [4, 3]), randn(rng, [6, 3]), 2), hierarchicalSoftmaxGate(randn(rng, [4, 2]), randn(rng, [4, 2, 3])),
      hierarchicalSoftmaxGate(randn(rng, [4, 3]), randn(rng, [4, 3, 2]), { kGroups: 2, kExperts: 1 }),
    ];
    for (const g of gates) for (const s of rowSums(g)) expect(s).toBeCloseTo(1, 14);
    for (const g of gates) for (const s of rowSums({ ...g, weights: g.scores })) expect(s).toBeCloseTo(1, 14);
  });
  it('normalized sigmoid sums to ρ (dense and DeepSeek-V3 top-K with groups and bias)', () => {
    for (const s of rowSums(normalizedSigmoidGate(z, { routeScale: 2.5 }))) expect(s).toBeCloseTo(2.5, 13);
    const g = normalizedSigmoidGate(z, { k: 2, numGroups: 3, topGroups: 2, bias: Float64Array.from([0, 1, 0, -1, 0, 0.5]), routeScale: 16 });
    for (const s of rowSums(g)) expect(s).toBeCloseTo(16, 12);
  });
  it('DeepSeek-V2 softmax→top-K does not renormalize: each row sums to ρ·Σ_T p < ρ, weights = ρ p at the selected', () => {
    const g = softmaxTopKGate(z, 2, { routeScale: 16 });
    const p = softmaxGate(z).weights;
    indexRows(g).forEach((idx, t) => idx.forEach((e, j) => expect(g.weights.get(t, j)).toBeCloseTo(16 * p.get(t, e), 12)));
    for (const s of rowSums(g)) expect(s).toBeLessThan(16);
  });
  it('hierarchical dense weights are the outer product p_a q_{b|a}, and top-k at each level renormalizes per level', () => {
    const z1 = tensor([[0.3, -1.2]]), z2 = tensor([[[1, 0, -1], [0.5, 2, 0]]]);
    const sm = (v: number[]) => { const m = Math.max(...v), e = v.map((x) => Math.exp(x - m)), s = e.reduce((a, b) => a + b); return e.map((x) => x / s); };
    const p = sm([0.3, -1.2]), q0 = sm([1, 0, -1]), q1 = sm([0.5, 2, 0]);
    const dense = hierarchicalSoftmaxGate(z1, z2);
    expect(maxDiff(dense.weights.data, [...q0.map((v) => p[0]! * v), ...q1.map((v) => p[1]! * v)])).toBeLessThan(1e-15);
    const sparse = hierarchicalSoftmaxGate(z1, z2, { kGroups: 1, kExperts: 2 });
    expect(Array.from(sparse.indices)).toEqual([0, 1]);
    expect(maxDiff(sparse.weights.data, sm([1, 0]))).toBeLessThan(1e-15);
    const both = hierarchicalSoftmaxGate(z1, z2, { kGroups: 2, kExperts: 1 });
    expect(Array.from(both.indices)).toEqual([0, 4]); // group 0 first (larger z¹), best expert of each
    expect(maxDiff(both.weights.data, p)).toBeLessThan(1e-15);
  });
});

describe('where gradients are exactly zero (and where they are not)', () => {
  const z = logitsWithGap(new Rng(21), 3, 6, 2);
  const unselected = (g: GateOutput, E: number) => {
    const K = g.weights.shape[1]!;
    const out: number[] = [];
    for (let t = 0; t < g.weights.shape[0]!; t++) for (let e = 0; e < E; e++) if (!g.indices.subarray(t * K, t * K + K).includes(e)) out.push(t * E + e);
    return out;
  };
  const sparse: [string, (x: Tensor) => GateOutput][] = [
    ['topKSoftmaxGate', (x) => topKSoftmaxGate(x, 2)],
    ['temperatureSoftmaxGate', (x) => temperatureSoftmaxGate(x, 0.6, 2)],
    ['sigmoidGate', (x) => sigmoidGate(x, 2)],
    ['normalizedSigmoidGate', (x) => normalizedSigmoidGate(x, { k: 2, numGroups: 2, topGroups: 1, routeScale: 2.5 })],
  ];
  for (const [name, gate] of sparse) {
    it(`${name}: unselected logits get exactly zero gradient, selected ones do not`, () => {
      const g = gate(z), dz = logitGrad(gate, z);
      const off = unselected(g, 6);
      expect(off.length).toBe(3 * 4);
      for (const i of off) expect(Math.abs(dz[i]!)).toBe(0);
      for (let i = 0; i < dz.length; i++) if (!off.includes(i)) expect(Math.abs(dz[i]!)).toBeGreaterThan(0);
    });
  }
  it('softmaxTopKGate: the gradient reaches unselected logits, as p_j(ρ g̃_j − ⟨g, w⟩)', () => {
    const rho = 2.5, g = softmaxTopKGate(z, 2, { routeScale: rho });
    const r = randn(new Rng(0), g.weights.shape);
    const dz = vjp((x: Tensor) => softmaxTopKGate(x, 2, { routeScale: rho }).weights, z).vjp(r);
    const p = softmaxGate(z).weights;
    for (let t = 0; t < 3; t++) {
      const idx = Array.from(g.indices.subarray(t * 2, t * 2 + 2));
      const gw = idx.reduce((a, e, j) => a + r.get(t, j) * g.weights.get(t, j), 0);
      for (let e = 0; e < 6; e++) {
        const gt = idx.includes(e) ? r.get(t, idx.indexOf(e)) : 0;
        expect(dz.get(t, e)).toBeCloseTo(p.get(t, e) * (rho * gt - gw), 14);
        if (!idx.includes(e)) expect(dz.get(t, e)).not.toBe(0);
      }
    }
  });
  it('hierarchical top-k: unselected groups get zero group-logit gradient and their expert rows none at all', () => {
    const z1 = logitsWithGap(new Rng(3), 2, 3, 1), z2 = fromData(logitsWithGap(new Rng(4), 6, 4, 2).data, [2, 3, 4]);
    const g = hierarchicalSoftmaxGate(z1, z2, { kGroups: 1, kExperts: 2 });
    const r = randn(new Rng(5), g.weights.shape);
    const [d1, d2] = vjp(([a, b]: Tensor[]) => hierarchicalSoftmaxGate(a!, b!, { kGroups: 1, kExperts: 2 }).weights, [z1, z2]).vjp(r);
    for (let t = 0; t < 2; t++) {
      const a = Math.floor(g.indices[t * 2]! / 4);
      const chosen = [g.indices[t * 2]! % 4, g.indices[t * 2 + 1]! % 4];
      for (let b = 0; b < 3; b++) expect(Math.abs(d1!.get(t, b))).toBe(0); // one group kept: softmax over one is constant
      for (let b = 0; b < 3; b++) for (let m = 0; m < 4; m++) {
        if (b !== a || !chosen.includes(m)) expect(Math.abs(d2!.get(t, b, m))).toBe(0);
        else expect(Math.abs(d2!.get(t, b, m))).toBeGreaterThan(0);
      }
    }
  });
  it('temperature: dL/dτ = −(1/τ²) Σ g_i w_i (z_i − ⟨w, z⟩) (EvoMoE, arXiv:2112.14397), and a scheduled τ is a constant', () => {
    const tau = scalar(0.8);
    const r = randn(new Rng(8), [3, 6]);
    const dtau = grad((t: Tensor) => sum(mul(temperatureSoftmaxGate(z, t).weights, r)))(tau).item();
    const w = temperatureSoftmaxGate(z, 0.8).weights;
    let expected = 0;
    for (let t = 0; t < 3; t++) {
      let wz = 0;
      for (let e = 0; e < 6; e++) wz += w.get(t, e) * z.get(t, e);
      for (let e = 0; e < 6; e++) expected += r.get(t, e) * w.get(t, e) * (z.get(t, e) - wz);
    }
    expect(dtau).toBeCloseTo(-expected / 0.64, 12);
    expect(maxDiff(temperatureSoftmaxGate(z, 0.8).weights.data, temperatureSoftmaxGate(z, tau).weights.data)).toBe(0);
  });
});

describe('DeepSeek-V3 selection-only bias', () => {
  const z = logitsWithGap(new Rng(31), 4, 6, 2);
  it('gets exactly zero gradient (a bias Tensor is read as a constant)', () => {
    const bias = tensor([0.1, -0.2, 0.3, 0, 0.05, -0.1]);
    const [dz, db] = grad(([x, b]: Tensor[]) => sum(mul(normalizedSigmoidGate(x!, { k: 2, bias: b! }).weights, randn(new Rng(1), [4, 2]))))([z, bias]);
    expect(Array.from(db!.data, Math.abs)).toEqual([0, 0, 0, 0, 0, 0]);
    expect(allFinite(dz!.data)).toBe(true);
  });
  it('only changes the selection: weights are the unbiased s_T / Σ_T s on the chosen set', () => {
    const bias = Float64Array.from([0, 0, 0, 0, 0, 5]); // forces expert 5 into every token's top-2
    const g = normalizedSigmoidGate(z, { k: 2, bias });
    const s = (t: number, e: number) => 1 / (1 + Math.exp(-z.get(t, e)));
    indexRows(g).forEach((idx, t) => {
      expect(idx).toContain(5);
      const S = idx.reduce((a, e) => a + s(t, e), 0);
      idx.forEach((e, j) => expect(g.weights.get(t, j)).toBeCloseTo(s(t, e) / S, 14));
    });
  });
  it('a bias that leaves the selection unchanged leaves weights and logit gradients bit-identical', () => {
    const plain = (x: Tensor) => normalizedSigmoidGate(x, { k: 2 });
    const biased = (x: Tensor) => normalizedSigmoidGate(x, { k: 2, bias: new Float64Array(6).fill(0.7) }); // a shift: same order
    expect(Array.from(biased(z).indices)).toEqual(Array.from(plain(z).indices));
    expect(Array.from(biased(z).weights.data)).toEqual(Array.from(plain(z).weights.data));
    expect(Array.from(logitGrad(biased, z))).toEqual(Array.from(logitGrad(plain, z)));
  });
});

describe('selection: group-limited routing and ties → lowest index', () => {
  it('group-limited selection matches a brute-force reference (8 experts, 4 groups, keep 2, top-3)', () => {
    for (let seed = 0; seed < 20; seed++) {
      const rng = new Rng(seed);
      const z = randn(rng, [5, 8], 2), bias = Float64Array.from({ length: 8 }, () => 0.2 * rng.normal());
      const g = normalizedSigmoidGate(z, { k: 3, bias, numGroups: 4, topGroups: 2 });
      expect(indexRows(g)).toEqual(referenceV3Selection(z, 3, bias, 4, 2));
    }
  });
  it('a group with the best single expert can lose to a group with a better top-2 sum', () => {
    // group 0 = {0.95, 0.05}, group 1 = {0.8, 0.7} (as sigmoid scores); keep 1 group, k = 1
    const logit = (p: number) => Math.log(p / (1 - p));
    const z = tensor([[logit(0.95), logit(0.05), logit(0.8), logit(0.7)]]);
    expect(Array.from(normalizedSigmoidGate(z, { k: 1, numGroups: 2, topGroups: 1 }).indices)).toEqual([2]);
    expect(Array.from(normalizedSigmoidGate(z, { k: 1, numGroups: 2, topGroups: 1, groupScore: 'max' }).indices)).toEqual([0]);
  });
  it('ties go to the lowest index for every sparse gate (and match the engine topk)', () => {
    const z = tensor([[1, 3, 3, 0, 3], [2, 2, 2, 2, 2]]);
    expect(Array.from(topk(z, 2).indices)).toEqual([1, 2, 0, 1]);
    for (const g of [topKSoftmaxGate(z, 2), softmaxTopKGate(z, 2), temperatureSoftmaxGate(z, 0.5, 2), sigmoidGate(z, 2), normalizedSigmoidGate(z, { k: 2 })]) {
      expect(Array.from(g.indices)).toEqual([1, 2, 0, 1]);
    }
    // saturated sigmoid scores tie (σ(1e4) = σ(2e4) = 1): lowest index wins; tied groups too
    const sat = tensor([[1e4, 2e4, 1e4, 3e4]]);
    expect(Array.from(normalizedSigmoidGate(sat, { k: 2, numGroups: 2, topGroups: 1 }).indices)).toEqual([0, 1]);
    // Laplace: two centroids at the same distance
    expect(Array.from(laplaceGate(tensor([[0, 0]]), tensor([[1, 0], [0, 2], [0, 1]]), 1).indices)).toEqual([0]);
    expect(Array.from(hierarchicalSoftmaxGate(tensor([[1, 1]]), tensor([[[0, 0], [0, 0]]]), { kGroups: 1, kExperts: 1 }).indices)).toEqual([0]);
  });
  it('indices and the plan agree, and capacity reaches the plan', () => {
    const g = topKSoftmaxGate(randn(new Rng(2), [6, 4]), 2, { capacity: 2 });
    expect(Array.from(g.plan.expertOf)).toEqual(Array.from(g.indices));
    expect(g.plan.capacity).toBe(2);
    expect(g.plan.order.length + g.plan.dropped.length).toBe(12);
    const d = softmaxGate(randn(new Rng(2), [2, 3]));
    expect(Array.from(d.indices)).toEqual([0, 1, 2, 0, 1, 2]);
  });
});

describe('extreme logits (±1e4) stay finite in value and gradient', () => {
  const z = tensor([[1e4, -1e4, 0, 1e4 - 1, -1e4 + 3], [-1e4, -1e4 + 1, -1e4 + 2, -1e4 + 0.5, -1e4 - 1]]);
  const gates: [string, (x: Tensor) => GateOutput][] = [
    ['softmaxGate', (x) => softmaxGate(x)], ['topKSoftmaxGate', (x) => topKSoftmaxGate(x, 2)],
    ['softmaxTopKGate', (x) => softmaxTopKGate(x, 2)], ['temperatureSoftmaxGate τ=1e-3', (x) => temperatureSoftmaxGate(x, 1e-3, 2)],
    ['sigmoidGate', (x) => sigmoidGate(x, 2)], ['normalizedSigmoidGate dense', (x) => normalizedSigmoidGate(x)],
    ['normalizedSigmoidGate V3', (x) => normalizedSigmoidGate(x, { k: 2, routeScale: 2.5 })],
    ['hierarchicalSoftmaxGate', (x) => hierarchicalSoftmaxGate(x, fromData(Float64Array.from({ length: 20 }, (_, i) => x.data[i % 10]!), [2, 5, 2]), { kGroups: 2 })],
    ['laplaceGate (x [2, 5] far from centroids)', (x) => laplaceGate(x, tensor([[0, 0, 0, 0, 0], [1e4, 1e4, 1e4, 1e4, 1e4], [-1e4, 0, 0, 0, 1e4]]), 1)],
  ];
  for (const [name, gate] of gates) {
    it(name, () => {
      const g = gate(z);
      expect(allFinite(g.weights.data) && allFinite(g.scores.data)).toBe(true);
      expect(allFinite(logitGrad(gate, z))).toBe(true);
    });
  }
  it('normalized sigmoid of all-underflowing scores (σ ≈ e^z ≈ 0) is still s/Σs, computed in log space', () => {
    const g = normalizedSigmoidGate(tensor([[-1e4, -1e4 + Math.log(3)]]));
    expect(g.weights.get(0, 0)).toBeCloseTo(0.25, 12);
    expect(g.weights.get(0, 1)).toBeCloseTo(0.75, 12);
  });
});

describe('float32 logits stay float32 in weights, scores and gradients', () => {
  const z = cast(randn(new Rng(4), [3, 4]), 'float32');
  const gates: [string, (x: Tensor) => GateOutput][] = [
    ['softmaxGate', (x) => softmaxGate(x)], ['topKSoftmaxGate', (x) => topKSoftmaxGate(x, 2)], ['softmaxTopKGate', (x) => softmaxTopKGate(x, 2)],
    ['temperatureSoftmaxGate', (x) => temperatureSoftmaxGate(x, scalar(0.5, 'float32'), 2)], ['sigmoidGate', (x) => sigmoidGate(x, 2)],
    ['normalizedSigmoidGate', (x) => normalizedSigmoidGate(x, { k: 2, numGroups: 2, topGroups: 1 })],
    ['hierarchicalSoftmaxGate', (x) => hierarchicalSoftmaxGate(x, reshape(x, [3, 4, 1]))], ['laplaceGate', (x) => laplaceGate(x, x, 2)],
  ];
  for (const [name, gate] of gates) {
    it(name, () => {
      const g = gate(z);
      expect([g.weights.dtype, g.scores.dtype]).toEqual(['float32', 'float32']);
      const dz = grad((x: Tensor) => sum(mul(gate(x).weights, cast(randn(new Rng(1), g.weights.shape), 'float32'))))(z);
      expect(dz.dtype).toBe('float32');
      expect(allFinite(dz.data)).toBe(true);
    });
  }
});

describe('Laplace gate: distances and the subgradient at x = ω_e', () => {
  it('logits are −‖x − ω‖', () => {
    const z = laplaceGate(tensor([[0, 0], [3, 4]]), tensor([[3, 4], [0, 0]])).logits!;
    expect(Array.from(z.data)).toEqual([-5, -0, -0, -5]);
  });
  it('at x_t = ω_e the distance uses the subgradient 0 (finite gradients, that term contributes nothing)', () => {
    const x = tensor([[1, 2], [0.5, -1]]), w = tensor([[1, 2], [3, 0], [-1, 1]]); // x_0 = ω_0
    const [gx, gw] = grad(([a, b]: Tensor[]) => sum(mul(laplaceLogits('test', a!, b!), tensor([[1, 0, 0], [0, 0, 0]]))))([x, w]);
    expect(Array.from(gx!.data, Math.abs)).toEqual([0, 0, 0, 0]);
    expect(Array.from(gw!.data, Math.abs)).toEqual([0, 0, 0, 0, 0, 0]);
    const r = randn(new Rng(1), [2, 3]);
    const [hx, hw] = grad(([a, b]: Tensor[]) => sum(mul(laplaceGate(a!, b!).weights, r)))([x, w]);
    expect(allFinite(hx!.data) && allFinite(hw!.data)).toBe(true);
  });
});

describe('bad input: clear errors naming the gate and the shapes/values', () => {
  const z = randn(new Rng(0), [2, 4]);
  const cases: [string, () => unknown, RegExp, typeof ValueError][] = [
    ['k > E', () => topKSoftmaxGate(z, 5), /topKSoftmaxGate: k must be an integer in \[1, E = 4\]; got 5/, ValueError],
    ['k ≤ 0', () => softmaxTopKGate(z, 0), /softmaxTopKGate: k must be an integer in \[1, E = 4\]; got 0/, ValueError],
    ['k not integer', () => sigmoidGate(z, 1.5), /sigmoidGate: k must be an integer/, ValueError],
    ['k > E (V3)', () => normalizedSigmoidGate(z, { k: 9 }), /normalizedSigmoidGate: k must be an integer in \[1, E = 4\]; got 9/, ValueError],
    ['groups not dividing E', () => normalizedSigmoidGate(z, { k: 1, numGroups: 3, topGroups: 1 }), /normalizedSigmoidGate: numGroups must be a positive integer dividing E = 4; got 3/, ValueError],
    ['topGroups > numGroups', () => normalizedSigmoidGate(z, { k: 1, numGroups: 2, topGroups: 3 }), /topGroups must be an integer in \[1, numGroups = 2\]; got 3/, ValueError],
    ['k beyond the kept groups', () => normalizedSigmoidGate(z, { k: 3, numGroups: 2, topGroups: 1 }), /k = 3 exceeds the 1·2 = 2 experts in the kept groups/, ValueError],
    ['unknown group score', () => normalizedSigmoidGate(z, { k: 1, numGroups: 2, topGroups: 1, groupScore: 'mean' as never }), /groupScore must be 'top2Sum' or 'max'; got 'mean'/, ValueError],
    ['bias of wrong length', () => normalizedSigmoidGate(z, { k: 2, bias: new Float64Array(3) }), /normalizedSigmoidGate: bias must have one entry per expert, \[4\]; got \[3\]/, ShapeError],
    ['bias Tensor of wrong shape', () => normalizedSigmoidGate(z, { k: 2, bias: randn(new Rng(0), [2, 2]) }), /bias must have one entry per expert, \[4\]; got \[2, 2\]/, ShapeError],
    ['NaN bias', () => normalizedSigmoidGate(z, { k: 2, bias: Float64Array.from([0, NaN, 0, 0]) }), /bias\[1\] must be finite; got NaN/, ValueError],
    ['bias on the dense version', () => normalizedSigmoidGate(z, { bias: new Float64Array(4) }), /only affect the top-k selection/, ValueError],
    ['routeScale ≤ 0', () => normalizedSigmoidGate(z, { k: 2, routeScale: 0 }), /routeScale ρ must be a finite number > 0; got 0/, ValueError],
    ['rank-1 logits', () => softmaxGate(tensor([1, 2, 3])), /softmaxGate: logits must be \[T, E\] with every dim ≥ 1; got \[3\]/, ShapeError],
    ['rank-3 logits', () => topKSoftmaxGate(randn(new Rng(0), [2, 2, 2]), 1), /topKSoftmaxGate: logits must be \[T, E\].*got \[2, 2, 2\]/, ShapeError],
    ['empty logits', () => sigmoidGate(fromData(new Float64Array(0), [0, 3])), /sigmoidGate: logits must be \[T, E\].*got \[0, 3\]/, ShapeError],
    ['NaN logits', () => softmaxTopKGate(tensor([[0, NaN]]), 1), /softmaxTopKGate: logits \[1, 2\] contain NaN at flat index 1/, ValueError],
    ['∞ logits', () => softmaxGate(tensor([[0, Infinity]])), /softmaxGate: logits \[1, 2\] contain Infinity/, ValueError],
    ['τ = 0', () => temperatureSoftmaxGate(z, 0), /temperatureSoftmaxGate: temperature τ must be a finite number > 0; got 0/, ValueError],
    ['τ < 0 tensor', () => temperatureSoftmaxGate(z, scalar(-1)), /temperatureSoftmaxGate: temperature τ must be finite and > 0; got -1/, ValueError],
    ['τ not scalar', () => temperatureSoftmaxGate(z, tensor([1, 2])), /temperature τ must be a scalar tensor, shape \[\] or \[1\]; got \[2\]/, ShapeError],
    ['hierarchical shape mismatch', () => hierarchicalSoftmaxGate(randn(new Rng(0), [2, 3]), randn(new Rng(0), [2, 2, 4])), /hierarchicalSoftmaxGate: expertLogits must be \[T, G, M\] = \[2, 3, M\].*got \[2, 2, 4\]/, ShapeError],
    ['hierarchical kGroups > G', () => hierarchicalSoftmaxGate(randn(new Rng(0), [2, 3]), randn(new Rng(0), [2, 3, 2]), { kGroups: 4 }), /kGroups must be an integer in \[1, G = 3\]; got 4/, ValueError],
    ['centroid dim mismatch', () => laplaceGate(randn(new Rng(0), [2, 3]), randn(new Rng(0), [4, 2])), /laplaceGate: centroids must be \[E, D\] with D = 3 to match x \[2, 3\]; got \[4, 2\]/, ShapeError],
    ['Laplace k > E', () => laplaceGate(randn(new Rng(0), [2, 3]), randn(new Rng(0), [4, 3]), 5), /laplaceGate: k must be an integer in \[1, E = 4\]; got 5/, ValueError],
    ['capacity < 1', () => topKSoftmaxGate(z, 1, { capacity: 0.5 }), /topKSoftmaxGate: capacity must be an integer ≥ 1 token/, ValueError],
  ];
  for (const [name, run, message, type] of cases) {
    it(name, () => {
      expect(run).toThrow(type);
      expect(run).toThrow(message);
    });
  }
});

// Typed option objects compile (guards the exported option types).
const _typed: NormalizedSigmoidOptions = { k: 2, numGroups: 2, topGroups: 1, routeScale: 2.5, groupScore: 'top2Sum' };
void _typed;

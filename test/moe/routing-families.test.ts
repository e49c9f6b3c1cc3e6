/**
 * The routing families of issue 16 as ops: each fused op against the same formula composed from
 * engine primitives (values, VJPs, second derivatives), its invariants (Monte Carlo for the load
 * estimator, exact balance, convex slots), extreme logits, and its hand JVP rule against central
 * differences (no transposed-VJP fallback). Registry gradchecks run in the registry property test.
 */
import { describe, it, expect } from 'vitest';
import {
  Rng, Tensor, randn, fromData, tensor, add, sub, mul, div, scale, softplus, softmax, sigmoid, erf, matmul, transpose,
  takeAlongAxis, scatterAlongAxis, sum, mean, concat, reshape, vjp, jvp, noGrad, jvpFallbackOps, clearJvpFallbackOps, ValueError, ShapeError,
} from '../../engine/index.js';
import {
  noisyTopKGate, noisyTopKLoadProbs, noisyTopKLosses, cvSquared, expertChoiceGate, softMoEDispatch,
  softMoECombine, balancedAssignmentGate, sinkhornLogPlan, topKSoftmaxGate, topKGap,
} from '../../moe/gates/index.js';
import { ROUTING_FAMILY_OPS } from '../../moe/gates/routing-families-registry.js';
import { expertChoiceCapacity } from '../../moe/gates/expert-choice.js';
import { maxDiff, vjpOf, secondOrder } from './gates-helpers.js';

/** Fused and composed agree in value (1e-12), VJP (1e-12) and second order (1e-11). */
function expectSameAsComposed(fused: (xs: Tensor[]) => Tensor, composed: (xs: Tensor[]) => Tensor, inputs: Tensor[], seed: number): void {
  const rng = new Rng(seed);
  const f = fused(inputs), c = composed(inputs);
  expect(f.shape).toEqual(c.shape);
  expect(maxDiff(f.data, c.data)).toBeLessThanOrEqual(1e-12);
  const r = randn(rng, f.shape);
  vjpOf(fused, inputs, r).forEach((g, i) => expect(maxDiff(g, vjpOf(composed, inputs, r)[i]!), `VJP, input ${i}`).toBeLessThanOrEqual(1e-12));
  const s = inputs.map((x) => randn(rng, x.shape));
  const hc = secondOrder(composed, inputs, r, s);
  secondOrder(fused, inputs, r, s).forEach((g, i) => expect(maxDiff(g, hc[i]!), `second order, input ${i}`).toBeLessThanOrEqual(1e-11));
}

const cat = (...xs: Tensor[]) => concat(xs.map((x) => reshape(x, [x.size])), 0);

/** Φ(u) composed from engine ops. */
const normalCdf = (u: Tensor) => scale(add(erf(scale(u, Math.SQRT1_2)), 1), 0.5);

/** kth_excluding(h[t], k, i) by brute force: sort the row without entry i, take the k-th (ties → lowest index). */
function thresholdColumns(h: Tensor, k: number): Int32Array {
  const [T, E] = h.shape as [number, number];
  const out = new Int32Array(T * E);
  for (let t = 0; t < T; t++) {
    for (let i = 0; i < E; i++) {
      const others = Array.from({ length: E }, (_, j) => j).filter((j) => j !== i).sort((a, b) => h.get(t, b) - h.get(t, a) || a - b);
      out[t * E + i] = others[k - 1]!;
    }
  }
  return out;
}

describe('noisy top-k gating (Shazeer et al. 2017)', () => {
  const T = 3, E = 5, k = 2;
  const rng = new Rng(1);
  const eps = randn(rng, [T, E]);
  const noisyOf = (c: Tensor, n: Tensor) => add(c, mul(eps, softplus(n)));
  let clean: Tensor, noiseLogits: Tensor;
  do { clean = randn(rng, [T, E], 1.5); noiseLogits = randn(rng, [T, E]); } while (topKGap(noisyOf(clean, noiseLogits).data, T, E, k + 1) < 1e-3);

  it('weights, load probabilities, load, importance and the CV² losses equal the composed formulas', () => {
    const h = noisyOf(clean, noiseLogits);
    const idx = noGrad(() => noisyTopKGate(clean, noiseLogits, k, { noise: eps }).indices);
    const theta = thresholdColumns(h, k);
    const composed = ([c, n]: Tensor[]) => {
      const hh = noisyOf(c!, n!), std = softplus(n!);
      const w = softmax(takeAlongAxis(hh, idx, 1), 1);
      const P = normalCdf(div(sub(c!, takeAlongAxis(hh, theta, 1)), std));
      const cv = (v: Tensor) => { const m = mean(v); const dv = sub(v, m); return div(mean(mul(dv, dv)), mul(m, m)); };
      const imp = sum(scatterAlongAxis(w, idx, 1, E), 0), load = sum(P, 0);
      const loss = add(scale(cv(imp), 0.3), scale(cv(load), 0.7));
      return cat(w, P, load, imp, loss);
    };
    const fused = ([c, n]: Tensor[]) => {
      const g = noisyTopKGate(c!, n!, k, { noise: eps });
      return cat(g.weights, g.loadProbs, g.load, g.importance, noisyTopKLosses(g, { importance: 0.3, load: 0.7 }));
    };
    expectSameAsComposed(fused, composed, [clean, noiseLogits], 2);
  });

  it('P(x, i) is the probability that expert i stays in the top-k when its own noise is re-sampled (Monte Carlo, 40,000 draws)', () => {
    const g = noisyTopKGate(clean, noiseLogits, k, { noise: eps });
    const h = g.noisyLogits, std = softplus(noiseLogits), mc = new Rng(9);
    for (let t = 0; t < T; t++) {
      for (let i = 0; i < E; i++) {
        let hits = 0;
        const n = 40000;
        for (let s = 0; s < n; s++) {
          const hi = clean.get(t, i) + mc.normal() * std.get(t, i);
          let above = 0;
          for (let j = 0; j < E; j++) if (j !== i && h.get(t, j) >= hi) above++;
          if (above < k) hits++;
        }
        expect(Math.abs(hits / n - g.loadProbs.get(t, i)), `t=${t} i=${i}`).toBeLessThan(0.01);
      }
    }
  });

  it('seeded noise is replayable; no noise gives the clean top-k softmax; k = E gives P ≡ 1', () => {
    const a = noisyTopKGate(clean, noiseLogits, k, { rng: new Rng(5) }), b = noisyTopKGate(clean, noiseLogits, k, { rng: new Rng(5) });
    expect(Array.from(a.weights.data)).toEqual(Array.from(b.weights.data));
    expect(Array.from(a.indices)).toEqual(Array.from(b.indices));
    const quiet = noisyTopKGate(clean, noiseLogits, k), plain = topKSoftmaxGate(clean, k);
    expect(Array.from(quiet.indices)).toEqual(Array.from(plain.indices));
    expect(maxDiff(quiet.weights.data, plain.weights.data)).toBe(0);
    expect(Array.from(noisyTopKGate(clean, noiseLogits, E).loadProbs.data).every((p) => p === 1)).toBe(true);
  });

  it('the load loss sends gradient to the noise logits even with ε = 0; cvSquared has its closed form', () => {
    const g = vjp(([c, n]: Tensor[]) => noisyTopKLosses(noisyTopKGate(c!, n!, k), { importance: 0, load: 1 }), [clean, noiseLogits]).vjp(tensor(1));
    expect(g[1]!.data.some((v) => Math.abs(v) > 1e-6)).toBe(true);
    expect(cvSquared(tensor([1, 2, 3])).item()).toBeCloseTo(1 / 6, 15);
    expect(cvSquared(tensor([4])).item()).toBe(0);
  });

  it('extreme logits stay finite (max-shifted softmax, erfc tail)', () => {
    const z = tensor([[1e4, -1e4, 0], [-1e4, 1e4, 1e4 - 1]]);
    const g = noisyTopKGate(z, tensor([[0, 0, 0], [0, 0, 0]]), 1);
    expect(Array.from(g.weights.data)).toEqual([1, 1]);
    const P = g.loadProbs.data;
    expect(Array.from(P).every((p) => p >= 0 && p <= 1 && Number.isFinite(p))).toBe(true);
    expect(P[1]).toBe(0); // u ≈ −2e4/0.69: Φ underflows to exactly 0, no NaN
  });

  it('rejects bad input naming the op', () => {
    expect(() => noisyTopKLoadProbs(clean, clean, softplus(noiseLogits), E)).toThrow(ValueError);
    expect(() => noisyTopKLoadProbs(clean, clean, scale(softplus(noiseLogits), -1), 1)).toThrow(/noiseStd \[3, 5\] must be > 0/);
    expect(() => noisyTopKGate(clean, randn(rng, [T, E + 1]), k)).toThrow(ShapeError);
    expect(() => noisyTopKGate(clean, noiseLogits, k, { noise: randn(rng, [1, E]) })).toThrow(/noisyTopKGate.*noise/);
    expect(() => cvSquared(tensor([0, 0]))).toThrow(/cvSquared/);
  });
});

describe('expert-choice routing (Zhou et al. 2022)', () => {
  it('each expert takes its top-C tokens by softmax score; weights = S there, 0 elsewhere; equals the composed masked softmax', () => {
    const rng = new Rng(3);
    const T = 6, E = 3, C = expertChoiceCapacity('t', T, E, { capacityFactor: 1 });
    expect(C).toBe(2);
    const z = randn(rng, [T, E], 1.5);
    const g = expertChoiceGate(z);
    const S = softmax(z, 1);
    for (let e = 0; e < E; e++) {
      const want = Array.from({ length: T }, (_, t) => t).sort((a, b) => S.get(b, e) - S.get(a, e) || a - b).slice(0, C);
      expect(Array.from(g.tokenIndex.subarray(e * C, e * C + C))).toEqual(want);
      for (let t = 0; t < T; t++) expect(g.weights.get(t, e)).toBe(want.includes(t) ? S.get(t, e) : 0);
    }
    const mask = tensor(Array.from(g.weights.data, (w) => (w > 0 ? 1 : 0)), [T, E]);
    expectSameAsComposed(([x]) => expertChoiceGate(x!).weights, ([x]) => mul(softmax(x!, 1), mask), [z], 4);
  });

  it('capacity: ⌈T·c/E⌉ clamped to [1, T]; an explicit capacity in [1, T]', () => {
    expect(expertChoiceCapacity('t', 10, 4, { capacityFactor: 1 })).toBe(3);
    expect(expertChoiceCapacity('t', 10, 4, { capacityFactor: 0.01 })).toBe(1);
    expect(expertChoiceCapacity('t', 10, 4, { capacityFactor: 100 })).toBe(10);
    expect(expertChoiceCapacity('t', 10, 4, { capacity: 7 })).toBe(7);
    expect(() => expertChoiceGate(randn(new Rng(0), [3, 2]), { capacity: 4 })).toThrow(/expertChoiceGate.*capacity/);
    expect(() => expertChoiceGate(randn(new Rng(0), [3, 2]), { capacityFactor: 0 })).toThrow(/capacityFactor/);
  });
});

describe('Soft MoE dispatch and combine (Puigcerver et al. 2023)', () => {
  const rng = new Rng(5);
  const T = 4, S = 3, d = 2;
  const L = randn(rng, [T, S], 1.5), x = randn(rng, [T, d]), ys = randn(rng, [S, d]);
  it('fused dispatch = (softmax over tokens)ᵀ X and fused combine = (softmax over slots) Ỹ, VJPs to second order', () => {
    expectSameAsComposed(([l, v]) => softMoEDispatch(l!, v!), ([l, v]) => matmul(transpose(softmax(l!, 0)), v!), [L, x], 6);
    expectSameAsComposed(([l, v]) => softMoECombine(l!, v!), ([l, v]) => matmul(softmax(l!, 1), v!), [L, ys], 7);
  });
  it('slots are convex combinations of tokens: identical tokens give identical slots; extreme logits pick one token', () => {
    const same = tensor([[1, -2], [1, -2], [1, -2], [1, -2]]);
    const out = softMoEDispatch(L, same);
    for (let s = 0; s < S; s++) { expect(out.get(s, 0)).toBeCloseTo(1, 14); expect(out.get(s, 1)).toBeCloseTo(-2, 14); }
    const hard = tensor([[1e4, -1e4, 0], [-1e4, 1e4, 0], [0, 0, 1e4], [0, 0, 0]]);
    const disp = softMoEDispatch(hard, x), comb = softMoECombine(hard, ys);
    expect(Array.from(disp.data.subarray(0, 2))).toEqual(Array.from(x.data.subarray(0, 2)));
    expect(Array.from(comb.data.subarray(0, 2))).toEqual(Array.from(ys.data.subarray(0, 2)));
    const gl = vjp(([l]: Tensor[]) => softMoECombine(l!, ys), [hard]).vjp(randn(rng, [T, d]))[0]!;
    expect(Array.from(gl.data).every(Number.isFinite)).toBe(true);
  });
  it('rejects mismatched rows and NaN', () => {
    expect(() => softMoEDispatch(L, randn(rng, [T + 1, d]))).toThrow(ShapeError);
    expect(() => softMoECombine(L, randn(rng, [T, d]))).toThrow(/softMoECombine.*slotOutputs/);
    expect(() => softMoEDispatch(tensor([[NaN]]), tensor([[1]]))).toThrow(ValueError);
  });
});

describe('balanced assignment (BASE layers, Sinkhorn): hard, exactly balanced, router gradient through σ(z[t, a(t)])', () => {
  it('every token gets one expert, every expert ⌊T/E⌋ or ⌈T/E⌉ tokens (exactly T/E when E divides T)', () => {
    const rng = new Rng(8);
    for (const [T, E] of [[8, 4], [7, 3], [5, 5], [3, 4], [12, 2]] as const) {
      const z = add(randn(rng, [T, E], 2), tensor(Array.from({ length: T * E }, (_, i) => (i % E === 0 ? 3 : 0)), [T, E])); // expert 0 popular
      const g = balancedAssignmentGate(z);
      const counts = new Array(E).fill(0);
      for (const e of g.indices) counts[e]++;
      for (const c of counts) expect(c === Math.floor(T / E) || c === Math.ceil(T / E), `T=${T} E=${E} counts ${counts}`).toBe(true);
      expect(counts.reduce((a, b) => a + b)).toBe(T);
    }
  });
  it('Sinkhorn marginals: rows sum to 1 and columns to T/E', () => {
    const z = randn(new Rng(2), [6, 3], 1.5);
    const P = sinkhornLogPlan(z, { iterations: 200 }).map(Math.exp);
    for (let t = 0; t < 6; t++) expect(P[3 * t]! + P[3 * t + 1]! + P[3 * t + 2]!).toBeCloseTo(1, 10);
    for (let e = 0; e < 3; e++) expect([0, 1, 2, 3, 4, 5].reduce((a, t) => a + P[3 * t + e]!, 0)).toBeCloseTo(2, 12);
  });
  it('at low temperature the assignment maximizes the total affinity (brute force over balanced assignments)', () => {
    const rng = new Rng(4);
    for (let rep = 0; rep < 6; rep++) {
      const z = randn(rng, [4, 2], 1.5);
      const a = balancedAssignmentGate(z, { iterations: 300, temperature: 0.02 }).indices;
      const total = (s: ArrayLike<number>) => Array.from(s).reduce((acc, e, t) => acc + z.get(t, e), 0);
      let best = -Infinity;
      for (let m = 0; m < 16; m++) {
        const s = [0, 1, 2, 3].map((t) => (m >> t) & 1);
        if (s.filter((e) => e === 1).length === 2) best = Math.max(best, total(s));
      }
      expect(total(a)).toBeCloseTo(best, 12);
    }
  });
  it('weights = σ(z[t, a(t)]); the gradient is σ′ at the assigned expert and 0 elsewhere (composed oracle)', () => {
    const z = randn(new Rng(6), [6, 3], 1.5);
    const a = balancedAssignmentGate(z).indices;
    expectSameAsComposed(([x]) => balancedAssignmentGate(x!).weights, ([x]) => sigmoid(takeAlongAxis(x!, a, 1)), [z], 9);
    const gz = vjp(([x]: Tensor[]) => balancedAssignmentGate(x!).weights, [z]).vjp(fromData(new Float64Array(6).fill(1), [6, 1]))[0]!;
    for (let t = 0; t < 6; t++) for (let e = 0; e < 3; e++) {
      const s = 1 / (1 + Math.exp(-z.get(t, e)));
      expect(gz.get(t, e)).toBeCloseTo(e === a[t] ? s * (1 - s) : 0, 14);
    }
  });
});

describe('hand JVP rules match central differences (forward mode), no transposed-VJP fallback', () => {
  for (const spec of ROUTING_FAMILY_OPS) {
    it(spec.name, () => {
      for (let seed = 0; seed < 3; seed++) {
        const c = spec.sample(new Rng(40 + seed), 3);
        const dirs = c.inputs.map((x, i) => randn(new Rng(seed * 10 + i), x.shape));
        clearJvpFallbackOps();
        const { tangent } = jvp((...xs: Tensor[]) => c.run(xs), [...c.inputs], dirs);
        const fallback = jvpFallbackOps();
        for (const name of ['noisyTopKLoadProbs', 'expertChoiceGate', 'softMoEDispatch', 'softMoECombine']) expect(fallback).not.toContain(name);
        const h = 1e-5;
        const at = (s: number) => noGrad(() => c.run(c.inputs.map((x, i) => fromData(x.data.map((v, j) => v + s * dirs[i]!.data[j]!), x.shape))).data);
        const fp = at(h), fm = at(-h);
        const fd = fp.map((v, j) => (v - fm[j]!) / (2 * h));
        const scaleOf = Math.max(1, ...Array.from(fd, Math.abs));
        expect(maxDiff(tangent.data, fd) / scaleOf, `${spec.name} ${c.label}`).toBeLessThan(1e-7);
      }
    });
  }
});

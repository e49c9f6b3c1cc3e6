import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { Rng, tensor, full, randn, softmax, sigmoid, grad, gradcheck, ShapeError, ValueError, type Tensor } from '../../engine/index.js';
import { switchAuxLoss, routerZLoss, expertBalanceLoss, deviceBalanceLoss, sequenceBalanceLoss } from '../../moe/losses.js';

const idx = (...v: number[]) => Int32Array.from(v);
/** Uniform routing: T tokens, E experts, K per token, token t picks experts (t·K + j) mod E. */
function uniformRouting(T: number, E: number, K: number) {
  const indices = new Int32Array(T * K);
  for (let t = 0; t < T; t++) for (let j = 0; j < K; j++) indices[t * K + j] = (t * K + j) % E;
  return { scores: full([T, E], 1 / E), indices };
}

describe('switchAuxLoss', () => {
  it('closed form α·E·Σ f_e P_e on a hand example', () => {
    // f = [1, 0] (both tokens pick expert 0), P = [0.55, 0.45] ⇒ L = 2 · 0.55
    const gate = { scores: tensor([[0.7, 0.3], [0.4, 0.6]]), indices: idx(0, 0) };
    expect(switchAuxLoss(gate).item()).toBeCloseTo(1.1, 14);
    expect(switchAuxLoss(gate, { coefficient: 0.01 }).item()).toBeCloseTo(0.011, 14);
  });

  it('uniform routing gives the documented value α·K', () => {
    expect(switchAuxLoss(uniformRouting(8, 4, 1)).item()).toBeCloseTo(1, 14);
    expect(switchAuxLoss(uniformRouting(8, 4, 2)).item()).toBeCloseTo(2, 14);
    expect(switchAuxLoss(uniformRouting(6, 3, 1), { coefficient: 0.01 }).item()).toBeCloseTo(0.01, 14);
  });

  it('gradient is α·E·f_e/T on every token, and gradchecks through a softmax router', () => {
    const indices = idx(0, 2, 1, 2, 2, 0);
    const g = grad((s: Tensor) => switchAuxLoss({ scores: s, indices }, { coefficient: 0.5 }))(full([3, 3], 1 / 3));
    const f = [2 / 3, 1 / 3, 3 / 3];
    for (let t = 0; t < 3; t++) for (let e = 0; e < 3; e++) expect(g.get(t, e)).toBeCloseTo(0.5 * 3 * f[e]! / 3, 14);
    const z = randn(new Rng(1), [3, 3]);
    const report = gradcheck((v: Tensor) => switchAuxLoss({ scores: softmax(v), indices }), z);
    expect(report.ok, report.summary).toBe(true);
  });
});

describe('routerZLoss', () => {
  it('(1/T) Σ_t lse(z_t)² on a hand example, and its gradient (2/T)·lse·softmax', () => {
    const z = tensor([[0, 0], [Math.log(3), 0]]); // lse = log 2, log 4
    expect(routerZLoss(z).item()).toBeCloseTo((Math.log(2) ** 2 + Math.log(4) ** 2) / 2, 14);
    const g = grad((v: Tensor) => routerZLoss(v))(z);
    expect(g.get(1, 0)).toBeCloseTo(Math.log(4) * 0.75, 14);
    expect(g.get(0, 1)).toBeCloseTo(Math.log(2) * 0.5, 14);
  });

  it('is stable for large logits (no overflow) and gradchecks', () => {
    expect(routerZLoss(tensor([[1000, 1000]])).item()).toBeCloseTo((1000 + Math.log(2)) ** 2, 6);
    const report = gradcheck(routerZLoss, randn(new Rng(2), [4, 5], 2));
    expect(report.ok, report.summary).toBe(true);
  });

  it('reads a gate\'s logits and refuses a gate without them', () => {
    const logits = tensor([[1, 2]]);
    expect(routerZLoss({ logits }).item()).toBe(routerZLoss(logits).item());
    expect(() => routerZLoss({})).toThrow(/routerZLoss: this gate has no router logits/);
    expect(() => routerZLoss(tensor([1, 2]))).toThrow(ShapeError);
    expect(() => routerZLoss(tensor([[1, NaN]]))).toThrow(/routerZLoss: logits \[1, 2\] contain NaN/);
  });
});

describe('DeepSeekMoE balance losses', () => {
  it('expert-level: α Σ f_e P_e with f_e = E/(K·T)·count, hand example; uniform gives α', () => {
    // T=2, E=3, K=2: counts [2, 1, 1] ⇒ f = 3/4·[2, 1, 1]; P = mean of scores
    const gate = { scores: tensor([[0.5, 0.3, 0.2], [0.1, 0.2, 0.7]]), indices: idx(0, 1, 0, 2) };
    const f = [1.5, 0.75, 0.75], P = [0.3, 0.25, 0.45];
    expect(expertBalanceLoss(gate, { alpha: 0.01 }).item()).toBeCloseTo(0.01 * (f[0]! * P[0]! + f[1]! * P[1]! + f[2]! * P[2]!), 15);
    expect(expertBalanceLoss(uniformRouting(6, 4, 2), { alpha: 0.003 }).item()).toBeCloseTo(0.003, 15);
  });

  it('device-level: f′_d = mean f over the device, P′_d = Σ P; uniform gives α; gradchecks', () => {
    expect(deviceBalanceLoss(uniformRouting(8, 4, 2), { numDevices: 2, alpha: 0.5 }).item()).toBeCloseTo(0.5, 15);
    // E=4 on 2 devices, T=2, K=1: tokens pick 0 and 1 (both on device 0) ⇒ f = [2, 2, 0, 0], f′ = [2, 0]
    const gate = { scores: tensor([[0.4, 0.3, 0.2, 0.1], [0.1, 0.5, 0.2, 0.2]]), indices: idx(0, 1) };
    expect(deviceBalanceLoss(gate, { numDevices: 2 }).item()).toBeCloseTo(2 * (0.25 + 0.4), 14);
    expect(() => deviceBalanceLoss(gate, { numDevices: 3 })).toThrow(/numDevices must be a positive divisor of E = 4; got 3/);
    const report = gradcheck((z: Tensor) => deviceBalanceLoss({ scores: softmax(z), indices: gate.indices }, { numDevices: 2 }), randn(new Rng(3), [2, 4]));
    expect(report.ok, report.summary).toBe(true);
  });
});

describe('sequenceBalanceLoss (DeepSeek-V3)', () => {
  it('per-sequence f·P with normalized scores, averaged over sequences (hand example)', () => {
    // two sequences of length 1, E = 2, K = 1; unnormalized sigmoid-like scores
    const gate = { scores: tensor([[0.6, 0.2], [0.3, 0.3]]), indices: idx(0, 1) };
    // seq 0: f = [2, 0], s′ = [0.75, 0.25] ⇒ 1.5; seq 1: f = [0, 2], s′ = [0.5, 0.5] ⇒ 1
    expect(sequenceBalanceLoss(gate, { seqLen: 1, alpha: 0.1 }).item()).toBeCloseTo(0.1 * (1.5 + 1) / 2, 15);
    // one sequence of length 2: f = [1, 1], P = [0.625, 0.375] ⇒ 1
    expect(sequenceBalanceLoss(gate).item()).toBeCloseTo(1, 15);
  });

  it('uniform routing in every sequence gives α', () => {
    expect(sequenceBalanceLoss(uniformRouting(8, 4, 2), { seqLen: 4, alpha: 1e-4 }).item()).toBeCloseTo(1e-4, 18);
  });

  it('gradchecks through sigmoid scores (property over shapes)', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 2, max: 5 }), fc.integer(), (B, L, E, seed) => {
      const rng = new Rng(seed);
      const K = 1 + rng.int(E - 1);
      const indices = new Int32Array(B * L * K);
      for (let t = 0; t < B * L; t++) indices.set(rng.permutation(E).subarray(0, K), t * K);
      const report = gradcheck((z: Tensor) => sequenceBalanceLoss({ scores: sigmoid(z), indices }, { seqLen: L, alpha: 0.3 }), randn(rng, [B * L, E]));
      expect(report.ok, report.summary).toBe(true);
    }), { numRuns: 15, seed: 3 });
  });

  it('rejects a seqLen that does not divide T, bad indices and NaN scores', () => {
    const gate = { scores: tensor([[0.6, 0.2], [0.3, 0.3], [0.1, 0.2]]), indices: idx(0, 1, 1) };
    expect(() => sequenceBalanceLoss(gate, { seqLen: 2 })).toThrow(/sequenceBalanceLoss: seqLen must be a positive divisor of T = 3; got 2/);
    expect(() => sequenceBalanceLoss({ scores: gate.scores, indices: idx(0, 2, 1) })).toThrow(ValueError);
    expect(() => switchAuxLoss({ scores: gate.scores, indices: idx(0, 1) })).toThrow(/switchAuxLoss: indices must be .* T·K entries for T = 3; got 2/);
    expect(() => switchAuxLoss({ scores: tensor([[NaN, 1]]), indices: idx(0) })).toThrow(/contain NaN/);
  });
});

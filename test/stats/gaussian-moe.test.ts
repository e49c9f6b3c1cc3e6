import { describe, expect, it } from 'vitest';
import { Rng, fromData, valueAndGrad } from '../../engine/index.js';
import { gaussHermite, populationQuadrature } from '../../moe/stats/gaussian-moe.js';
import { type GaussianMoE, componentWeights, gaussianMoENll, gaussianMoENllTape, packModel, sampleGaussianMoE, tapeParamsFromFlat, unpackModel, flattenTree, routedLogGate } from '../../moe/stats/index.js';

const ffn = (fam: 'relu' | 'gelu' | 'tanh' | 'sigmoid', bias = true) => ({ family: fam, bias });
function model(gate: 'softmax' | 'normalizedSigmoid', fam: 'linear' | 'relu' | 'gelu' | 'tanh', d = 2): GaussianMoE {
  const lin = fam === 'linear';
  // Shared FFN experts with an inner bias ([w, b, a]); routed ReLU experts without it ([w, a]), as in Thm 1.
  const routedBias = fam !== 'relu';
  const ex = (k: number, bias: boolean) => Array.from({ length: lin ? d + 1 : d + (bias ? 2 : 1) }, (_, t) => Math.sin(3 * k + t + 1));
  return { d, gate, sharedExpert: lin ? { family: 'linear' } : ffn(fam), routedExpert: lin ? { family: 'linear' } : ffn(fam, routedBias),
    shared: [{ weight: 0.3, expert: ex(0, true), variance: 0.3 }, { weight: 0.7, expert: ex(1, true), variance: 0.5 }],
    routed: [0, 1, 2].map((j) => ({ beta0: 0.3 * j - 0.2, beta1: Array.from({ length: d }, (_, t) => Math.cos(j + 2 * t)), expert: ex(j + 2, routedBias), variance: 0.2 + 0.1 * j })) };
}

describe('fused Gaussian-MoE likelihood vs the tape', () => {
  for (const gate of ['softmax', 'normalizedSigmoid'] as const) for (const fam of ['linear', 'relu', 'gelu', 'tanh'] as const) {
    it(`${gate} / ${fam}: same value and gradient`, () => {
      const m = model(gate, fam);
      const { x, y } = sampleGaussianMoE(m, 40, new Rng(3));
      const th = packModel(m), g = new Float64Array(th.length);
      const v = gaussianMoENll(m, x, y)(th, g);
      const X = fromData(x, [40, 2]), Y = fromData(y, [40]);
      const tape = valueAndGrad((p: ReturnType<typeof tapeParamsFromFlat>) => gaussianMoENllTape(m, p, X, Y))(tapeParamsFromFlat(m, th));
      expect(v).toBeCloseTo(tape.value.item(), 12);
      // The flat → tree map is a pure re-indexing, so it maps gradients the same way.
      const gTree = flattenTree(tapeParamsFromFlat(m, g) as never), gTape = flattenTree(tape.grad as never);
      for (let i = 0; i < gTree.length; i++) expect(gTree[i]).toBeCloseTo(gTape[i]!, 10);
    });
  }
  it('the fused gate ops and the engine-op composition give the same log-gates', () => {
    const z = fromData(Float64Array.from({ length: 12 }, (_, i) => Math.sin(i) * 3), [4, 3]);
    for (const kind of ['softmax', 'normalizedSigmoid'] as const) {
      const a = routedLogGate(kind, z).toArray(), b = routedLogGate(kind, z, true).toArray();
      a.forEach((v, i) => expect(v).toBeCloseTo(b[i]!, 12));
    }
  });
  it('computes the log-gates in the log domain: finite and exact where the gate underflows', () => {
    const z = fromData(Float64Array.from([800, 0, -800]), [1, 3]);
    expect(routedLogGate('softmax', z).toArray()).toEqual([0, -800, -1600]);
    // normalized sigmoid: σ(800) = 1, log σ(0) = −log 2, log σ(−800) = −800 exactly in float64; Σσ = 1.5
    const ns = routedLogGate('normalizedSigmoid', z).toArray();
    [-Math.log(1.5), -Math.log(2) - Math.log(1.5), -800 - Math.log(1.5)].forEach((v, i) => expect(ns[i]).toBeCloseTo(v, 12));
    // through the gate ops the underflowed weights give −∞
    expect(routedLogGate('softmax', z, true).toArray()[2]).toBe(-Infinity);
  });
  it('works with routed experts only (mass 1) and shared only', () => {
    for (const m of [{ ...model('softmax', 'linear'), shared: [] }, { ...model('softmax', 'linear'), routed: [] }]) {
      const { x, y } = sampleGaussianMoE(m, 20, new Rng(1));
      const th = packModel(m);
      const tape = gaussianMoENllTape(m, tapeParamsFromFlat(m, th), fromData(x, [20, 2]), fromData(y, [20]));
      expect(gaussianMoENll(m, x, y)(th, new Float64Array(th.length))).toBeCloseTo(tape.item(), 12);
    }
  });
});

describe('sampler and layout', () => {
  it('is deterministic per seed and pack/unpack round-trips', () => {
    const m = model('normalizedSigmoid', 'relu');
    expect(sampleGaussianMoE(m, 30, new Rng(9))).toEqual(sampleGaussianMoE(m, 30, new Rng(9)));
    const back = unpackModel(m, packModel(m));
    back.shared.forEach((a, i) => { expect(a.weight).toBeCloseTo(m.shared[i]!.weight, 12); expect(a.variance).toBeCloseTo(m.shared[i]!.variance, 12); });
    expect(back.routed[1]!.expert).toEqual(m.routed[1]!.expert);
  });
  it('component weights sum to one (½ shared + ½ routed) and the sample frequencies match them', () => {
    const m: GaussianMoE = { d: 1, gate: 'softmax', sharedExpert: { family: 'linear' }, routedExpert: { family: 'linear' },
      shared: [{ weight: 1, expert: [0, -10], variance: 0.01 }], routed: [{ beta0: 0, beta1: [0], expert: [0, 0], variance: 0.01 }, { beta0: Math.log(3), beta1: [0], expert: [0, 10], variance: 0.01 }] };
    const w = componentWeights(m, [0.3]);
    expect([...w].map((v) => +v.toFixed(12))).toEqual([0.5, 0.125, 0.375]);
    const { y } = sampleGaussianMoE(m, 4000, new Rng(2));
    const frac = [-10, 0, 10].map((c) => y.filter((v) => Math.abs(v - c) < 1).length / 4000);
    frac.forEach((f, k) => expect(Math.abs(f - w[k]!)).toBeLessThan(0.03));
  });
  it('rejects inconsistent models and data', () => {
    const m = model('softmax', 'linear');
    expect(() => sampleGaussianMoE({ ...m, shared: [{ weight: 1, expert: [1], variance: 1 }] }, 5, new Rng(1))).toThrow(/shared atom 0/);
    expect(() => gaussianMoENll(m, new Float64Array(3), new Float64Array(2))).toThrow(/n·d/);
    expect(() => sampleGaussianMoE(m, 0, new Rng(1))).toThrow(/positive integer/);
  });
});

describe('weighted likelihood and population quadrature', () => {
  it('gaussHermite integrates normal moments exactly: E t^0, t^2, t^4, t^6 = 1, ½, ¾, 15/8', () => {
    for (const m of [4, 9, 16]) {
      const { nodes, weights } = gaussHermite(m);
      const mom = (k: number) => nodes.reduce((s, t, i) => s + weights[i]! * t ** k, 0) / Math.sqrt(Math.PI);
      expect(mom(0)).toBeCloseTo(1, 12); expect(mom(1)).toBeCloseTo(0, 12);
      expect(mom(2)).toBeCloseTo(0.5, 12); expect(mom(4)).toBeCloseTo(0.75, 11); expect(mom(6)).toBeCloseTo(15 / 8, 10);
    }
  });
  it('integer weights equal repeating the points (value and gradient)', () => {
    const m = model('normalizedSigmoid', 'relu', 1);
    const { x, y } = sampleGaussianMoE(m, 12, new Rng(8));
    const w = Float64Array.from({ length: 12 }, (_, i) => 1 + (i % 3));
    const xr: number[] = [], yr: number[] = [];
    w.forEach((k, i) => { for (let r = 0; r < k; r++) { xr.push(x[i]!); yr.push(y[i]!); } });
    const th = packModel(m), g1 = new Float64Array(th.length), g2 = new Float64Array(th.length);
    expect(gaussianMoENll(m, x, y, w)(th, g1)).toBeCloseTo(gaussianMoENll(m, Float64Array.from(xr), Float64Array.from(yr))(th, g2), 12);
    for (let i = 0; i < th.length; i++) expect(g1[i]).toBeCloseTo(g2[i]!, 12);
    expect(() => gaussianMoENll(m, x, y, new Float64Array(3))).toThrow(/weights must hold n = 12/);
  });
  it('populationQuadrature: weights sum to 1, its NLL matches a large Monte Carlo sample and is stationary at the truth', () => {
    const m = model('normalizedSigmoid', 'linear', 1);
    const q = populationQuadrature(m, 200, 16);
    expect(q.w.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    const th = packModel(m), g = new Float64Array(th.length);
    const pop = gaussianMoENll(m, q.x, q.y, q.w)(th, g);
    for (const v of g) expect(Math.abs(v)).toBeLessThan(1e-3); // E[∇ log f*] = 0 at the truth
    const mc = sampleGaussianMoE(m, 20000, new Rng(2));
    expect(Math.abs(gaussianMoENll(m, mc.x, mc.y)(th, new Float64Array(th.length)) - pop)).toBeLessThan(0.03);
    const worse = unpackModel(m, th.map((v, i) => v + 0.05 * Math.sin(i)));
    const thw = packModel(worse);
    expect(gaussianMoENll(worse, q.x, q.y, q.w)(thw, new Float64Array(th.length))).toBeGreaterThan(pop); // KL > 0
    expect(() => populationQuadrature(model('softmax', 'linear', 2))).toThrow(/only d = 1/);
  });
});

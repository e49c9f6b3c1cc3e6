import { describe, expect, it } from 'vitest';
import { Rng } from '../../engine/index.js';
import {
  THM_TRUTHS, alignReluScale, alignSoftmaxGauge, fitThm, gaussianMoENll, initNearTruth, lossD1, packModel, sampleGaussianMoE,
  EXPERIMENTS, findExperiment, lossD4, type GaussianMoE,
} from '../../moe/stats/index.js';
import { populationQuadrature } from '../../moe/stats/gaussian-moe.js';
import { lossD4Inf, populationLimit } from '../../moe/stats/paper-2505.js';

const nll = (m: GaussianMoE, data: { x: Float64Array; y: Float64Array }) => { const th = packModel(m); return gaussianMoENll(m, data.x, data.y)(th, new Float64Array(th.length)); };

describe('2505.10860 Thm 1–4 setup', () => {
  const truth = THM_TRUTHS.thm1;
  const data = sampleGaussianMoE(truth, 300, new Rng(4));
  const init = initNearTruth(truth, new Rng(5), 0.3);

  it('starts over-specified: 2 shared + 3 routed atoms with the true masses split', () => {
    expect(init.shared).toHaveLength(2);
    expect(init.routed).toHaveLength(3);
    expect(init.shared[0]!.weight + init.shared[1]!.weight).toBeCloseTo(1, 12);
  });
  it('gauge alignments leave the likelihood unchanged and move the fit towards the truth', () => {
    const shifted: GaussianMoE = { ...init, routed: init.routed.map((a) => ({ ...a, beta0: a.beta0 + 3, beta1: a.beta1.map((b) => b - 2) })),
      shared: init.shared.map((a) => ({ ...a, expert: [a.expert[0]! * 2, a.expert[1]! * 2, a.expert[2]! / 2] })) };
    expect(nll(shifted, data)).toBeCloseTo(nll(init, data), 10);
    const aligned = alignReluScale(alignSoftmaxGauge(shifted, truth), truth);
    expect(nll(aligned, data)).toBeCloseTo(nll(init, data), 10);
    expect(lossD1(aligned, truth)).toBeLessThan(lossD1(shifted, truth));
  });
  it('fitThm is deterministic per seed and improves on its start', () => {
    const a = fitThm(truth, 400, 11, { maxIter: 150 }), b = fitThm(truth, 400, 11, { maxIter: 150 });
    expect(a.fit).toEqual(b.fit);
    expect(a.nll).toBe(b.nll);
  });
  it('the D1 of the MLE shrinks with n (mean over 3 seeds, n = 200 vs 5000)', () => {
    const mean = (n: number) => [1, 2, 3].reduce((s, seed) => s + lossD1(fitThm(truth, n, seed, { maxIter: 300 }).fit, truth), 0) / 3;
    expect(mean(5000)).toBeLessThan(0.5 * mean(200));
  });
  it('gateBox keeps the routed gate parameters in the compact box', () => {
    const r = fitThm(THM_TRUTHS.thm4, 300, 3, { gateBox: 1, maxIter: 200 });
    for (const a of r.raw.routed) { expect(Math.abs(a.beta0)).toBeLessThan(1.05); expect(Math.abs(a.beta1[0]!)).toBeLessThan(1.05); }
  });
  it('registry: thm1..thm4 plus the extra experiments, with serializable cells', () => {
    for (const name of ['thm1', 'thm2', 'thm3', 'thm4']) expect(findExperiment(name)?.reported?.[0]?.value).toBeGreaterThan(0.4);
    const names = EXPERIMENTS.map((e) => e.name);
    expect(new Set(names).size).toBe(names.length);
    const full = findExperiment('thm1')!.cells({ quick: false });
    expect(new Set(full.map((c) => c.n)).size).toBe(10);
    expect(full).toHaveLength(100);
    expect(JSON.parse(JSON.stringify(full))).toEqual(full);
  });
});

describe('Thm 4 reference limit: population KL projection', () => {
  // Coarse quadrature keeps this fast; the experiment uses 300 × 16 nodes.
  const opts = { xNodes: 60, yNodes: 8, maxIter: 3000, gateBox: 5 } as const;
  const popNll = (m: GaussianMoE, truth: GaussianMoE) => { const q = populationQuadrature(truth, 60, 8); const th = packModel(m); return gaussianMoENll(m, q.x, q.y, q.w)(th, new Float64Array(th.length)); };
  it('well-specified (Thm 1, softmax): the projection attains the truth\'s population NLL (KL → 0)', () => {
    const lim = populationLimit(THM_TRUTHS.thm1, { ...opts, gateBox: undefined });
    // |gap| < 1e-6: the coarse 60 × 8 rule is not exact across the ReLU kinks, so the gap may be ±1e-7.
    expect(Math.abs(lim.nll - popNll(THM_TRUTHS.thm1, THM_TRUTHS.thm1))).toBeLessThan(1e-6);
  });
  it('dense regime (Thm 4) in the box: misspecified, so the projection keeps a positive KL and no atom vanishes', () => {
    const lim = populationLimit(THM_TRUTHS.thm4, opts);
    const excess = lim.nll - popNll(THM_TRUTHS.thm4, THM_TRUTHS.thm4);
    expect(excess).toBeGreaterThan(1e-5);
    expect(excess).toBeLessThan(1e-2);
    for (const a of lim.raw.routed) expect(Math.abs(a.beta0)).toBeLessThan(5.01);
    // It is deterministic (no sample), and lossD4Inf is the minimum over the given limits.
    expect(populationLimit(THM_TRUTHS.thm4, opts).raw).toEqual(lim.raw);
    const fit = fitThm(THM_TRUTHS.thm4, 300, 9, { gateBox: 5, maxIter: 100 }).fit;
    const far = { ...lim.fit, routed: lim.fit.routed.map((a) => ({ ...a, beta0: a.beta0 + 1 })) };
    expect(lossD4Inf(fit, THM_TRUTHS.thm4, [far, lim.fit])).toBe(Math.min(lossD4(fit, THM_TRUTHS.thm4, far), lossD4(fit, THM_TRUTHS.thm4, lim.fit)));
    expect(lossD4Inf(lim.fit, THM_TRUTHS.thm4, [far, lim.fit])).toBeLessThan(1e-3);
  });
});

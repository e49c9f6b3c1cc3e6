import { describe, it, expect } from 'vitest';
import { tensor, ValueError, ShapeError } from '../../engine/index.js';
import { buildRoutingPlan } from '../../moe/routing.js';
import {
  expertLoad, expertImportance, jainIndex, gateEntropy, topKMargin, dropRate, unusedExperts,
  routerSaturation, routerChangeRate, expertSetsByTokenType, routerDiagnostics,
} from '../../moe/diagnostics.js';
import type { GateOutput } from '../../moe/types.js';

const idx = (...v: number[]) => Int32Array.from(v);

describe('load, importance, Jain, unused, drop rate', () => {
  // T = 3, E = 4, K = 2; expert 3 unused; capacity 2 drops the third choice of expert 0
  const plan = buildRoutingPlan(idx(0, 1, 0, 2, 0, 1), 3, 4, 2, 2);

  it('counts routing decisions (and kept slots on request)', () => {
    expect(Array.from(expertLoad(plan))).toEqual([3, 2, 1, 0]);
    expect(Array.from(expertLoad(plan, { kept: true }))).toEqual([2, 2, 1, 0]);
    expect(Array.from(unusedExperts(expertLoad(plan)))).toEqual([3]);
    expect(dropRate(plan)).toBeCloseTo(1 / 6, 15);
    expect(dropRate(buildRoutingPlan(idx(0, 1), 2, 2, 1))).toBe(0);
  });

  it('importance is the column sum of the scores', () => {
    expect(Array.from(expertImportance(tensor([[0.5, 0.5, 0], [0.2, 0.3, 0.5]])))).toEqual([0.7, 0.8, 0.5]);
  });

  it("Jain's index: (Σr)²/(nΣr²), 1 when equal, 1/n for a single winner", () => {
    expect(jainIndex([3, 2, 1, 0])).toBeCloseTo(36 / (4 * 14), 15);
    expect(jainIndex([5, 5, 5])).toBe(1);
    expect(jainIndex([0, 7, 0, 0])).toBe(0.25);
    expect(() => jainIndex([0, 0])).toThrow(/jainIndex: all 2 values are 0/);
    expect(() => jainIndex([1, -1])).toThrow(ValueError);
  });
});

describe('entropy and top-k margin', () => {
  it('entropy in nats of the row-normalized scores; log E when uniform, 0 when one-hot', () => {
    expect(gateEntropy(tensor([[0.25, 0.25, 0.25, 0.25]]))).toBeCloseTo(Math.log(4), 15);
    expect(gateEntropy(tensor([[1, 0, 0]]))).toBe(0);
    // sigmoid-like scores [0.6, 0.2] normalize to [0.75, 0.25]; mean with a uniform row
    const h = -(0.75 * Math.log(0.75) + 0.25 * Math.log(0.25));
    expect(gateEntropy(tensor([[0.6, 0.2], [0.5, 0.5]]))).toBeCloseTo((h + Math.log(2)) / 2, 15);
    expect(() => gateEntropy(tensor([[0, 0]]))).toThrow(/token 0 has all-zero scores/);
  });

  it('k-th minus (k+1)-th largest score per token', () => {
    const s = tensor([[0.1, 0.5, 0.3, 0.1], [0.4, 0.4, 0.1, 0.1]]);
    const m1 = topKMargin(s, 1), m2 = topKMargin(s, 2);
    expect(m1[0]).toBeCloseTo(0.2, 15); expect(m1[1]).toBe(0);
    expect(m2[0]).toBeCloseTo(0.2, 15); expect(m2[1]).toBeCloseTo(0.3, 15);
    expect(() => topKMargin(s, 4)).toThrow(/topKMargin: k must be an integer in \[1, 3\] for E = 4 experts; got 4/);
    expect(() => topKMargin(tensor([1, 2]), 1)).toThrow(ShapeError);
  });
});

describe('router saturation and change rate (2505.10860 §3.3)', () => {
  // N = 3 tokens, k = 2
  const final = idx(0, 1, 2, 3, 1, 2);
  const early = idx(1, 0, 2, 0, 3, 0); // overlaps 2, 1, 0 ⇒ Sat = 3/6
  it('Sat = (1/N) Σ |E_i^t ∩ E_i^T| / k (order within a set does not matter)', () => {
    expect(routerSaturation(early, final, 2)).toBeCloseTo(0.5, 15);
    expect(routerSaturation(final, final, 2)).toBe(1);
  });

  it('CR = (1/N) Σ |E_i^(t+1) \\ E_i^(t)| / k = 1 − overlap', () => {
    expect(routerChangeRate(early, final, 2)).toBeCloseTo(0.5, 15);
    expect(routerChangeRate(idx(0, 1), idx(1, 2), 2)).toBeCloseTo(0.5, 15);
    expect(routerChangeRate(final, final, 2)).toBe(0);
  });

  it('accepts plans and gate outputs; rejects mismatched selections and duplicate experts', () => {
    const p1 = buildRoutingPlan(early, 3, 4, 2), p2 = buildRoutingPlan(final, 3, 4, 2);
    expect(routerSaturation(p1, p2)).toBeCloseTo(0.5, 15);
    expect(routerChangeRate({ indices: early, plan: p1 }, { indices: final, plan: p2 })).toBeCloseTo(0.5, 15);
    expect(() => routerSaturation(early, idx(0, 1), 2)).toThrow(/routerSaturation: selections must cover the same/);
    expect(() => routerSaturation(idx(1, 1), idx(0, 1), 2)).toThrow(/lists expert 1 twice/);
    expect(() => routerSaturation(early, final)).toThrow(/k is required/);
  });

  it('per token type (the analysis code): top-k of the accumulated selection counts', () => {
    // token ids 7, 9, 7; K = 2 of E = 3: type 7 selects 0 twice, 1 once, 2 once ⇒ top-1 = {0}
    const { tokenTypes, sets } = expertSetsByTokenType(idx(7, 9, 7), idx(0, 1, 2, 1, 0, 2), 3, 1);
    expect(Array.from(tokenTypes)).toEqual([7, 9]); // most frequent first
    expect(Array.from(sets)).toEqual([0, 1]); // type 9: tie 1 vs 2 → lowest id
    expect(() => expertSetsByTokenType(idx(7), idx(0), 3, 1, idx(8))).toThrow(/token type 8 does not occur/);
  });
});

describe('routerDiagnostics', () => {
  it('summarizes a gate output as plain numbers', () => {
    const scores = tensor([[0.6, 0.3, 0.1], [0.2, 0.7, 0.1], [0.5, 0.1, 0.4], [0.3, 0.3, 0.4]]);
    const indices = idx(0, 1, 2, 2);
    const gate = { scores, indices, weights: tensor([[1], [1], [1], [1]]), plan: buildRoutingPlan(indices, 4, 3, 1) } as GateOutput;
    const d = routerDiagnostics(gate);
    expect(Array.from(d.load)).toEqual([1, 1, 2]);
    expect(d.jain).toBeCloseTo(16 / (3 * 6), 15);
    expect(d.maxViolation).toBeCloseTo(2 / (4 / 3) - 1, 15);
    expect(d.meanTopKMargin).toBeCloseTo((0.3 + 0.5 + 0.1 + 0.1) / 4, 15);
    expect(d.dropRate).toBe(0);
    expect(Array.from(d.unused)).toEqual([]);
    expect(d.entropy).toBeCloseTo(gateEntropy(scores), 15);
    expect(typeof d.jain).toBe('number');
  });
});

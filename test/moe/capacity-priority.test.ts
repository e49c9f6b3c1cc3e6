/** Capacity priority (issue 12): token order by default, GShard's all-first-choices-first on request. */
import { describe, it, expect } from 'vitest';
import { tensor, Rng, randn, sum } from '../../engine/index.js';
import { buildRoutingPlan, topKSoftmaxGate, MoELayer, makeGate } from '../../moe/index.js';

// Slots t·K + k: token 0 chooses [e0, e1], token 1 chooses [e1, e0]; capacity 1 per expert.
const expertOf = Int32Array.from([0, 1, 1, 0]);

describe('capacity priority', () => {
  it("default 'token': a later token loses its first choice while an earlier one keeps its second", () => {
    const plan = buildRoutingPlan(expertOf, 2, 2, 2, 1);
    expect(Array.from(plan.dropped)).toEqual([2, 3]); // token 1 loses both, token 0 keeps both
    expect(Array.from(plan.order)).toEqual([0, 1]);
  });

  it("'choice' (GShard): every first choice is kept before any second choice", () => {
    const plan = buildRoutingPlan(expertOf, 2, 2, 2, 1, 'choice');
    expect(Array.from(plan.dropped)).toEqual([1, 3]); // both second choices dropped
    expect(Array.from(plan.order)).toEqual([0, 2]);   // e0 keeps token 0's first, e1 token 1's first
  });

  it('dropless plans do not depend on the priority', () => {
    const a = buildRoutingPlan(expertOf, 2, 2, 2), b = buildRoutingPlan(expertOf, 2, 2, 2, Infinity, 'choice');
    expect(Array.from(b.order)).toEqual(Array.from(a.order));
    expect(b.dropped.length).toBe(0);
  });

  it('gates, made gates and the layer pass capacityPriority through', () => {
    const z = tensor([[3, 2, -9], [1, 4, -9]]); // token 0: [e0, e1], token 1: [e1, e0]
    expect(Array.from(topKSoftmaxGate(z, 2, { capacity: 1 }).plan.dropped)).toEqual([2, 3]);
    expect(Array.from(topKSoftmaxGate(z, 2, { capacity: 1, capacityPriority: 'choice' }).plan.dropped)).toEqual([1, 3]);
    const gate = makeGate({ kind: 'topKSoftmax', numExperts: 3, topK: 2, routerBias: false });
    const router = { w: tensor([[1, 0, 0], [0, 1, 0]]) };
    const x = tensor([[3, 2], [1, 4]]);
    expect(Array.from(gate.route(router, x, { capacity: 1, capacityPriority: 'choice' }).plan.dropped)).toEqual([1, 3]);
    const cfg = { dModel: 4, dHidden: 4, numExperts: 4, topK: 2, expert: 'relu', capacityFactor: 0.5, capacityPriority: 'choice',
      gate: { kind: 'topKSoftmax', numExperts: 4, topK: 2 } } as const;
    const params = MoELayer.init(new Rng(0), cfg);
    const out = MoELayer.apply(params, randn(new Rng(1), [16, 4]), cfg);
    expect(out.aux.dropped).toBeGreaterThan(0);
    // with 'choice' no token loses its first choice while another keeps a second one at the same expert
    const kept = new Set(Array.from(out.gate.plan.order));
    const firstDropped = Array.from(out.gate.plan.dropped).filter((s) => s % 2 === 0);
    for (const s of firstDropped) {
      const e = out.gate.plan.expertOf[s]!;
      for (const k of kept) expect(k % 2 === 1 && out.gate.plan.expertOf[k] === e).toBe(false);
    }
    expect(Number.isFinite(sum(out.y).item())).toBe(true);
  });
});

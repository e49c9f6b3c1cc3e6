import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import {
  Rng, tensor, randn, sum, mul, square, grad, gradcheck, ShapeError, type Tensor,
} from '../../engine/index.js';
import { buildRoutingPlan } from '../../moe/routing.js';
import { dispatch, undispatch, combine, dispatchScaled, combineWeightGrad, rowWeights, planIndex } from '../../moe/dispatch.js';
import { checkGradOfGrad, randomPlan } from './layer.helpers.js';

describe('dispatch / undispatch', () => {
  // Token 0 → experts (1, 0), token 1 → (1, 2), token 2 → (0, 1): slots 0..5.
  const plan = buildRoutingPlan(Int32Array.from([1, 0, 1, 2, 0, 1]), 3, 3, 2);
  const x = tensor([[1, 2], [3, 4], [5, 6]]);

  it('gathers token rows in expert order (stable within an expert)', () => {
    // expert 0: slots 1 (t0), 4 (t2); expert 1: slots 0 (t0), 2 (t1), 5 (t2); expert 2: slot 3 (t1)
    expect(dispatch(x, plan).toNested()).toEqual([[1, 2], [5, 6], [1, 2], [3, 4], [5, 6], [3, 4]]);
  });

  it('undispatch is the transpose: ⟨dispatch(x), r⟩ = ⟨x, undispatch(r)⟩', () => {
    const rng = new Rng(1);
    const r = randn(rng, [6, 2]);
    const lhs = sum(mul(dispatch(x, plan), r)).item();
    const rhs = sum(mul(x, undispatch(r, plan))).item();
    expect(lhs).toBeCloseTo(rhs, 12);
  });

  it('VJP is the scatter-add: each token gets one gradient row per kept slot', () => {
    const g = grad((v: Tensor) => sum(dispatch(v, plan)))(x);
    expect(g.toNested()).toEqual([[2, 2], [2, 2], [2, 2]]);
  });

  it('drops over-capacity slots: they get no row and no gradient', () => {
    const capped = buildRoutingPlan(Int32Array.from([1, 0, 1, 2, 0, 1]), 3, 3, 2, 2); // expert 1 keeps t0, t1
    expect(Array.from(capped.dropped)).toEqual([5]);
    expect(dispatch(x, capped).shape).toEqual([5, 2]);
    const g = grad((v: Tensor) => sum(dispatch(v, capped)))(x);
    expect(g.toNested()).toEqual([[2, 2], [2, 2], [1, 1]]);
  });

  it('rejects x whose rows do not match the plan, naming the op and shapes', () => {
    expect(() => dispatch(tensor([[1, 2]]), plan)).toThrow(ShapeError);
    expect(() => dispatch(tensor([[1, 2]]), plan)).toThrow(/dispatch: .*\[3, D\].*\[1, 2\]/);
    expect(() => undispatch(tensor([[1, 2]]), plan)).toThrow(/undispatch: .*\[6, D\]/);
  });
});

describe('combine', () => {
  const plan = buildRoutingPlan(Int32Array.from([1, 0, 1, 2, 0, 1]), 3, 3, 2);

  it('y[t] = Σ_k w[t,k]·E[row(t,k)] (hand-computed)', () => {
    // rows: 0 = (t0,k1), 1 = (t2,k0), 2 = (t0,k0), 3 = (t1,k0), 4 = (t2,k1), 5 = (t1,k1)
    const e = tensor([[1, 0], [0, 1], [2, 2], [3, 0], [0, 3], [1, 1]]);
    const w = tensor([[0.5, 0.25], [0.1, 0.9], [0.6, 0.4]]);
    const y = combine(e, w, plan).toNested() as number[][];
    const expected = [[0.5 * 2 + 0.25 * 1, 0.5 * 2], [0.1 * 3 + 0.9 * 1, 0.9 * 1], [0, 0.6 * 1 + 0.4 * 3]];
    y.forEach((row, t) => row.forEach((v, j) => expect(v).toBeCloseTo(expected[t]![j]!, 14)));
  });

  it('a dropped slot contributes 0 to y and gets 0 weight gradient', () => {
    const capped = buildRoutingPlan(Int32Array.from([1, 0, 1, 2, 0, 1]), 3, 3, 2, 2); // slot 5 = (t2, k1) dropped
    const e = randn(new Rng(2), [5, 2]);
    const w = tensor([[0.5, 0.5], [0.5, 0.5], [0.3, 0.7]]);
    const y = combine(e, w, capped);
    // token 2 keeps only (t2, k0) at row 1 (expert 0's second row)
    expect(y.get(2, 0)).toBeCloseTo(0.3 * e.get(1, 0), 14);
    const gw = grad((v: Tensor) => sum(square(combine(e, v, capped))))(w);
    expect(gw.get(2, 1)).toBe(0);
    expect(gw.get(2, 0)).not.toBe(0);
  });

  it('gradchecks in both inputs, with and without capacity (property)', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 2, max: 5 }), fc.integer({ min: 1, max: 3 }),
      fc.integer({ min: 1, max: 4 }), fc.boolean(), fc.integer(), (T, E, K0, D, capped, seed) => {
        const K = Math.min(K0, E);
        const rng = new Rng(seed);
        const plan = randomPlan(rng, T, E, K, capped ? Math.max(1, Math.floor((T * K) / E)) : Infinity);
        const inputs = { e: randn(rng, [plan.order.length, D]), w: randn(rng, [T, K]), x: randn(rng, [T, D]) };
        const report = gradcheck((p: typeof inputs) => combine(mul(p.e, dispatch(p.x, plan)), p.w, plan), inputs);
        expect(report.ok, report.summary).toBe(true);
      }), { numRuns: 25, seed: 7 });
  });

  it('grad of grad: the VJPs are themselves differentiable', () => {
    const rng = new Rng(3);
    const plan = randomPlan(rng, 4, 3, 2);
    const r = randn(rng, [4, 3]);
    const inputs = { e: randn(rng, [8, 3]), w: randn(rng, [4, 2]) };
    const inner = (p: typeof inputs) => sum(mul(square(combine(p.e, p.w, plan)), r));
    expect(checkGradOfGrad(inner, inputs, 4).maxRelError).toBeLessThan(1e-6);
  });

  it('the VJPs (dispatchScaled, combineWeightGrad) equal the composed dispatch(dy) ⊙ rowWeights(w) and slot sums of dispatch(dy) ⊙ E', () => {
    const rng = new Rng(11);
    for (const cap of [Infinity, 2]) {
      const p = randomPlan(rng, 5, 3, 2, cap);
      const dy = randn(rng, [5, 4]), e = randn(rng, [p.order.length, 4]), w = randn(rng, [5, 2]);
      const dE = dispatchScaled(dy, w, p), ref = mul(dispatch(dy, p), rowWeights(w, p));
      expect([...dE.data]).toEqual([...ref.data]); // same products, same bits
      const dw = combineWeightGrad(dy, e, p), rows = sum(mul(dispatch(dy, p), e), 1);
      const { rowOfSlot } = planIndex(p);
      for (let s = 0; s < 10; s++) expect(dw.data[s]).toBeCloseTo(rowOfSlot[s]! < 0 ? 0 : rows.data[rowOfSlot[s]!]!, 14);
      // through combine's VJP
      const g = grad((q: { e: Tensor; w: Tensor }) => sum(mul(combine(q.e, q.w, p), dy)))({ e, w });
      expect([...g.e.data]).toEqual([...dE.data]);
      expect([...g.w.data]).toEqual([...combineWeightGrad(dy, e, p).data]);
    }
    expect(() => combineWeightGrad(randn(rng, [3, 2]), randn(rng, [6, 3]), plan)).toThrow(/combineWeightGrad: dy and expertOut must have the same width D; got \[3, 2\] and \[6, 3\]/);
    expect(() => dispatchScaled(randn(rng, [4, 2]), randn(rng, [3, 2]), plan)).toThrow(/dispatchScaled: .*\[3, D\].*\[4, 2\]/);
  });

  it('rejects weights that are not [T, K] for the plan', () => {
    expect(() => combine(randn(new Rng(0), [6, 2]), tensor([[1, 2, 3]]), plan)).toThrow(/combine: weights must be \[T, K\] = \[3, 2\].*\[1, 3\]/);
    expect(() => combine(randn(new Rng(0), [5, 2]), randn(new Rng(0), [3, 2]), plan)).toThrow(/combine: .*\[6, D\].*\[5, 2\]/);
  });
});


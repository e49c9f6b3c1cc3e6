import { describe, it, expect } from 'vitest';
import {
  Rng, randn, sum, mul, matmul, transpose, reshape, slice, gradcheck, withBackend, getBackend, gatherRows, treeMap,
  ShapeError, ValueError, type Tensor, type MatmulBackend,
} from '../../engine/index.js';
import { segmentMatmul, segmentOuter } from '../../moe/experts/segment-matmul.js';
import { initExperts, applyExperts, applyExpert, EXPERT_KINDS, type ExpertParams } from '../../moe/experts/families.js';
import { planIndex } from '../../moe/dispatch.js';
import { checkGradOfGrad, randomPlan } from './layer.helpers.js';

const offsets = Int32Array.from([0, 2, 2, 5]); // expert 1 has no rows

describe('segmentMatmul / segmentOuter', () => {
  const rng = new Rng(11);
  const x = randn(rng, [5, 3]);
  const w = randn(rng, [3, 3, 4]);

  it('each segment is multiplied by its own expert matrix', () => {
    const y = segmentMatmul(x, w, offsets);
    const ref = (lo: number, hi: number, e: number) => matmul(slice(x, [lo], [hi]), reshape(slice(w, [e], [e + 1]), [3, 4]));
    expect(y.shape).toEqual([5, 4]);
    const expected = [...ref(0, 2, 0).toArray(), ...ref(2, 5, 2).toArray()];
    y.toArray().forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 13));
  });

  it('segmentOuter(X, Y)[e] = X_segᵀ·Y_seg, zeros for an empty expert', () => {
    const y = randn(rng, [5, 4]);
    const g = segmentOuter(x, y, offsets);
    expect(g.shape).toEqual([3, 3, 4]);
    const ref = matmul(transpose(slice(x, [2], [5])), slice(y, [2], [5]));
    const g2 = reshape(slice(g, [2], [3]), [3, 4]).toArray();
    ref.toArray().forEach((v, i) => expect(g2[i]).toBeCloseTo(v, 13));
    expect(reshape(slice(g, [1], [2]), [12]).toArray().every((v) => v === 0)).toBe(true);
  });

  it('runs on the active matmul backend (one call per non-empty segment)', () => {
    let calls = 0;
    const inner = getBackend();
    const counting: MatmulBackend = { name: 'counting-test', describe: () => 'counting', matmul: (...args) => { calls++; inner.matmul(...args); } };
    const y = withBackend(counting, () => segmentMatmul(x, w, offsets));
    expect(calls).toBe(2);
    expect(y.toArray()).toEqual(segmentMatmul(x, w, offsets).toArray());
  });

  it('gradchecks in x and w (both ops), including an empty segment', () => {
    const r1 = gradcheck((p: { x: Tensor; w: Tensor }) => segmentMatmul(p.x, p.w, offsets), { x, w });
    expect(r1.ok, r1.summary).toBe(true);
    const r2 = gradcheck((p: { x: Tensor; y: Tensor }) => segmentOuter(p.x, p.y, offsets), { x, y: randn(rng, [5, 2]) });
    expect(r2.ok, r2.summary).toBe(true);
  });

  it('grad of grad works (the VJPs are the pair of ops themselves)', () => {
    const r = randn(rng, [5, 4]);
    const inner = (p: { x: Tensor; w: Tensor }) => sum(mul(mul(segmentMatmul(p.x, p.w, offsets), segmentMatmul(p.x, p.w, offsets)), r));
    expect(checkGradOfGrad(inner, { x, w }, 5).maxRelError).toBeLessThan(1e-6);
  });

  it('rejects bad offsets and shapes, naming the op', () => {
    expect(() => segmentMatmul(x, w, Int32Array.from([0, 2, 5]))).toThrow(/segmentMatmul: offsets must have E \+ 1 = 4 entries; got 3/);
    expect(() => segmentMatmul(x, w, Int32Array.from([0, 3, 2, 5]))).toThrow(ValueError);
    expect(() => segmentMatmul(x, w, Int32Array.from([0, 2, 2, 4]))).toThrow(/from 0 to the number of rows 5/);
    expect(() => segmentMatmul(randn(rng, [5, 2]), w, offsets)).toThrow(ShapeError);
    expect(() => segmentMatmul(randn(rng, [5, 2]), w, offsets)).toThrow(/\[5, 2\] and \[3, 3, 4\]/);
  });
});

describe('expert families', () => {
  for (const kind of EXPERT_KINDS) {
    it(`${kind}: grouped apply equals each expert applied densely to its rows; gradchecks`, () => {
      const rng = new Rng(kind.length * 7);
      const T = 5, E = 3, K = 2, D = 3, H = 4;
      const plan = randomPlan(rng, T, E, K);
      const { expertOfRow, tokenOfRow } = planIndex(plan);
      // Random (non-zero) biases so every parameter matters.
      const params = treeMap(initExperts(rng, kind, { numExperts: E, dIn: D, dHidden: H }), (p) => randn(rng, p.shape, 0.7)) as ExpertParams;
      const x = randn(rng, [T, D]);
      const rows = gatherRows(x, tokenOfRow);
      const grouped = applyExperts(params, kind, rows, plan.offsets, expertOfRow);
      expect(grouped.shape).toEqual([plan.order.length, D]);
      for (let i = 0; i < rows.shape[0]!; i++) {
        const dense = applyExpert(params, kind, expertOfRow[i]!, slice(rows, [i], [i + 1])).toArray();
        dense.forEach((v, j) => expect(grouped.get(i, j)).toBeCloseTo(v, 12));
      }
      const report = gradcheck((p: { params: ExpertParams; rows: Tensor }) => applyExperts(p.params, kind, p.rows, plan.offsets, expertOfRow), { params, rows });
      expect(report.ok, report.summary).toBe(true);
    });
  }

  it('initExperts is deterministic per seed and shaped [E, ...]', () => {
    const a = initExperts(new Rng(3), 'swiglu', { numExperts: 4, dIn: 2, dHidden: 5 }) as { wGate: Tensor; wDown: Tensor };
    const b = initExperts(new Rng(3), 'swiglu', { numExperts: 4, dIn: 2, dHidden: 5 }) as { wGate: Tensor };
    expect(a.wGate.shape).toEqual([4, 2, 5]);
    expect(a.wDown.shape).toEqual([4, 5, 2]);
    expect(a.wGate.toArray()).toEqual(b.wGate.toArray());
    const f = initExperts(new Rng(3), 'gelu', { numExperts: 2, dIn: 2, dHidden: 3, dtype: 'float32' }) as { w1: Tensor };
    expect(f.w1.dtype).toBe('float32');
  });

  it('rejects unknown kinds, missing fields and wrong widths', () => {
    expect(() => initExperts(new Rng(0), 'mish' as never, { numExperts: 2, dIn: 2, dHidden: 2 })).toThrow(/initExperts: unknown expert kind 'mish'/);
    expect(() => initExperts(new Rng(0), 'relu', { numExperts: 0, dIn: 2, dHidden: 2 })).toThrow(/numExperts must be a positive integer; got 0/);
    const p = initExperts(new Rng(0), 'relu', { numExperts: 2, dIn: 2, dHidden: 2 });
    expect(() => applyExpert(p, 'swiglu', 0, randn(new Rng(0), [1, 2]))).toThrow(/applyExpert: swiglu expert params need 'wGate'/);
    expect(() => applyExpert(p, 'relu', 0, randn(new Rng(0), [1, 3]))).toThrow(/must be \[E, 3, H\]; got \[2, 2, 2\]/);
    expect(() => applyExpert(p, 'relu', 2, randn(new Rng(0), [1, 2]))).toThrow(/expert 2 out of range \[0, 2\)/);
  });
});

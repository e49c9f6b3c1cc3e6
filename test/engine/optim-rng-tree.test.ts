/** Optimizers against hand-computed steps, Rng determinism/independence, gradients over trees. */
import { describe, it, expect } from 'vitest';
import {
  tensor, scalar, sgd, adam, adamw, adamInit, Rng, grad, valueAndGrad, sum, mul, add, sub, square, matmul, treeLeaves, treeMap,
  type Tensor,
} from '../../engine/index.js';

const close = (t: Tensor, expected: number[], digits = 12) => t.toArray().forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, digits));

describe('optimizers (hand-computed steps)', () => {
  const p = { w: tensor([1, -2]), b: scalar(0.5) };
  const g = { w: tensor([0.5, 1]), b: scalar(-2) };

  it('sgd with momentum: v ← μv + g, p ← p − lr·v (two steps)', () => {
    const s1 = sgd(p, g, { lr: 0.1, momentum: 0.9 });
    close(s1.params.w, [1 - 0.05, -2 - 0.1]);
    close(s1.params.b, [0.5 + 0.2]);
    const s2 = sgd(s1.params, g, { lr: 0.1, momentum: 0.9 }, s1.state);
    // v2 = 0.9·g + g = 1.9g
    close(s2.params.w, [0.95 - 0.1 * 1.9 * 0.5, -2.1 - 0.1 * 1.9 * 1]);
    close(s2.params.b, [0.7 + 0.1 * 1.9 * 2]);
    expect(p.w.toArray()).toEqual([1, -2]); // inputs untouched (pure)
    const plain = sgd(p, g, { lr: 0.1 });
    close(plain.params.w, [0.95, -2.1]);
    expect(plain.state.velocity).toBeNull();
  });

  it('adam: bias-corrected first step is lr·g/(|g| + ε); second step by hand', () => {
    const o = { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8 };
    const s1 = adam(p, g, o);
    const step1 = (gi: number) => gi / (Math.abs(gi) + 1e-8);
    close(s1.params.w, [1 - 0.01 * step1(0.5), -2 - 0.01 * step1(1)]);
    expect(s1.state.step).toBe(1);
    const g2 = { w: tensor([-1, 0.25]), b: scalar(1) };
    const s2 = adam(s1.params, g2, o, s1.state);
    const second = (a: number, b: number) => {
      const m = 0.9 * (0.1 * a) + 0.1 * b, v = 0.999 * (0.001 * a * a) + 0.001 * b * b;
      return (m / (1 - 0.81)) / (Math.sqrt(v / (1 - 0.999 ** 2)) + 1e-8);
    };
    close(s2.params.w, [s1.params.w.toArray()[0]! - 0.01 * second(0.5, -1), s1.params.w.toArray()[1]! - 0.01 * second(1, 0.25)]);
    close(s2.params.b, [s1.params.b.item() - 0.01 * second(-2, 1)]);
  });

  it('adam weightDecay adds L2 to the gradient; adamw decouples it', () => {
    const one = { w: tensor([2]) }, zero = { w: tensor([0]) };
    // adam: g' = 0 + 0.1·2 = 0.2 → step lr·sign = 0.01
    close(adam(one, zero, { lr: 0.01, weightDecay: 0.1 }).params.w, [2 - 0.01 * 0.2 / (0.2 + 1e-8)]);
    // adamw: adaptive part 0 (g = 0), decay lr·wd·p = 0.01·0.1·2
    close(adamw(one, zero, { lr: 0.01, weightDecay: 0.1 }).params.w, [2 - 0.01 * 0.1 * 2]);
    close(adamw({ w: tensor([1]) }, { w: tensor([3]) }, { lr: 0.1, weightDecay: 0.5 }).params.w, [1 - 0.1 * (3 / (3 + 1e-8) + 0.5)]);
    expect(adamInit(p).m.w.toArray()).toEqual([0, 0]);
  });

  it('rejects bad hyperparameters and mismatched trees', () => {
    expect(() => sgd(p, g, { lr: 0 })).toThrow(/sgd: lr must be > 0/);
    expect(() => adam(p, g, { lr: 0.1, beta1: 1 })).toThrow(/adam: betas/);
    expect(() => adam({ w: tensor([1, 2]) }, { w: tensor([1]) }, { lr: 0.1 })).toThrow(/adam: leaf 0: param \[2\] vs grad \[1\]/);
  });

  it('trains: adam drives a least-squares loss down', () => {
    const rng = new Rng(1);
    const X = tensor(Array.from({ length: 12 }, () => rng.normal()), [6, 2]), wTrue = tensor([[1.5], [-0.5]]);
    const y = matmul(X, wTrue);
    let params = { w: tensor([[0], [0]]) }, state = adamInit(params);
    const obj = (q: { w: Tensor }) => sum(square(sub(matmul(X, q.w), y)));
    const first = obj(params).item();
    for (let i = 0; i < 200; i++) { const r = adam(params, grad(obj)(params), { lr: 0.05 }, state); params = r.params; state = r.state; }
    expect(obj(params).item()).toBeLessThan(first * 1e-3);
  });
});

describe('Rng', () => {
  it('same seed → same stream; different seeds → different streams', () => {
    const a = new Rng(42), b = new Rng(42), c = new Rng(43);
    const take = (r: Rng) => Array.from({ length: 5 }, () => r.uniform());
    const sa = take(a);
    expect(take(b)).toEqual(sa);
    expect(take(c)).not.toEqual(sa);
    expect(new Rng(7).permutation(6)).toEqual(new Rng(7).permutation(6));
    expect(Array.from(new Rng(7).permutation(6)).sort()).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('split is deterministic, and split streams are independent of each other and the parent', () => {
    const parent = new Rng(5);
    const k1 = parent.split(), k2 = parent.split();
    const again = new Rng(5); const j1 = again.split();
    expect(k1.uniform()).toBe(j1.uniform());
    const n = 20000;
    const xs = Array.from({ length: n }, () => k1.normal()), ys = Array.from({ length: n }, () => k2.normal()), zs = Array.from({ length: n }, () => parent.normal());
    const corr = (a: number[], b: number[]) => {
      const m = a.length, ma = a.reduce((s, v) => s + v, 0) / m, mb = b.reduce((s, v) => s + v, 0) / m;
      let sab = 0, saa = 0, sbb = 0;
      for (let i = 0; i < m; i++) { sab += (a[i]! - ma) * (b[i]! - mb); saa += (a[i]! - ma) ** 2; sbb += (b[i]! - mb) ** 2; }
      return sab / Math.sqrt(saa * sbb);
    };
    // |corr| of independent N(0,1) samples has sd 1/√n ≈ 0.007: 0.03 is > 4 sd
    expect(Math.abs(corr(xs, ys))).toBeLessThan(0.03);
    expect(Math.abs(corr(xs, zs))).toBeLessThan(0.03);
    expect(Math.abs(corr(xs.slice(1), xs.slice(0, -1)))).toBeLessThan(0.03); // lag-1 within a stream
    const mean = xs.reduce((s, v) => s + v, 0) / n, varx = xs.reduce((s, v) => s + (v - mean) ** 2, 0) / n;
    expect(Math.abs(mean)).toBeLessThan(0.03); expect(Math.abs(varx - 1)).toBeLessThan(0.05);
  });

  it('int(n) is uniform on [0, n) and rejects bad n', () => {
    const r = new Rng(9), counts = [0, 0, 0, 0, 0];
    for (let i = 0; i < 10000; i++) counts[r.int(5)]!++;
    counts.forEach((c) => expect(Math.abs(c - 2000)).toBeLessThan(200));
    expect(() => r.int(0)).toThrow(/Rng.int/);
    expect(() => new Rng(NaN)).toThrow(/Rng: seed/);
  });
});

describe('gradients over trees', () => {
  it('grad returns the structure of the argument, with numbers/strings passed through', () => {
    const params = { layers: [{ w: tensor([1, 2]), b: scalar(3) }, { w: tensor([[1], [-1]]) }], name: 'mlp', scale: 2 };
    const g = grad((q: typeof params) => {
      const [l0, l1] = q.layers as [{ w: Tensor; b: Tensor }, { w: Tensor }];
      return add(add(sum(mul(l0.w, l0.b)), sum(square(l1.w))), q.scale);
    })(params);
    const [g0, g1] = g.layers as [{ w: Tensor; b: Tensor }, { w: Tensor }];
    expect(g0.w.toArray()).toEqual([3, 3]);
    expect(g0.b.toArray()).toEqual([3]);
    expect(g1.w.toArray()).toEqual([2, -2]);
    expect(g1.w.shape).toEqual([2, 1]);
    expect(g.name).toBe('mlp');
    expect(g.scale).toBe(2);
    expect(treeLeaves(g).length).toBe(3);
  });

  it('valueAndGrad over an array tree; a leaf used twice accumulates', () => {
    const { value, grad: g } = valueAndGrad((xs: Tensor[]) => sum(mul(xs[0]!, add(xs[0]!, xs[1]!))))([tensor([1, 2]), tensor([3, 4])]);
    expect(value.item()).toBe(1 * 4 + 2 * 6);
    expect(g[0]!.toArray()).toEqual([2 * 1 + 3, 2 * 2 + 4]);
    expect(g[1]!.toArray()).toEqual([1, 2]);
    expect(treeMap([tensor([1])], (t) => mul(t, 2))[0]!.toArray()).toEqual([2]);
  });
});

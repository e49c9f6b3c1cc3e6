/** Numerical stability, tie-breaking and dtype flow on literal inputs. */
import { describe, it, expect } from 'vitest';
import {
  tensor, grad, sum, mul, softmax, logSoftmax, logsumexp, crossEntropy, sigmoid, softplus, topk, argmax, max, min,
  matmul, tanh, add, exp, geluErf, erf, mean, randn, Rng, cast, gelu, type Tensor,
} from '../../engine/index.js';
import { erfScalar, erfcScalar } from '../../engine/ops/arithmetic.js';

const finite = (t: Tensor) => t.toArray().every(Number.isFinite);

describe('stability at extreme logits', () => {
  const big = tensor([[1e4, -1e4, 0], [-1e4, -1e4, -1e4]]);

  it('softmax / logSoftmax / logsumexp of ±1e4 logits are finite and exact', () => {
    expect(softmax(big).toArray()).toEqual([1, 0, 0, 1 / 3, 1 / 3, 1 / 3]);
    const ls = logSoftmax(big).toArray();
    expect(ls.every(Number.isFinite)).toBe(true);
    expect(ls[0]).toBe(0); expect(ls[1]).toBe(-2e4); expect(ls[2]).toBe(-1e4);
    const lse = logsumexp(big, -1).toArray();
    expect(lse[0]).toBe(1e4);
    expect(lse[1]).toBeCloseTo(-1e4 + Math.log(3), 9);
    expect(logsumexp(tensor([1e4, 1e4])).item()).toBeCloseTo(1e4 + Math.LN2, 9);
  });

  it('their gradients at ±1e4 are finite (and correct)', () => {
    const w = tensor([[0.3, -1, 2], [1, 2, 3]]);
    const g = grad((x: Tensor) => sum(mul(softmax(x), w)))(big);
    expect(finite(g)).toBe(true);
    expect(g.toArray().slice(3)).toEqual([1 / 3 * (1 - 2), 1 / 3 * (2 - 2), 1 / 3 * (3 - 2)].map((v) => expect.closeTo(v, 12)));
    expect(finite(grad((x: Tensor) => sum(logsumexp(x, 1)))(big))).toBe(true);
    const ce = crossEntropy(big, Int32Array.from([1, 2]));
    expect(ce.item()).toBeCloseTo((2e4 + Math.log(3)) / 2, 6);
    expect(finite(grad((x: Tensor) => crossEntropy(x, Int32Array.from([1, 2])))(big))).toBe(true);
  });

  it('sigmoid and softplus saturate without overflow', () => {
    expect(sigmoid(tensor([1e4, -1e4, 800, -800])).toArray()).toEqual([1, 0, 1, 0]);
    expect(softplus(tensor([1e4, -1e4])).toArray()).toEqual([1e4, 0]);
    expect(finite(grad((x: Tensor) => sum(softplus(x)))(tensor([1e4, -1e4])))).toBe(true);
  });

  it('erf/erfc and exact GELU are accurate in the tails (relative, not just absolute)', () => {
    // reference values (mpmath, 17 digits)
    expect(erfScalar(0.5)).toBeCloseTo(0.5204998778130465, 15);
    expect(erfScalar(2.9)).toBeCloseTo(0.9999589021219005, 15);
    expect(Math.abs(erfcScalar(3) / 2.209049699858544e-5 - 1)).toBeLessThan(1e-14);
    expect(Math.abs(erfcScalar(5) / 1.5374597944280349e-12 - 1)).toBeLessThan(1e-13);
    // GELU(−6) = −6·Φ(−6) = −6 · 9.865876450376946e-10; 1 + erf(−6/√2) would keep ~7 digits only
    expect(Math.abs(geluErf(tensor([-6])).item() / (-6 * 9.865876450376946e-10) - 1)).toBeLessThan(1e-12);
    expect(erf(tensor([-1, 0, 1])).toArray()).toEqual([-erfScalar(1), 0, erfScalar(1)]);
  });

  it('erfScalar is within a few ulps of 40-digit values in every branch (series, Taylor tables, ±1) and odd; NaN and ±0 pass', () => {
    // mpmath.erf at 30 digits; the branches switch at |x| = 0.5 and 6, the Taylor midpoints sit at 0.75 + 0.5i
    const ref: [number, number][] = [[0.1, 0.1124629160182848984], [0.4999, 0.52041199516138659028], [0.5, 0.52049987781304653768],
      [0.75, 0.7111556336535151316], [1, 0.84270079294971486934], [1.3, 0.93400794494065244585], [2, 0.99532226501895273416],
      [2.5, 0.99959304798255504106], [2.9999, 0.99997789557351783909], [3, 0.99997790950300141456], [4.2, 0.99999999714450582041],
      [5.9, 0.9999999999999999281], [6.5, 1]];
    const ulp = (v: number) => Math.abs(v) * Number.EPSILON;
    for (const [x, want] of ref) {
      expect(Math.abs(erfScalar(x) - want), `erf(${x})`).toBeLessThanOrEqual(4 * ulp(want));
      expect(erfScalar(-x)).toBe(-erfScalar(x));
    }
    // continuity across the table edges (the two sides are separate polynomials)
    for (const e of [0.5, 1, 1.5, 2, 3, 4.5, 5.5]) expect(Math.abs(erfScalar(e) - erfScalar(e - 1e-12)), `edge ${e}`).toBeLessThan(1e-11 + 4 * ulp(1));
    expect(erfScalar(Number.NaN)).toBeNaN();
    expect(Object.is(erfScalar(-0), -0)).toBe(true);
    expect(erfScalar(Infinity)).toBe(1);
    expect(erfScalar(-1e300)).toBe(-1);
  });
});

describe('ties', () => {
  it('topk breaks ties by the lowest index, along any axis', () => {
    expect(Array.from(topk(tensor([1, 3, 3, 2, 3]), 2).indices)).toEqual([1, 2]);
    expect(Array.from(topk(tensor([5, 5, 5]), 3).indices)).toEqual([0, 1, 2]);
    const t = topk(tensor([[2, 7], [7, 7], [7, 1]]), 2, 0);
    expect(Array.from(t.indices)).toEqual([1, 0, 2, 1]);
    expect(t.values.toArray()).toEqual([7, 7, 7, 7]);
    expect(Array.from(argmax(tensor([[0, 4, 4], [9, 9, 1]])))).toEqual([1, 0]);
  });

  it('max/min send the gradient to the lowest tied index only', () => {
    expect(grad((x: Tensor) => max(x))(tensor([1, 3, 3])).toArray()).toEqual([0, 1, 0]);
    expect(grad((x: Tensor) => sum(min(x, 1)))(tensor([[2, 2], [0, -1]])).toArray()).toEqual([1, 0, 0, 1]);
  });

  it('topk values carry the gradient back to the selected positions', () => {
    const g = grad((x: Tensor) => sum(mul(topk(x, 2).values, tensor([10, 1]))))(tensor([0.5, 2, -1, 1.5]));
    expect(g.toArray()).toEqual([0, 10, 0, 1]);
  });
});

describe('float32 tensors flow through ops', () => {
  it('keeps float32 through elementwise, reductions, softmax, matmul and the gradient', () => {
    const rng = new Rng(3);
    const x = randn(rng, [3, 4], 1, 'float32'), w = randn(rng, [4, 2], 1, 'float32');
    const f = (p: { x: Tensor; w: Tensor }) => mean(mul(softmax(tanh(matmul(p.x, p.w))), add(exp(gelu(matmul(p.x, p.w), 'tanh')), 1)));
    const y = f({ x, w });
    expect(y.dtype).toBe('float32');
    const g = grad(f)({ x, w });
    expect(g.x.dtype).toBe('float32'); expect(g.w.dtype).toBe('float32');
    expect(g.x.data).toBeInstanceOf(Float32Array);
    // and agrees with the float64 computation to float32 precision
    const g64 = grad(f)({ x: cast(x, 'float64'), w: cast(w, 'float64') });
    g.w.toArray().forEach((v, i) => expect(v).toBeCloseTo(g64.w.toArray()[i]!, 5));
    expect(topk(x, 2).values.dtype).toBe('float32');
  });
});

describe('softmax precision at large offsets', () => {
  it('softmax/logSoftmax of logits near ±1e4 keep ~1 ulp (exp(x − lse) would lose ~1e-13)', () => {
    // exp(x − lse) with lse = −1e4 + ln 3 rounded at ulp(1e4) gave 0.333333333333391 here
    softmax(tensor([-1e4, -1e4, -1e4])).toArray().forEach((v) => expect(Math.abs(v * 3 - 1)).toBeLessThan(4e-16));
    expect(logSoftmax(tensor([-1e4, -1e4])).toArray()).toEqual([-Math.LN2, -Math.LN2]);
  });
});

/**
 * softmax / logSoftmax / logsumexp run one loop over all lines (no closure per line): the same bits as
 * the per-line kernels (softmaxLine, lseLine) on every axis, float64 and float32, with extreme lines
 * (huge and tiny logits, ±∞, a dominant entry), and the same errors on NaN.
 */
import { describe, it, expect } from 'vitest';
import { Rng, randn, fromData, softmax, logSoftmax, logsumexp, cast, grad, valueAndGrad, sum, mul, sub, ValueError, type Tensor } from '../../engine/index.js';
import { softmaxLine } from '../../engine/ops/softmax.js';
import { lseLine } from '../../engine/ops/reduce.js';

const same = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) throw new Error(`element ${i}: ${a[i]} vs ${b[i]}`);
};

/** [4, 5, 3] with extreme lines along the last axis and along axis 1. */
function extreme(dtype: 'float64' | 'float32'): Tensor {
  const x = cast(randn(new Rng(5), [4, 5, 3], 3), dtype);
  const d = x.data;
  d.set([1e16, 1e16, 0], 0); d.set([40, 20, -1e4], 3); d.set([-Infinity, 0, 1], 6); d.set([Infinity, 2, 3], 9);
  d.set([-Infinity, -Infinity, -Infinity], 12); d.set([1e-300, -1e-300, 0], 15);
  return fromData(d, [4, 5, 3]);
}

describe('softmax-type ops over all lines', () => {
  for (const dtype of ['float64', 'float32'] as const) {
    for (const axis of [2, 1, 0]) {
      it(`${dtype}, axis ${axis}: softmax, logSoftmax and logsumexp equal the per-line kernels bit for bit`, () => {
        const x = extreme(dtype), shape = x.shape, d = x.data;
        const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1), n = shape[axis]!, outer = x.size / (n * inner);
        const want = new (d.constructor as Float64ArrayConstructor)(x.size), lse = new Float64Array(outer * inner), wantLog = new Float64Array(x.size);
        for (let o = 0; o < outer; o++) for (let i = 0; i < inner; i++) {
          const base = o * n * inner + i;
          softmaxLine(d, base, inner, n, want, base, inner);
          lse[o * inner + i] = lseLine(d, base, inner, n);
        }
        same(softmax(x, axis).data, want);
        const l = logsumexp(x, axis).data;
        same(l, (dtype === 'float32' ? Float32Array : Float64Array).from(lse));
        // logSoftmax: finite lines (x − m) − log Σ exp(x − m) (rounded to the dtype), the others x − lse
        const ls = logSoftmax(x, axis).data;
        for (let o = 0; o < outer; o++) for (let i = 0; i < inner; i++) {
          const base = o * n * inner + i;
          let m = -Infinity;
          for (let j = 0; j < n; j++) m = Math.max(m, d[base + j * inner]!);
          let s = 0;
          for (let j = 0; j < n; j++) s += Math.exp(d[base + j * inner]! - m);
          for (let j = 0; j < n; j++) wantLog[base + j * inner] = Number.isFinite(m) ? (d[base + j * inner]! - m) - Math.log(s) : d[base + j * inner]! - lse[o * inner + i]!;
        }
        same(ls, (dtype === 'float32' ? Float32Array : Float64Array).from(wantLog));
        // under a tape, logsumexp forms its gradient's softmax from the forward pass's exponentials:
        // the gradient of Σ logsumexp is softmax(x), bit for bit, extreme lines included
        same(grad((t: Tensor) => sum(logsumexp(t, axis)))(x).data, want);
        same(logsumexp(x, axis).data, l); // and the values do not depend on whether a tape records
        same(valueAndGrad((t: Tensor) => sum(logsumexp(t, axis)))(x).value.data, sum(logsumexp(x, axis)).data);
        // logSoftmax likewise keeps softmax(x) for its VJP: dx = c − softmax(x)·Σc, bit for bit
        const c = cast(randn(new Rng(8), shape), dtype);
        same(grad((t: Tensor) => sum(mul(logSoftmax(t, axis), c)))(x).data, sub(c, mul(softmax(x, axis), sum(c, axis, true))).data);
        same(logSoftmax(x, axis).data, ls);
      });
    }
  }

  it('NaN still throws a ValueError naming the op', () => {
    const x = fromData(Float64Array.from([1, NaN, 2, 3]), [2, 2]);
    expect(() => softmax(x)).toThrow(ValueError);
    expect(() => softmax(x)).toThrow(/softmax: input contains NaN/);
    expect(() => logSoftmax(x, 0)).toThrow(/logSoftmax: input contains NaN/);
    expect(() => logsumexp(x)).toThrow(/logsumexp: input contains NaN/);
    expect(() => grad((t: Tensor) => sum(logsumexp(t)))(x)).toThrow(/logsumexp: input contains NaN/);
  });
});

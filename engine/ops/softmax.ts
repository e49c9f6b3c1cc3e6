/**
 * softmax and logSoftmax along an axis, max-shifted; VJPs from the saved output
 * (PyTorch `_softmax_backward_data`, tfjs `Softmax_grad`).
 */
import { Tensor, allocate, fromData, assertTensor } from '../tensor.js';
import { record } from '../tape.js';
import { axisLayout, forEachLine } from './kernels.js';
import { mul, sub, exp } from './arithmetic.js';
import { sum, lseLine } from './reduce.js';

/** y = exp(x − lse(x)) along `axis`.  dx = y ⊙ (dy − Σ(dy ⊙ y)) */
export function softmax(x: Tensor, axis = -1): Tensor {
  const op = 'softmax';
  assertTensor(x, op);
  const layout = axisLayout(x.shape, axis, op);
  const d = x.data;
  const out = allocate(x.dtype, x.size);
  forEachLine(layout, (base, stride) => {
    // exp(x − m)/Σexp(x − m) rather than exp(x − lse): lse ≈ m carries an absolute rounding of
    // ulp(m) (1.8e-12 at |m| = 1e4), which exp turns into a relative error; the ratio keeps ~1 ulp.
    const m = maxLine(d, base, stride, layout.n);
    if (!Number.isFinite(m)) {
      const lse = lseLine(d, base, stride, layout.n); // ±∞ / NaN handling lives there
      for (let j = 0; j < layout.n; j++) out[base + j * stride] = Math.exp(d[base + j * stride]! - lse);
      return;
    }
    let s = 0;
    for (let j = 0; j < layout.n; j++) { const e = Math.exp(d[base + j * stride]! - m); out[base + j * stride] = e; s += e; }
    for (let j = 0; j < layout.n; j++) out[base + j * stride] = out[base + j * stride]! / s;
  });
  const y = fromData(out, x.shape);
  return record(op, [x], y, (dy) => [mul(y, sub(dy, sum(mul(dy, y), layout.axis, true)))]);
}

/** y = x − lse(x) along `axis`.  dx = dy − exp(y) Σ dy */
export function logSoftmax(x: Tensor, axis = -1): Tensor {
  const op = 'logSoftmax';
  assertTensor(x, op);
  const layout = axisLayout(x.shape, axis, op);
  const d = x.data;
  const out = allocate(x.dtype, x.size);
  forEachLine(layout, (base, stride) => {
    // (x − m) − log Σexp(x − m): x − m is exact near the max, so y_max keeps full relative precision.
    const m = maxLine(d, base, stride, layout.n);
    if (!Number.isFinite(m)) {
      const lse = lseLine(d, base, stride, layout.n); // ±∞ / NaN handling lives there
      for (let j = 0; j < layout.n; j++) out[base + j * stride] = d[base + j * stride]! - lse;
      return;
    }
    let s = 0;
    for (let j = 0; j < layout.n; j++) s += Math.exp(d[base + j * stride]! - m);
    const logS = Math.log(s);
    for (let j = 0; j < layout.n; j++) out[base + j * stride] = (d[base + j * stride]! - m) - logS;
  });
  const y = fromData(out, x.shape);
  return record(op, [x], y, (dy) => [sub(dy, mul(exp(y), sum(dy, layout.axis, true)))]);
}

/** Max of one strided line (NaN is rejected by lseLine, which every caller also runs or falls back to). */
function maxLine(d: ArrayLike<number>, base: number, stride: number, n: number): number {
  let m = -Infinity;
  for (let j = 0; j < n; j++) { const v = d[base + j * stride]!; if (v > m || Number.isNaN(v)) m = v; }
  return m;
}

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
    const lse = lseLine(d, base, stride, layout.n);
    for (let j = 0; j < layout.n; j++) out[base + j * stride] = Math.exp(d[base + j * stride]! - lse);
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
    const lse = lseLine(d, base, stride, layout.n);
    for (let j = 0; j < layout.n; j++) out[base + j * stride] = d[base + j * stride]! - lse;
  });
  const y = fromData(out, x.shape);
  return record(op, [x], y, (dy) => [sub(dy, mul(exp(y), sum(dy, layout.axis, true)))]);
}

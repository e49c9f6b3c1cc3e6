/** Losses, composed from differentiable primitives (their VJPs come from the parts). */
import { Tensor, assertTensor } from '../tensor.js';
import { ShapeError, ValueError, fmtShape } from '../errors.js';
import { sameShape } from '../shape.js';
import { describeValue } from '../validate.js';
import { sub, square, neg } from './arithmetic.js';
import { mean } from './reduce.js';
import { logSoftmax } from './softmax.js';
import { takeAlongAxis } from './index-ops.js';

/** Mean squared error: mean((pred − target)²). Shapes must match exactly (no silent broadcast). */
export function mse(pred: Tensor, target: Tensor): Tensor {
  assertTensor(pred, 'mse', 'pred'); assertTensor(target, 'mse', 'target');
  if (!sameShape(pred.shape, target.shape)) throw new ShapeError('mse', `pred and target must have the same shape; got ${fmtShape(pred.shape)} and ${fmtShape(target.shape)}`);
  return mean(square(sub(pred, target)));
}

function checkLabels(op: string, x: Tensor, labels: Int32Array): void {
  if (x.rank !== 2) throw new ShapeError(op, `expects [N, C] inputs; got ${fmtShape(x.shape)}`);
  if (!(labels instanceof Int32Array) || labels.length !== x.shape[0]) {
    throw new ShapeError(op, `expects one Int32 label per row (${x.shape[0]}); got ${labels instanceof Int32Array ? labels.length : describeValue(labels)}`);
  }
  const c = x.shape[1]!;
  labels.forEach((l, i) => { if (l < 0 || l >= c) throw new ValueError(op, `label ${l} at row ${i} is out of range [0, ${c})`); });
}

/** Negative log-likelihood: −mean_i logProbs[i, labels[i]] for logProbs [N, C]. */
export function nll(logProbs: Tensor, labels: Int32Array): Tensor {
  assertTensor(logProbs, 'nll');
  checkLabels('nll', logProbs, labels);
  return neg(mean(takeAlongAxis(logProbs, labels, 1)));
}

/** Cross-entropy from logits [N, C] and Int32 labels [N]: nll(logSoftmax(logits)), stable for large logits. */
export function crossEntropy(logits: Tensor, labels: Int32Array): Tensor {
  assertTensor(logits, 'crossEntropy');
  checkLabels('crossEntropy', logits, labels);
  return nll(logSoftmax(logits, 1), labels);
}

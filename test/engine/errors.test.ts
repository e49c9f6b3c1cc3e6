/** Bad input: each error is the right class and its message names the op and the shapes/values. */
import { describe, it, expect } from 'vitest';
import {
  tensor, zeros, ones, add, mul, matmul, sum, mean, max, softmax, logsumexp, topk, gradcheck, grad, vjp, concat, reshape,
  permute, slice, gatherRows, crossEntropy, mse, where, broadcastTo, square, cast,
  ShapeError, DTypeError, ValueError, MoegradError, type Tensor,
} from '../../engine/index.js';
import { expectError } from '../helpers/engine.js';

describe('bad input', () => {
  it('incompatible broadcast names the op and both shapes', () => {
    expectError(() => add(zeros([2, 3]), zeros([4])), ShapeError, 'add:', '[2, 3]', '[4]');
    expectError(() => mul(zeros([2, 3]), zeros([3, 2])), ShapeError, 'mul:', '[2, 3]', '[3, 2]');
    expectError(() => broadcastTo(zeros([3]), [2, 4]), ShapeError, 'broadcastTo:', '[3]', '[2, 4]');
    expectError(() => where(tensor([1, 0, 1]), zeros([2]), zeros([2])), ShapeError, 'where:');
  });

  it('matmul inner-dimension mismatch has the exact documented message', () => {
    let err: unknown;
    try { matmul(zeros([8, 16]), zeros([32, 4])); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(ShapeError);
    expect((err as Error).message).toBe('matmul: inner dimensions must match; got [8, 16] and [32, 4]');
    expect((err as MoegradError).op).toBe('matmul');
    expectError(() => matmul(zeros([2, 3, 4]), zeros([3, 4, 5])), ShapeError, 'matmul:', 'batch', '[2, 3, 4]', '[3, 4, 5]');
    expectError(() => matmul(zeros([4]), zeros([4, 2])), ShapeError, 'matmul:', '[4]', '[4, 2]');
    expectError(() => matmul(zeros([2, 3, 4]), zeros([5, 2])), ShapeError, 'matmul: inner dimensions must match; got [2, 3, 4] and [5, 2]');
  });

  it('bad axis names the op, the axis and the shape', () => {
    expectError(() => sum(zeros([2, 3]), 2), ShapeError, 'sum:', 'axis 2', '[2, 3]');
    expectError(() => mean(zeros([2, 3]), -3), ShapeError, 'mean:', 'axis -3', '[2, 3]');
    expectError(() => max(zeros([2, 3]), 5), ShapeError, 'max:', 'axis 5', '[2, 3]');
    expectError(() => softmax(zeros([4]), 1), ShapeError, 'softmax:', 'axis 1', '[4]');
    expectError(() => logsumexp(zeros([2, 2]), 1.5), ShapeError, 'logsumexp:', 'axis 1.5');
    expectError(() => concat([zeros([2, 3]), zeros([2, 3])], 2), ShapeError, 'concat:', 'axis 2', '[2, 3]');
    expectError(() => permute(zeros([2, 3]), [0, 0]), ShapeError, 'permute:', '[2, 3]');
    expectError(() => sum(zeros([2, 3]), [1, -1]), ShapeError, 'sum:', 'repeated axis');
  });

  it('k out of range for topk names k, the axis length and the shape', () => {
    expectError(() => topk(zeros([3, 4]), 5), ValueError, 'topk:', 'got 5', '[1, 4]', '[3, 4]');
    expectError(() => topk(zeros([3, 4]), 0), ValueError, 'topk:', 'got 0');
    expectError(() => topk(zeros([3, 4]), 1.5, 0), ValueError, 'topk:', 'got 1.5', '[1, 3]');
  });

  it('gradcheck refuses NaN/∞ inputs and float32 (unless allowed), naming the input', () => {
    const f = (x: Tensor) => square(x);
    expectError(() => gradcheck(f, tensor([1, NaN])), ValueError, 'gradcheck:', 'NaN');
    expectError(() => gradcheck((p: { w: Tensor }) => square(p.w), { w: tensor([Infinity]) }), ValueError, 'gradcheck:', "'w'");
    expectError(() => gradcheck(f, tensor([1, 2], undefined, 'float32')), DTypeError, 'gradcheck:', 'float32');
    expect(gradcheck(f, tensor([1, 2], undefined, 'float32'), { allowFloat32: true, eps: 1e-2, atol: 1e-3, rtol: 1e-3 }).ok).toBe(true);
  });

  it('non-scalar loss: grad names the output shape; vjp checks the cotangent shape', () => {
    expectError(() => grad((x: Tensor) => square(x))(ones([2, 3])), ShapeError, 'grad:', 'scalar', '[2, 3]');
    const { vjp: pull } = vjp((x: Tensor) => square(x), ones([2]));
    expectError(() => pull(ones([3])), ShapeError, 'vjp:', '[2]', '[3]');
  });

  it('mixed dtypes name the op and both dtypes', () => {
    const a = ones([2, 2]), b = cast(ones([2, 2]), 'float32');
    expectError(() => add(a, b), DTypeError, 'add:', 'float64 [2, 2]', 'float32 [2, 2]');
    expectError(() => matmul(a, b), DTypeError, 'matmul:', 'float64', 'float32');
    expectError(() => concat([a, b]), DTypeError, 'concat:');
  });

  it('other boundaries: reshape size, slice bounds, index range, labels, mse shapes', () => {
    expectError(() => reshape(zeros([2, 3]), [4, 2]), ShapeError, 'reshape:', '[2, 3]', '[4, 2]');
    expectError(() => slice(zeros([2, 3]), [0, 2], [2, 4]), ShapeError, 'slice:', '[2, 3]');
    expectError(() => gatherRows(zeros([2, 3]), Int32Array.from([0, 2])), ValueError, 'gatherRows:', 'index 2', '[0, 2)');
    expectError(() => crossEntropy(zeros([2, 3]), Int32Array.from([0, 3])), ValueError, 'crossEntropy:', 'label 3', '[0, 3)');
    expectError(() => crossEntropy(zeros([2, 3]), Int32Array.from([0])), ShapeError, 'crossEntropy:');
    expectError(() => mse(zeros([2, 3]), zeros([3])), ShapeError, 'mse:', '[2, 3]', '[3]');
    expectError(() => add([1, 2] as unknown as Tensor, ones([2])), MoegradError, 'add:');
  });

  it('no silent NaN: max and topk reject NaN inputs', () => {
    expectError(() => max(tensor([1, NaN, 2])), ValueError, 'max:', 'NaN');
    expectError(() => topk(tensor([1, NaN, 2]), 1), ValueError, 'topk:', 'NaN');
  });
});

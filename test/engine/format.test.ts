import { inspect } from 'node:util';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Rng, ValueError, arange, full, randn, scalar, tensor, zeros } from '../../engine/index.js';
import { formatTensor } from '../../engine/format.js';
import { reshape } from '../../engine/ops/index.js';

describe('printing tensors (PyTorch style)', () => {
  it('small 2-D float64: fixed point, aligned rows, shape and dtype', () => {
    const t = tensor([[1, 2.5], [-3, 4]]);
    const text = 'tensor([[ 1.0000,  2.5000],\n'
      + '        [-3.0000,  4.0000]], shape=[2, 2], dtype=float64)';
    expect(t.toString()).toBe(text);
    expect(String(t)).toBe(text);
    expect(`${t}`).toBe(text);
  });

  it("util.inspect / console.log print the same text; deeper than inspect's depth, a short form", () => {
    const t = tensor([[1, 2.5], [3, 4]]);
    expect(inspect(t)).toBe(t.toString());
    expect(inspect({ w: tensor([1, 2]) })).toBe('{ w: tensor([1., 2.], shape=[2], dtype=float64) }');
    expect(inspect({ a: tensor([1, 2]) }, { depth: 0 })).toBe('{ a: Tensor([2], float64) }');
  });

  it('integer values print as "3." and wrap at 80 columns', () => {
    expect(String(arange(5))).toBe('tensor([0., 1., 2., 3., 4.], shape=[5], dtype=float64)');
    expect(String(arange(30))).toBe(
      'tensor([ 0.,  1.,  2.,  3.,  4.,  5.,  6.,  7.,  8.,  9., 10., 11., 12., 13.,\n'
      + '        14., 15., 16., 17., 18., 19., 20., 21., 22., 23., 24., 25., 26., 27.,\n'
      + '        28., 29.], shape=[30], dtype=float64)');
  });

  it('0-d tensors print the value alone', () => {
    expect(String(scalar(Math.PI))).toBe('tensor(3.1416, shape=[], dtype=float64)');
    expect(String(scalar(-2))).toBe('tensor(-2., shape=[], dtype=float64)');
    expect(String(scalar(1e-7, 'float32'))).toBe('tensor(1.0000e-07, shape=[], dtype=float32)');
  });

  it('empty tensors print [] with their shape', () => {
    expect(String(zeros([0]))).toBe('tensor([], shape=[0], dtype=float64)');
    expect(String(zeros([2, 0, 3], 'float32'))).toBe('tensor([], shape=[2, 0, 3], dtype=float32)');
  });

  it('NaN and ±Inf print as nan, inf, -inf and do not choose the format', () => {
    expect(String(tensor([1, NaN, Infinity, -Infinity, 0.5])))
      .toBe('tensor([1.0000,    nan,    inf,   -inf, 0.5000], shape=[5], dtype=float64)');
    expect(String(tensor([NaN, Infinity]))).toBe('tensor([nan, inf], shape=[2], dtype=float64)');
    expect(String(full([2], 0))).toBe('tensor([0., 0.], shape=[2], dtype=float64)');
  });

  it('scientific notation for wide ranges, tiny or huge values (two-digit exponents)', () => {
    expect(String(tensor([1e-5, 1, 100]))).toBe('tensor([1.0000e-05, 1.0000e+00, 1.0000e+02], shape=[3], dtype=float64)');
    expect(String(tensor([2e9, 1]))).toBe('tensor([2.0000e+09, 1.0000e+00], shape=[2], dtype=float64)');
    expect(String(tensor([1e300]))).toBe('tensor([1.0000e+300], shape=[1], dtype=float64)');
  });

  it('float32 prints the float32 value to 4 decimals (0.1f is 0.1000, not 0.10000000149)', () => {
    expect(String(tensor([0.1, -0.25, 3], undefined, 'float32'))).toBe('tensor([ 0.1000, -0.2500,  3.0000], shape=[3], dtype=float32)');
  });

  it('large tensors are summarised with ... (edge items 3) once they pass 1000 elements', () => {
    expect(String(arange(1000))).not.toContain('...');
    expect(String(arange(1001, 2002))).toBe('tensor([1001., 1002., 1003., ..., 1999., 2000., 2001.], shape=[1001],\n'
      + '       dtype=float64)');
    const big = randn(new Rng(0), [40, 40]);
    const lines = big.toString().split('\n');
    expect(lines).toHaveLength(8); // 3 rows, '...', 3 rows, shape/dtype line
    expect(lines[3]).toBe('        ...,');
    expect(lines[0]).toMatch(/^tensor\(\[\[(-| )\d\.\d{4}, (-| )\d\.\d{4}, (-| )\d\.\d{4}, \.\.\., (-| )\d\.\d{4}, (-| )\d\.\d{4}, (-| )\d\.\d{4}\],$/);
    expect(lines[7]).toBe('       shape=[40, 40], dtype=float64)');
    // The first shown value is the tensor's first element; the last is its last.
    expect(lines[0]).toContain(big.get(0, 0).toFixed(4));
    expect(lines[6]).toContain(`${big.get(39, 39).toFixed(4)}]]`);
  });

  it('3-D tensors separate their 2-D blocks by a blank line', () => {
    expect(String(reshape(arange(8), [2, 2, 2]))).toBe(
      'tensor([[[0., 1.],\n'
      + '         [2., 3.]],\n'
      + '\n'
      + '        [[4., 5.],\n'
      + '         [6., 7.]]], shape=[2, 2, 2], dtype=float64)');
  });

  it('print options: precision, threshold, edge items, line width; bad options throw a ValueError naming formatTensor', () => {
    expect(formatTensor(tensor([Math.PI]), { precision: 2 })).toBe('tensor([3.14], shape=[1], dtype=float64)');
    expect(formatTensor(arange(10), { threshold: 5, edgeItems: 2 })).toBe('tensor([0., 1., ..., 8., 9.], shape=[10], dtype=float64)');
    expect(formatTensor(arange(4), { lineWidth: 20 })).toBe('tensor([0., 1., 2.,\n        3.],\n       shape=[4],\n       dtype=float64)');
    expect(() => formatTensor(arange(3), { precision: -1 })).toThrow(ValueError);
    expect(() => formatTensor(arange(3), { edgeItems: 0 })).toThrow('formatTensor: edgeItems must be an integer ≥ 1; got 0');
  });

  it('engine/format.ts and engine/tensor.ts stay browser-safe (no node: imports, the inspect symbol is registered)', () => {
    for (const f of ['format.ts', 'tensor.ts']) {
      const src = readFileSync(new URL(`../../engine/${f}`, import.meta.url), 'utf8');
      expect(src, f).not.toMatch(/from '(node:)?(util|fs|path|os)'/);
    }
    expect(typeof (tensor([1]) as unknown as Record<symbol, unknown>)[Symbol.for('nodejs.util.inspect.custom')]).toBe('function');
  });
});

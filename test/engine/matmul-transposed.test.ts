/**
 * matmulNT / matmulTN (the transposed-operand products matmul's VJP uses): the same bits as matmul
 * on an explicit transpose, on the JS path (small) and the wasm path (large), float64 and float32,
 * 2-D and batched; matmul's gradients equal the old transpose-based formulas; errors name the op.
 */
import { describe, it, expect } from 'vitest';
import { Rng, randn, cast, matmul, transpose, grad, sum, mul, ShapeError, DTypeError, type Tensor } from '../../engine/index.js';
import { matmulNT, matmulTN } from '../../engine/ops/matmul-transposed.js';

const bits = (t: Tensor) => [...t.data];
const swap = (t: Tensor) => transpose(t); // swaps the last two axes

describe('matmulNT / matmulTN', () => {
  for (const dtype of ['float64', 'float32'] as const) {
    for (const [m, k, n] of [[3, 4, 5], [70, 90, 33]] as const) { // 60 multiply-adds: JS; 2e5: wasm
      it(`${dtype} [${m}, ${k}, ${n}]: the same bits as matmul on a transposed copy, 2-D and batched`, () => {
        const rng = new Rng(m + k);
        const a = cast(randn(rng, [m, k]), dtype), bt = cast(randn(rng, [n, k]), dtype), at = cast(randn(rng, [k, m]), dtype), b = cast(randn(rng, [k, n]), dtype);
        expect(bits(matmulNT(a, bt))).toEqual(bits(matmul(a, swap(bt))));
        expect(bits(matmulTN(at, b))).toEqual(bits(matmul(swap(at), b)));
        const A = cast(randn(rng, [2, m, k]), dtype), BT = cast(randn(rng, [2, n, k]), dtype), AT = cast(randn(rng, [2, k, m]), dtype), B = cast(randn(rng, [2, k, n]), dtype);
        expect(bits(matmulNT(A, BT))).toEqual(bits(matmul(A, swap(BT))));
        expect(bits(matmulTN(AT, B))).toEqual(bits(matmul(swap(AT), B)));
        expect(matmulNT(A, BT).dtype).toBe(dtype);
      });
    }
  }

  it("matmul's gradients equal dY·Bᵀ and Aᵀ·dY computed with explicit transposes (bit for bit)", () => {
    const rng = new Rng(3);
    for (const [A, B] of [[randn(rng, [40, 30]), randn(rng, [30, 20])], [randn(rng, [2, 5, 4]), randn(rng, [2, 4, 3])]] as const) {
      const g = randn(rng, [...A.shape.slice(0, -1), B.shape[B.rank - 1]!]);
      const d = grad((p: { a: Tensor; b: Tensor }) => sum(mul(matmul(p.a, p.b), g)))({ a: A, b: B });
      expect(bits(d.a)).toEqual(bits(matmul(g, swap(B))));
      expect(bits(d.b)).toEqual(bits(matmul(swap(A), g)));
    }
  });

  it('bad input throws errors naming the op and the shapes', () => {
    const rng = new Rng(4);
    expect(() => matmulNT(randn(rng, [2, 3]), randn(rng, [4, 2]))).toThrow(ShapeError);
    expect(() => matmulNT(randn(rng, [2, 3]), randn(rng, [4, 2]))).toThrow(/matmulNT: inner dimensions must match .*got \[2, 3\] and \[4, 2\]/);
    expect(() => matmulTN(randn(rng, [3, 2]), randn(rng, [2, 4]))).toThrow(/matmulTN: inner dimensions must match .*got \[3, 2\] and \[2, 4\]/);
    expect(() => matmulTN(randn(rng, [2, 3, 2]), randn(rng, [3, 3, 4]))).toThrow(/matmulTN: batch sizes must match; got \[2, 3, 2\] and \[3, 3, 4\]/);
    expect(() => matmulNT(randn(rng, [3]), randn(rng, [3, 3]))).toThrow(/matmulNT: expects a \[m, k\] and b \[n, k\].*got \[3\] and \[3, 3\]/);
    expect(() => matmulNT(randn(rng, [2, 3]), cast(randn(rng, [4, 3]), 'float32'))).toThrow(DTypeError);
  });
});

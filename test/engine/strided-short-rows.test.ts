/**
 * The strided gather / scatter-add on blocks of short rows (the flat-loop path for rows of < 16):
 * sumTo and broadcastTo equal naive row-major loops bit for bit, in float64 and float32.
 */
import { describe, it, expect } from 'vitest';
import { Rng, randn, cast, sumTo, broadcastTo, type Tensor } from '../../engine/index.js';

/** Naive reference: out[index of x's element in `to` (broadcast dims collapsed)] += x, row-major. */
function naiveSumTo(x: Tensor, to: number[]): number[] {
  const out = new (x.dtype === 'float32' ? Float32Array : Float64Array)(to.reduce((a, b) => a * b, 1));
  const shape = x.shape, off = shape.length - to.length, idx = new Array(shape.length).fill(0);
  for (let i = 0; i < x.size; i++) {
    let o = 0;
    for (let d = 0; d < to.length; d++) o = o * to[d]! + (to[d] === 1 ? 0 : idx[d + off]);
    out[o] = out[o]! + x.data[i]!;
    for (let d = shape.length - 1; d >= 0; d--) { if (++idx[d] < shape[d]!) break; idx[d] = 0; }
  }
  return [...out];
}

describe('strided short rows', () => {
  for (const dtype of ['float64', 'float32'] as const) {
    it(`${dtype}: sumTo over short rows matches the row-major sum bit for bit`, () => {
      const rng = new Rng(9);
      for (const [from, to] of [[[50, 3], [3]], [[4, 50, 3], [4, 1, 3]], [[7, 2], [1, 2]], [[3, 20, 5], [20, 5]], [[40, 15], [15]]] as [number[], number[]][]) {
        const x = cast(randn(rng, from), dtype);
        expect([...sumTo(x, to).data], `${from} → ${to}`).toEqual(naiveSumTo(x, to));
      }
    });
    it(`${dtype}: broadcastTo over short rows repeats the source exactly`, () => {
      const rng = new Rng(10);
      for (const [from, to] of [[[3], [50, 3]], [[5, 1, 3], [5, 40, 3]], [[1, 2], [9, 2]]] as [number[], number[]][]) {
        const x = cast(randn(rng, from), dtype), y = broadcastTo(x, to).data;
        const inner = from[from.length - 1]!, rows = to[to.length - 2]!;
        for (let i = 0; i < y.length; i++) {
          const j = i % inner, outer = Math.floor(i / (inner * rows));
          expect(y[i]).toBe(x.data[(from.length === 3 ? outer * inner : 0) + j]);
        }
      }
    });
  }
});

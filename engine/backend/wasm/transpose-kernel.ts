/**
 * The operand transposes of the wasm GEMM module (matmulT's transposed operands are copied in as
 * stored and transposed here, inside wasm memory): a scalar tiled transpose and an L×L SIMD
 * register-block one. Assembled into the module by gemm-kernel.ts.
 */
import { FuncBuilder, I32, V128, Op, Simd } from './emit.js';

/**
 * transpose(src, dst, rows, cols): dst[c·rows + r] = src[r·cols + c] (byte addresses), in TILE×TILE
 * tiles so the strided side stays in L1, the inner 4 columns unrolled. Moves the transposed operands
 * of matmulT inside wasm memory (one memcpy in, then this) instead of a JS loop over typed arrays.
 */
export function transposeFunc(isF64: boolean): FuncBuilder {
  const es = isF64 ? 8 : 4, TILE = 32;
  const load = isF64 ? Op.f64Load : Op.f32Load, store = isF64 ? Op.f64Store : Op.f32Store, al = isF64 ? 3 : 2;
  const f = new FuncBuilder([I32, I32, I32, I32], []);
  const [SRC, DST, ROWS, COLS] = [0, 1, 2, 3] as const;
  const r0 = f.local(I32), c0 = f.local(I32), r1 = f.local(I32), c1 = f.local(I32), r = f.local(I32), c = f.local(I32);
  const s = f.local(I32), d = f.local(I32), c4 = f.local(I32);
  const min = (a: number, b: number, out: number): void => { f.get(a).get(b).get(a).get(b).op(Op.i32LtU, Op.select).set(out); };
  const tmp = f.local(I32);
  f.i32(0).set(r0);
  f.whileLoop(() => f.get(r0).get(ROWS).op(Op.i32GeU), () => {
    f.get(r0).i32(TILE).op(Op.i32Add).set(tmp); min(tmp, ROWS, r1);
    f.i32(0).set(c0);
    f.whileLoop(() => f.get(c0).get(COLS).op(Op.i32GeU), () => {
      f.get(c0).i32(TILE).op(Op.i32Add).set(tmp); min(tmp, COLS, c1);
      f.get(r0).set(r);
      f.whileLoop(() => f.get(r).get(r1).op(Op.i32GeU), () => {
        // s = src + (r·cols + c0)·es ; d = dst + (c0·rows + r)·es
        f.get(SRC).get(r).get(COLS).op(Op.i32Mul).get(c0).op(Op.i32Add).i32(es).op(Op.i32Mul, Op.i32Add).set(s);
        f.get(DST).get(c0).get(ROWS).op(Op.i32Mul).get(r).op(Op.i32Add).i32(es).op(Op.i32Mul, Op.i32Add).set(d);
        f.get(c0).set(c);
        // 4 columns at a time while they fit, then one by one
        f.get(c1).i32(3).op(Op.i32Sub).set(c4);
        f.whileLoop(() => f.get(c).get(c4).op(Op.i32GeS), () => {
          for (let u = 0; u < 4; u++) {
            f.get(d); f.get(ROWS).i32(u * es).op(Op.i32Mul, Op.i32Add);
            f.get(s).mem(load, al, u * es).mem(store, al, 0);
          }
          f.addTo(s, 4 * es);
          f.get(d).get(ROWS).i32(4 * es).op(Op.i32Mul, Op.i32Add).set(d);
          f.addTo(c, 4);
        });
        f.whileLoop(() => f.get(c).get(c1).op(Op.i32GeU), () => {
          f.get(d).get(s).mem(load, al, 0).mem(store, al, 0);
          f.addTo(s, es);
          f.get(d).get(ROWS).i32(es).op(Op.i32Mul, Op.i32Add).set(d);
          f.addTo(c, 1);
        });
        f.addTo(r, 1);
      });
      f.get(c1).set(c0);
    });
    f.get(r1).set(r0);
  });
  return f;
}

/**
 * transpose_simd(src, dst, rows, cols): the same transpose as {@link transposeFunc} for cols a multiple
 * of the lane count L (4 for f32, 2 for f64), in L×L register blocks: L v128 loads
 * from L source rows, an in-register transpose with shuffles (f32: two rounds of 4 interleaving
 * shuffles; f64: 2), L v128 stores to L destination rows — instead of one scalar load and store per
 * element. TILE×TILE tiles as before, so both sides stay in L1. The last rows mod L (e.g. an
 * expert's row count) go element by element.
 */
export function transposeSimdFunc(isF64: boolean): FuncBuilder {
  const es = isF64 ? 8 : 4, L = 16 / es, TILE = 32;
  const f = new FuncBuilder([I32, I32, I32, I32], []);
  const [SRC, DST, ROWS, COLS] = [0, 1, 2, 3] as const;
  const r0 = f.local(I32), c0 = f.local(I32), r1 = f.local(I32), c1 = f.local(I32), r = f.local(I32), c = f.local(I32), tmp = f.local(I32);
  const s = f.local(I32), d = f.local(I32), srcRow = f.local(I32), dstRow = f.local(I32);
  const v = Array.from({ length: L }, () => f.local(V128)), t = Array.from({ length: L }, () => f.local(V128));
  const min = (a: number, b: number, out: number): void => { f.get(a).get(b).get(a).get(b).op(Op.i32LtU, Op.select).set(out); };
  /** out = shuffle(a, b) picking lanes `lanes` (0..L−1 from a, L..2L−1 from b). */
  const shuffle = (a: number, b: number, lanes: number[], out: number): void => {
    f.get(a).get(b).simd(Simd.shuffle).op(...lanes.flatMap((l) => Array.from({ length: es }, (_, i) => l * es + i))).set(out);
  };
  f.get(COLS).i32(es).op(Op.i32Mul).set(srcRow);
  f.get(ROWS).i32(es).op(Op.i32Mul).set(dstRow);
  f.i32(0).set(r0);
  f.whileLoop(() => f.get(r0).get(ROWS).op(Op.i32GeU), () => {
    f.get(r0).i32(TILE).op(Op.i32Add).set(tmp); min(tmp, ROWS, r1);
    f.i32(0).set(c0);
    f.whileLoop(() => f.get(c0).get(COLS).op(Op.i32GeU), () => {
      f.get(c0).i32(TILE).op(Op.i32Add).set(tmp); min(tmp, COLS, c1);
      f.get(r0).set(r);
      f.whileLoop(() => f.get(r).i32(L).op(Op.i32Add).get(r1).op(Op.i32GtU), () => {
        // s = src + (r·cols + c0)·es ; d = dst + (c0·rows + r)·es
        f.get(SRC).get(r).get(COLS).op(Op.i32Mul).get(c0).op(Op.i32Add).i32(es).op(Op.i32Mul, Op.i32Add).set(s);
        f.get(DST).get(c0).get(ROWS).op(Op.i32Mul).get(r).op(Op.i32Add).i32(es).op(Op.i32Mul, Op.i32Add).set(d);
        f.get(c0).set(c);
        f.whileLoop(() => f.get(c).get(c1).op(Op.i32GeU), () => {
          for (let i = 0; i < L; i++) {
            f.get(s);
            if (i > 0) f.get(srcRow).i32(i).op(Op.i32Mul, Op.i32Add);
            f.simdMem(Simd.load, 0, 0).set(v[i]!);
          }
          if (isF64) {
            shuffle(v[0]!, v[1]!, [0, 2], t[0]!); shuffle(v[0]!, v[1]!, [1, 3], t[1]!);
          } else {
            shuffle(v[0]!, v[1]!, [0, 4, 1, 5], t[0]!); shuffle(v[0]!, v[1]!, [2, 6, 3, 7], t[1]!);
            shuffle(v[2]!, v[3]!, [0, 4, 1, 5], t[2]!); shuffle(v[2]!, v[3]!, [2, 6, 3, 7], t[3]!);
            shuffle(t[0]!, t[2]!, [0, 1, 4, 5], v[0]!); shuffle(t[0]!, t[2]!, [2, 3, 6, 7], v[1]!);
            shuffle(t[1]!, t[3]!, [0, 1, 4, 5], v[2]!); shuffle(t[1]!, t[3]!, [2, 3, 6, 7], v[3]!);
          }
          const out = isF64 ? t : v; // out[q] = column c + q of the block = destination row c + q
          for (let q = 0; q < L; q++) {
            f.get(d);
            if (q > 0) f.get(dstRow).i32(q).op(Op.i32Mul, Op.i32Add);
            f.get(out[q]!).simdMem(Simd.store, 0, 0);
          }
          f.addTo(s, L * es);
          f.get(d).get(dstRow).i32(L).op(Op.i32Mul, Op.i32Add).set(d);
          f.addTo(c, L);
        });
        f.addTo(r, L);
      });
      // the last rows of the tile when rows is not a multiple of L: element by element
      f.whileLoop(() => f.get(r).get(r1).op(Op.i32GeU), () => {
        f.get(SRC).get(r).get(COLS).op(Op.i32Mul).get(c0).op(Op.i32Add).i32(es).op(Op.i32Mul, Op.i32Add).set(s);
        f.get(DST).get(c0).get(ROWS).op(Op.i32Mul).get(r).op(Op.i32Add).i32(es).op(Op.i32Mul, Op.i32Add).set(d);
        f.get(c0).set(c);
        f.whileLoop(() => f.get(c).get(c1).op(Op.i32GeU), () => {
          f.get(d).get(s).mem(isF64 ? Op.f64Load : Op.f32Load, isF64 ? 3 : 2, 0).mem(isF64 ? Op.f64Store : Op.f32Store, isF64 ? 3 : 2, 0);
          f.addTo(s, es);
          f.get(d).get(dstRow).op(Op.i32Add).set(d);
          f.addTo(c, 1);
        });
        f.addTo(r, 1);
      });
      f.get(c1).set(c0);
    });
    f.get(r1).set(r0);
  });
  return f;
}

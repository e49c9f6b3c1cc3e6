/**
 * The fused expert-FFN epilogue against the unfused composition it replaces (segmentMatmul +
 * gathered bias rows + engine activation), values and gradients; the transposed grouped GEMM against
 * an explicit permute; and the errors bad input gets.
 */
import { describe, it, expect } from 'vitest';
import { Rng, randn, fromData, cast, add, mul, sum, relu, gelu, tanh, sigmoid, silu, gatherRows, permute, grad, ShapeError, ValueError, type Tensor } from '../../engine/index.js';
import { segmentMatmul, segmentMatmulT } from '../../moe/experts/segment-matmul.js';
import { swiglu } from '../../moe/experts/swiglu.js';
import { segmentBiasAct, segmentLinearAct, segmentColumnSum, segmentRows, actGrad, type FusedAct } from '../../moe/experts/fused-ffn.js';

const offsets = Int32Array.from([0, 3, 3, 7]); // expert 1 is empty
const expertOfRow = Int32Array.from([0, 0, 0, 2, 2, 2, 2]);
const reference: Record<FusedAct, (x: Tensor) => Tensor> = { identity: (x) => x, relu, gelu: (x) => gelu(x, 'none'), tanh, sigmoid };
const close = (a: Tensor, b: Tensor, tol: number) => {
  const x = [...a.data], y = [...b.data];
  expect(x.length).toBe(y.length);
  x.forEach((v, i) => expect(Math.abs(v - y[i]!)).toBeLessThanOrEqual(tol * (1 + Math.abs(y[i]!))));
};

describe('fused expert FFN', () => {
  for (const act of ['identity', 'relu', 'gelu', 'tanh', 'sigmoid'] as FusedAct[]) {
    it(`segmentBiasAct(${act}) equals φ(segmentMatmul + gathered bias), values and gradients`, () => {
      const rng = new Rng(5);
      const x = randn(rng, [7, 4]), w = randn(rng, [3, 4, 5]), b = randn(rng, [3, 5]), g = randn(rng, [7, 5]);
      const fused = (p: { x: Tensor; w: Tensor; b: Tensor }) => sum(mul(segmentBiasAct(segmentMatmul(p.x, p.w, offsets), p.b, offsets, act), g));
      const plain = (p: { x: Tensor; w: Tensor; b: Tensor }) => sum(mul(reference[act](add(segmentMatmul(p.x, p.w, offsets), gatherRows(p.b, expertOfRow))), g));
      close(fused({ x, w, b }), plain({ x, w, b }), 1e-14);
      const gf = grad(fused)({ x, w, b }), gp = grad(plain)({ x, w, b });
      for (const k of ['x', 'w', 'b'] as const) close(gf[k], gp[k], 1e-12);
      // the GEMM with the epilogue inside it: same values and gradients
      const linear = (p: { x: Tensor; w: Tensor; b: Tensor }) => sum(mul(segmentLinearAct(p.x, p.w, p.b, offsets, act), g));
      close(linear({ x, w, b }), plain({ x, w, b }), 1e-14);
      const gl = grad(linear)({ x, w, b });
      for (const k of ['x', 'w', 'b'] as const) close(gl[k], gp[k], 1e-12);
    });
  }

  it('float32 runs in float32 and matches float64 to float32 rounding', () => {
    const rng = new Rng(6);
    const z = randn(rng, [7, 5]), b = randn(rng, [3, 5]);
    const y32 = segmentBiasAct(cast(z, 'float32'), cast(b, 'float32'), offsets, 'gelu');
    expect(y32.dtype).toBe('float32');
    close(y32, segmentBiasAct(z, b, offsets, 'gelu'), 1e-6);
  });

  it('segmentColumnSum and segmentRows are transposes of each other; empty experts get zeros', () => {
    const rng = new Rng(7);
    const x = randn(rng, [7, 2]), b = randn(rng, [3, 2]);
    expect([...segmentColumnSum(x, offsets).data.subarray(2, 4)]).toEqual([0, 0]);
    // ⟨segmentRows(b), x⟩ = ⟨b, segmentColumnSum(x)⟩
    close(sum(mul(segmentRows(b, offsets), x)), sum(mul(b, segmentColumnSum(x, offsets))), 1e-14);
  });

  it('segmentColumnSum equals the row-by-row float64 sum bit for bit (segments of 0, 1, 5 and 9 rows)', () => {
    const rng = new Rng(17);
    const offs = Int32Array.from([0, 0, 1, 6, 15]);
    for (const dtype of ['float64', 'float32'] as const) {
      const x = cast(randn(rng, [15, 3]), dtype), got = segmentColumnSum(x, offs).data;
      for (let e = 0; e < 4; e++) for (let j = 0; j < 3; j++) {
        let acc = 0;
        for (let r = offs[e]!; r < offs[e + 1]!; r++) acc += x.data[r * 3 + j]!;
        expect(got[e * 3 + j]).toBe(dtype === 'float32' ? Math.fround(acc) : acc);
      }
    }
  });

  it('segmentMatmulT(x, w) = segmentMatmul(x, wᵀ), with its gradients', () => {
    const rng = new Rng(8);
    const x = randn(rng, [7, 5]), w = randn(rng, [3, 4, 5]), g = randn(rng, [7, 4]);
    const f = (p: { x: Tensor; w: Tensor }) => sum(mul(segmentMatmulT(p.x, p.w, offsets), g));
    const r = (p: { x: Tensor; w: Tensor }) => sum(mul(segmentMatmul(p.x, permute(p.w, [0, 2, 1]), offsets), g));
    close(f({ x, w }), r({ x, w }), 1e-14);
    const gf = grad(f)({ x, w }), gr = grad(r)({ x, w });
    close(gf.x, gr.x, 1e-13); close(gf.w, gr.w, 1e-13);
  });

  it('swiglu(g, u) = silu(g) ⊙ u, values, gradients and gradients of gradients', () => {
    const rng = new Rng(10);
    const g = randn(rng, [6, 5], 2), u = randn(rng, [6, 5]), r = randn(rng, [6, 5]);
    const fused = (p: { g: Tensor; u: Tensor }) => sum(mul(swiglu(p.g, p.u), r));
    const plain = (p: { g: Tensor; u: Tensor }) => sum(mul(mul(silu(p.g), p.u), r));
    close(fused({ g, u }), plain({ g, u }), 1e-14);
    const gf = grad(fused)({ g, u }), gp = grad(plain)({ g, u });
    close(gf.g, gp.g, 1e-13); close(gf.u, gp.u, 1e-13);
    // second order: the gradient of Σ (∂f/∂g)² w.r.t. g and u
    const g2 = (f: typeof fused) => grad((p: { g: Tensor; u: Tensor }) => { const d = grad(f)(p); return sum(mul(d.g, d.g)); })({ g, u });
    const sf = g2(fused), sp = g2(plain);
    close(sf.g, sp.g, 1e-12); close(sf.u, sp.u, 1e-12);
    expect(() => swiglu(g, randn(rng, [6, 4]))).toThrow(/swiglu: g and u must have one shape; got \[6, 5\] and \[6, 4\]/);
  });

  it('actGrad(relu) in float32 (the branch-free bit-mask loop) is bit-identical to s > 0 ? dy : 0 at extreme values', () => {
    const specials = [0, -0, 1, -1, 1e-45, -1e-45, 1.1754942e-38, 3.4028235e38, -3.4028235e38, Infinity, -Infinity, NaN, 0.5, -2.5];
    const n = specials.length;
    const sv = new Float32Array(n * n), dv = new Float32Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) { sv[i * n + j] = specials[i]!; dv[i * n + j] = specials[j]!; }
    // a NaN with the sign bit set (bits 0xffc00000) too
    new Int32Array(sv.buffer)[0] = 0xffc00000 | 0;
    const out = actGrad(fromData(dv, [n, n]), fromData(sv, [n, n]), 'relu').data;
    for (let i = 0; i < n * n; i++) {
      const want = sv[i]! > 0 ? dv[i]! : 0;
      expect(Object.is(out[i], want) || (Number.isNaN(out[i]) && Number.isNaN(want))).toBe(true);
    }
    // a float32 view at an odd element offset (slab and subarray buffers)
    const base = new Float32Array(2 * n * n + 1), sb = base.subarray(1, 1 + n * n), db = base.subarray(1 + n * n);
    sb.set(sv); db.set(dv);
    const out2 = actGrad(fromData(db, [n, n]), fromData(sb, [n, n]), 'relu').data;
    for (let i = 0; i < n * n; i++) expect(Object.is(out2[i], out[i]) || (Number.isNaN(out2[i]) && Number.isNaN(out[i]))).toBe(true);
  });

  it('bad input throws errors naming the op, what it expects and what it got', () => {
    const rng = new Rng(9);
    const z = randn(rng, [7, 5]);
    expect(() => segmentBiasAct(z, randn(rng, [3, 4]), offsets, 'relu')).toThrow(ShapeError);
    expect(() => segmentBiasAct(z, randn(rng, [3, 4]), offsets, 'relu')).toThrow(/segmentBiasAct: b must be \[E, H\] with H = 5 .*got \[3, 4\]/);
    expect(() => segmentBiasAct(z, randn(rng, [3, 5]), offsets, 'swish' as FusedAct)).toThrow(ValueError);
    expect(() => segmentBiasAct(z, randn(rng, [3, 5]), offsets, 'swish' as FusedAct)).toThrow(/segmentBiasAct: act must be one of .*; got string 'swish'/);
    expect(() => segmentBiasAct(z, randn(rng, [3, 5]), Int32Array.from([0, 3, 7]), 'relu')).toThrow(/offsets must have E \+ 1 = 4 entries; got 3/);
    expect(() => actGrad(z, randn(rng, [7, 4]), 'tanh')).toThrow(/actGrad: dy and s must have one shape; got \[7, 5\] and \[7, 4\]/);
    expect(() => segmentMatmulT(z, randn(rng, [3, 4, 6]), offsets)).toThrow(/segmentMatmulT: expects x \[S, H\] and w \[E, D, H\]; got \[7, 5\] and \[3, 4, 6\]/);
    expect(() => segmentColumnSum(z, Int32Array.from([0, 8]))).toThrow(/from 0 to the number of rows 7/);
    expect(() => segmentLinearAct(z, randn(rng, [3, 5, 2]), randn(rng, [3, 4]), offsets, 'relu')).toThrow(/segmentLinearAct: expects x \[S, D\], w \[E, D, H\] and b \[E, H\]; got \[7, 5\], \[3, 5, 2\] and \[3, 4\]/);
  });
});

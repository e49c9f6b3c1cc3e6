/**
 * Transposed-operand products (backend.matmulT and the matmulTransposed fallback): op(A)·op(B) must
 * equal the plain product of explicitly transposed copies bit for bit — the kernel sees the same
 * values in the same k order; only the copy into wasm memory changed. The fused epilogue
 * (matmulBiasAct: bias + relu in wasm before the copy out) must equal matmul + a JS pass, bit for bit.
 */
import { describe, it, expect } from 'vitest';
import { createCpuBackend } from '../../engine/backend/cpu.js';
import { matmulTransposed, transposeInto } from '../../engine/backend/transposed.js';
import { Rng, type MatmulBackend, type TypedArray } from '../../engine/index.js';

type Ctor = Float32ArrayConstructor | Float64ArrayConstructor;
const paths = {
  js: createCpuBackend({ mode: 'js' }),
  wasm: createCpuBackend({ mode: 'wasm' }),
  threads: createCpuBackend({ mode: 'wasm-threads', threadMinMacs: 0 }),
  auto: createCpuBackend(),
};
// The wasm path transposes a stored [rows, cols] operand in SIMD register blocks when cols is a
// multiple of the lane count (4 f32, 2 f64), the last rows mod 4 element by element, else element by
// element: e.g. [2, 64, 96, 36] (multi-tile, all sides multiples of 4), [1, 8, 67, 13] and
// [1, 4, 35, 8] (transA stores [67, 8] / [35, 4]: SIMD blocks plus 3 leftover rows).
const SHAPES: [number, number, number, number][] = [[1, 1, 1, 1], [1, 37, 91, 53], [2, 70, 33, 9], [3, 5, 300, 130], [1, 129, 64, 257], [1, 40, 40, 40], [2, 64, 96, 36], [1, 36, 8, 12], [1, 6, 2, 2], [1, 8, 67, 13], [1, 4, 35, 8]];

function filled(T: Ctor, n: number, rng: Rng): TypedArray {
  const a = new T(n);
  for (let i = 0; i < n; i++) a[i] = rng.uniform() * 2 - 1;
  return a;
}
function transposed(x: TypedArray, batch: number, rows: number, cols: number): TypedArray {
  const out = new (x.constructor as Ctor)(x.length);
  for (let b = 0; b < batch; b++) transposeInto(x, b * rows * cols, rows, cols, out, b * rows * cols);
  return out;
}

describe('transposed-operand GEMM', () => {
  it('transposeInto transposes odd, multi-tile blocks', () => {
    const x = Float64Array.from({ length: 35 * 70 }, (_, i) => i);
    const t = new Float64Array(x.length);
    transposeInto(x, 0, 35, 70, t, 0);
    for (let r = 0; r < 35; r++) for (let c = 0; c < 70; c++) expect(t[c * 35 + r]).toBe(x[r * 70 + c]);
  });

  for (const [name, be] of Object.entries(paths)) {
    it(`${name}: matmulT(transA, transB) equals matmul of explicit transposes, bit for bit`, () => {
      for (const [i, [batch, m, k, n]] of SHAPES.entries()) {
        for (const T of [Float32Array, Float64Array] as Ctor[]) {
          const rng = new Rng(40 + i);
          const a = filled(T, batch * m * k, rng), b = filled(T, batch * k * n, rng);
          const want = new T(batch * m * n);
          be.matmul(a, b, want, batch, m, k, n);
          const at = transposed(a, batch, m, k), bt = transposed(b, batch, k, n);
          for (const [ta, tb] of [[true, false], [false, true], [true, true]] as const) {
            const got = new T(batch * m * n).fill(Number.NaN);
            be.matmulT!(ta ? at : a, tb ? bt : b, got, batch, m, k, n, ta, tb);
            expect(got, `${name} ${T.name} [${batch}, ${m}, ${k}, ${n}] transA=${ta} transB=${tb}`).toEqual(want);
          }
        }
      }
    });
  }

  it('matmulTransposed falls back to a scratch transpose on backends without matmulT', () => {
    const calls: number[][] = [];
    const plain: MatmulBackend = {
      name: 'plain', describe: () => 'plain',
      matmul: (a, b, out, batch, m, k, n) => { calls.push([batch, m, k, n]); paths.js.matmul(a, b, out, batch, m, k, n); },
    };
    const rng = new Rng(9);
    const [batch, m, k, n] = [2, 7, 11, 5];
    const a = filled(Float64Array, batch * m * k, rng), b = filled(Float64Array, batch * k * n, rng);
    const want = new Float64Array(batch * m * n), got = new Float64Array(batch * m * n);
    paths.js.matmul(a, b, want, batch, m, k, n);
    matmulTransposed(plain, transposed(a, batch, m, k), transposed(b, batch, k, n), got, batch, m, k, n, true, true);
    expect(got).toEqual(want);
    expect(calls).toEqual([[batch, m, k, n]]);
  });

  for (const [name, be] of Object.entries(paths)) {
    it(`${name}: matmulBiasAct equals matmul + bias (+ relu) in JS, bit for bit, NaN kept`, () => {
      for (const [i, [, m, k, n]] of SHAPES.entries()) {
        for (const T of [Float32Array, Float64Array] as Ctor[]) {
          const rng = new Rng(80 + i);
          const a = filled(T, m * k, rng), b = filled(T, k * n, rng), bias = filled(T, n + 3, rng);
          if (i === 1) a[5] = Number.NaN; // a NaN row stays NaN through relu
          for (const act of ['identity', 'relu'] as const) {
            const want = new T(m * n);
            be.matmul(a, b, want, 1, m, k, n);
            for (let r = 0; r < m; r++) for (let j = 0; j < n; j++) { const v = want[r * n + j]! + bias[2 + j]!; want[r * n + j] = act === 'relu' && v < 0 ? 0 : v; }
            const got = new T(m * n).fill(-1);
            be.matmulBiasAct!(a, b, got, m, k, n, bias, 2, act);
            expect(got, `${name} ${T.name} [${m}, ${k}, ${n}] ${act}`).toEqual(want);
          }
        }
      }
    });
  }

  it('reluGrad (wasm lane masks) equals the JS loop s > 0 ? dy : 0 bit for bit: NaN, ±0, ±∞, subnormal s, odd tails, views', () => {
    const specials = [Number.NaN, -0, 0, Infinity, -Infinity, 1e-45, -1e-45, 5e-324, -5e-324, 1, -1];
    for (const T of [Float32Array, Float64Array] as Ctor[]) {
      for (const n of [4096, 4097, 4099, 16384 + 3, 3 * 16384 + 1]) {
        const rng = new Rng(n);
        const dy = filled(T, n + 5, rng).subarray(5) as TypedArray, s = filled(T, n, rng);
        for (let i = 0; i < n; i += 7) s[i] = specials[(i / 7) % specials.length]!;
        dy[0] = Number.NaN; dy[1] = -0; s[1] = 1; // dy's own NaN and -0 pass through where s > 0
        s[0] = 2;
        const want = new T(n);
        for (let i = 0; i < n; i++) want[i] = s[i]! > 0 ? dy[i]! : 0;
        const got = new T(n).fill(7);
        expect(paths.auto.reluGrad!(dy, s, got), `${T.name} ${n} handled`).toBe(true);
        for (let i = 0; i < n; i++) if (!Object.is(got[i], want[i])) throw new Error(`${T.name} n=${n} element ${i}: ${got[i]} vs ${want[i]} (s ${s[i]})`);
      }
    }
    // declines: small, js mode, mixed dtypes — the caller's loop runs instead
    expect(paths.auto.reluGrad!(new Float32Array(10), new Float32Array(10), new Float32Array(10))).toBe(false);
    expect(paths.js.reluGrad!(new Float32Array(8192), new Float32Array(8192), new Float32Array(8192))).toBe(false);
    expect(paths.auto.reluGrad!(new Float64Array(8192), new Float32Array(8192), new Float64Array(8192))).toBe(false);
  });

  it('segmentColumnSum (wasm, float64 accumulation) equals the scalar float64 loop bit for bit; empty segments give zeros', () => {
    for (const T of [Float32Array, Float64Array] as Ctor[]) {
      for (const [S, H, cuts] of [[300, 64, [0, 0, 7, 7, 150, 299, 300]], [4099, 2, [0, 4099]], [1000, 40, [0, 333, 334, 1000]], [70, 512, [0, 1, 2, 3, 4, 5, 70]]] as [number, number, number[]][]) {
        const rng = new Rng(S + H);
        const x = filled(T, S * H, rng);
        for (let i = 0; i < x.length; i += 97) x[i] = x[i]! * 1e30; // large and small mixed: order matters
        x[3] = Number.NaN;
        const offsets = Int32Array.from(cuts), E = cuts.length - 1;
        const want = new T(E * H), acc = new Float64Array(H);
        for (let e = 0; e < E; e++) {
          acc.fill(0);
          for (let r = offsets[e]!; r < offsets[e + 1]!; r++) for (let j = 0; j < H; j++) acc[j] = acc[j]! + x[r * H + j]!;
          want.set(acc, e * H);
        }
        const got = new T(E * H).fill(7);
        expect(paths.auto.segmentColumnSum!(x, got, offsets, H), `${T.name} [${S}, ${H}] handled`).toBe(true);
        for (let i = 0; i < want.length; i++) if (!Object.is(got[i], want[i])) throw new Error(`${T.name} [${S}, ${H}] element ${i}: ${got[i]} vs ${want[i]}`);
      }
    }
    expect(paths.auto.segmentColumnSum!(new Float32Array(9 * 1000), new Float32Array(9), Int32Array.from([0, 1000]), 9)).toBe(false); // odd H: the caller's loop
    expect(paths.js.segmentColumnSum!(new Float32Array(8192), new Float32Array(2), Int32Array.from([0, 4096]), 2)).toBe(false);
  });

  it('matmulBiasAct rejects a bad act or a short bias', () => {
    const a = new Float64Array(4), b = new Float64Array(4), out = new Float64Array(4);
    expect(() => paths.auto.matmulBiasAct!(a, b, out, 2, 2, 2, new Float64Array(2), 0, 'gelu' as never)).toThrow(/matmulBiasAct: act must be 'identity' or 'relu'; got string 'gelu'/);
    expect(() => paths.auto.matmulBiasAct!(a, b, out, 2, 2, 2, new Float64Array(2), 1, 'relu')).toThrow(/matmulBiasAct: bias must be a Float64Array with 2 entries from biasOff 1/);
  });
});

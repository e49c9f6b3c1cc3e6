/**
 * The compiled elementwise kernels and broadcasting by strides (issue 15) against a straightforward
 * reference: the pre-issue-15 scalar definitions applied in a plain multi-index loop, bit for bit
 * (Object.is, so NaN, ±0 and ±∞ count), over random shapes with broadcasting, scalars, 0-d and
 * empty tensors, float32 and float64; gradients against the materialise-then-operate path.
 */
import { describe, it, expect, afterEach } from 'vitest';
import {
  Rng, fromData, randn, valueAndGrad, broadcastTo, sum, mul, defineBinary, Tensor, type DType,
  add, sub, div, maximum, minimum, neg, exp, log, sqrt, square, abs, tanh, sigmoid, softplus, relu, silu, erf,
  geluTanh, geluErf, pow, scale, stableSigmoid, erfScalar, erfcScalar,
} from '../../engine/index.js';
import { builtinKernels, compiledUnary, runUnary, setCompiledKernels, broadcastLayout } from '../../engine/ops/elementwise-kernels.js';

const SQ = Math.sqrt(2 / Math.PI), GC = 0.044715;
/** The scalar forwards as they were written before the kernels were compiled (the reference). */
const UNARY: [string, (x: Tensor) => Tensor, (v: number) => number][] = [
  ['neg', neg, (v) => -v], ['exp', exp, Math.exp], ['log', log, Math.log], ['sqrt', sqrt, Math.sqrt],
  ['square', square, (v) => v * v], ['abs', abs, Math.abs], ['tanh', tanh, Math.tanh], ['sigmoid', sigmoid, stableSigmoid],
  ['softplus', softplus, (v) => Math.max(v, 0) + Math.log1p(Math.exp(-Math.abs(v)))], ['relu', relu, (v) => (v <= 0 ? 0 : v)],
  ['silu', silu, (v) => v * stableSigmoid(v)], ['erf', erf, erfScalar],
  ['geluTanh', geluTanh, (v) => 0.5 * v * (1 + Math.tanh(SQ * (v + GC * v * v * v)))],
  ['geluErf', geluErf, (v) => 0.5 * v * erfcScalar(-v / Math.SQRT2)],
  ['pow 3', (x) => pow(x, 3), (v) => Math.pow(v, 3)], ['pow -0.5', (x) => pow(x, -0.5), (v) => Math.pow(v, -0.5)],
  ['scale', (x) => scale(x, -1.7), (v) => v * -1.7],
];
const BINARY: [string, (a: Tensor, b: Tensor) => Tensor, (u: number, v: number) => number][] = [
  ['add', add, (u, v) => u + v], ['sub', sub, (u, v) => u - v], ['mul', mul, (u, v) => u * v], ['div', div, (u, v) => u / v],
  ['maximum', maximum, (u, v) => (u >= v || u !== u ? u : v)], ['minimum', minimum, (u, v) => (u <= v || u !== u ? u : v)],
];
const SPECIAL = [NaN, Infinity, -Infinity, 0, -0, 1e-310, -1e300, 1e300, 30, -30];

/** Random values with the special ones sprinkled in. */
function values(rng: Rng, shape: number[], dtype: DType): Tensor {
  const t = randn(rng, shape, 2, dtype);
  const d = t.data;
  for (let i = 0; i < d.length; i++) if (rng.uniform() < 0.2) d[i] = SPECIAL[Math.floor(rng.uniform() * SPECIAL.length)]!;
  return t;
}

/** out[i] = f(a[bcast idx], b[bcast idx]) with an explicit multi-index: the reference broadcast. */
function referenceBinary(a: Tensor, b: Tensor, f: (u: number, v: number) => number): { shape: number[]; data: Float64Array | Float32Array } {
  const rank = Math.max(a.rank, b.rank);
  const dim = (s: readonly number[], i: number) => s[i - (rank - s.length)] ?? 1;
  const shape = Array.from({ length: rank }, (_, i) => (dim(a.shape, i) === 1 ? dim(b.shape, i) : dim(a.shape, i)));
  const n = shape.reduce((p, d) => p * d, 1);
  const data = a.dtype === 'float32' ? new Float32Array(n) : new Float64Array(n);
  const idx = new Array<number>(rank).fill(0);
  const flatIn = (s: readonly number[]) => {
    let off = 0;
    for (let i = rank - s.length; i < rank; i++) off = off * s[i - (rank - s.length)]! + (s[i - (rank - s.length)] === 1 ? 0 : idx[i]!);
    return off;
  };
  for (let i = 0; i < n; i++) {
    let r = i;
    for (let d = rank - 1; d >= 0; d--) { idx[d] = r % shape[d]!; r = Math.floor(r / shape[d]!); }
    data[i] = f(a.data[flatIn(a.shape)]!, b.data[flatIn(b.shape)]!);
  }
  return { shape, data };
}

function expectSameBits(got: ArrayLike<number>, want: ArrayLike<number>, what: string): void {
  expect(got.length, what).toBe(want.length);
  for (let i = 0; i < got.length; i++) {
    if (!Object.is(got[i], want[i])) throw new Error(`${what}: element ${i} is ${got[i]}, want ${want[i]}`);
  }
}

const SHAPE_PAIRS: [number[], number[]][] = [
  [[], []], [[5], []], [[], [4]], [[7], [7]], [[2, 3], [3]], [[3], [2, 3]], [[2, 3], [2, 1]], [[2, 1], [2, 3]],
  [[3, 1], [1, 4]], [[4, 1, 3], [2, 1]], [[2, 1, 3, 1], [1, 4, 1, 5]], [[2, 3, 4], [2, 3, 4]], [[2, 3, 4], [3, 1]],
  [[1], [2, 3]], [[0, 3], [3]], [[0], []], [[2, 0], [1, 0]], [[3, 0], [3, 1]], [[1, 1], [1]], [[6, 5], [1, 5]],
];

describe('compiled elementwise kernels', () => {
  afterEach(() => setCompiledKernels(true));

  it('every built-in kernel runs compiled here (Node allows new Function)', () => {
    for (const x of UNARY) x[1](fromData(new Float64Array([1]), [1])); // make them all
    for (const x of BINARY) x[1](fromData(new Float64Array([1]), [1]), fromData(new Float64Array([2]), [1]));
    const ks = builtinKernels();
    expect(ks.length).toBeGreaterThanOrEqual(UNARY.length + BINARY.length - 2);
    expect(ks.filter((k) => !k.compiled()).map((k) => k.name)).toEqual([]);
  });

  for (const dtype of ['float64', 'float32'] as const) {
    it(`unary ops equal the scalar reference bit for bit (${dtype}, incl. 0-d and empty)`, () => {
      const rng = new Rng(11);
      for (const shape of [[], [0], [1], [37], [3, 0, 2], [4, 33]]) {
        const x = values(rng, shape, dtype);
        for (const [name, op, f] of UNARY) {
          const y = op(x);
          expect(y.shape).toEqual(shape);
          expect(y.dtype).toBe(dtype);
          const want = dtype === 'float32' ? new Float32Array(x.size) : new Float64Array(x.size);
          for (let i = 0; i < x.size; i++) want[i] = f(x.data[i]!);
          expectSameBits(y.data, want, `${name} ${dtype} [${shape}]`);
        }
      }
    });

    it(`binary ops broadcast by strides equal the multi-index reference bit for bit (${dtype})`, () => {
      const rng = new Rng(12);
      for (const [sa, sb] of SHAPE_PAIRS) {
        const a = values(rng, sa, dtype), b = values(rng, sb, dtype);
        for (const [name, op, f] of BINARY) {
          const want = referenceBinary(a, b, f);
          const y = op(a, b);
          expect(y.shape, `${name} [${sa}] [${sb}]`).toEqual(want.shape);
          expect(y.dtype).toBe(dtype);
          expectSameBits(y.data, want.data, `${name} ${dtype} [${sa}] op [${sb}]`);
        }
      }
    });
  }

  it('number operands broadcast as scalars of the tensor dtype', () => {
    const x = fromData(new Float32Array([1.1, -2, NaN]), [3]);
    expect(add(x, 0.1).dtype).toBe('float32');
    expectSameBits(sub(2, x).data, Float32Array.from(x.data, (v) => 2 - v), 'sub(2, x)');
    expectSameBits(div(x, 3).data, Float32Array.from(x.data, (v) => v / 3), 'div(x, 3)');
  });

  it('the closure fallback (CSP without eval) gives the same bits as the compiled loops', () => {
    const rng = new Rng(13);
    const a = values(rng, [4, 1, 6], 'float64'), b = values(rng, [3, 1], 'float64');
    const compiled = [...UNARY.map(([, op]) => op(a)), ...BINARY.map(([, op]) => op(a, b))];
    setCompiledKernels(false);
    expect(builtinKernels().some((k) => k.compiled())).toBe(false);
    const closure = [...UNARY.map(([, op]) => op(a)), ...BINARY.map(([, op]) => op(a, b))];
    compiled.forEach((t, i) => expectSameBits(closure[i]!.data, t.data, `op ${i}`));
  });

  it('a refused `new Function` (browser CSP without unsafe-eval) falls back to the closure loops', () => {
    const rng = new Rng(15);
    const a = values(rng, [5, 3], 'float32'), b = values(rng, [3], 'float32');
    const want = BINARY.map(([, op]) => op(a, b));
    const RealFunction = globalThis.Function;
    globalThis.Function = function refused() { throw new EvalError('Refused to evaluate a string as JavaScript (CSP)'); } as never;
    try {
      setCompiledKernels(true); // rebuilds every kernel on next use, now without eval
      const got = BINARY.map(([, op]) => op(a, b));
      expect(builtinKernels().filter((k) => k.compiled()).map((k) => k.name)).toEqual([]);
      got.forEach((t, i) => expectSameBits(t.data, want[i]!.data, BINARY[i]![0]));
    } finally {
      globalThis.Function = RealFunction;
    }
  });

  it('a function whose source does not stand alone falls back to the closure loop', () => {
    const k = 3;
    const kernel = compiledUnary('timesK', (v) => v * k); // `k` is not in the scope passed
    const out = new Float64Array(2);
    runUnary(kernel, new Float64Array([1, -2]), out, 'float64');
    expect(kernel.compiled()).toBe(false);
    expect(Array.from(out)).toEqual([3, -6]);
  });

  it('coalesces broadcast layouts into the fewest dims', () => {
    expect(broadcastLayout([8, 5], [5], [8, 5])).toEqual({ dims: [8, 5], sa: [5, 1], sb: [0, 1] });
    expect(broadcastLayout([2, 3, 4], [2, 3, 4], [2, 3, 4])).toEqual({ dims: [24], sa: [1], sb: [1] });
    expect(broadcastLayout([8, 1], [8, 5], [8, 5])).toEqual({ dims: [8, 5], sa: [1, 0], sb: [5, 1] });
    expect(broadcastLayout([2, 3, 4], [1, 1, 4], [2, 3, 4])).toEqual({ dims: [6, 4], sa: [4, 1], sb: [0, 1] });
    expect(broadcastLayout([], [], [])).toEqual({ dims: [1], sa: [0], sb: [0] });
  });
});

describe('broadcasting gradients by strides', () => {
  it('equal, bit for bit, those of the materialise-then-operate path (float64)', () => {
    const rng = new Rng(14);
    for (const [sa, sb] of SHAPE_PAIRS) {
      const a = randn(rng, sa, 1), b = fromData(randn(rng, sb, 1).data.map((v) => 2 + Math.abs(v)), sb); // b away from 0 for div
      const out = BINARY[0]![1](a, b);
      const w = randn(rng, [...out.shape], 1);
      for (const [name, op] of BINARY) {
        const direct = valueAndGrad((p: Tensor[]) => sum(mul(op(p[0]!, p[1]!), w)))([a, b]);
        const old = valueAndGrad((p: Tensor[]) => sum(mul(op(broadcastTo(p[0]!, out.shape), broadcastTo(p[1]!, out.shape)), w)))([a, b]);
        expectSameBits(direct.value.data, old.value.data, `${name} value [${sa}] [${sb}]`);
        expectSameBits(direct.grad[0]!.data, old.grad[0]!.data, `${name} da [${sa}] [${sb}]`);
        expectSameBits(direct.grad[1]!.data, old.grad[1]!.data, `${name} db [${sa}] [${sb}]`);
        expect(direct.grad[0]!.shape).toEqual(a.shape);
        expect(direct.grad[1]!.shape).toEqual(b.shape);
      }
    }
  });

  it('user ops from defineBinary still see equal shapes in their VJP', () => {
    const seen: number[][] = [];
    const hyp = defineBinary('hypotTest', (u, v) => Math.hypot(u, v), (a, b, y, dy) => {
      seen.push([...a.shape], [...b.shape], [...dy.shape]);
      return [mul(dy, div(a, y)), mul(dy, div(b, y))];
    });
    const g = valueAndGrad((p: Tensor[]) => sum(hyp(p[0]!, p[1]!)))([fromData(new Float64Array([3, 6]), [2, 1]), fromData(new Float64Array([4, 8, 0]), [3])]);
    expect(seen).toEqual([[2, 3], [2, 3], [2, 3]]);
    expect(g.grad[0]!.shape).toEqual([2, 1]);
    expect(g.grad[1]!.shape).toEqual([3]);
  });
});

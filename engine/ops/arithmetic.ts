/**
 * Elementwise ops: forward, VJP and JVP side by side, one line of maths each (ẋ is a tangent).
 * Each built-in forward is a scalar arrow compiled into a monomorphic loop (elementwise-kernels.ts).
 * Binary ops broadcast NumPy-style by strides (no broadcast copy); their VJPs are written for
 * equal shapes and the op reduces each gradient back to its operand's shape with sumTo (what
 * broadcastTo's VJP did when the operands were materialised first — the same sums, bit for bit).
 * VJPs use differentiable ops: grad of grad works.
 */
import { Tensor, fromData, allocate, allocateUninit, commonDType, assertTensor, wrapTrusted } from '../tensor.js';
import { record, recordOp } from '../tape.js';
import { sameShape, broadcastShapes, sizeOf, stridesOf, type Shape } from '../shape.js';
import { ValueError } from '../errors.js';
import { asTensor } from './kernels.js';
import { checkNumber, describeValue } from '../validate.js';
import { broadcastTo, sumTo } from './shape-ops.js';
import {
  type Kernel, type UnaryLine, type BinaryLine, type UnaryScalar, type BinaryScalar,
  compiledUnary, compiledBinary, closureUnary, closureBinary, runUnary, broadcastBinary,
} from './elementwise-kernels.js';

/** An operand of the binary elementwise ops: a tensor, or a number (a float64 0-d tensor, broadcast). */
export type Operand = Tensor | number;

/** VJP of a unary op: `(x, y, dy) => dx` (x input, y output, dy cotangent of y). */
export type UnaryVjp = (x: Tensor, y: Tensor, dy: Tensor) => Tensor;
/** JVP of a unary op: `(x, y, ẋ) => ẏ`. */
export type UnaryJvp = (x: Tensor, y: Tensor, dx: Tensor) => Tensor;
/** VJP of a binary op on equal shapes: `(a, b, y, dy, needs) => [da, db]` (null where `needs[i]` is false). */
export type BinaryVjp = (a: Tensor, b: Tensor, y: Tensor, dy: Tensor, needs: readonly boolean[]) => [Tensor | null, Tensor | null];
/** JVP of a binary op: `(a, b, y, ȧ, ḃ) => ẏ` (a null tangent is zero). */
export type BinaryJvp = (a: Tensor, b: Tensor, y: Tensor, da: Tensor | null, db: Tensor | null) => Tensor;

function checkDefinition(op: string, name: unknown, f: unknown, vjp: unknown, jvp: unknown): void {
  if (typeof name !== 'string' || name === '') throw new ValueError(op, `name must be a non-empty string; got ${describeValue(name)}`);
  if (typeof f !== 'function') throw new ValueError(op, `${name}: the forward f must be a function; got ${describeValue(f)}`);
  if (typeof vjp !== 'function') throw new ValueError(op, `${name}: vjp must be a function; got ${describeValue(vjp)}`);
  if (jvp !== undefined && typeof jvp !== 'function') throw new ValueError(op, `${name}: jvp must be a function or undefined; got ${describeValue(jvp)}`);
}

/** y = kernel(x) as a new tensor of x's shape and dtype (not recorded). */
function mapKernel(k: Kernel<UnaryLine>, x: Tensor, p = 0): Tensor {
  const out = allocateUninit(x.dtype, x.size); // every element written below
  runUnary(k, x.data, out, x.dtype, p);
  return wrapTrusted(out, x.shape);
}

/** kernel(a, b) broadcast to their common shape (not recorded; a, b share a dtype). */
function zipKernel(k: Kernel<BinaryLine>, a: Tensor, b: Tensor, name: string): Tensor {
  // equal shapes and 0-d operands (numbers) need no broadcastShapes (it re-validates both shapes)
  const shape = sameShape(a.shape, b.shape) || b.rank === 0 ? a.shape : a.rank === 0 ? b.shape : broadcastShapes(a.shape, b.shape, name);
  const out = allocateUninit(a.dtype, shape === a.shape ? a.size : shape === b.shape ? b.size : sizeOfShape(shape)); // every element written below
  broadcastBinary(k, a.data, a.shape, b.data, b.shape, shape, out, a.dtype);
  return wrapTrusted(out, shape);
}
function sizeOfShape(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** `foreign`: the rules are user code (defineUnary/defineBinary), see TapeNode.foreign. */
function unaryOp(name: string, k: Kernel<UnaryLine>, vjp: UnaryVjp, jvp: UnaryJvp | undefined, foreign = false): (x: Tensor) => Tensor {
  const op = (x: Tensor): Tensor => {
    const xt = asTensor(x, x, name);
    const y = mapKernel(k, xt);
    return recordOp(name, [xt], y, (dy) => [vjp(xt, y, dy)], jvp && ((t) => jvp(xt, y, t[0]!)), foreign);
  };
  Object.defineProperty(op, 'name', { value: name });
  return op;
}

function binaryOp(name: string, k: Kernel<BinaryLine>, vjp: BinaryVjp, jvp: BinaryJvp | undefined, foreign = false): (a: Operand, b: Operand) => Tensor {
  const op = (a: Operand, b: Operand): Tensor => {
    const at = asTensor(a, b, name), bt = asTensor(b, at, name);
    if (at.dtype !== bt.dtype) commonDType(name, at, bt);
    const y = zipKernel(k, at, bt, name);
    const vjpB: BinaryVjp = sameShape(at.shape, bt.shape) ? vjp : (a2, b2, y2, dy, needs) => {
      // The rule sees the operands as they are (they broadcast in its own ops); each gradient comes
      // back in the output's shape and is summed down to its operand's (sumTo records its own VJP).
      // Rules may return a gradient nobody needs (add: [dy, dy]); it is dropped, not summed.
      const [da, db] = vjp(a2, b2, y2, dy, needs);
      return [needs[0] && da ? sumTo(da, a2.shape) : null, needs[1] && db ? sumTo(db, b2.shape) : null];
    };
    return recordOp(name, [at, bt], y, (dy, needs) => vjpB(at, bt, y, dy, needs),
      jvp && ((t) => broadcastTangent(jvp(at, bt, y, t[0]!, t[1]!), y)), foreign);
  };
  Object.defineProperty(op, 'name', { value: name });
  return op;
}

/** A tangent in an operand's shape (a JVP rule that returned ȧ unchanged) broadcast to the output's. */
function broadcastTangent(t: Tensor, y: Tensor): Tensor {
  return sameShape(t.shape, y.shape) ? t : broadcastTo(t, y.shape);
}

/**
 * Defines a unary op from its scalar forward, its VJP `(x, y, dy) => dx` and its JVP
 * `(x, y, ẋ) => ẏ` (forward mode; without one, forward mode uses the slower transposed-VJP fallback).
 * For an elementwise op both are the product with f'(x), so they are usually the same expression.
 */
export function defineUnary(name: string, f: (v: number) => number, vjp: UnaryVjp, jvp?: UnaryJvp): (x: Tensor) => Tensor {
  checkDefinition('defineUnary', name, f, vjp, jvp);
  return unaryOp(name, closureUnary(name, f), vjp, jvp, true);
}

/**
 * Defines a broadcasting binary op from its scalar forward, its VJP on equal shapes
 * `(a, b, y, dy, needs) => [da, db]` and its JVP `(a, b, y, ȧ, ḃ) => ẏ` (a null tangent is zero;
 * at least one is set; without a JVP, forward mode uses the slower transposed-VJP fallback).
 * The operands are broadcast to a common shape before the rules see them, so a rule written for
 * equal shapes stays correct (a user's `f` and rules may assume anything the old contract allowed).
 */
export function defineBinary(
  name: string, f: (u: number, v: number) => number, vjp: BinaryVjp, jvp?: BinaryJvp,
): (a: Operand, b: Operand) => Tensor {
  checkDefinition('defineBinary', name, f, vjp, jvp);
  const inner = binaryOp(name, closureBinary(name, f), vjp, jvp, true);
  const op = (a: Operand, b: Operand): Tensor => {
    let at = asTensor(a, b, name), bt = asTensor(b, at, name);
    commonDType(name, at, bt);
    if (!sameShape(at.shape, bt.shape)) {
      const shape = broadcastShapes(at.shape, bt.shape, name);
      at = broadcastTo(at, shape); bt = broadcastTo(bt, shape);
    }
    return inner(at, bt);
  };
  Object.defineProperty(op, 'name', { value: name });
  return op;
}

/** A built-in unary op: `f` compiled into its own loop (`scope`: the free names f's source uses). */
function builtinUnary(name: string, f: UnaryScalar, vjp: UnaryVjp, jvp: UnaryJvp, scope?: Record<string, unknown>): (x: Tensor) => Tensor {
  return unaryOp(name, compiledUnary(name, f, scope), vjp, jvp);
}
function builtinBinary(name: string, f: BinaryScalar, vjp: BinaryVjp, jvp: BinaryJvp): (a: Operand, b: Operand) => Tensor {
  return binaryOp(name, compiledBinary(name, f), vjp, jvp);
}

// ---------- binary ----------

/** u + v with null as zero (the sum of two optional tangent terms; at least one is set). */
function plus(u: Tensor | null, v: Tensor | null): Tensor {
  return u === null ? v! : v === null ? u : add(u, v);
}

/** a + b.  da = dy, db = dy;  ẏ = ȧ + ḃ */
export const add = builtinBinary('add', (u, v) => u + v, (_a, _b, _y, dy) => [dy, dy], (_a, _b, _y, da, db) => plus(da, db));
/** a − b.  da = dy, db = −dy;  ẏ = ȧ − ḃ */
export const sub = builtinBinary('sub', (u, v) => u - v, (_a, _b, _y, dy, needs) => [dy, needs[1] ? neg(dy) : null],
  (_a, _b, _y, da, db) => (db === null ? da! : da === null ? neg(db) : sub(da, db)));
/** a · b.  da = dy·b, db = dy·a;  ẏ = ȧ·b + a·ḃ */
export const mul = builtinBinary('mul', (u, v) => u * v, (a, b, _y, dy, needs) => [needs[0] ? mul(dy, b) : null, needs[1] ? mul(dy, a) : null],
  (a, b, _y, da, db) => plus(da && mul(da, b), db && mul(a, db)));
/** a / b.  da = dy/b, db = −dy·a/b² = −dy·y/b;  ẏ = (ȧ − y·ḃ)/b */
export const div = builtinBinary('div', (u, v) => u / v, (_a, b, y, dy, needs) => [
  needs[0] ? div(dy, b) : null,
  needs[1] ? neg(div(mul(dy, y), b)) : null,
], (_a, b, y, da, db) => div(db === null ? da! : da === null ? neg(mul(y, db)) : sub(da, mul(y, db)), b));

// 1 where maximum/minimum picks a (the NaN operand "wins"), else 0: the constant masks of their rules.
const pickMaxA = compiledBinary('maximumPicksA', (u, v) => (u >= v || u !== u ? 1 : 0));
const pickMinA = compiledBinary('minimumPicksA', (u, v) => (u <= v || u !== u ? 1 : 0));
/**
 * max(a, b), IEEE/PyTorch semantics: NaN on either side gives NaN (`maximum(NaN, 1)` and
 * `maximum(1, NaN)` are both NaN). NOTE: at a tie the gradient goes to `a`; where a is NaN it goes
 * to a, where only b is NaN to b (the NaN operand "wins").
 */
export const maximum = builtinBinary('maximum', (u, v) => (u >= v || u !== u ? u : v), (a, b, _y, dy, needs) => {
  const pickA = zipKernel(pickMaxA, a, b, 'maximum');
  return [needs[0] ? mul(dy, pickA) : null, needs[1] ? mul(dy, sub(1, pickA)) : null];
}, (a, b, _y, da, db) => pick(zipKernel(pickMaxA, a, b, 'maximum'), da, db)); // ẏ = ȧ where a is picked, else ḃ
/** min(a, b), NaN-propagating like {@link maximum}. NOTE: at a tie the gradient goes to `a`.  ẏ = ȧ where a is picked, else ḃ */
export const minimum = builtinBinary('minimum', (u, v) => (u <= v || u !== u ? u : v), (a, b, _y, dy, needs) => {
  const pickA = zipKernel(pickMinA, a, b, 'minimum');
  return [needs[0] ? mul(dy, pickA) : null, needs[1] ? mul(dy, sub(1, pickA)) : null];
}, (a, b, _y, da, db) => pick(zipKernel(pickMinA, a, b, 'minimum'), da, db));

/** keep·ȧ + (1 − keep)·ḃ for a constant 0/1 mask (null tangents are zero; one is set). */
function pick(keep: Tensor, da: Tensor | null, db: Tensor | null): Tensor {
  return plus(da && mul(da, keep), db && mul(db, sub(1, keep)));
}

/**
 * where(mask, a, b): a where mask ≠ 0, else b. The mask is a constant (no gradient); all three broadcast.
 * da = where(mask, dy, 0), db = where(mask, 0, dy);  ẏ = where(mask, ȧ, ḃ)
 */
export function where(mask: Tensor | ArrayLike<boolean | number>, a: Operand, b: Operand): Tensor {
  const op = 'where';
  const at = asTensor(a, b, op), bt = asTensor(b, at, op);
  commonDType(op, at, bt);
  if (!(mask instanceof Tensor) && !Array.isArray(mask) && !ArrayBuffer.isView(mask)) {
    throw new ValueError(op, `mask must be a Tensor, an array or a typed array; got ${describeValue(mask)}`);
  }
  const maskT = mask instanceof Tensor ? mask : fromData(Float64Array.from(mask as ArrayLike<number>, (v) => (v ? 1 : 0)), [(mask as ArrayLike<number>).length]);
  const shape = broadcastShapes(broadcastShapes(at.shape, bt.shape, op), maskT.shape, op);
  const n = sizeOf(shape);
  const da = at.data, db = bt.data, m = maskT.data;
  const out = allocate(at.dtype, n);
  const keepData = allocate(at.dtype, n); // the 0/1 mask of the rules (a plain loop, not a closure per element)
  if (da.length === n && db.length === n && m.length === n) {
    for (let i = 0; i < n; i++) {
      const k = m[i] !== 0;
      out[i] = k ? da[i]! : db[i]!;
      keepData[i] = k ? 1 : 0;
    }
  } else if (n > 0) {
    // broadcast by strides (0 along a broadcast dim), no broadcast copies: rows of the last dim,
    // the outer dims walked as a row-major multi-index
    const sa = broadcastStrides(at.shape, shape), sb = broadcastStrides(bt.shape, shape), sm = broadcastStrides(maskT.shape, shape);
    const rank = shape.length, len = shape[rank - 1]!, ja = sa[rank - 1]!, jb = sb[rank - 1]!, jm = sm[rank - 1]!;
    const idx = new Array<number>(Math.max(rank - 1, 0)).fill(0);
    let oa = 0, ob = 0, om = 0;
    for (let io = 0; io < n; io += len) {
      for (let j = 0; j < len; j++) {
        const k = m[om + j * jm] !== 0;
        out[io + j] = k ? da[oa + j * ja]! : db[ob + j * jb]!;
        keepData[io + j] = k ? 1 : 0;
      }
      for (let d = rank - 2; d >= 0; d--) {
        oa += sa[d]!; ob += sb[d]!; om += sm[d]!;
        if (++idx[d]! < shape[d]!) break;
        oa -= sa[d]! * shape[d]!; ob -= sb[d]! * shape[d]!; om -= sm[d]! * shape[d]!;
        idx[d] = 0;
      }
    }
  }
  const y = wrapTrusted(out, shape);
  const keep = wrapTrusted(keepData, shape);
  // gradients of broadcast operands are summed back to their shapes (what broadcastTo's VJP did)
  const back = (g: Tensor, like: Tensor): Tensor => (sameShape(g.shape, like.shape) ? g : sumTo(g, like.shape));
  return record(op, [at, bt], y, (dy, needs) => [needs[0] ? back(mul(dy, keep), at) : null, needs[1] ? back(mul(dy, sub(1, keep)), bt) : null],
    (t) => pick(keep, t[0]!, t[1]!));
}

/** Element strides of an operand of `opShape` broadcast to `shape` (right-aligned; 0 along broadcast dims). */
function broadcastStrides(opShape: Shape, shape: Shape): number[] {
  const own = stridesOf(opShape), off = shape.length - opShape.length;
  return shape.map((_, d) => (d < off || opShape[d - off] === 1 ? 0 : own[d - off]!));
}

// ---------- unary ----------

// An elementwise op's Jacobian is diag(f'(x)): its VJP and JVP are both the product with f'(x), so
// each op below passes one expression `(x, y, g) => g·f'(x)` as both (g = dy backwards, ẋ forwards).

const negD = (_x: Tensor, _y: Tensor, g: Tensor) => neg(g);
/** −x.  dx = −dy;  ẏ = −ẋ */
export const neg = builtinUnary('neg', (v) => -v, negD, negD);
const expD = (_x: Tensor, y: Tensor, g: Tensor) => mul(g, y);
/** eˣ.  dx = dy·y;  ẏ = ẋ·y */
export const exp = builtinUnary('exp', (v) => Math.exp(v), expD, expD);
const logD = (x: Tensor, _y: Tensor, g: Tensor) => div(g, x);
/** ln x (x > 0).  dx = dy/x;  ẏ = ẋ/x */
export const log = builtinUnary('log', (v) => Math.log(v), logD, logD);
const sqrtD = (_x: Tensor, y: Tensor, g: Tensor) => div(g, mul(y, 2));
/** √x.  dx = dy/(2y);  ẏ = ẋ/(2y) */
export const sqrt = builtinUnary('sqrt', (v) => Math.sqrt(v), sqrtD, sqrtD);
const squareD = (x: Tensor, _y: Tensor, g: Tensor) => mul(g, mul(x, 2));
/** x².  dx = 2x·dy;  ẏ = 2x·ẋ */
export const square = builtinUnary('square', (v) => v * v, squareD, squareD);
const signK = compiledUnary('sign', (v) => Math.sign(v));
const absD = (x: Tensor, _y: Tensor, g: Tensor) => mul(g, mapKernel(signK, x));
/** |x|.  dx = sign(x)·dy;  ẏ = sign(x)·ẋ.  NOTE: the subgradient at 0 is 0. */
export const abs = builtinUnary('abs', (v) => Math.abs(v), absD, absD);
const tanhD = (_x: Tensor, y: Tensor, g: Tensor) => mul(g, sub(1, square(y)));
/** tanh x.  dx = dy·(1 − y²);  ẏ = ẋ·(1 − y²) */
export const tanh = builtinUnary('tanh', (v) => Math.tanh(v), tanhD, tanhD);

/** Saturating logistic: never computes exp of a large positive number. */
export function stableSigmoid(v: number): number {
  if (typeof v !== 'number') throw new ValueError('stableSigmoid', `v must be a number; got ${describeValue(v)}`);
  if (v >= 0) return 1 / (1 + Math.exp(-v));
  const e = Math.exp(v);
  return e / (1 + e);
}
const sigmoidD = (_x: Tensor, y: Tensor, g: Tensor) => mul(g, mul(y, sub(1, y)));
/** σ(x) = 1/(1+e⁻ˣ), saturating.  dx = dy·y(1 − y);  ẏ = ẋ·y(1 − y) */
export const sigmoid = builtinUnary('sigmoid', (v) => stableSigmoid(v), sigmoidD, sigmoidD, { stableSigmoid });
const softplusD = (x: Tensor, _y: Tensor, g: Tensor) => mul(g, sigmoid(x));
/** softplus(x) = log(1+eˣ) = max(x,0) + log1p(e^−|x|).  dx = dy·σ(x);  ẏ = ẋ·σ(x) */
export const softplus = builtinUnary('softplus', (v) => Math.max(v, 0) + Math.log1p(Math.exp(-Math.abs(v))), softplusD, softplusD);
const reluMask = compiledUnary('reluMask', (v) => (v <= 0 ? 0 : 1));
const reluD = (x: Tensor, _y: Tensor, g: Tensor) => mul(g, mapKernel(reluMask, x));
/** max(x, 0); relu(NaN) = NaN (PyTorch).  dx = dy·[x > 0];  ẏ = ẋ·[x > 0].  NOTE: relu'(0) = 0; the gradient passes where x is NaN. */
export const relu = builtinUnary('relu', (v) => (v <= 0 ? 0 : v), reluD, reluD);
const siluD = (x: Tensor, _y: Tensor, g: Tensor) => {
  const s = sigmoid(x);
  return mul(g, mul(s, add(1, mul(x, sub(1, s)))));
};
/** x·σ(x).  dx = dy·σ(x)(1 + x(1 − σ(x)));  ẏ = ẋ·σ(x)(1 + x(1 − σ(x))) */
export const silu = builtinUnary('silu', (v) => v * stableSigmoid(v), siluD, siluD, { stableSigmoid });

/**
 * erf(x) by the all-positive series erf x = (2/√π)e^(−x²) Σ (2x²)ⁿ x/(2n+1)!! for |x| < 3 (no
 * alternating-sign cancellation: the alternating Taylor series lost ~2e-14 near x = 2.9, which finite
 * differences amplify to 1e-4 relative error in the gradient), a continued fraction for erfc beyond.
 * Within ~10 ulps but slow (up to ~50 serial terms): what `erfScalar` uses below 1/2 and tabulates from.
 */
function erfSeries(x: number): number {
  const ax = Math.abs(x);
  if (ax < 3) {
    const x2 = ax * ax;
    let term = ax, sum = ax;
    for (let n = 1; n < 200; n++) {
      term *= (2 * x2) / (2 * n + 1);
      sum += term;
      if (term < 1e-17 * sum) break;
    }
    return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * Math.exp(-x2) * sum;
  }
  // erfc x = e^(−x²)/√π · 1/(x + 1/2/(x + 1/(x + 3/2/(x + ...)))) (Lentz-free backward evaluation)
  let f = ax;
  for (let n = 60; n >= 1; n--) f = ax + (n / 2) / f;
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / f;
  return Math.sign(x) * (1 - erfc);
}

/**
 * Taylor coefficients of erf around the midpoints x0 = 0.75, 1.25, …, 5.75 of [0.5, 6) in steps of
 * 0.5, ERF_DEGREE + 1 per midpoint: a0 = erf(x0) (the series), a_k = erf⁽ᵏ⁾(x0)/k! with
 * erf⁽ᵏ⁾(x) = (2/√π)(−1)^(k−1) H_(k−1)(x) e^(−x²) and the Hermite recurrence H_(n+1) = 2x H_n − 2n H_(n−1).
 * On |x − x0| ≤ 1/4 the terms decrease, so Horner's rule is stable; degree 18 leaves no visible
 * truncation (degree 14 was off by 65 ulps at x = 0.5, 16 by ≤ 4): against 40-digit values the
 * polynomial is within 4 ulps, the series within 10, at ~19 serial multiply-adds instead of up to ~50
 * divisions (≈ 1.8× faster per call).
 */
const ERF_DEGREE = 18;
const ERF_TAYLOR: Float64Array = (() => {
  const out = new Float64Array(11 * (ERF_DEGREE + 1));
  for (let i = 0; i < 11; i++) {
    const x0 = 0.75 + 0.5 * i, c = (2 / Math.sqrt(Math.PI)) * Math.exp(-x0 * x0);
    out[i * (ERF_DEGREE + 1)] = erfSeries(x0);
    let hPrev = 0, h = 1, fact = 1; // H_(-1) unused, H_0 = 1
    for (let k = 1; k <= ERF_DEGREE; k++) {
      fact *= k;
      out[i * (ERF_DEGREE + 1) + k] = (k % 2 === 1 ? 1 : -1) * c * h / fact; // (−1)^(k−1) H_(k−1)
      const next = 2 * x0 * h - 2 * (k - 1) * hPrev;
      hPrev = h; h = next;
    }
  }
  return out;
})();

/**
 * erf(x) within a few ulps (≤ 6 against 40-digit values on a grid over [0, 7]; tested): the series
 * for |x| < 1/2 (≤ 15 terms, relative accuracy near 0), a degree-18 Taylor polynomial around the nearest of 11
 * midpoints for 1/2 ≤ |x| < 6 (see ERF_TAYLOR), ±1 beyond (erfc 6 = 2e-17 is below half an ulp of 1).
 * erf(±0) = ±0, erf(NaN) = NaN.
 */
export function erfScalar(x: number): number {
  if (typeof x !== 'number') throw new ValueError('erfScalar', `x must be a number; got ${describeValue(x)}`);
  const ax = Math.abs(x);
  if (ax < 0.5) return erfSeries(x);
  if (!(ax < 6)) return ax >= 6 ? Math.sign(x) : Number.NaN;
  const i = Math.floor((ax - 0.5) * 2), u = ax - (0.75 + 0.5 * i), o = i * (ERF_DEGREE + 1);
  let p = ERF_TAYLOR[o + ERF_DEGREE]!;
  for (let k = ERF_DEGREE - 1; k >= 0; k--) p = p * u + ERF_TAYLOR[o + k]!;
  return x < 0 ? -p : p;
}
/**
 * erfc(x) = 1 − erf(x) without the cancellation of `1 − erf(x)` for large x: the continued fraction
 * for |x| ≥ 2 (60 terms give ~1 ulp there), 1 − erf(x) below (erfc ≥ 0.0047, so no digits are lost).
 */
export function erfcScalar(x: number): number {
  if (typeof x !== 'number') throw new ValueError('erfcScalar', `x must be a number; got ${describeValue(x)}`);
  if (x < 0) return 2 - erfcScalar(-x);
  if (x < 2) return 1 - erfScalar(x);
  let f = x;
  for (let n = 60; n >= 1; n--) f = x + (n / 2) / f;
  return Math.exp(-x * x) / Math.sqrt(Math.PI) / f;
}
const erfD = (x: Tensor, _y: Tensor, g: Tensor) => mul(g, mul(exp(neg(square(x))), 2 / Math.sqrt(Math.PI)));
/** erf x.  dx = dy·(2/√π)e^(−x²);  ẏ = ẋ·(2/√π)e^(−x²) */
export const erf = builtinUnary('erf', (v) => erfScalar(v), erfD, erfD, { erfScalar });

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const GELU_C = 0.044715;
/** |x| from which tanh(√(2/π)(x + 0.044715x³)) rounds to ±1 exactly (the argument exceeds 19.06 from |x| ≈ 9). */
const GELU_TANH_SATURATION = 30;
const geluTanhD = (x: Tensor, _y: Tensor, g: Tensor) => {
  // Evaluated at x clamped to ±GELU_TANH_SATURATION, where tanh is exactly ±1 in float64, so the
  // formula is unchanged for |x| below it and gives 0.5(1 + sign x) beyond — instead of
  // x·(1 − t²)·du = huge·0·∞ = NaN once x³ or x² overflow (|x| ≳ 1e103 / 1e154).
  const xc = minimum(maximum(x, -GELU_TANH_SATURATION), GELU_TANH_SATURATION);
  const t = tanh(mul(add(xc, mul(pow(xc, 3), GELU_C)), SQRT_2_OVER_PI));
  const du = mul(add(mul(square(xc), 3 * GELU_C), 1), SQRT_2_OVER_PI);
  return mul(g, add(mul(add(t, 1), 0.5), mul(mul(xc, sub(1, square(t))), mul(du, 0.5))));
};
/** GELU, tanh approximation: 0.5x(1 + tanh(√(2/π)(x + 0.044715x³))).
 *  dx = dy·g'(x), ẏ = ẋ·g'(x) with g'(x) = 0.5(1+t) + 0.5x(1−t²)·√(2/π)(1 + 3·0.044715x²) */
export const geluTanh = builtinUnary('geluTanh',
  (v) => 0.5 * v * (1 + Math.tanh(SQRT_2_OVER_PI * (v + GELU_C * v * v * v))), geluTanhD, geluTanhD, { SQRT_2_OVER_PI, GELU_C });

const geluErfD = (x: Tensor, _y: Tensor, g: Tensor) => {
  const cdf = mul(add(erf(mul(x, 1 / Math.SQRT2)), 1), 0.5);
  const pdf = mul(exp(mul(square(x), -0.5)), 1 / Math.sqrt(2 * Math.PI));
  return mul(g, add(cdf, mul(x, pdf)));
};
/**
 * GELU, exact: x·Φ(x) with Φ the standard normal CDF, Φ(x) = erfc(−x/√2)/2 (accurate in relative
 * terms for negative x, where 1 + erf(x/√2) would cancel).  dx = dy·(Φ(x) + x·φ(x));  ẏ = ẋ·(Φ(x) + x·φ(x))
 */
export const geluErf = builtinUnary('geluErf', (v) => 0.5 * v * erfcScalar(-v / Math.SQRT2), geluErfD, geluErfD, { erfcScalar });
/** GELU: `gelu(x)` is the exact erf form; pass `'tanh'` for the tanh approximation. */
export function gelu(x: Tensor, approximate: 'none' | 'tanh' = 'none'): Tensor {
  if (typeof x !== 'number') assertTensor(x, 'gelu', 'x');
  if (approximate !== 'none' && approximate !== 'tanh') throw new ValueError('gelu', `approximate must be 'none' or 'tanh'; got ${describeValue(approximate)}`);
  return approximate === 'tanh' ? geluTanh(x) : geluErf(x);
}

/** x^p for a constant exponent p.  dx = dy·p·x^(p−1);  ẏ = ẋ·p·x^(p−1).  Non-integer p needs x > 0. */
export function pow(x: Tensor, p: number): Tensor {
  const op = 'pow';
  const xt = asTensor(x, x, op);
  checkNumber(op, 'exponent p', p);
  const y = mapKernel(powK, xt, p);
  const powD = (g: Tensor) => (p === 0 ? mul(g, 0) : mul(g, mul(pow(xt, p - 1), p)));
  return recordOp(op, [xt], y, (dy) => [powD(dy)], (t) => powD(t[0]!));
}
const powK = compiledUnary('pow', (v, p) => Math.pow(v, p));

/** c·x for a constant c (cheaper than mul with broadcasting). dx = c·dy;  ẏ = c·ẋ */
export function scale(x: Tensor, c: number): Tensor {
  if (typeof c !== 'number') throw new ValueError('scale', `c must be a number; got ${describeValue(c)}`);
  assertTensor(x, 'scale', 'x');
  const y = mapKernel(scaleK, x, c);
  return recordOp('scale', [x], y, (dy) => [scale(dy, c)], (t) => scale(t[0]!, c));
}
const scaleK = compiledUnary('scale', (v, c) => v * c);

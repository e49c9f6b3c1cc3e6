/**
 * Elementwise loops V8 can optimise, and broadcasting by strides.
 *
 * Why generated: a shared loop `for (i) out[i] = f(a[i], b[i])` that every op calls with its own `f`
 * sees many targets at the call site, so V8 cannot inline `f` and pays a real call per element
 * (measured 19–30 ns/element for `add` on [8192, 512] vs 3–4 ns for a loop written for `add`; issue 15).
 * Writing each loop by hand would mean ~25 ops × 4 broadcast modes of copied loops. Instead each
 * built-in op is still defined once, as a scalar arrow function next to its VJP/JVP in arithmetic.ts,
 * and {@link compiledUnary}/{@link compiledBinary} compile that arrow's source (`Function.prototype.toString`) into a loop
 * of its own with `new Function` — one per op and per dtype, so every loop stays monomorphic (one
 * callee, one typed-array class). The compiled loop is checked against the arrow on special values
 * (±0, ±∞, NaN, subnormals, ...) before it is used, bit for bit; if `new Function` is refused (a
 * browser CSP without 'unsafe-eval'), the source does not compile or the check fails (a bundler
 * renamed a free identifier, a coverage tool instrumented the arrow), the op silently uses the
 * closure loop — the same results, slower. User ops (`defineUnary`/`defineBinary`) always use the
 * closure loop: their functions may close over variables the generated code cannot see.
 *
 * A unary loop runs over one contiguous line. A binary loop runs over a 2-d block,
 * `out[io + r·n + j] = f(a[ia + r·sa0 + j·sa1], b[ib + r·sb0 + j·sb1], p)`, with fast inner
 * branches for (sa1, sb1) = (1, 1), (1, 0) and (0, 1) (equal shapes, a scalar or column operand,
 * a row operand) and a strided one otherwise. {@link broadcastBinary} coalesces the broadcast layout
 * into as few dims as possible and calls the block loop once per innermost 2-d block (once in all
 * for rank ≤ 2 after coalescing), so broadcasting never materialises a broadcast copy.
 * `p` is a per-call constant (the exponent of `pow`, the factor of `scale`); other ops ignore it.
 */
import type { TypedArray, DType } from '../tensor.js';
import type { Shape } from '../shape.js';

/** out[io + j] = f(x[ix + j], p) for j < n. */
export type UnaryLine = (x: TypedArray, ix: number, out: TypedArray, io: number, n: number, p: number) => void;
/**
 * A 2-d block: out[io + r·n + j] = f(a[ia + r·sa0 + j·sa1], b[ib + r·sb0 + j·sb1], p) for r < rows,
 * j < n (rows = 1 for a single line).
 */
export type BinaryLine = (
  a: TypedArray, ia: number, sa0: number, sa1: number, b: TypedArray, ib: number, sb0: number, sb1: number,
  out: TypedArray, io: number, rows: number, n: number, p: number,
) => void;

export type UnaryScalar = (v: number, p: number) => number;
export type BinaryScalar = (u: number, v: number, p: number) => number;

/** An op's loops, one per output dtype (compiled lazily on first use). */
export interface Kernel<L> {
  readonly name: string;
  line(dtype: DType): L;
  /** True when the compiled (monomorphic) loops are in use, false on the closure fallback. */
  compiled(): boolean;
}

/** The closure loops: one call of `f` per element (user ops, and the fallback of built-ins). */
function closureUnaryLine(f: UnaryScalar): UnaryLine {
  return (x, ix, out, io, n, p) => { for (let j = 0; j < n; j++) out[io + j] = f(x[ix + j]!, p); };
}
function closureBinaryLine(f: BinaryScalar): BinaryLine {
  return (a, ia, sa0, sa1, b, ib, sb0, sb1, out, io, rows, n, p) => {
    for (let r = 0; r < rows; r++, ia += sa0, ib += sb0, io += n) {
      for (let j = 0; j < n; j++) out[io + j] = f(a[ia + j * sa1]!, b[ib + j * sb1]!, p);
    }
  };
}

// The loop bodies compiled around an op's scalar function `f`. Kept as plain strings so that the
// whole template can be read here; `f` is a local constant of the generated function, so the call
// site sees one target and V8 inlines it.
const UNARY_SOURCE = `
return function unaryLine(x, ix, out, io, n, p) {
  for (let j = 0; j < n; j++) out[io + j] = f(x[ix + j], p);
};`;
// The inner-stride case is decided once per block, not once per row; short rows (a [10⁴, 3] op [3]
// block is 10⁴ rows of 3, where per-row loop set-up cost more than the three elements) run as one
// flat loop.
const BINARY_SOURCE = `
return function binaryBlock(a, ia, sa0, sa1, b, ib, sb0, sb1, out, io, rows, n, p) {
  if (n < 16 && rows > 1) {
    // short rows ([10⁴, 3] op [3]): one flat loop with running offsets, no loop set-up per row
    const total = rows * n, da = sa0 - n * sa1, db = sb0 - n * sb1;
    for (let i = 0, j = 0; i < total; i++) {
      out[io + i] = f(a[ia], b[ib], p);
      ia += sa1; ib += sb1;
      if (++j === n) { j = 0; ia += da; ib += db; }
    }
  } else if (sa1 === 1 && sb1 === 1) {
    for (let r = 0; r < rows; r++, ia += sa0, ib += sb0, io += n) {
      for (let j = 0; j < n; j++) out[io + j] = f(a[ia + j], b[ib + j], p);
    }
  } else if (sb1 === 0 && sa1 === 1) {
    for (let r = 0; r < rows; r++, ia += sa0, ib += sb0, io += n) {
      const v = b[ib];
      for (let j = 0; j < n; j++) out[io + j] = f(a[ia + j], v, p);
    }
  } else if (sa1 === 0 && sb1 === 1) {
    for (let r = 0; r < rows; r++, ia += sa0, ib += sb0, io += n) {
      const u = a[ia];
      for (let j = 0; j < n; j++) out[io + j] = f(u, b[ib + j], p);
    }
  } else {
    for (let r = 0; r < rows; r++, ia += sa0, ib += sb0, io += n) {
      for (let j = 0; j < n; j++) out[io + j] = f(a[ia + j * sa1], b[ib + j * sb1], p);
    }
  }
};`;

/** Values the compiled loop must reproduce bit for bit (Object.is) before it is trusted. */
const PROBE = [0, -0, 1, -1, 0.5, -2.5, 3, 1e-310, -1e-310, 1e300, -1e300, 40, -40, Infinity, -Infinity, NaN, 0.1, 7.25];
const PROBE_P = 2.5;

/** Set by tests (and by environments that want the reference loops): skip compilation. */
let compileEnabled = true;
/** Internal/testing: turns the compiled kernels off (true → on). Kernels already compiled are rebuilt. */
export function setCompiledKernels(on: boolean): void {
  compileEnabled = on;
  generation++;
}
let generation = 0;

type Scope = Readonly<Record<string, unknown>>;

/** Compiles `f` into the loop template, once per call (so each dtype gets its own function). */
function compileLine<L>(template: string, f: Function, scope: Scope): L | null {
  try {
    const names = Object.keys(scope);
    const body = `'use strict';\nconst f = (${f.toString()});\n${template}`;
    // eslint-disable-next-line @typescript-eslint/no-implied-eval, no-new-func
    const make = new Function(...names, body) as (...args: unknown[]) => L;
    return make(...names.map((k) => scope[k]));
  } catch {
    return null; // CSP refuses eval, or the source does not stand alone: use the closure loop
  }
}

function sameBits(x: TypedArray, y: TypedArray): boolean {
  for (let i = 0; i < x.length; i++) if (!Object.is(x[i], y[i])) return false;
  return true;
}

function arrayOf(dtype: DType, n: number): TypedArray {
  return dtype === 'float32' ? new Float32Array(n) : new Float64Array(n);
}

/** Checks a compiled unary loop against the closure loop on {@link PROBE}. */
function unaryAgrees(line: UnaryLine, f: UnaryScalar, dtype: DType): boolean {
  try {
    const x = arrayOf(dtype, PROBE.length); x.set(PROBE);
    const want = arrayOf(dtype, x.length), got = arrayOf(dtype, x.length);
    closureUnaryLine(f)(x, 0, want, 0, x.length, PROBE_P);
    line(x, 0, got, 0, x.length, PROBE_P);
    return sameBits(want, got);
  } catch {
    return false;
  }
}

/** Checks a compiled binary loop against the closure loop on all PROBE pairs, in every stride branch. */
function binaryAgrees(line: BinaryLine, f: BinaryScalar, dtype: DType): boolean {
  try {
    const m = PROBE.length, a = arrayOf(dtype, m * m), b = arrayOf(dtype, m * m);
    for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) { a[i * m + j] = PROBE[i]!; b[i * m + j] = PROBE[j]!; }
    const ref = closureBinaryLine(f);
    const want = arrayOf(dtype, m * m), got = arrayOf(dtype, m * m);
    // [sa0, sa1, sb0, sb1, rows, n]: all pairs contiguous; every probe value as the broadcast
    // scalar of a row on either side; row-broadcast blocks; a strided block.
    // Short rows (n < 16) take the flat loop: a row operand, a column operand, both strided.
    const r3 = Math.floor((m * m) / 3);
    const calls: [number, number, number, number, number, number][] = [
      [0, 1, 0, 1, 1, m * m], [m, 1, 1, 0, m, m], [1, 0, m, 1, m, m], [m, 1, 0, 1, m, m], [0, 2, 0, 3, 1, Math.floor((m * m) / 3)],
      [3, 1, 0, 1, r3, 3], [3, 1, 1, 0, r3, 3], [1, 0, 3, 1, r3, 3], [2, 1, 3, 1, Math.floor(r3 / 2), 2],
    ];
    for (const [sa0, sa1, sb0, sb1, rows, n] of calls) {
      ref(a, 0, sa0, sa1, b, 0, sb0, sb1, want, 0, rows, n, PROBE_P);
      line(a, 0, sa0, sa1, b, 0, sb0, sb1, got, 0, rows, n, PROBE_P);
      if (!sameBits(want, got)) return false;
    }
    return true;
  } catch {
    return false;
  }
}

function makeKernel<L, F extends Function>(
  name: string, f: F, scope: Scope | null, template: string, closure: (f: F) => L, agrees: (line: L, f: F, dtype: DType) => boolean,
): Kernel<L> {
  let lines: { f32: L; f64: L } | null = null;
  let isCompiled = false;
  let builtAt = -1;
  const build = () => {
    const fallback = closure(f);
    isCompiled = false;
    lines = { f32: fallback, f64: fallback };
    if (scope !== null && compileEnabled) {
      const f32 = compileLine<L>(template, f, scope), f64 = compileLine<L>(template, f, scope);
      if (f32 !== null && f64 !== null && agrees(f32, f, 'float32') && agrees(f64, f, 'float64')) {
        lines = { f32, f64 };
        isCompiled = true;
      }
    }
    builtAt = generation;
    return lines;
  };
  const kernel: Kernel<L> = {
    name,
    line: (dtype) => {
      const l = lines !== null && builtAt === generation ? lines : build();
      return dtype === 'float32' ? l.f32 : l.f64;
    },
    compiled: () => { if (lines === null || builtAt !== generation) build(); return isCompiled; },
  };
  if (scope !== null) BUILTIN_KERNELS.push(kernel as Kernel<unknown>);
  return kernel;
}

const BUILTIN_KERNELS: Kernel<unknown>[] = [];
/** Internal/testing: the built-in kernels made so far, and whether each runs compiled (`compiled()` builds it). */
export function builtinKernels(): readonly Kernel<unknown>[] {
  return BUILTIN_KERNELS;
}

/**
 * The unary kernel of a built-in op: `f`'s source compiled into a monomorphic loop. `scope` names
 * every free identifier `f`'s source uses besides globals like `Math` (e.g. `{ stableSigmoid }`).
 */
export function compiledUnary(name: string, f: UnaryScalar, scope: Scope = {}): Kernel<UnaryLine> {
  return makeKernel(name, f, scope, UNARY_SOURCE, closureUnaryLine, unaryAgrees);
}
/** The binary kernel of a built-in op (see {@link compiledUnary}). */
export function compiledBinary(name: string, f: BinaryScalar, scope: Scope = {}): Kernel<BinaryLine> {
  return makeKernel(name, f, scope, BINARY_SOURCE, closureBinaryLine, binaryAgrees);
}
/** The kernel of a user op: the closure loop (its `f` may close over anything). */
export function closureUnary(name: string, f: UnaryScalar): Kernel<UnaryLine> {
  return makeKernel(name, f, null, UNARY_SOURCE, closureUnaryLine, unaryAgrees);
}
export function closureBinary(name: string, f: BinaryScalar): Kernel<BinaryLine> {
  return makeKernel(name, f, null, BINARY_SOURCE, closureBinaryLine, binaryAgrees);
}

/** out[i] = f(x[i], p) over all of x (tensors are contiguous). */
export function runUnary(k: Kernel<UnaryLine>, x: TypedArray, out: TypedArray, dtype: DType, p = 0): void {
  k.line(dtype)(x, 0, out, 0, x.length, p);
}

/**
 * out = f(a, b) broadcast NumPy-style to `shape` (already checked by the caller), without copying
 * either operand: equal sizes and scalar operands are one line; otherwise the layout is coalesced
 * (see {@link broadcastLayout}) and the line loop runs once per innermost row.
 */
export function broadcastBinary(
  k: Kernel<BinaryLine>, a: TypedArray, aShape: Shape, b: TypedArray, bShape: Shape, shape: Shape, out: TypedArray, dtype: DType, p = 0,
): void {
  const n = out.length, block = k.line(dtype);
  if (n === 0) return;
  const na = a.length, nb = b.length;
  if (na === n && nb === n) { block(a, 0, 0, 1, b, 0, 0, 1, out, 0, 1, n, p); return; }
  if (nb === 1 && na === n) { block(a, 0, 0, 1, b, 0, 0, 0, out, 0, 1, n, p); return; }
  if (na === 1 && nb === n) { block(a, 0, 0, 0, b, 0, 0, 1, out, 0, 1, n, p); return; }
  const { dims, sa, sb } = broadcastLayout(aShape, bShape, shape);
  const r = dims.length;
  if (r === 1) { block(a, 0, 0, sa[0]!, b, 0, 0, sb[0]!, out, 0, 1, dims[0]!, p); return; }
  // One call per innermost 2-d block ([n, k] op [n, 1] is one call, not n); the outer r−2 dims are
  // walked as a row-major multi-index, keeping both operands' offsets.
  const rows = dims[r - 2]!, len = dims[r - 1]!, blockSize = rows * len;
  const sa0 = sa[r - 2]!, sa1 = sa[r - 1]!, sb0 = sb[r - 2]!, sb1 = sb[r - 1]!;
  const idx = new Array<number>(Math.max(r - 2, 0)).fill(0);
  let offA = 0, offB = 0;
  for (let io = 0; io < n; io += blockSize) {
    block(a, offA, sa0, sa1, b, offB, sb0, sb1, out, io, rows, len, p);
    let d = r - 3;
    for (; d >= 0; d--) {
      offA += sa[d]!; offB += sb[d]!;
      if (++idx[d]! < dims[d]!) break;
      offA -= sa[d]! * dims[d]!; offB -= sb[d]! * dims[d]!;
      idx[d] = 0;
    }
  }
}

/**
 * The broadcast of a and b to `shape` as element strides (0 along broadcast dims), with size-1 dims
 * dropped and adjacent dims merged wherever both operands stay linear across them
 * (s[d] = s[d+1]·dims[d+1] for both): [M, N] + [N] becomes dims [M, N], strides a [N, 1], b [0, 1];
 * [B, M, N] + [B, M, N] would be one dim. Never empty (a scalar layout is dims [1]).
 */
export function broadcastLayout(aShape: Shape, bShape: Shape, shape: Shape): { dims: number[]; sa: number[]; sb: number[] } {
  const rank = shape.length;
  const dims: number[] = [], sa: number[] = [], sb: number[] = [];
  let strideA = 1, strideB = 1;
  // from the innermost dim outwards, building the merged dims in reverse
  for (let d = rank - 1; d >= 0; d--) {
    const size = shape[d]!;
    if (size === 1) continue;
    const da = aShape[d - (rank - aShape.length)] ?? 1, db = bShape[d - (rank - bShape.length)] ?? 1;
    const stA = da === 1 ? 0 : strideA, stB = db === 1 ? 0 : strideB;
    strideA *= da; strideB *= db;
    const last = dims.length - 1;
    if (last >= 0 && stA === sa[last]! * dims[last]! && stB === sb[last]! * dims[last]!) {
      dims[last]! *= size; // linear across both dims for both operands: one longer dim
    } else {
      dims.push(size); sa.push(stA); sb.push(stB);
    }
  }
  if (dims.length === 0) return { dims: [1], sa: [0], sb: [0] };
  return { dims: dims.reverse(), sa: sa.reverse(), sb: sb.reverse() };
}

const accumulateK = compiledBinary('accumulate', (u, v) => u + v);
/**
 * Internal (the backward walk): acc ← acc + x elementwise, in place, for equal-sized buffers of one
 * dtype — the values `add(acc, x)` would give, without a new buffer.
 */
export function addInto(acc: TypedArray, x: TypedArray, dtype: DType): void {
  accumulateK.line(dtype)(acc, 0, 0, 1, x, 0, 0, 1, acc, 0, 1, acc.length, 0);
}

/**
 * Tensor: an immutable n-d array of float64 (default) or float32 values, row-major.
 * Tensors never carry `.grad`; gradients come from the functional API (`grad`, `valueAndGrad`, `vjp`).
 */
import { DTypeError, ShapeError, ValueError, fmtShape } from './errors.js';
import { type Shape, sizeOf, checkShape } from './shape.js';
import type { Rng } from './rng.js';
import { formatTensor } from './format.js';
import { poolMinBytes, takePooled, journalAllocation, noteWrap } from './buffer-pool.js';
import { checkDType, checkTensor, checkNumber, checkCountIn, describeValue, MAX_COUNT } from './validate.js';

/** Node's `util.inspect.custom` (a registered symbol, so no `node:util` import is needed; browser-safe). */
const INSPECT: unique symbol = Symbol.for('nodejs.util.inspect.custom') as never;

/** Element type of a tensor: IEEE-754 double (the default; gradchecks need it) or single precision. */
export type DType = 'float64' | 'float32';
/** The backing buffer of a tensor: `Float64Array` for float64, `Float32Array` for float32. */
export type TypedArray = Float64Array | Float32Array;

/** Nested number arrays accepted by `tensor()`. */
export type NestedArray = number | readonly NestedArray[];

let nextId = 0;

/**
 * An immutable n-d array of float64 (default) or float32 values, row-major (C order). Ops never
 * mutate a tensor; tensors never carry `.grad` — gradients come from the functional API
 * ({@link grad}, {@link valueAndGrad}, {@link vjp}), as in JAX.
 *
 * Create tensors with the factories ({@link tensor}, {@link zeros}, {@link ones}, {@link full},
 * {@link arange}, {@link randn}, {@link rand}); read them with {@link Tensor.toArray},
 * {@link Tensor.toNested}, {@link Tensor.item}, {@link Tensor.get}; print them with `console.log(t)`
 * or `String(t)` (PyTorch style, see {@link formatTensor}).
 *
 * @example
 * const t = tensor([[1, 2], [3, 4]]);  // shape [2, 2], float64
 * t.get(1, 0);                          // 3
 * console.log(t);
 * // tensor([[1., 2.],
 * //         [3., 4.]], shape=[2, 2], dtype=float64)
 */
export class Tensor {
  /** Dimensions, frozen (`[]` for a 0-d tensor). */
  readonly shape: Shape;
  /** Element type: `'float64'` or `'float32'` (from the backing buffer). */
  readonly dtype: DType;
  /** Unique id, handy for debugging and graph printing. */
  readonly id: number;
  readonly #data: TypedArray;

  /** Internal: wraps `data` without copying. Use the factories (`tensor`, `zeros`, ...) instead. */
  constructor(data: TypedArray, shape: Shape) {
    if (trustNext) {
      // wrapTrusted: the engine made `data` for `shape` itself, so the checks below cannot fail;
      // skipping them (and the shape copy, for a shape that is already frozen) is most of the
      // per-op overhead on small tensors.
      trustNext = false;
      noteWrap(data);
      this.#data = data;
      this.shape = Object.isFrozen(shape) ? shape : Object.freeze(shape.slice());
      this.dtype = data instanceof Float32Array ? 'float32' : 'float64';
      this.id = nextId++;
      return;
    }
    if (!(data instanceof Float64Array || data instanceof Float32Array)) {
      throw new DTypeError('Tensor', `data must be a Float64Array or Float32Array; got ${describeValue(data)}`);
    }
    if (!Array.isArray(shape)) throw new ShapeError('Tensor', `shape must be an array of non-negative integers; got ${describeValue(shape)}`);
    checkShape(shape, 'Tensor');
    if (data.length !== sizeOf(shape)) {
      throw new ShapeError('Tensor', `data has ${data.length} elements but shape ${fmtShape(shape)} needs ${sizeOf(shape)}`);
    }
    noteWrap(data);
    this.#data = data;
    this.shape = Object.freeze(shape.slice());
    this.dtype = data instanceof Float32Array ? 'float32' : 'float64';
    this.id = nextId++;
  }

  /** Number of elements, the product of `shape` (1 for a 0-d tensor). */
  get size(): number { return this.#data.length; }
  /** Number of dimensions, `shape.length` (0 for a scalar). */
  get rank(): number { return this.shape.length; }

  /**
   * Internal: the backing buffer. Ops read it; nobody may write to it after construction. A small
   * tensor's buffer is a view into a shared slab (see `allocate`): use its byteOffset/byteLength,
   * and never transfer or detach `data.buffer` (copy the values instead).
   */
  get data(): TypedArray { return this.#data; }

  /** A flat copy of the values. */
  toArray(): number[] { return Array.from(this.data); }

  /** Values as nested arrays matching `shape` (a number for a scalar). */
  toNested(): NestedArray {
    const data = this.data;
    const build = (dim: number, offset: number): NestedArray => {
      if (dim === this.shape.length) return data[offset]!;
      const n = this.shape[dim]!;
      const step = sizeOf(this.shape.slice(dim + 1));
      const out: NestedArray[] = [];
      for (let i = 0; i < n; i++) out.push(build(dim + 1, offset + i * step));
      return out;
    };
    return build(0, 0);
  }

  /** The single value of a one-element tensor. */
  item(): number {
    if (this.#data.length !== 1) throw new ShapeError('item', `expected a tensor with one element; got shape ${fmtShape(this.shape)}`);
    return this.data[0]!;
  }

  /** Value at a multi-index (negative indices not allowed). */
  get(...index: number[]): number {
    if (index.length !== this.shape.length) throw new ShapeError('get', `expected ${this.shape.length} indices; got ${index.length}`);
    let off = 0;
    for (let i = 0; i < index.length; i++) {
      const d = this.shape[i]!; const k = index[i]!;
      if (!Number.isInteger(k) || k < 0 || k >= d) throw new ShapeError('get', `index ${fmtShape(index)} out of range for shape ${fmtShape(this.shape)}`);
      off = off * d + k;
    }
    return this.data[off]!;
  }

  /**
   * The values, shape and dtype, printed like PyTorch (summarised with `...` above 1000 elements):
   * `tensor([[1.0000, 2.5000],\n        [3.0000, 4.0000]], shape=[2, 2], dtype=float64)`.
   * See {@link formatTensor} for the rules and for other print options.
   */
  toString(): string {
    return formatTensor(this);
  }

  /**
   * Node's `util.inspect` hook (`console.log(t)`, the REPL): the same text as {@link Tensor.toString}.
   * Nested deeper than `util.inspect`'s `depth`, a tensor prints as `Tensor([2, 2], float64)`.
   */
  [INSPECT](depth: number): string {
    if (releasedTensors.has(this)) return `Tensor(${fmtShape(this.shape)}, ${this.dtype}, released by valueAndGrad's reuseIntermediates)`;
    return depth < 0 ? `Tensor(${fmtShape(this.shape)}, ${this.dtype})` : formatTensor(this);
  }
}

/** Tensors whose buffer went back to the pool (see {@link releaseTensor}). */
const releasedTensors = new WeakSet<Tensor>();

/**
 * Internal (engine/intermediate-reuse.ts): marks an intermediate of a traced call whose buffer went
 * back to the buffer pool. Reading its values from then on throws a ValueError naming `op`, instead
 * of returning numbers that a later op may have overwritten.
 */
export function releaseTensor(t: Tensor, op: string): void {
  releasedTensors.add(t);
  Object.defineProperty(t, 'data', {
    configurable: true,
    get(): never {
      throw new ValueError(op, `this ${fmtShape(t.shape)} ${t.dtype} tensor was made inside the function differentiated with { reuseIntermediates: true } and its buffer was reused after the backward walk; return it from the function, keep a copy made inside it (stopGradient(t) keeps the buffer alive), or drop the option`);
    },
  });
}

/** Set by {@link wrapTrusted} for the one constructor call it makes. */
let trustNext = false;

/**
 * Internal (engine ops): wraps a buffer the op has just allocated for `shape` — a valid shape whose
 * size is `data.length` — without re-validating either. Public entry points validate instead.
 * A frozen `shape` (another tensor's) is shared; any other is copied and frozen, as usual.
 */
export function wrapTrusted(data: TypedArray, shape: Shape): Tensor {
  trustNext = true;
  return new Tensor(data, shape);
}

/**
 * Small buffers come from shared slabs. V8 keeps a typed array of at most 64 bytes inside the JS
 * heap (cheap), but gives every larger one its own off-heap ArrayBuffer, which measured 0.6–1.2 µs
 * each in Node 20 (a [16] float64 tensor) against ~50 ns for a view into an existing buffer — most
 * of the time of a chain of small elementwise ops. So buffers of 65 B–1 KiB are carved, 8-byte
 * aligned, from 16 KiB slabs (zeroed by the ArrayBuffer constructor, never reused, so each carved
 * buffer starts at zero like a fresh one). The cost: `data.buffer` of such a tensor is the slab
 * (use byteOffset/byteLength), and a small tensor that outlives its neighbours keeps its whole
 * slab alive (≤ 16 KiB; copy long-lived small tensors you keep by the million).
 */
const IN_HEAP_BYTES = 64;
const SLAB_MAX_BYTES = 1024;
const SLAB_BYTES = 16384;
let slab = new ArrayBuffer(0);
let slabUsed = 0;
function fromSlab(dtype: DType, n: number, bytes: number): TypedArray {
  if (slabUsed + bytes > slab.byteLength) { slab = new ArrayBuffer(SLAB_BYTES); slabUsed = 0; }
  const at = slabUsed;
  slabUsed += (bytes + 7) & ~7;
  return dtype === 'float32' ? new Float32Array(slab, at, n) : new Float64Array(slab, at, n);
}

/** Allocates a zero-filled buffer of the given dtype (large ones may be reused dead gradient buffers: engine/buffer-pool.ts). */
export function allocate(dtype: DType, n: number): TypedArray {
  return allocateBuffer(dtype, n, true);
}

/**
 * Internal (engine and MoE kernels): {@link allocate} for an output the caller overwrites in full
 * before anyone reads it — a reused pooled buffer is handed out with its old values instead of
 * being zero-filled first (a pass over 8–16 MB per [8192, 512] buffer of the MoE step). Fresh
 * memory is zero anyway. Never for an output that is accumulated into or written only in part.
 */
export function allocateUninit(dtype: DType, n: number): TypedArray {
  return allocateBuffer(dtype, n, false);
}

function allocateBuffer(dtype: DType, n: number, zero: boolean): TypedArray {
  if (dtype !== 'float64' && dtype !== 'float32') checkDType('allocate', dtype);
  if (!(Number.isInteger(n) && n >= 0 && n <= MAX_COUNT)) checkCountIn('allocate', 'length', n, 0, MAX_COUNT);
  const bytes = dtype === 'float32' ? 4 * n : 8 * n;
  const pooled = bytes >= poolMinBytes(); // ≥ 16 KiB (tests lower it)
  if (!pooled && bytes > IN_HEAP_BYTES && bytes <= SLAB_MAX_BYTES) return fromSlab(dtype, n, bytes);
  try {
    if (!pooled) return dtype === 'float32' ? new Float32Array(n) : new Float64Array(n);
    // large: a dead gradient buffer of the same size if the backward walk left one (engine/buffer-pool.ts)
    const buf = takePooled(dtype, n, zero) ?? (dtype === 'float32' ? new Float32Array(n) : new Float64Array(n));
    journalAllocation(buf);
    return buf;
  } catch (e) {
    throw new ValueError('allocate', `cannot allocate ${n} ${dtype} elements (${e instanceof Error ? e.message : String(e)})`);
  }
}

/** Wraps freshly computed data as a tensor (no copy). */
export function fromData(data: TypedArray, shape: Shape): Tensor {
  if (!(data instanceof Float64Array || data instanceof Float32Array)) throw new DTypeError('fromData', `data must be a Float64Array or Float32Array; got ${describeValue(data)}`);
  checkShape(shape, 'fromData');
  if (data.length !== sizeOf(shape)) throw new ShapeError('fromData', `data has ${data.length} elements but shape ${fmtShape(shape)} needs ${sizeOf(shape)}`);
  return wrapTrusted(data, shape); // checked above: the constructor need not check again
}

function inferShape(value: NestedArray, op: string): number[] {
  const shape: number[] = [];
  let v: NestedArray = value;
  while (Array.isArray(v)) {
    shape.push(v.length);
    if (v.length === 0) break;
    v = v[0]!;
  }
  void op;
  return shape;
}

function flattenNested(value: NestedArray, shape: number[], out: number[], dim: number, op: string): void {
  if (dim === shape.length) {
    if (typeof value !== 'number') throw new ShapeError(op, `ragged nested array: expected a number at depth ${dim}; got ${describeValue(value)}`);
    out.push(value);
    return;
  }
  if (!Array.isArray(value) || value.length !== shape[dim]) {
    throw new ShapeError(op, `ragged nested array: expected length ${shape[dim]} at depth ${dim}; got ${describeValue(value)}`);
  }
  for (const v of value as readonly NestedArray[]) flattenNested(v, shape, out, dim + 1, op);
}

/**
 * Creates a tensor from nested arrays, a flat array (with `shape`), or a typed array (copied).
 * @example tensor([[1, 2], [3, 4]]); tensor([1, 2, 3, 4], [2, 2]); tensor(3)
 */
export function tensor(values: NestedArray | ArrayLike<number>, shape?: Shape, dtype: DType = 'float64'): Tensor {
  const op = 'tensor';
  checkDType(op, dtype);
  if (shape !== undefined && !Array.isArray(shape)) throw new ShapeError(op, `shape must be an array of non-negative integers; got ${describeValue(shape)}`);
  if (typeof values !== 'number' && (values === null || typeof values !== 'object')) {
    throw new ValueError(op, `values must be a number, a (nested) array of numbers or a typed array; got ${describeValue(values)}`);
  }
  let flat: ArrayLike<number>;
  let inferred: number[];
  if (typeof values === 'number') { flat = [values]; inferred = []; }
  else if (ArrayBuffer.isView(values) || (Array.isArray(values) && values.every((v) => typeof v === 'number') && shape !== undefined)) {
    flat = values as ArrayLike<number>; inferred = [flat.length];
  } else {
    inferred = inferShape(values as NestedArray, op);
    const out: number[] = [];
    flattenNested(values as NestedArray, inferred, out, 0, op);
    flat = out;
  }
  const finalShape = shape ?? inferred;
  checkShape(finalShape, op);
  if (sizeOf(finalShape) !== flat.length) {
    throw new ShapeError(op, `got ${flat.length} values, which does not fit shape ${fmtShape(finalShape)}`);
  }
  const data = allocate(dtype, flat.length);
  for (let i = 0; i < flat.length; i++) {
    const v = flat[i];
    if (typeof v !== 'number') throw new ValueError(op, `values must be numbers; got ${describeValue(v)} at flat index ${i}`);
    data[i] = v;
  }
  return new Tensor(data, finalShape);
}

/** A tensor filled with `value`. */
export function full(shape: Shape, value: number, dtype: DType = 'float64'): Tensor {
  return fill('full', shape, value, dtype);
}

function fill(op: string, shape: Shape, value: number, dtype: DType): Tensor {
  checkShape(shape, op);
  checkDType(op, dtype);
  if (typeof value !== 'number') throw new ValueError(op, `value must be a number; got ${describeValue(value)}`);
  const data = allocate(dtype, sizeOf(shape));
  data.fill(value);
  return new Tensor(data, shape);
}

/**
 * A tensor of zeros.
 * @example zeros([2, 3]); zeros([4], 'float32')
 * @param shape - dimensions (non-negative integers; `[]` gives a 0-d tensor).
 * @throws {@link ShapeError} for a bad shape; {@link DTypeError} for an unknown dtype.
 */
export function zeros(shape: Shape, dtype: DType = 'float64'): Tensor { return fill('zeros', shape, 0, dtype); }
/**
 * A tensor of ones.
 * @param shape - dimensions (non-negative integers; `[]` gives a 0-d tensor).
 * @throws {@link ShapeError} for a bad shape; {@link DTypeError} for an unknown dtype.
 */
export function ones(shape: Shape, dtype: DType = 'float64'): Tensor { return fill('ones', shape, 1, dtype); }
/**
 * A 0-d tensor (shape `[]`) holding `value`; read it back with {@link Tensor.item}.
 * @throws {@link ValueError} when `value` is not a number; {@link DTypeError} for an unknown dtype.
 */
export function scalar(value: number, dtype: DType = 'float64'): Tensor { return fill('scalar', [], value, dtype); }

/** `[start, start+step, ...)` below `stop`, like `numpy.arange`. */
export function arange(start: number, stop?: number, step = 1, dtype: DType = 'float64'): Tensor {
  checkDType('arange', dtype);
  if (stop === undefined) { stop = start; start = 0; }
  checkNumber('arange', 'start', start);
  checkNumber('arange', 'stop', stop);
  if (step === 0 || !Number.isFinite(step)) throw new ValueError('arange', `step must be finite and non-zero; got ${describeValue(step)}`);
  const n = checkCountIn('arange', 'number of elements ⌈(stop − start)/step⌉', Math.max(0, Math.ceil((stop - start) / step)), 0, MAX_COUNT);
  const data = allocate(dtype, n);
  for (let i = 0; i < n; i++) data[i] = start + i * step;
  return new Tensor(data, [n]);
}

/** Standard normal samples scaled by `std` (default 1). */
export function randn(rng: Rng, shape: Shape, std = 1, dtype: DType = 'float64'): Tensor {
  checkShape(shape, 'randn');
  checkDType('randn', dtype);
  checkRng('randn', rng);
  checkNumber('randn', 'std', std, { min: 0 });
  const data = allocate(dtype, sizeOf(shape));
  for (let i = 0; i < data.length; i++) data[i] = std * rng.normal();
  return new Tensor(data, shape);
}

/** Uniform samples in [low, high). */
export function rand(rng: Rng, shape: Shape, low = 0, high = 1, dtype: DType = 'float64'): Tensor {
  checkShape(shape, 'rand');
  checkDType('rand', dtype);
  checkRng('rand', rng);
  checkNumber('rand', 'low', low);
  checkNumber('rand', 'high', high, { min: low });
  const data = allocate(dtype, sizeOf(shape));
  for (let i = 0; i < data.length; i++) data[i] = low + (high - low) * rng.uniform();
  return new Tensor(data, shape);
}

/** Same values in another dtype (a copy; not differentiable across dtypes). */
export function cast(x: Tensor, dtype: DType): Tensor {
  checkTensor('cast', x, 'x');
  checkDType('cast', dtype);
  const data = allocate(dtype, x.size);
  data.set(x.data);
  return new Tensor(data, x.shape);
}

/** Throws a DTypeError unless all tensors share one dtype; returns it. */
export function commonDType(op: string, ...xs: readonly Tensor[]): DType {
  const dtype = xs[0]!.dtype;
  for (const x of xs) {
    if (x.dtype !== dtype) {
      throw new DTypeError(op, `inputs must share one dtype; got ${xs.map((t) => `${t.dtype} ${fmtShape(t.shape)}`).join(' and ')}`);
    }
  }
  return dtype;
}

/** Throws unless `x` is a Tensor (catches plain arrays passed by mistake). */
export function assertTensor(x: unknown, op: string, name = 'input'): asserts x is Tensor {
  checkTensor(op, x, name);
}

function checkRng(op: string, rng: unknown): void {
  if (rng === null || typeof rng !== 'object' || typeof (rng as Rng).normal !== 'function' || typeof (rng as Rng).uniform !== 'function') {
    throw new ValueError(op, `rng must be an Rng; got ${describeValue(rng)}`);
  }
}

/**
 * Batched values for `vmap` (engine/vmap.ts): a {@link BatchTracer} is a Tensor of the per-example
 * (logical) shape that carries the whole batch as a physical tensor with one leading dimension per
 * active vmap level (outer level first), `value.shape = [B_1, …, B_n, ...logical]`.
 *
 * Why a Tensor subclass whose `data` throws: ops see batched values through the public op exports
 * (engine/batched-ops.ts), which dispatch a tracer to the op's batching rule (engine/batching.ts).
 * Every other path — an op without a wrapper, a fused MoE kernel, a user `record` op, `jvp` —
 * reads `x.data`, which throws {@link VmapUnbatchable}; vmap catches it and runs the function once
 * per example instead (saying so once). So a batched value can never be misread as an unbatched one:
 * each op either has a rule or is looped, never silently wrong. Rules run the raw ops on the physical
 * tensors, so the tapes and JVP traces active around vmap record ordinary ops (grad of vmap works).
 */
import { Tensor, type DType, type TypedArray } from './tensor.js';
import { MoegradError, ValueError, fmtShape } from './errors.js';
import { sizeOf } from './shape.js';
import { broadcastTo, reshape } from './ops/shape-ops.js';

/** Thrown when non-batching code reads a batched tensor's values; vmap catches it and loops. */
export class VmapUnbatchable extends MoegradError {
  /** The library function that read the values (best effort, from the stack), e.g. `topKSoftmaxGate`. */
  readonly where: string;
  constructor(where: string) {
    super('vmap', `${where} reads the values of a batched tensor and has no batching rule (inside vmap it runs once per example)`);
    this.where = where;
  }
}

// ---------- vmap levels ----------

let nextLevel = 1;
/** Active level ids, outermost first (ids increase, so inner levels have larger ids). */
const activeLevels: number[] = [];
const levelSizes = new Map<number, number>();
/** Number of active vmap levels; the op wrappers test `vmapDepth === 0` (one branch when vmap is off). */
export let vmapDepth = 0;

/** Runs `fn(level)` with a new vmap level of batch size `size` pushed. */
export function withLevel<T>(size: number, fn: (level: number) => T): T {
  const level = nextLevel++;
  activeLevels.push(level);
  levelSizes.set(level, size);
  vmapDepth = activeLevels.length;
  try {
    return fn(level);
  } finally {
    activeLevels.pop();
    levelSizes.delete(level);
    vmapDepth = activeLevels.length;
  }
}

/** A snapshot of the active levels, outermost first. */
export function currentLevels(): number[] {
  return activeLevels.slice();
}

/** Batch size of an active level. */
export function levelSize(level: number): number {
  const n = levelSizes.get(level);
  if (n === undefined) throw new ValueError('vmap', 'a batched tensor escaped the vmap that made it (it was used after that vmap returned)');
  return n;
}

// ---------- the tracer ----------

/** Shared zero buffers the tracers' (never read) base data views; grown on demand. */
let zeros64 = new Float64Array(1024);
let zeros32 = new Float32Array(1024);
function placeholder(dtype: DType, n: number): TypedArray {
  if (dtype === 'float32') {
    if (zeros32.length < n) zeros32 = new Float32Array(Math.max(n, 2 * zeros32.length));
    return zeros32.subarray(0, n);
  }
  if (zeros64.length < n) zeros64 = new Float64Array(Math.max(n, 2 * zeros64.length));
  return zeros64.subarray(0, n);
}

/** Outermost engine/moe function on the stack below the reader of `.data` (for the fallback warning). */
function libraryCaller(fallback = 'a function'): string {
  const frames = (new Error().stack ?? '').split('\n').slice(1);
  let name = fallback;
  for (const line of frames) {
    const m = /at (?:(\S+) \()?(.*?):\d+:\d+\)?$/.exec(line.trim());
    if (!m) continue;
    const file = m[2]!;
    const lib = /[\\/](engine|moe)[\\/]/.test(file) && !/batch-tracer|batched-ops|batching|vmap|validate|tensor\.[jt]s/.test(file);
    if (lib && m[1] && !m[1].includes('<anonymous>')) name = `${m[1].replace(/^(Object|Function)\./, '')} (${/(engine|moe)[\\/].*$/.exec(file)![0].replace(/\\/g, '/')})`;
    else if (!lib && !/batch-tracer|validate|tensor\.[jt]s/.test(file) && name !== fallback) break;
  }
  return name;
}

/**
 * A batched value inside `vmap`: a Tensor of the per-example shape whose batch lives in `value`
 * (`[B_1, …, B_n, ...shape]`, one leading dim per level in `levels`). Reading `data` throws
 * {@link VmapUnbatchable}; ops with a batching rule use `value`.
 */
export class BatchTracer extends Tensor {
  /** The physical batched tensor: batch dims (one per level, outermost first), then the logical dims. */
  readonly value: Tensor;
  /** The vmap levels this value is batched over, ascending (outermost first). */
  readonly levels: readonly number[];
  constructor(value: Tensor, levels: readonly number[]) {
    const logical = value.shape.slice(levels.length);
    super(placeholder(value.dtype, sizeOf(logical)), logical);
    this.value = value;
    this.levels = levels;
  }
  /** Throws {@link VmapUnbatchable}: a batched tensor has no single array of values. */
  override get data(): TypedArray {
    throw new VmapUnbatchable(libraryCaller('reading Tensor.data of a batched value'));
  }
  /** Throws {@link VmapUnbatchable} (a batched tensor has one value array per example). */
  override toArray(): number[] { throw new VmapUnbatchable(libraryCaller('Tensor.toArray of a batched value')); }
  /** Throws {@link VmapUnbatchable}. */
  override toNested(): never { throw new VmapUnbatchable(libraryCaller('Tensor.toNested of a batched value')); }
  /** Throws {@link VmapUnbatchable}. */
  override item(): number { throw new VmapUnbatchable(libraryCaller('Tensor.item of a batched value')); }
  /** Throws {@link VmapUnbatchable}. */
  override get(..._index: number[]): number { throw new VmapUnbatchable(libraryCaller('Tensor.get of a batched value')); }
  /** `BatchTracer(shape=[…], batch=[…])`. */
  override toString(): string {
    return `BatchTracer(shape=${fmtShape(this.shape)}, batch=${fmtShape(this.value.shape.slice(0, this.levels.length))}, dtype=${this.dtype})`;
  }
}

// Node's util.inspect (console.log) prints a tracer as its toString, not by reading values.
Object.defineProperty(BatchTracer.prototype, Symbol.for('nodejs.util.inspect.custom'), { value(this: BatchTracer) { return this.toString(); } });

/** A tracer over `levels`, or the plain tensor when `levels` is empty. */
export function wrap(value: Tensor, levels: readonly number[]): Tensor {
  return levels.length === 0 ? value : new BatchTracer(value, levels);
}

/** Sorted union of the levels of the batched values among `xs`. */
export function unionLevels(xs: readonly unknown[]): number[] {
  const s = new Set<number>();
  for (const x of xs) if (x instanceof BatchTracer) for (const l of x.levels) s.add(l);
  return [...s].sort((a, b) => a - b);
}

/**
 * The physical form of `x` against `levels` (a superset of x's levels): one leading dim per level —
 * the level's size where x is batched over it, 1 where not — then x's logical dims, left-padded with
 * 1s to `rank` (NumPy broadcasting of the logical parts). Broadcastable against any other aligned value.
 */
export function align(x: Tensor, levels: readonly number[], rank = x.rank): Tensor {
  const own = x instanceof BatchTracer ? x.levels : [];
  const phys = x instanceof BatchTracer ? x.value : x;
  const batch = levels.map((l) => { const i = own.indexOf(l); return i < 0 ? 1 : phys.shape[i]!; });
  if (own.some((l) => !levels.includes(l))) throw new Error('vmap: align to levels that miss some of the value\'s levels');
  const pad = new Array<number>(Math.max(0, rank - x.rank)).fill(1);
  const shape = [...batch, ...pad, ...x.shape];
  return shape.length === phys.rank && own.length === levels.length ? phys : reshape(phys, shape);
}

/** Like {@link align}, with the batch dims broadcast to their full sizes (materialized). */
export function materialize(x: Tensor, levels: readonly number[], rank = x.rank): Tensor {
  const a = align(x, levels, rank);
  const full = [...levels.map(levelSize), ...a.shape.slice(levels.length)];
  return broadcastTo(a, full);
}

// ---------- fallback reporting ----------

const fallbackOps = new Set<string>();
const warned = new Set<string>();

/** Records (and warns about, once per name) an op or function that vmap ran once per example. */
export function noteFallback(name: string): void {
  fallbackOps.add(name);
  if (warned.has(name)) return;
  warned.add(name);
  console.warn(`vmap: ${name} has no batching rule; it runs once per example (this warning is shown once)`);
}

/**
 * Names of the ops and functions that `vmap` ran once per example (no batching rule) since the last
 * {@link clearVmapFallbackOps}, sorted. A warning is also printed the first time each name falls back.
 * @example
 * vmap((x: Tensor) => myRecordedOp(x))(xs);  vmapFallbackOps(); // ['myRecordedOp']
 */
export function vmapFallbackOps(): string[] {
  return [...fallbackOps].sort();
}

/** Empties the list {@link vmapFallbackOps} returns (warnings already shown stay shown). */
export function clearVmapFallbackOps(): void {
  fallbackOps.clear();
}

/**
 * Reuse of large gradient buffers within and across backward walks.
 *
 * Why: a fresh typed array of ≥ 16 KiB costs more than the loop that fills it — the allocator's
 * zeroing, page faults on fresh memory and the garbage collector's external-memory accounting
 * measured 1.5–4 ns per float64 element on Node 20, against ~1 ns for the arithmetic of an
 * elementwise op (issue 15). JavaScript cannot free a buffer, but the backward walk knows when one
 * of its own gradient buffers is dead, and can hand it back to {@link allocate}'s next request of
 * the same size instead of leaving it to the collector.
 *
 * Which buffers: only those `allocate` made while the walk ran (the walk's {@link Journal}), that
 * no user code has seen (the cotangent given to a user-defined VJP and everything that VJP makes are
 * never recorded), and that no gradient slot of the walk still holds (counted per ArrayBuffer, so
 * reshape views count). Forward values, the seed and the returned gradients are never released.
 * The walk only journals when nothing observes it (no outer tape, no forward-mode or debugNans
 * hook, no vmap level); see engine/tape.ts `backward`.
 *
 * Bounds: at most {@link POOL_MAX_BYTES} in all and {@link POOL_MAX_PER_SIZE} buffers per size
 * are kept; the rest is left to the collector. A pooled buffer is zero-filled when handed out, so
 * `allocate` keeps its contract. `setBufferPool(false)` turns reuse off (and empties the pool).
 */
import type { DType, TypedArray } from './tensor.js';
import { checkBoolean } from './validate.js';

/** Buffers below this size are not pooled (small ones come from shared slabs; see tensor.ts). */
export const POOL_MIN_BYTES = 16384;
let minBytes = POOL_MIN_BYTES;
/** Internal (tensor.ts): the size from which buffers are pooled. */
export function poolMinBytes(): number {
  return minBytes;
}
/**
 * Internal/testing: pools buffers from `bytes` on (at least 65: V8 keeps smaller typed arrays inside
 * the JS heap), so tests can exercise reuse on small tensors (pooled sizes then get their own
 * ArrayBuffer instead of a slab slice). Returns the old value.
 */
export function setPoolMinBytes(bytes: number): number {
  const old = minBytes;
  minBytes = Math.max(65, Math.floor(bytes));
  return old;
}
/** Most bytes the pool keeps. */
export const POOL_MAX_BYTES = 256 * 1024 * 1024;
/** Most buffers of one dtype and length the pool keeps. */
export const POOL_MAX_PER_SIZE = 32;

const f64 = new Map<number, Float64Array[]>();
const f32 = new Map<number, Float32Array[]>();
let pooledBytes = 0;
let enabled = true;
let reused = 0, released = 0, missed = 0;

/** The buffers `allocate` made since the journal was opened: each ArrayBuffer → its whole-buffer array. */
export type Journal = Map<ArrayBufferLike, TypedArray>;
let journal: Journal | null = null;
/**
 * The wrap counts of the calls reusing their intermediates (engine/intermediate-reuse.ts) that are
 * open now — a stack, because such a call can run inside another's function (under `noGrad`):
 * for each, how many Tensor objects wrap each buffer of its journal. Every Tensor made while one
 * is open, during its trace or its walk, is counted in all of them (none open: the constructor
 * pays one length check).
 */
export interface WrapCount {
  /** The call's forward journal: the buffers counted. */
  readonly journal: Journal;
  /** Buffer → Tensor objects wrapping it. */
  readonly wraps: Map<ArrayBufferLike, number>;
}
const wrapCounts: WrapCount[] = [];

/**
 * Internal (tensor.ts `allocate`): a pooled buffer of exactly this dtype and length, or null;
 * zero-filled unless `zero` is false (`allocateUninit`: the caller overwrites every element).
 */
export function takePooled(dtype: DType, n: number, zero = true): TypedArray | null {
  const list = dtype === 'float32' ? f32.get(n) : f64.get(n);
  if (list === undefined || list.length === 0) { missed++; return null; }
  const buf = list.pop()!;
  pooledBytes -= buf.byteLength;
  reused++;
  if (zero) buf.fill(0);
  return buf;
}

/** Internal (tensor.ts `allocate`): notes a freshly made large buffer (whole ArrayBuffer) in the open journal. */
export function journalAllocation(buf: TypedArray): void {
  if (journal !== null) {
    journal.set(buf.buffer, buf);
    for (let i = wrapCounts.length - 1; i >= 0; i--) {
      const c = wrapCounts[i]!;
      if (c.journal === journal) { c.wraps.set(buf.buffer, 0); break; }
    }
  }
}

/** Internal (tensor.ts, the Tensor constructor): one more Tensor wraps `data`'s buffer. */
export function noteWrap(data: TypedArray): void {
  if (wrapCounts.length === 0) return;
  const b = data.buffer;
  for (let i = 0; i < wrapCounts.length; i++) {
    const w = wrapCounts[i]!.wraps, n = w.get(b);
    if (n !== undefined) w.set(b, n + 1);
  }
}

/** Internal (intermediate-reuse.ts): opens a call's wrap count (until {@link closeWrapCount}). */
export function openWrapCount(c: WrapCount): void {
  wrapCounts.push(c);
}

/** Internal (intermediate-reuse.ts): closes it (calls nest, so it is usually the top). */
export function closeWrapCount(c: WrapCount): void {
  const i = wrapCounts.lastIndexOf(c);
  if (i >= 0) wrapCounts.splice(i, 1);
}

/** Internal: whether reuse is on ({@link setBufferPool}). */
export function bufferPoolEnabled(): boolean {
  return enabled;
}

/**
 * Internal (tape.ts): makes `next` the open journal (null: none, e.g. while user code runs) and
 * returns the one it replaces, to restore with a second call.
 */
export function swapJournal(next: Journal | null): Journal | null {
  const prev = journal;
  journal = next;
  return prev;
}

/**
 * Internal (tape.ts): returns a dead buffer to the pool. The caller guarantees that nothing will
 * read or write it again; it must be in `from` (the walk's journal), from which it is taken out, so
 * a buffer is released at most once per allocation.
 */
export function release(b: ArrayBufferLike, from: Journal): void {
  const buf = from.get(b);
  if (buf === undefined) return;
  from.delete(b);
  if (!enabled || pooledBytes + buf.byteLength > POOL_MAX_BYTES) return;
  const map = (buf instanceof Float32Array ? f32 : f64) as Map<number, TypedArray[]>;
  let list = map.get(buf.length);
  if (list === undefined) { list = []; map.set(buf.length, list); }
  if (list.length >= POOL_MAX_PER_SIZE) return;
  list.push(buf);
  pooledBytes += buf.byteLength;
  released++;
}

/**
 * Turns reuse of dead gradient buffers on (the default) or off; off also empties the pool. For
 * measurements and for debugging a suspected aliasing problem: results are the same either way.
 * @throws {@link ValueError} unless `on` is a boolean (omitted: on).
 */
export function setBufferPool(on: boolean): void {
  enabled = checkBoolean('setBufferPool', 'on', on, true);
  if (!enabled) { f64.clear(); f32.clear(); pooledBytes = 0; }
}

/** What {@link bufferPoolStats} reports. */
export interface BufferPoolStats {
  /** Bytes of the buffers held by the pool now. */
  bytes: number;
  /** Number of buffers held by the pool now. */
  buffers: number;
  /** Whether reuse is on ({@link setBufferPool}). */
  enabled: boolean;
  /** Dead gradient buffers put into the pool since the process started. */
  released: number;
  /** Allocations served from the pool since the process started. */
  reused: number;
  /** Allocations of a poolable size (≥ 16 KiB) the pool could not serve (fresh memory) since the process started. */
  missed: number;
}

/**
 * Bytes and buffers held by the pool now, and since the process started how many dead buffers went
 * into it (`released`) and how many allocations it served (`reused`).
 */
export function bufferPoolStats(): BufferPoolStats {
  let buffers = 0;
  for (const l of f64.values()) buffers += l.length;
  for (const l of f32.values()) buffers += l.length;
  return { bytes: pooledBytes, buffers, enabled, released, reused, missed };
}

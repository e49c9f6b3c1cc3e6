/**
 * Shared pieces of the gates: argument checks (errors name the gate and the shapes/values), the
 * integer top-K selection (engine `selectTopK`: ties → lowest index), gather/scatter helpers for
 * VJPs, and the GateOutput assembly. Nothing here is on the tape except through engine ops.
 */
import { Tensor, ShapeError, ValueError, fmtShape, takeAlongAxis, scatterAlongAxis, selectTopK } from '../../engine/index.js';
import { checkCount, checkLine, describeValue } from '../../engine/validate.js';
import { buildRoutingPlan, type CapacityPriority } from '../routing.js';
import type { GateOutput } from '../types.js';

/** Options every gate function accepts. */
export interface GateOptions {
  /** Per-expert capacity (tokens) for the dispatch plan; dropless when omitted. */
  readonly capacity?: number;
  /**
   * Which slots keep their place when an expert is over capacity: 'token' (default) keeps slots in
   * token order; 'choice' keeps every token's first choice before any second choice (GShard).
   */
  readonly capacityPriority?: CapacityPriority;
}

/** Checks `x` is a finite float tensor of the given rank; returns its shape. */
export function checkFinite(op: string, x: unknown, name: string, rank: number, what: string): readonly number[] {
  if (!(x instanceof Tensor)) throw new ShapeError(op, `${name} must be a Tensor ${what}; got ${describeValue(x)}`);
  if (x.rank !== rank || x.shape.some((d) => d < 1)) throw new ShapeError(op, `${name} must be ${what} with every dim ≥ 1; got ${fmtShape(x.shape)}`);
  const d = x.data;
  for (let i = 0; i < d.length; i++) {
    if (!Number.isFinite(d[i]!)) {
      throw new ValueError(op, `${name} ${fmtShape(x.shape)} contain ${Number.isNaN(d[i]!) ? 'NaN' : String(d[i])} at flat index ${i}; gates need finite values`);
    }
  }
  return x.shape;
}

/** Router logits [T, E]: rank 2, finite. Returns T and E. */
export function checkLogits(op: string, logits: unknown, name = 'logits'): { T: number; E: number } {
  const [T, E] = checkFinite(op, logits, name, 2, '[T, E]') as [number, number];
  return { T, E };
}

/** k must be an integer in [1, n]. */
export function checkK(op: string, k: unknown, n: number, name = 'k', of = 'E'): number {
  if (!Number.isInteger(k) || (k as number) < 1 || (k as number) > n) {
    throw new ValueError(op, `${name} must be an integer in [1, ${of} = ${n}]; got ${String(k)}`);
  }
  return k as number;
}

/**
 * A per-row selection of expert indices: null (all experts) or an Int32Array of T·K entries in [0, E).
 * Returns K (E when null).
 */
export function checkSelection(op: string, idx: unknown, T: number, E: number, name = 'idx'): number {
  if (idx === null) return E;
  if (!(idx instanceof Int32Array)) throw new ValueError(op, `${name} must be an Int32Array of T·K expert indices or null; got ${describeValue(idx)}`);
  if (idx.length === 0 || idx.length % T !== 0) throw new ShapeError(op, `${name} must hold K indices per token for T = ${T} tokens; got ${idx.length}`);
  for (let i = 0; i < idx.length; i++) {
    const v = idx[i]!;
    if (v < 0 || v >= E) throw new ValueError(op, `${name}[${i}] = ${v} is out of range [0, ${E})`);
  }
  return idx.length / T;
}

/** A route scale ρ: a finite number > 0. */
export function checkRouteScale(op: string, routeScale: unknown): number {
  if (!(typeof routeScale === 'number' && routeScale > 0 && Number.isFinite(routeScale))) {
    throw new ValueError(op, `routeScale ρ must be a finite number > 0; got ${describeValue(routeScale)}`);
  }
  return routeScale;
}

/** The `op` argument of the exported building blocks: a non-empty string naming the caller. */
export function checkOpName(fallback: string, op: unknown): string {
  if (typeof op !== 'string' || op === '') throw new ValueError(fallback, `op must be a non-empty string naming the caller; got ${describeValue(op)}`);
  return op;
}

/** Dispatch capacity and its priority, checked: what a gate hands to {@link gateOutput}. */
export interface Capacity { readonly capacity: number; readonly priority: CapacityPriority }

/**
 * Dispatch capacity: ≥ 1 token, integer or Infinity (default: dropless), and the capacity priority
 * ('token' by default, 'choice' for GShard's). Takes the gate's options (or just a capacity number).
 */
export function checkCapacity(op: string, options: GateOptions | number | undefined): Capacity {
  const o: GateOptions = typeof options === 'number' || options === undefined ? { capacity: options } : options;
  const capacity = o.capacity;
  const priority = o.capacityPriority === undefined ? 'token' : o.capacityPriority;
  if (priority !== 'token' && priority !== 'choice') throw new ValueError(op, `capacityPriority must be 'token' or 'choice'; got ${describeValue(priority)}`);
  if (capacity === undefined) return { capacity: Infinity, priority };
  if (!(capacity >= 1) || !(Number.isInteger(capacity) || capacity === Infinity)) {
    throw new ValueError(op, `capacity must be an integer ≥ 1 token (or Infinity); got ${describeValue(capacity)}`);
  }
  return { capacity, priority };
}

/**
 * Row-wise top-k of `values` viewed as [rows, n] (best first). NOTE: ties → lowest index (engine
 * `selectTopK`); −Infinity entries are never preferred over finite ones (used for masking).
 */
export function rowTopK(values: ArrayLike<number>, rows: number, n: number, k: number): Int32Array {
  const out = new Int32Array(rows * k);
  const order = new Int32Array(n);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < n; j++) order[j] = j;
    selectTopK(order, k, (j) => values[r * n + j]!);
    out.set(order.subarray(0, k), r * k);
  }
  return out;
}

/** [T·E] indices 0..E−1 for every row (dense gates). */
export function denseIndices(T: number, E: number): Int32Array {
  const out = new Int32Array(T * E);
  for (let i = 0; i < out.length; i++) out[i] = i % E;
  return out;
}

/** x[..., idx] along `axis`, or x itself when `idx` is null (dense: identity selection). */
export const gatherAlong = (x: Tensor, idx: Int32Array | null, axis: number): Tensor => (idx ? takeAlongAxis(x, idx, axis) : x);

/** Scatter-add back along `axis` to size n, or x itself when `idx` is null. */
export const scatterAlong = (x: Tensor, idx: Int32Array | null, axis: number, n: number): Tensor => (idx ? scatterAlongAxis(x, idx, axis, n) : x);

/** Assembles a GateOutput and its routing plan. */
export function gateOutput(
  weights: Tensor, indices: Int32Array, scores: Tensor, logits: Tensor | undefined, numExperts: number, capacity: Capacity,
): GateOutput {
  const T = weights.shape[0]!, K = weights.shape[1]!;
  const plan = buildRoutingPlan(indices, T, numExperts, K, capacity.capacity, capacity.priority);
  return logits ? { weights, indices, scores, logits, plan } : { weights, indices, scores, plan };
}

/**
 * Selection margin of a row-wise top-k over [rows, n]: the smallest gap between consecutive sorted
 * values among the top min(k + 1, n) of each row. It covers the k-th/(k+1)-th boundary (which
 * experts are chosen) and the order inside the top-k (the column order of the weights).
 */
export function topKGap(values: ArrayLike<number>, rows: number, n: number, k: number): number {
  const op = 'topKGap';
  checkCount(op, 'rows', rows, 0);
  checkCount(op, 'n', n, 1);
  checkCount(op, 'k', k, 1);
  if (k > n) throw new ValueError(op, `k must be an integer in [1, n = ${n}]; got ${k}`);
  if (values === null || typeof values !== 'object' || typeof (values as ArrayLike<number>).length !== 'number') throw new ValueError(op, `values must be an array of rows·n numbers; got ${describeValue(values)}`);
  if (rows * n > values.length) throw new ValueError(op, `rows ${rows} × n ${n} = ${rows * n} exceeds the ${values.length} values`);
  let gap = Infinity;
  const row = new Float64Array(n);
  const last = Math.min(k, n - 1);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < n; j++) row[j] = values[r * n + j]!;
    row.sort((a, b) => b - a);
    for (let j = 0; j < last; j++) gap = Math.min(gap, row[j]! - row[j + 1]!);
  }
  return gap;
}

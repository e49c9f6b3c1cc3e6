/**
 * dispatch / combine: moving token rows into expert order and back, as fused ops with hand-written
 * VJPs (the gather ↔ scatter-add duality of PyTorch's index_select ↔ index_add).
 *
 * Shapes: T tokens, D features, K choices per token, S = kept slots (T·K when dropless).
 * Slot s = t·K + k is "token t's k-th choice"; `plan.order[i]` is the slot held by dispatched row i,
 * rows grouped by expert (`plan.offsets`). A slot dropped by the capacity limit has no row: it is
 * not dispatched and contributes 0 to the combined output.
 *
 *   dispatch:   X_d[i] = x[t(i)]                          [T,D] → [S,D]
 *   undispatch: x[t]  += X_d[i] for every i with t(i) = t  [S,D] → [T,D]   (the transpose of dispatch)
 *   combine:    y[t]   = Σ_k w[t,k] · E[row(t,k)]          ([S,D], [T,K]) → [T,D]
 */
import {
  Tensor, fromData, add, reshape, gatherRows,
  ShapeError, ValueError, fmtShape,
} from '../engine/index.js';
// built-in VJPs: recorded as the engine's own (their cotangents may be reused; engine/buffer-pool.ts)
import { record } from '../engine/tape.js';
import { commonDType, assertTensor, allocate, allocateUninit, type TypedArray } from '../engine/tensor.js';
import type { RoutingPlan } from './types.js';
import { describeValue } from '../engine/validate.js';

/** Integer index arrays derived from a plan (cached per plan object; never on the tape). */
export interface PlanIndex {
  /** [S] token of each dispatched row. */
  readonly tokenOfRow: Int32Array;
  /** [S] expert of each dispatched row. */
  readonly expertOfRow: Int32Array;
  /** [S] slot id t·K + k of each dispatched row (= plan.order). */
  readonly slotOfRow: Int32Array;
  /** [T·K] row holding each slot, −1 for a dropped slot. */
  readonly rowOfSlot: Int32Array;
}

const planIndexCache = new WeakMap<RoutingPlan, PlanIndex>();

/** Validates a plan once and derives its row ↔ slot ↔ token maps. */
export function planIndex(plan: RoutingPlan): PlanIndex {
  checkPlan('planIndex', plan);
  const cached = planIndexCache.get(plan);
  if (cached) return cached;
  const op = 'planIndex';
  const { numTokens: T, numExperts: E, topK: K, order, offsets } = plan;
  if (offsets.length !== E + 1 || offsets[0] !== 0 || offsets[E] !== order.length) {
    throw new ValueError(op, `offsets must have E + 1 = ${E + 1} entries from 0 to S = ${order.length}; got ${offsets.length} entries ending at ${offsets[offsets.length - 1]}`);
  }
  const S = order.length;
  const tokenOfRow = new Int32Array(S), expertOfRow = new Int32Array(S);
  const rowOfSlot = new Int32Array(T * K).fill(-1);
  for (let e = 0; e < E; e++) {
    for (let i = offsets[e]!; i < offsets[e + 1]!; i++) {
      const s = order[i]!;
      if (s < 0 || s >= T * K) throw new ValueError(op, `slot ${s} at row ${i} is out of range [0, ${T * K})`);
      if (rowOfSlot[s] !== -1) throw new ValueError(op, `slot ${s} is dispatched twice (rows ${rowOfSlot[s]} and ${i})`);
      rowOfSlot[s] = i;
      tokenOfRow[i] = Math.floor(s / K);
      expertOfRow[i] = e;
    }
  }
  const index = { tokenOfRow, expertOfRow, slotOfRow: order, rowOfSlot };
  planIndexCache.set(plan, index);
  return index;
}

function checkRows(op: string, x: Tensor, rows: number, what: string): void {
  assertTensor(x, op);
  if (x.rank !== 2 || x.shape[0] !== rows) {
    throw new ShapeError(op, `expected ${what} of shape [${rows}, D]; got ${fmtShape(x.shape)}`);
  }
}

/**
 * Row moves of dispatch / undispatch: `gather` copies row index[i] of `from` to row i; otherwise row i
 * of `from` is added to row index[i] (a scatter-add). One loop, no callback per row.
 */
function moveRows(from: Tensor, rowsOut: number, index: Int32Array, gather: boolean): Tensor {
  const d = from.shape[1]!;
  // a gather writes every row; a scatter-add accumulates into zeros
  const out = gather ? allocateUninit(from.dtype, rowsOut * d) : allocate(from.dtype, rowsOut * d);
  if (gather) gatherRowsKernel(out, from.data, index, d);
  else scatterAddRowsKernel(out, from.data, index, d);
  return fromData(out, [rowsOut, d]);
}

// ---------- the row loops, each alone in its function ----------
// A loop that runs once per op call gets optimized by on-stack replacement; when the code after the
// loop (tensor wrapping, tape recording) has no type feedback yet, that OSR code deoptimized on
// reaching it and the next calls started in the interpreter again (V8 --trace-deopt: "insufficient
// type feedback"; 18 MB of boxed doubles per MoE step from combine alone). With nothing after the
// loop, the optimized code stays.

/** out[i] = x[index[i]] row by row (memcpy per row: faster than an element loop at D = 256). */
function gatherRowsKernel(out: TypedArray, x: TypedArray, index: Int32Array, d: number): void {
  for (let i = 0; i < index.length; i++) { const s = index[i]! * d; out.set(x.subarray(s, s + d), i * d); }
}

/** out[index[i]] += x[i] row by row. */
function scatterAddRowsKernel(out: TypedArray, x: TypedArray, index: Int32Array, d: number): void {
  for (let i = 0; i < index.length; i++) { const o = index[i]! * d, s = i * d; for (let j = 0; j < d; j++) out[o + j] = out[o + j]! + x[s + j]!; }
}

/** out[t(i)] += w[slot(i)] · e[i] (combine). */
function combineKernel(out: TypedArray, e: TypedArray, w: TypedArray, tokenOfRow: Int32Array, slotOfRow: Int32Array, d: number): void {
  for (let i = 0; i < tokenOfRow.length; i++) {
    const wi = w[slotOfRow[i]!]!, o = tokenOfRow[i]! * d, r = i * d;
    for (let j = 0; j < d; j++) out[o + j] = out[o + j]! + wi * e[r + j]!;
  }
}

/** out[i] = x[t(i)] · w[slot(i)] (dispatchScaled). */
function dispatchScaledKernel(out: TypedArray, x: TypedArray, w: TypedArray, tokenOfRow: Int32Array, slotOfRow: Int32Array, d: number): void {
  for (let i = 0; i < tokenOfRow.length; i++) {
    const wi = w[slotOfRow[i]!]!, o = i * d, r = tokenOfRow[i]! * d;
    for (let j = 0; j < d; j++) out[o + j] = x[r + j]! * wi;
  }
}

/** out[slot(i)] = ⟨x[t(i)], e[i]⟩ in float64, four partial sums (j mod 4) so the adds do not wait on each other (combineWeightGrad). */
function rowDotsKernel(out: TypedArray, x: TypedArray, e: TypedArray, tokenOfRow: Int32Array, slotOfRow: Int32Array, d: number): void {
  for (let i = 0; i < tokenOfRow.length; i++) {
    const r = tokenOfRow[i]! * d, o = i * d;
    let a0 = 0, a1 = 0, a2 = 0, a3 = 0, j = 0;
    for (; j + 4 <= d; j += 4) {
      a0 += x[r + j]! * e[o + j]!; a1 += x[r + j + 1]! * e[o + j + 1]!;
      a2 += x[r + j + 2]! * e[o + j + 2]!; a3 += x[r + j + 3]! * e[o + j + 3]!;
    }
    for (; j < d; j++) a0 += x[r + j]! * e[o + j]!;
    out[slotOfRow[i]!] = (a0 + a1) + (a2 + a3);
  }
}

const checkedPlans = new WeakSet<object>();

/**
 * Throws a ValueError unless `plan` looks like a RoutingPlan (from `buildRoutingPlan` or a gate):
 * integer counts and Int32Array fields of consistent lengths. O(1); planIndex checks the contents.
 */
export function checkPlan(op: string, plan: unknown): asserts plan is RoutingPlan {
  if (plan !== null && typeof plan === 'object' && checkedPlans.has(plan)) return;
  const p = plan as Partial<RoutingPlan> | null;
  const ok = p !== null && typeof p === 'object'
    && Number.isInteger(p.numTokens) && p.numTokens! >= 0 && Number.isInteger(p.numExperts) && p.numExperts! >= 1
    && Number.isInteger(p.topK) && p.topK! >= 1 && p.expertOf instanceof Int32Array && p.order instanceof Int32Array
    && p.offsets instanceof Int32Array && p.dropped instanceof Int32Array && p.expertOf.length === p.numTokens! * p.topK!
    && p.offsets.length === p.numExperts! + 1;
  if (!ok) throw new ValueError(op, `plan must be a RoutingPlan (from buildRoutingPlan or a gate's output .plan); got ${describeValue(plan)}`);
  checkedPlans.add(plan as object);
}

/**
 * Gathers token rows into expert order: `X_d[i] = x[t(i)]`, x [T, D] → [S, D], where row i holds
 * slot `plan.order[i]` of token t(i). Dropped slots get no row.
 * VJP (gather ↔ scatter-add): `dx = undispatch(dX_d, plan)`, i.e. `dx[t] = Σ_{i: t(i)=t} dX_d[i]`.
 * JVP (linear): `Ẋ_d = dispatch(ẋ, plan)`.
 */
export function dispatch(x: Tensor, plan: RoutingPlan): Tensor {
  const op = 'dispatch';
  checkPlan(op, plan);
  checkRows(op, x, plan.numTokens, 'x (one row per token of the plan)');
  const { tokenOfRow } = planIndex(plan);
  const y = moveRows(x, tokenOfRow.length, tokenOfRow, true);
  return record(op, [x], y, (dy) => [undispatch(dy, plan)], ([dx]) => dispatch(dx!, plan));
}

/**
 * The transpose of `dispatch`: scatter-adds expert-ordered rows back to their tokens,
 * `x[t] = Σ_{i: t(i)=t} X_d[i]`, [S, D] → [T, D] (tokens with no kept slot get 0).
 * VJP: `dX_d = dispatch(dx, plan)`.  JVP (linear): `ẋ = undispatch(Ẋ_d, plan)`.
 */
export function undispatch(rows: Tensor, plan: RoutingPlan): Tensor {
  const op = 'undispatch';
  checkPlan(op, plan);
  const { tokenOfRow } = planIndex(plan);
  checkRows(op, rows, tokenOfRow.length, 'rows (one per kept slot of the plan)');
  const y = moveRows(rows, plan.numTokens, tokenOfRow, false);
  return record(op, [rows], y, (dy) => [dispatch(dy, plan)], ([dr]) => undispatch(dr!, plan));
}

/** Checks `weights` is [T, K] for the plan. */
function checkWeights(op: string, weights: Tensor, plan: RoutingPlan): void {
  checkPlan(op, plan);
  assertTensor(weights, op, 'weights');
  if (weights.rank !== 2 || weights.shape[0] !== plan.numTokens || weights.shape[1] !== plan.topK) {
    throw new ShapeError(op, `weights must be [T, K] = [${plan.numTokens}, ${plan.topK}] for the plan; got ${fmtShape(weights.shape)}`);
  }
}

/** The combine weight of each dispatched row as a column [S, 1]: `w_row[i] = w[slot(i)]` (differentiable). */
export function rowWeights(weights: Tensor, plan: RoutingPlan): Tensor {
  checkWeights('rowWeights', weights, plan);
  return gatherRows(reshape(weights, [plan.numTokens * plan.topK, 1]), planIndex(plan).slotOfRow);
}

/**
 * Weighted sum of expert outputs back per token:
 *   `y[t] = Σ_k w[t,k] · E[row(t,k)]`  (a dropped slot contributes 0),
 * expertOut E [S, D] in dispatch order, weights w [T, K] aligned with the gate's indices → y [T, D].
 * VJPs (both differentiable ops, so grad of grad works; each one pass, no [S, D] temporaries):
 *   `dE[i] = w[slot(i)] · dy[t(i)]`                = dispatchScaled(dy, w)    (= dispatch(dy) ⊙ rowWeights(w))
 *   `dw[t,k] = ⟨dy[t], E[row(t,k)]⟩` (0 if dropped) = combineWeightGrad(dy, E)
 * JVP (bilinear): `ẏ = combine(Ė, w, plan) + combine(E, ẇ, plan)`.
 * combine, dispatchScaled and combineWeightGrad are closed under differentiation.
 */
export function combine(expertOut: Tensor, weights: Tensor, plan: RoutingPlan): Tensor {
  const op = 'combine';
  checkPlan(op, plan);
  const { tokenOfRow, slotOfRow } = planIndex(plan);
  checkRows(op, expertOut, tokenOfRow.length, 'expertOut (one row per kept slot of the plan)');
  checkWeights(op, weights, plan);
  commonDType(op, expertOut, weights);
  const d = expertOut.shape[1]!;
  const out = allocate(expertOut.dtype, plan.numTokens * d);
  combineKernel(out, expertOut.data, weights.data, tokenOfRow, slotOfRow, d);
  const y = fromData(out, [plan.numTokens, d]);
  return record(op, [expertOut, weights], y, (dy, needs) => [
    needs[0] ? dispatchScaled(dy, weights, plan) : null,
    needs[1] ? combineWeightGrad(dy, expertOut, plan) : null,
  ], ([dE, dw]) => bilinear(dE ? combine(dE, weights, plan) : null, dw ? combine(expertOut, dw, plan) : null));
}

/** The tangent of a bilinear op: the sum of the terms whose input tangent is non-zero (at least one is). */
const bilinear = (a: Tensor | null, b: Tensor | null): Tensor => (a && b ? add(a, b) : (a ?? b)!);

/**
 * `dE[i] = w[slot(i)] · dy[t(i)]`: token rows gathered into expert order and scaled by their combine
 * weight, in one pass — the expert-output gradient of {@link combine} (= `dispatch(dy) ⊙ rowWeights(w)`,
 * same bits, without the dispatched copy and the broadcast product). dy [T, D], w [T, K] → [S, D].
 * VJP: `d(dy) = combine(g, w, plan)` (its transpose in dy), `dw = combineWeightGrad(dy, g, plan)`.
 * JVP (bilinear): `dispatchScaled(ḋy, w) + dispatchScaled(dy, ẇ)`.
 */
export function dispatchScaled(dy: Tensor, weights: Tensor, plan: RoutingPlan): Tensor {
  const op = 'dispatchScaled';
  checkPlan(op, plan);
  checkRows(op, dy, plan.numTokens, 'dy (one row per token of the plan)');
  checkWeights(op, weights, plan);
  commonDType(op, dy, weights);
  const { tokenOfRow, slotOfRow } = planIndex(plan);
  const S = tokenOfRow.length, d = dy.shape[1]!;
  const out = allocateUninit(dy.dtype, S * d); // every row written
  dispatchScaledKernel(out, dy.data, weights.data, tokenOfRow, slotOfRow, d);
  return record(op, [dy, weights], fromData(out, [S, d]), (g, needs) => [
    needs[0] ? combine(g, weights, plan) : null,
    needs[1] ? combineWeightGrad(dy, g, plan) : null,
  ], ([ddy, dw]) => bilinear(ddy ? dispatchScaled(ddy, weights, plan) : null, dw ? dispatchScaled(dy, dw, plan) : null));
}

/**
 * `dw[t,k] = ⟨dy[t], E[row(t,k)]⟩` (0 for a dropped slot): the weight gradient of {@link combine}, one
 * dot product per kept slot, accumulated in float64 (four partial sums). dy [T, D], E [S, D] → [T, K].
 * VJP: `d(dy) = combine(E, g, plan)`, `dE = dispatchScaled(dy, g, plan)`.
 * JVP (bilinear): `combineWeightGrad(ḋy, E) + combineWeightGrad(dy, Ė)`.
 */
export function combineWeightGrad(dy: Tensor, expertOut: Tensor, plan: RoutingPlan): Tensor {
  const op = 'combineWeightGrad';
  checkPlan(op, plan);
  checkRows(op, dy, plan.numTokens, 'dy (one row per token of the plan)');
  const { tokenOfRow, slotOfRow } = planIndex(plan);
  checkRows(op, expertOut, tokenOfRow.length, 'expertOut (one row per kept slot of the plan)');
  commonDType(op, dy, expertOut);
  const d = dy.shape[1]!;
  if (expertOut.shape[1] !== d) throw new ShapeError(op, `dy and expertOut must have the same width D; got ${fmtShape(dy.shape)} and ${fmtShape(expertOut.shape)}`);
  const out = allocate(dy.dtype, plan.numTokens * plan.topK);
  rowDotsKernel(out, dy.data, expertOut.data, tokenOfRow, slotOfRow, d);
  return record(op, [dy, expertOut], fromData(out, [plan.numTokens, plan.topK]), (g, needs) => [
    needs[0] ? combine(expertOut, g, plan) : null,
    needs[1] ? dispatchScaled(dy, g, plan) : null,
  ], ([ddy, dE]) => bilinear(ddy ? combineWeightGrad(ddy, expertOut, plan) : null, dE ? combineWeightGrad(dy, dE, plan) : null));
}

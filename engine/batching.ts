/**
 * Batching rules for `vmap`: for each engine op, how to apply it to batched values. A rule receives
 * the op's arguments (some of them {@link BatchTracer}s) and returns the batched result, computed by
 * the raw op on the physical tensors `[B_1, …, B_n, ...logical]` (batch dims first): elementwise ops
 * broadcast the aligned operands, reductions/softmax/index ops shift their axes by n, matmul folds the
 * batch dims into its batch dim, shape ops keep the batch dims in front. Axes are checked against the
 * logical shapes, so errors read as outside vmap. Ops without a rule run once per example.
 */
import { Tensor, scalar, fromData } from './tensor.js';
import { ShapeError, fmtShape } from './errors.js';
import { normalizeAxis, sizeOf, broadcastShapes } from './shape.js';
import { BatchTracer, align, materialize, unionLevels, wrap, levelSize } from './batch-tracer.js';
import * as raw from './ops/index.js';

/** A batching rule: the op's arguments in, the (batched) result out. */
export type BatchRule = (args: readonly unknown[]) => unknown;

/** Int32 indices produced under vmap (topk, argmax): physical layout, batch dims first. */
export class BatchedIndices extends Int32Array {
  /** Levels of the batch dims in front (outermost first) and their sizes. */
  batchLevels: readonly number[] = [];
}

const isT = (x: unknown): x is BatchTracer => x instanceof BatchTracer;
const logicalRank = (x: unknown) => (x instanceof Tensor ? x.rank : 0);
const nbOf = (x: BatchTracer) => x.levels.length;

/** Number operands become 0-d tensors of the other operand's dtype (as `asTensor` does). */
function operand(v: unknown, like: readonly unknown[]): Tensor {
  if (v instanceof Tensor) return v;
  const t = like.find((u) => u instanceof Tensor) as Tensor | undefined;
  return typeof v === 'number' ? scalar(v, t ? t.dtype : 'float64') : (v as Tensor);
}

/** Rule for an op applied to one tensor whose other arguments do not depend on the batch. */
function unary(f: (x: Tensor, ...rest: unknown[]) => Tensor): BatchRule {
  return ([x, ...rest]) => { const t = x as BatchTracer; return wrap(f(t.value, ...rest), t.levels); };
}

/** Broadcasting elementwise op over the aligned operands (numbers allowed). */
function elementwise(name: string, f: (...xs: Tensor[]) => Tensor, tensorArgs: number): BatchRule {
  return (args) => {
    const xs = args.slice(0, tensorArgs);
    const ts = xs.map((v) => operand(v, xs));
    const levels = unionLevels(ts);
    const rank = Math.max(...ts.map(logicalRank));
    ts.reduce<readonly number[]>((s, t) => broadcastShapes(s, t.shape, name), []); // logical shapes must broadcast
    return wrap(f(...ts.map((t) => align(t, levels, rank))), levels);
  };
}

/** Axis (or axis list, or all axes) of the logical shape, shifted past the batch dims. */
function shiftAxes(op: string, x: BatchTracer, axis: unknown): number[] {
  const nb = nbOf(x);
  if (axis === undefined) return x.shape.map((_, i) => i + nb);
  const list = Array.isArray(axis) ? axis : [axis];
  return list.map((a) => normalizeAxis(a as number, x.rank, op, x.shape) + nb);
}

/** sum/mean/variance: axes shifted; the raw op reduces the physical tensor. */
function reduction(op: string, f: (x: Tensor, axes: number[], keep: boolean, ...rest: unknown[]) => Tensor): BatchRule {
  return ([x, axis, keep, ...rest]) => {
    const t = x as BatchTracer;
    if (t.rank === 0 && (axis === undefined || (Array.isArray(axis) && axis.length === 0))) return wrap(f(t.value, [], Boolean(keep), ...rest), t.levels);
    return wrap(f(t.value, shiftAxes(op, t, axis), Boolean(keep), ...rest), t.levels);
  };
}

/** max/min over one axis (or over all elements when omitted: flatten the logical part first). */
function extreme(op: string, f: typeof raw.max): BatchRule {
  return ([x, axis, keep]) => {
    const t = x as BatchTracer, nb = nbOf(t);
    if (axis === undefined) {
      const flat = raw.reshape(t.value, [...t.value.shape.slice(0, nb), t.size]);
      const y = f(flat, nb, false);
      return wrap(keep ? raw.reshape(y, [...y.shape, ...t.shape.map(() => 1)]) : y, t.levels);
    }
    return wrap(f(t.value, shiftAxes(op, t, axis)[0]!, Boolean(keep)), t.levels);
  };
}

/** An op taking (x, axis, ...) with a single axis (default −1). */
function alongAxis(op: string, f: (x: Tensor, axis: number, ...rest: never[]) => unknown, fallbackAxis = -1): BatchRule {
  return ([x, axis, ...rest]) => {
    const t = x as BatchTracer;
    return wrap(f(t.value, shiftAxes(op, t, axis ?? fallbackAxis)[0]!, ...(rest as never[])) as Tensor, t.levels);
  };
}

/** Moves physical axis `from` to position `to` (raw permute). */
export function moveAxis(x: Tensor, from: number, to: number): Tensor {
  if (from === to) return x;
  const axes = x.shape.map((_, i) => i).filter((i) => i !== from);
  axes.splice(to, 0, from);
  return raw.permute(x, axes);
}

/** Copies an index array once per batch entry (the physical layout of a per-example index array). */
function tile(indices: Int32Array, times: number): Int32Array {
  if (indices instanceof BatchedIndices) return indices;
  const out = new Int32Array(indices.length * times);
  for (let b = 0; b < times; b++) out.set(indices, b * indices.length);
  return out;
}

/** Wraps a physical index array as batched indices over `levels`. */
function batchedIndices(idx: Int32Array, levels: readonly number[]): Int32Array {
  const out = new BatchedIndices(idx.length);
  out.set(idx);
  out.batchLevels = levels;
  return out;
}

/** The batch of `x` flattened: [Bflat, ...logical]. */
const flatBatch = (t: BatchTracer) => sizeOf(t.value.shape.slice(0, nbOf(t)));

/** matmul: both operands brought to common batch dims, folded into the (logical) batch dim. */
function matmulRule([a, b]: readonly unknown[]): Tensor {
  const A = a as Tensor, B = b as Tensor;
  if (!(A instanceof Tensor) || !(B instanceof Tensor) || ![2, 3].includes(A.rank) || ![2, 3].includes(B.rank) || (A.rank === 2 && B.rank === 3)) {
    return raw.matmul(A, B); // the raw op throws its usual error (the physical shapes are never shown)
  }
  const levels = unionLevels([A, B]);
  const nb = levels.length, m = A.shape[A.rank - 2]!, k = A.shape[A.rank - 1]!, n = B.shape[B.rank - 1]!;
  if (B.shape[B.rank - 2] !== k || (A.rank === 3 && B.rank === 3 && A.shape[0] !== B.shape[0])) {
    throw new ShapeError('matmul', `inner dimensions must match; got ${fmtShape(A.shape)} and ${fmtShape(B.shape)}`);
  }
  const batch = levels.map(levelSize);
  const outShape = [...batch, ...(A.rank === 3 ? [A.shape[0]!] : []), m, n];
  if (!isT(B) && B.rank === 2) { // shared right operand (e.g. one weight matrix): one [N·m, k] @ [k, n]
    const a2 = raw.reshape(materialize(A, levels), [-1, k]);
    return wrap(raw.reshape(raw.matmul(a2, B), outShape), levels);
  }
  const lead = A.rank === 3 ? [A.shape[0]!] : [];
  const a3 = raw.reshape(materialize(A, levels, A.rank), [-1, m, k]);
  const bFull = B.rank === 2 && lead.length ? raw.broadcastTo(align(B, levels, 3), [...batch, lead[0]!, k, n]) : materialize(B, levels, B.rank);
  const b3 = raw.reshape(bFull, [-1, k, n]);
  return wrap(raw.reshape(raw.matmul(a3, b3), outShape), levels);
}

function reshapeRule([x, shape]: readonly unknown[]): Tensor {
  const t = x as BatchTracer;
  const target = raw.reshape(fromData(new Float64Array(t.size), t.shape), shape as number[]).shape; // resolves −1, checks logically
  return wrap(raw.reshape(t.value, [...t.value.shape.slice(0, nbOf(t)), ...target]), t.levels);
}

function broadcastToRule([x, shape]: readonly unknown[]): Tensor {
  const t = x as BatchTracer, s = shape as number[];
  if (!Array.isArray(s) || s.length < t.rank) return raw.broadcastTo(fromData(new Float64Array(t.size), t.shape), s);
  const a = align(t, t.levels, s.length);
  return wrap(raw.broadcastTo(a, [...a.shape.slice(0, nbOf(t)), ...s]), t.levels);
}

function sumToRule([x, shape]: readonly unknown[]): Tensor {
  const t = x as BatchTracer, s = shape as number[], nb = nbOf(t);
  raw.sumTo(fromData(new Float64Array(t.size), t.shape), s); // logical check (throws the usual error)
  const lead = t.rank - s.length;
  const axes: number[] = [];
  t.shape.forEach((d, i) => { if (i < lead || (s[i - lead] === 1 && d !== 1)) axes.push(i + nb); });
  const summed = axes.length ? raw.sum(t.value, axes, true) : t.value;
  return wrap(raw.reshape(summed, [...t.value.shape.slice(0, nb), ...s]), t.levels);
}

function permuteRule([x, axes]: readonly unknown[]): Tensor {
  const t = x as BatchTracer, nb = nbOf(t);
  const list = axes as number[];
  if (!Array.isArray(list) || list.length !== t.rank) return raw.permute(fromData(new Float64Array(t.size), t.shape), list);
  const norm = list.map((a) => normalizeAxis(a, t.rank, 'permute', t.shape));
  return wrap(raw.permute(t.value, [...t.levels.map((_, i) => i), ...norm.map((a) => a + nb)]), t.levels);
}

function sliceRule([x, starts, ends]: readonly unknown[]): Tensor {
  const t = x as BatchTracer, nb = nbOf(t);
  const batch = t.value.shape.slice(0, nb);
  raw.slice(fromData(new Float64Array(t.size), t.shape), starts as number[], ends as number[] | undefined); // logical check
  const st = (starts as number[]).map((s, i) => (s < 0 ? s + t.shape[i]! : s));
  const en = ends === undefined ? undefined : (ends as number[]).map((e, i) => (e < 0 ? e + t.shape[i]! : e));
  return wrap(raw.slice(t.value, [...batch.map(() => 0), ...st], en ? [...batch, ...en] : undefined), t.levels);
}

function unsliceRule([x, starts, shape]: readonly unknown[]): Tensor {
  const t = x as BatchTracer, batch = t.value.shape.slice(0, nbOf(t));
  return wrap(raw.unslice(t.value, [...batch.map(() => 0), ...(starts as number[])], [...batch, ...(shape as number[])]), t.levels);
}

function concatRule([xs, axis]: readonly unknown[]): Tensor {
  const list = xs as Tensor[];
  const levels = unionLevels(list);
  const first = list[0]!;
  const ax = normalizeAxis((axis as number | undefined) ?? 0, first.rank, 'concat', first.shape);
  return wrap(raw.concat(list.map((x) => materialize(x, levels)), ax + levels.length), levels);
}

function stackRule([xs, axis]: readonly unknown[]): Tensor {
  const list = xs as Tensor[];
  const levels = unionLevels(list);
  const first = list[0]!;
  list.forEach((x) => { if (x.rank !== first.rank || x.shape.some((d, i) => d !== first.shape[i])) throw new ShapeError('stack', `all tensors must have the same shape; got ${list.map((t) => fmtShape(t.shape)).join(', ')}`); });
  const ax = normalizeAxis((axis as number | undefined) ?? 0, first.rank + 1, 'stack', first.shape);
  return wrap(raw.stack(list.map((x) => materialize(x, levels)), ax + levels.length), levels);
}

function squeezeRule([x, axis]: readonly unknown[]): Tensor {
  const t = x as BatchTracer, nb = nbOf(t);
  if (axis === undefined) return wrap(raw.reshape(t.value, [...t.value.shape.slice(0, nb), ...t.shape.filter((d) => d !== 1)]), t.levels);
  const ax = normalizeAxis(axis as number, t.rank, 'squeeze', t.shape);
  if (t.shape[ax] !== 1) throw new ShapeError('squeeze', `axis ${String(axis)} has size ${t.shape[ax]}, not 1 (shape ${fmtShape(t.shape)})`);
  return wrap(raw.squeeze(t.value, ax + nb), t.levels);
}

/** gatherRows / scatterAddRows: the row axis moved in front of the batch dims for the raw op. */
function rowsRule(f: (x: Tensor, idx: Int32Array, ...rest: never[]) => Tensor, op: string): BatchRule {
  return ([x, indices, ...rest]) => {
    const t = x as BatchTracer, nb = nbOf(t);
    if (indices instanceof BatchedIndices || t.rank < 1) throw new ShapeError(op, `needs rank ≥ 1 and per-example indices; got ${fmtShape(t.shape)}`);
    const y = f(moveAxis(t.value, nb, 0), indices as Int32Array, ...(rest as never[]));
    return wrap(moveAxis(y, 0, nb), t.levels);
  };
}

/** takeAlongAxis / scatterAlongAxis: indices tiled over the batch (or already batched, from topk). */
function alongRule(f: (x: Tensor, idx: Int32Array, axis: number, ...rest: never[]) => Tensor, op: string): BatchRule {
  return ([x, indices, axis, ...rest]) => {
    const t = x instanceof BatchTracer ? x : null;
    const idx = indices as Int32Array;
    if (t === null) { // unbatched values, batched indices (topk of a batched tensor applied to a constant)
      const b = idx as BatchedIndices, levels = b.batchLevels;
      const xt = materialize(x as Tensor, levels);
      const ax = normalizeAxis((axis as number | undefined) ?? -1, (x as Tensor).rank, op, (x as Tensor).shape);
      return wrap(f(xt, idx, ax + levels.length, ...(rest as never[])), levels);
    }
    let value = t.value, levels = t.levels;
    if (idx instanceof BatchedIndices && idx.batchLevels.join() !== levels.join()) {
      levels = unionLevels([t, new BatchTracer(fromData(new Float64Array(0), [...idx.batchLevels.map(() => 0)]), idx.batchLevels)]);
      value = materialize(t, levels);
    }
    const ax = normalizeAxis((axis as number | undefined) ?? -1, t.rank, op, t.shape) + levels.length;
    const times = sizeOf(value.shape.slice(0, levels.length));
    return wrap(f(value, tile(idx, times), ax, ...(rest as never[])), levels);
  };
}

function topkRule([x, k, axis]: readonly unknown[]): raw.TopK {
  const t = x as BatchTracer;
  const ax = shiftAxes('topk', t, axis ?? -1)[0]!;
  const { values, indices } = raw.topk(t.value, k as number, ax);
  return { values: wrap(values, t.levels), indices: batchedIndices(indices, t.levels) };
}

function argmaxRule([x, axis]: readonly unknown[]): Int32Array {
  const t = x as BatchTracer;
  return batchedIndices(raw.argmax(t.value, shiftAxes('argmax', t, axis ?? -1)[0]!), t.levels);
}

function whereRule([mask, a, b]: readonly unknown[]): Tensor {
  const m = mask instanceof Tensor ? mask : fromData(Float64Array.from(mask as ArrayLike<number>, (v) => (v ? 1 : 0)), [(mask as ArrayLike<number>).length]);
  const ts = [operand(a, [a, b]), operand(b, [a, b])];
  const levels = unionLevels([m, ...ts]);
  const rank = Math.max(m.rank, ...ts.map(logicalRank));
  return wrap(raw.where(align(m, levels, rank), align(ts[0]!, levels, rank), align(ts[1]!, levels, rank)), levels);
}

function mseRule([pred, target]: readonly unknown[]): Tensor {
  const p = pred as Tensor, q = target as Tensor;
  if (!(p instanceof Tensor) || !(q instanceof Tensor) || p.rank !== q.rank || p.shape.some((d, i) => d !== q.shape[i])) return raw.mse(p, q);
  const levels = unionLevels([p, q]);
  const d = raw.square(raw.sub(align(p, levels), align(q, levels)));
  const full = raw.broadcastTo(d, [...levels.map(levelSize), ...p.shape]);
  return wrap(raw.mean(full, p.shape.map((_, i) => i + levels.length)), levels);
}

function nllRule([logProbs, labels]: readonly unknown[]): Tensor {
  const lp = logProbs as Tensor;
  if (labels instanceof BatchedIndices) { // per-example labels (an Int32Array batched by vmap's inAxes)
    const levels = labels.batchLevels;
    if (!(lp instanceof Tensor) || lp.rank !== 2 || (lp instanceof BatchTracer && lp.levels.some((l) => !levels.includes(l)))) {
      throw new ShapeError('nll', `batched labels need logProbs [N, C] batched over the labels' vmap levels (or fewer); got ${lp instanceof Tensor ? fmtShape(lp.shape) : typeof lp}`);
    }
    const nb = levels.length, phys = materialize(lp, levels);
    if (labels.length !== sizeOf(phys.shape.slice(0, nb + 1))) throw new ShapeError('nll', `expects one Int32 label per row (${lp.shape[0]}); got ${labels.length / sizeOf(phys.shape.slice(0, nb))} per example`);
    return wrap(raw.neg(raw.mean(raw.takeAlongAxis(phys, labels, nb + 1), [nb, nb + 1])), levels);
  }
  const t = lp as BatchTracer, nb = nbOf(t);
  if (t.rank !== 2 || !(labels instanceof Int32Array)) return raw.nll(fromData(new Float64Array(t.size), t.shape), labels as Int32Array);
  raw.nll(fromData(new Float64Array(t.size), t.shape), labels); // logical label checks
  const picked = raw.takeAlongAxis(t.value, tile(labels, flatBatch(t)), nb + 1);
  return wrap(raw.neg(raw.mean(picked, [nb, nb + 1])), t.levels);
}

function weightedCenterRule([g, w, axis]: readonly unknown[]): Tensor {
  const levels = unionLevels([g, w]);
  const G = g as Tensor;
  const ax = normalizeAxis((axis as number | undefined) ?? -1, G.rank, 'weightedCenter', G.shape) + levels.length;
  return wrap(raw.weightedCenter(materialize(G, levels), materialize(w as Tensor, levels), ax), levels);
}

/** The rule table, by exported op name. Ops not listed run once per example under vmap. */
export const BATCH_RULES: Readonly<Record<string, BatchRule>> = {
  ...Object.fromEntries(['neg', 'exp', 'log', 'sqrt', 'square', 'abs', 'tanh', 'sigmoid', 'softplus', 'relu', 'silu', 'erf', 'geluTanh', 'geluErf', 'gelu', 'pow', 'scale']
    .map((name) => [name, unary((raw as unknown as Record<string, (x: Tensor, ...r: unknown[]) => Tensor>)[name]!)])),
  ...Object.fromEntries(['add', 'sub', 'mul', 'div', 'maximum', 'minimum']
    .map((name) => [name, elementwise(name, (raw as unknown as Record<string, (a: Tensor, b: Tensor) => Tensor>)[name]!, 2)])),
  where: whereRule,
  sum: reduction('sum', (x, axes, keep) => raw.sum(x, axes, keep)),
  mean: reduction('mean', (x, axes, keep) => raw.mean(x, axes, keep)),
  variance: reduction('variance', (x, axes, keep, correction) => raw.variance(x, axes, keep, correction as number | undefined)),
  max: extreme('max', raw.max),
  min: extreme('min', raw.min),
  logsumexp: ([x, axis, keep]) => { const t = x as BatchTracer; return wrap(raw.logsumexp(t.value, shiftAxes('logsumexp', t, axis ?? -1)[0]!, Boolean(keep)), t.levels); },
  softmax: alongAxis('softmax', raw.softmax),
  logSoftmax: alongAxis('logSoftmax', raw.logSoftmax),
  weightedCenter: weightedCenterRule,
  matmul: matmulRule,
  reshape: reshapeRule,
  broadcastTo: broadcastToRule,
  sumTo: sumToRule,
  permute: permuteRule,
  transpose: unary(raw.transpose),
  slice: sliceRule,
  unslice: unsliceRule,
  concat: concatRule,
  stack: stackRule,
  expandDims: ([x, axis]) => { const t = x as BatchTracer; return wrap(raw.expandDims(t.value, normalizeAxis(axis as number, t.rank + 1, 'expandDims', t.shape) + nbOf(t)), t.levels); },
  squeeze: squeezeRule,
  gatherRows: rowsRule(raw.gatherRows, 'gatherRows'),
  scatterAddRows: rowsRule(raw.scatterAddRows, 'scatterAddRows'),
  takeAlongAxis: alongRule(raw.takeAlongAxis, 'takeAlongAxis'),
  scatterAlongAxis: alongRule(raw.scatterAlongAxis, 'scatterAlongAxis'),
  topk: topkRule,
  argmax: argmaxRule,
  mse: mseRule,
  nll: nllRule,
  crossEntropy: ([logits, labels]) => nllRule([logits instanceof BatchTracer ? BATCH_RULES.logSoftmax!([logits, 1]) : raw.logSoftmax(logits as Tensor, 1), labels]),
};

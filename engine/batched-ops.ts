/**
 * The public engine ops, as vmap sees them: each export here is the op from engine/ops with one
 * added branch — when a vmap is active and an argument is batched, the op's batching rule
 * (engine/batching.ts) runs instead. With no vmap active the cost is one integer test, so the hot
 * path is unchanged. engine/index.ts exports these in place of the raw ops (which stay available as
 * `rawOps`, with the documentation these inherit).
 */
import * as raw from './ops/index.js';
import { BatchTracer, vmapDepth } from './batch-tracer.js';
import { BATCH_RULES, BatchedIndices } from './batching.js';

/** Is some argument (or element of an array argument: concat, stack) batched? */
function anyBatched(a: unknown, b: unknown, c: unknown, d: unknown, e: unknown): boolean {
  for (const v of [a, b, c, d, e]) {
    if (v instanceof BatchTracer || v instanceof BatchedIndices) return true;
    if (Array.isArray(v)) for (const u of v) if (u instanceof BatchTracer) return true;
  }
  return false;
}

/** The op `f` with vmap dispatch to `BATCH_RULES[name]`; same name, same behaviour otherwise. */
function batchable<F extends (...args: never[]) => unknown>(name: string, f: F): F {
  const rule = BATCH_RULES[name]!;
  const g = f as unknown as (a?: unknown, b?: unknown, c?: unknown, d?: unknown, e?: unknown) => unknown;
  const op = (a?: unknown, b?: unknown, c?: unknown, d?: unknown, e?: unknown): unknown =>
    (vmapDepth === 0 || !anyBatched(a, b, c, d, e) ? g(a, b, c, d, e) : rule([a, b, c, d, e]));
  Object.defineProperty(op, 'name', { value: name });
  return op as unknown as F;
}

/** {@inheritDoc rawOps.neg} */
export const neg = batchable('neg', raw.neg);
/** {@inheritDoc rawOps.exp} */
export const exp = batchable('exp', raw.exp);
/** {@inheritDoc rawOps.log} */
export const log = batchable('log', raw.log);
/** {@inheritDoc rawOps.sqrt} */
export const sqrt = batchable('sqrt', raw.sqrt);
/** {@inheritDoc rawOps.square} */
export const square = batchable('square', raw.square);
/** {@inheritDoc rawOps.abs} */
export const abs = batchable('abs', raw.abs);
/** {@inheritDoc rawOps.tanh} */
export const tanh = batchable('tanh', raw.tanh);
/** {@inheritDoc rawOps.sigmoid} */
export const sigmoid = batchable('sigmoid', raw.sigmoid);
/** {@inheritDoc rawOps.softplus} */
export const softplus = batchable('softplus', raw.softplus);
/** {@inheritDoc rawOps.relu} */
export const relu = batchable('relu', raw.relu);
/** {@inheritDoc rawOps.silu} */
export const silu = batchable('silu', raw.silu);
/** {@inheritDoc rawOps.erf} */
export const erf = batchable('erf', raw.erf);
/** {@inheritDoc rawOps.geluTanh} */
export const geluTanh = batchable('geluTanh', raw.geluTanh);
/** {@inheritDoc rawOps.geluErf} */
export const geluErf = batchable('geluErf', raw.geluErf);
/** {@inheritDoc rawOps.gelu} */
export const gelu = batchable('gelu', raw.gelu);
/** {@inheritDoc rawOps.pow} */
export const pow = batchable('pow', raw.pow);
/** {@inheritDoc rawOps.scale} */
export const scale = batchable('scale', raw.scale);
/** {@inheritDoc rawOps.add} */
export const add = batchable('add', raw.add);
/** {@inheritDoc rawOps.sub} */
export const sub = batchable('sub', raw.sub);
/** {@inheritDoc rawOps.mul} */
export const mul = batchable('mul', raw.mul);
/** {@inheritDoc rawOps.div} */
export const div = batchable('div', raw.div);
/** {@inheritDoc rawOps.maximum} */
export const maximum = batchable('maximum', raw.maximum);
/** {@inheritDoc rawOps.minimum} */
export const minimum = batchable('minimum', raw.minimum);
/** {@inheritDoc rawOps.where} */
export const where = batchable('where', raw.where);
/** {@inheritDoc rawOps.sum} */
export const sum = batchable('sum', raw.sum);
/** {@inheritDoc rawOps.mean} */
export const mean = batchable('mean', raw.mean);
/** {@inheritDoc rawOps.variance} */
export const variance = batchable('variance', raw.variance);
/** {@inheritDoc rawOps.max} */
export const max = batchable('max', raw.max);
/** {@inheritDoc rawOps.min} */
export const min = batchable('min', raw.min);
/** {@inheritDoc rawOps.logsumexp} */
export const logsumexp = batchable('logsumexp', raw.logsumexp);
/** {@inheritDoc rawOps.softmax} */
export const softmax = batchable('softmax', raw.softmax);
/** {@inheritDoc rawOps.logSoftmax} */
export const logSoftmax = batchable('logSoftmax', raw.logSoftmax);
/** {@inheritDoc rawOps.weightedCenter} */
export const weightedCenter = batchable('weightedCenter', raw.weightedCenter);
/** {@inheritDoc rawOps.matmul} */
export const matmul = batchable('matmul', raw.matmul);
/** {@inheritDoc rawOps.reshape} */
export const reshape = batchable('reshape', raw.reshape);
/** {@inheritDoc rawOps.broadcastTo} */
export const broadcastTo = batchable('broadcastTo', raw.broadcastTo);
/** {@inheritDoc rawOps.sumTo} */
export const sumTo = batchable('sumTo', raw.sumTo);
/** {@inheritDoc rawOps.permute} */
export const permute = batchable('permute', raw.permute);
/** {@inheritDoc rawOps.transpose} */
export const transpose = batchable('transpose', raw.transpose);
/** {@inheritDoc rawOps.slice} */
export const slice = batchable('slice', raw.slice);
/** {@inheritDoc rawOps.unslice} */
export const unslice = batchable('unslice', raw.unslice);
/** {@inheritDoc rawOps.concat} */
export const concat = batchable('concat', raw.concat);
/** {@inheritDoc rawOps.stack} */
export const stack = batchable('stack', raw.stack);
/** {@inheritDoc rawOps.expandDims} */
export const expandDims = batchable('expandDims', raw.expandDims);
/** {@inheritDoc rawOps.squeeze} */
export const squeeze = batchable('squeeze', raw.squeeze);
/** {@inheritDoc rawOps.gatherRows} */
export const gatherRows = batchable('gatherRows', raw.gatherRows);
/** {@inheritDoc rawOps.scatterAddRows} */
export const scatterAddRows = batchable('scatterAddRows', raw.scatterAddRows);
/** {@inheritDoc rawOps.takeAlongAxis} */
export const takeAlongAxis = batchable('takeAlongAxis', raw.takeAlongAxis);
/** {@inheritDoc rawOps.scatterAlongAxis} */
export const scatterAlongAxis = batchable('scatterAlongAxis', raw.scatterAlongAxis);
/** {@inheritDoc rawOps.topk} */
export const topk = batchable('topk', raw.topk);
/** {@inheritDoc rawOps.argmax} */
export const argmax = batchable('argmax', raw.argmax);
/** {@inheritDoc rawOps.mse} */
export const mse = batchable('mse', raw.mse);
/** {@inheritDoc rawOps.nll} */
export const nll = batchable('nll', raw.nll);
/** {@inheritDoc rawOps.crossEntropy} */
export const crossEntropy = batchable('crossEntropy', raw.crossEntropy);

/** Names of the ops exported with a batching rule. */
export const BATCHED_OP_NAMES: readonly string[] = Object.keys(BATCH_RULES);

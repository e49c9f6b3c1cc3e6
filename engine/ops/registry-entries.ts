/**
 * Registry entries for every differentiable engine op: how to draw a valid float64 case from the
 * op's domain. Domains avoid kinks and ties so central differences (ε = 1e-6) never straddle one:
 *  - relu/abs: |x| ≥ 0.05;  log/sqrt: x ≥ 0.2;  div: |b| ≥ 0.5;  pow (non-integer p): x ∈ [0.5, 2];
 *  - maximum/minimum: |a − b| > 0.01 after broadcasting;
 *  - max/min/topk: values along the reduced axis are distinct by ≥ 0.05 (so no tie, no flipped arg).
 * Binary ops draw broadcasting cases (size-1 dims, missing leading dims, either side).
 * Integer parameters (axes, k, indices) are drawn here and closed over in `run`.
 */
import { Tensor, rand, fromData } from '../tensor.js';
import { Rng } from '../rng.js';
import { sizeOf } from '../shape.js';
import type { OpSpec, OpCase } from './registry.js';
import {
  add, sub, mul, div, maximum, minimum, where, neg, exp, log, sqrt, square, abs, tanh, sigmoid, softplus, relu,
  silu, erf, geluTanh, geluErf, pow, scale,
} from './arithmetic.js';
import { broadcastTo, sumTo, reshape, permute, transpose, slice, unslice, concat, stack, expandDims, squeeze } from './shape-ops.js';
import { sum, mean, variance, max, min, logsumexp } from './reduce.js';
import { softmax, logSoftmax } from './softmax.js';
import { gatherRows, scatterAddRows, takeAlongAxis, scatterAlongAxis, topk } from './index-ops.js';
import { matmul } from './matmul.js';
import { matmulNT, matmulTN } from './matmul-transposed.js';
import { mse, crossEntropy, nll } from './losses.js';
import { axisLayout } from './kernels.js';

// ---------- sampling helpers ----------

/** An integer in [lo, max(lo, min(size, hi))]. */
const dim = (rng: Rng, size: number, lo = 1, hi = 5) => lo + rng.int(Math.max(1, Math.min(size, hi) - lo + 1));
/** A random shape of the given rank, dims in [lo, max(lo, size)]. */
const shapeOf = (rng: Rng, size: number, rank: number, lo = 1) => Array.from({ length: rank }, () => dim(rng, size, lo));
/** Rank in [lo, hi]. */
const rankIn = (rng: Rng, lo: number, hi: number) => lo + rng.int(hi - lo + 1);
const uniform = (rng: Rng, shape: readonly number[], lo = -2, hi = 2) => rand(rng, shape, lo, hi);
/** Random sign times a magnitude in [lo, hi] (keeps away from the kink at 0). */
function awayFromZero(rng: Rng, shape: readonly number[], lo: number, hi: number): Tensor {
  const d = new Float64Array(sizeOf(shape));
  for (let i = 0; i < d.length; i++) d[i] = (rng.uniform() < 0.5 ? -1 : 1) * (lo + (hi - lo) * rng.uniform());
  return fromData(d, shape);
}
/** Values distinct by ≥ 0.05 along `axis` (all elements when axis is undefined): spaced ranks, shuffled, jittered. */
function distinctAlong(rng: Rng, shape: readonly number[], axis?: number): Tensor {
  const flat = axis === undefined;
  const { outer, n, inner } = flat ? { outer: 1, n: sizeOf(shape), inner: 1 } : axisLayout(shape, axis, 'registry');
  const d = new Float64Array(sizeOf(shape));
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const perm = rng.permutation(n);
      for (let j = 0; j < n; j++) d[(o * n + j) * inner + i] = (perm[j]! - n / 2) * 0.3 + 0.25 * rng.uniform();
    }
  }
  return fromData(d, shape);
}
/** A random axis of `rank`, negative half of the time. */
const axisOf = (rng: Rng, rank: number) => { const a = rng.int(rank); return rng.uniform() < 0.5 ? a - rank : a; };
const bool = (rng: Rng) => rng.uniform() < 0.5;
const intArray = (rng: Rng, n: number, bound: number) => Int32Array.from({ length: n }, () => rng.int(bound));
const fmt = (s: readonly number[]) => `[${s.join(', ')}]`;

/**
 * Two shapes that broadcast: a full shape and a partner with some dims set to 1 and maybe fewer
 * leading dims; which operand is the smaller one is random.
 */
function broadcastPair(rng: Rng, size: number): [number[], number[]] {
  const full = shapeOf(rng, size, rankIn(rng, 1, 3));
  const mode = rng.int(3);
  if (mode === 0) return [full, full.slice()];
  let partner = full.map((d) => (bool(rng) ? 1 : d));
  partner = partner.slice(rng.int(partner.length)); // drop some leading dims
  return bool(rng) ? [full, partner] : [partner, full];
}

// ---------- entry builders ----------

function unary(name: string, f: (x: Tensor) => Tensor, draw: (rng: Rng, shape: number[]) => Tensor, tolerance?: OpSpec['tolerance']): OpSpec {
  return {
    name, family: 'elementwise', ...(tolerance ? { tolerance } : {}),
    sample: (rng, size) => {
      const x = draw(rng, shapeOf(rng, size, rankIn(rng, 0, 3)));
      return { inputs: [x], run: ([a]) => f(a!), label: `x ${fmt(x.shape)}` };
    },
  };
}

function binary(name: string, f: (a: Tensor, b: Tensor) => Tensor, draw: (rng: Rng, sa: number[], sb: number[]) => [Tensor, Tensor]): OpSpec {
  return {
    name, family: 'elementwise-binary',
    sample: (rng, size) => {
      const [sa, sb] = broadcastPair(rng, size);
      const [a, b] = draw(rng, sa, sb);
      return { inputs: [a, b], run: ([x, y]) => f(x!, y!), label: `a ${fmt(sa)}, b ${fmt(sb)}` };
    },
  };
}

/** Redraws (a, b) until every broadcast pair differs by more than 0.01 (no tie for maximum/minimum). */
function untied(rng: Rng, sa: number[], sb: number[]): [Tensor, Tensor] {
  for (;;) {
    const a = uniform(rng, sa), b = uniform(rng, sb);
    const gap = Math.min(...Array.from(abs(sub(a, b)).data));
    if (gap > 0.01) return [a, b];
  }
}

/** A single-input op with a randomly drawn configuration. */
function single(name: string, family: string, draw: (rng: Rng, size: number) => OpCase, tolerance?: OpSpec['tolerance']): OpSpec {
  return { name, family, sample: draw, ...(tolerance ? { tolerance } : {}) };
}

/** Reductions taking an axis (negative allowed) or axis list and keepDims. */
function reduction(name: string, f: (x: Tensor, axis: number | number[] | undefined, keep: boolean) => Tensor, opts: { list?: boolean; distinct?: boolean; needAxis?: boolean } = {}): OpSpec {
  return single(name, 'reduction', (rng, size) => {
    const shape = shapeOf(rng, size, rankIn(rng, 1, 3), 2);
    const mode = rng.int(opts.needAxis ? 1 : opts.list ? 3 : 2);
    let axis: number | number[] | undefined;
    if (mode === 0) axis = axisOf(rng, shape.length);
    else if (mode === 1) axis = undefined;
    else axis = Array.from(rng.permutation(shape.length)).slice(0, 1 + rng.int(shape.length));
    const keep = bool(rng);
    const x = opts.distinct ? distinctAlong(rng, shape, typeof axis === 'number' ? axis : undefined) : uniform(rng, shape);
    return { inputs: [x], run: ([a]) => f(a!, axis, keep), label: `x ${fmt(shape)}, axis ${JSON.stringify(axis)}, keepDims ${keep}` };
  });
}

// ---------- the entries ----------

const POW_EXPONENTS = [2, 3, -1, 0.5, -1.5, 2.7];

export const ENGINE_OP_ENTRIES: OpSpec[] = [
  // elementwise, unary
  unary('neg', neg, (r, s) => uniform(r, s)),
  unary('exp', exp, (r, s) => uniform(r, s)),
  unary('log', log, (r, s) => uniform(r, s, 0.2, 3)),
  unary('sqrt', sqrt, (r, s) => uniform(r, s, 0.2, 3)),
  unary('square', square, (r, s) => uniform(r, s)),
  unary('abs', abs, (r, s) => awayFromZero(r, s, 0.05, 2)),
  unary('tanh', tanh, (r, s) => uniform(r, s, -3, 3)),
  unary('sigmoid', sigmoid, (r, s) => uniform(r, s, -4, 4)),
  unary('softplus', softplus, (r, s) => uniform(r, s, -4, 4)),
  unary('relu', relu, (r, s) => awayFromZero(r, s, 0.05, 2)),
  unary('silu', silu, (r, s) => uniform(r, s, -4, 4)),
  // |x| ≤ 2.5: beyond, erf is within 1e-6 of ±1 and its slope (≤ 5e-6 at 3.5) is below the
  // finite-difference noise floor (ulp(1)/ε ≈ 1e-10) times 1e-6; the op is fine there, the check is not.
  unary('erf', erf, (r, s) => uniform(r, s, -2.5, 2.5)),
  unary('geluTanh', geluTanh, (r, s) => uniform(r, s, -4, 4)),
  unary('geluErf', geluErf, (r, s) => uniform(r, s, -4, 4)),
  single('pow', 'elementwise', (rng, size) => {
    // Non-integer and negative exponents need x > 0; x ∈ [0.5, 2] keeps x^(p−2) (the second
    // derivative) moderate so the 1e-6 relative error holds for the second-order check too.
    const p = POW_EXPONENTS[rng.int(POW_EXPONENTS.length)]!;
    const x = Number.isInteger(p) && p > 0 ? uniform(rng, shapeOf(rng, size, rankIn(rng, 0, 3))) : uniform(rng, shapeOf(rng, size, rankIn(rng, 0, 3)), 0.5, 2);
    return { inputs: [x], run: ([a]) => pow(a!, p), label: `x ${fmt(x.shape)}, p ${p}` };
  }),
  single('scale', 'elementwise', (rng, size) => {
    const c = rng.normal() * 2;
    const x = uniform(rng, shapeOf(rng, size, rankIn(rng, 0, 3)));
    return { inputs: [x], run: ([a]) => scale(a!, c), label: `x ${fmt(x.shape)}, c ${c.toFixed(3)}` };
  }),

  // elementwise, binary (broadcasting)
  binary('add', add, (r, sa, sb) => [uniform(r, sa), uniform(r, sb)]),
  binary('sub', sub, (r, sa, sb) => [uniform(r, sa), uniform(r, sb)]),
  binary('mul', mul, (r, sa, sb) => [uniform(r, sa), uniform(r, sb)]),
  binary('div', div, (r, sa, sb) => [uniform(r, sa), awayFromZero(r, sb, 0.5, 2)]),
  binary('maximum', maximum, untied),
  binary('minimum', minimum, untied),
  single('where', 'elementwise-binary', (rng, size) => {
    const [sa, sb] = broadcastPair(rng, size);
    const full = sa.length >= sb.length ? sa : sb;
    const maskShape = full.map((d) => (bool(rng) ? d : 1));
    const mask = fromData(Float64Array.from({ length: sizeOf(maskShape) }, () => (bool(rng) ? 1 : 0)), maskShape);
    const a = uniform(rng, sa), b = uniform(rng, sb);
    return { inputs: [a, b], run: ([x, y]) => where(mask, x!, y!), label: `mask ${fmt(maskShape)}, a ${fmt(sa)}, b ${fmt(sb)}` };
  }),

  // layout
  single('broadcastTo', 'layout', (rng, size) => {
    const [sa, sb] = broadcastPair(rng, size);
    const [small, big] = sizeOf(sa) <= sizeOf(sb) && sa.length <= sb.length ? [sa, sb] : [sb, sa];
    const target = [dim(rng, size), ...big]; // one extra leading dim as well
    const x = uniform(rng, small);
    return { inputs: [x], run: ([a]) => broadcastTo(a!, target), label: `${fmt(small)} → ${fmt(target)}` };
  }),
  single('sumTo', 'layout', (rng, size) => {
    const [sa, sb] = broadcastPair(rng, size);
    const [small, big] = sizeOf(sa) <= sizeOf(sb) && sa.length <= sb.length ? [sa, sb] : [sb, sa];
    const from = [dim(rng, size), ...big];
    const x = uniform(rng, from);
    return { inputs: [x], run: ([a]) => sumTo(a!, small), label: `${fmt(from)} → ${fmt(small)}` };
  }),
  single('reshape', 'layout', (rng, size) => {
    const shape = shapeOf(rng, size, rankIn(rng, 1, 3));
    const n = sizeOf(shape);
    const target = bool(rng) ? [n] : [1, -1, 1];
    const x = uniform(rng, shape);
    return { inputs: [x], run: ([a]) => mul(reshape(a!, target), reshape(a!, target)), label: `${fmt(shape)} → ${fmt(target)} (squared, so the VJP is not the identity)` };
  }),
  single('permute', 'layout', (rng, size) => {
    const shape = shapeOf(rng, size, 3);
    const axes = Array.from(rng.permutation(3)).map((a) => (bool(rng) ? a - 3 : a));
    const x = uniform(rng, shape);
    return { inputs: [x], run: ([a]) => permute(a!, axes), label: `x ${fmt(shape)}, axes ${fmt(axes)}` };
  }),
  single('transpose', 'layout', (rng, size) => {
    const shape = shapeOf(rng, size, rankIn(rng, 2, 3));
    const x = uniform(rng, shape);
    return { inputs: [x], run: ([a]) => transpose(a!), label: `x ${fmt(shape)}` };
  }),
  single('slice', 'layout', (rng, size) => {
    const shape = shapeOf(rng, size, rankIn(rng, 1, 3));
    const starts = shape.map((d) => rng.int(d));
    // Ends are exclusive; below the dim they are sometimes written negatively (counted from the end).
    const ends = shape.map((d, i) => { const e = starts[i]! + 1 + rng.int(d - starts[i]!); return e < d && bool(rng) ? e - d : e; });
    const x = uniform(rng, shape);
    return { inputs: [x], run: ([a]) => slice(a!, starts, ends), label: `x ${fmt(shape)}, starts ${fmt(starts)}, ends ${fmt(ends)}` };
  }),
  single('unslice', 'layout', (rng, size) => {
    const shape = shapeOf(rng, size, rankIn(rng, 1, 3));
    const starts = shape.map((d) => rng.int(d));
    const sizes = shape.map((d, i) => 1 + rng.int(d - starts[i]!));
    const x = uniform(rng, sizes);
    return { inputs: [x], run: ([a]) => unslice(a!, starts, shape), label: `x ${fmt(sizes)} at ${fmt(starts)} in ${fmt(shape)}` };
  }),
  single('concat', 'layout', (rng, size) => {
    const shape = shapeOf(rng, size, rankIn(rng, 1, 3));
    const axis = axisOf(rng, shape.length);
    const ax = axis < 0 ? axis + shape.length : axis;
    const xs = Array.from({ length: 2 + rng.int(2) }, () => uniform(rng, shape.map((d, i) => (i === ax ? dim(rng, size) : d))));
    return { inputs: xs, run: (ts) => concat(ts, axis), label: `${xs.map((t) => fmt(t.shape)).join(' + ')} on axis ${axis}` };
  }),
  single('stack', 'layout', (rng, size) => {
    const shape = shapeOf(rng, size, rankIn(rng, 0, 2));
    const axis = axisOf(rng, shape.length + 1);
    const xs = Array.from({ length: 2 + rng.int(2) }, () => uniform(rng, shape));
    return { inputs: xs, run: (ts) => stack(ts, axis), label: `${xs.length} × ${fmt(shape)} on axis ${axis}` };
  }),
  single('expandDims/squeeze', 'layout', (rng, size) => {
    const shape = shapeOf(rng, size, rankIn(rng, 1, 2));
    const axis = axisOf(rng, shape.length + 1);
    const x = uniform(rng, shape);
    return { inputs: [x], run: ([a]) => square(squeeze(mul(expandDims(a!, axis), 2), axis)), label: `x ${fmt(shape)}, axis ${axis}` };
  }),

  // reductions
  reduction('sum', (x, axis, keep) => sum(x, axis, keep), { list: true }),
  reduction('mean', (x, axis, keep) => mean(x, axis, keep), { list: true }),
  single('variance', 'reduction', (rng, size) => {
    const shape = shapeOf(rng, size, rankIn(rng, 1, 3)).map((d) => Math.max(d, 2));
    const axis = bool(rng) ? axisOf(rng, shape.length) : undefined;
    const keep = bool(rng), correction = rng.int(2);
    const x = uniform(rng, shape);
    return { inputs: [x], run: ([a]) => variance(a!, axis, keep, correction), label: `x ${fmt(shape)}, axis ${axis}, keepDims ${keep}, correction ${correction}` };
  }),
  reduction('max', (x, axis, keep) => max(x, axis as number | undefined, keep), { distinct: true }),
  reduction('min', (x, axis, keep) => min(x, axis as number | undefined, keep), { distinct: true }),
  reduction('logsumexp', (x, axis, keep) => logsumexp(x, axis as number, keep), { needAxis: true }),
  single('softmax', 'softmax', (rng, size) => {
    const shape = shapeOf(rng, size, rankIn(rng, 1, 3), 2);
    const axis = axisOf(rng, shape.length);
    const x = uniform(rng, shape, -3, 3);
    return { inputs: [x], run: ([a]) => softmax(a!, axis), label: `x ${fmt(shape)}, axis ${axis}` };
  }),
  single('logSoftmax', 'softmax', (rng, size) => {
    const shape = shapeOf(rng, size, rankIn(rng, 1, 3), 2);
    const axis = axisOf(rng, shape.length);
    const x = uniform(rng, shape, -3, 3);
    return { inputs: [x], run: ([a]) => logSoftmax(a!, axis), label: `x ${fmt(shape)}, axis ${axis}` };
  }),

  // matmul
  single('matmul:2d', 'matmul', (rng, size) => {
    const [m, k, n] = shapeOf(rng, size, 3) as [number, number, number];
    const a = uniform(rng, [m, k]), b = uniform(rng, [k, n]);
    return { inputs: [a, b], run: ([x, y]) => matmul(x!, y!), label: `[${m}, ${k}] @ [${k}, ${n}]` };
  }),
  single('matmul:batched', 'matmul', (rng, size) => {
    const [bs, m, k, n] = shapeOf(rng, size, 4) as [number, number, number, number];
    const a = uniform(rng, [bs, m, k]), b = uniform(rng, [bs, k, n]);
    return { inputs: [a, b], run: ([x, y]) => matmul(x!, y!), label: `[${bs}, ${m}, ${k}] @ [${bs}, ${k}, ${n}]` };
  }),
  single('matmul:sharedRight', 'matmul', (rng, size) => {
    const [bs, m, k, n] = shapeOf(rng, size, 4) as [number, number, number, number];
    const a = uniform(rng, [bs, m, k]), b = uniform(rng, [k, n]);
    return { inputs: [a, b], run: ([x, y]) => matmul(x!, y!), label: `[${bs}, ${m}, ${k}] @ [${k}, ${n}]` };
  }),

  single('matmulNT:2d', 'matmul', (rng, size) => {
    const [m, k, n] = shapeOf(rng, size, 3) as [number, number, number];
    const a = uniform(rng, [m, k]), b = uniform(rng, [n, k]);
    return { inputs: [a, b], run: ([x, y]) => matmulNT(x!, y!), label: `[${m}, ${k}] @ [${n}, ${k}]ᵀ` };
  }),
  single('matmulNT:batched', 'matmul', (rng, size) => {
    const [bs, m, k, n] = shapeOf(rng, size, 4) as [number, number, number, number];
    const a = uniform(rng, [bs, m, k]), b = uniform(rng, [bs, n, k]);
    return { inputs: [a, b], run: ([x, y]) => matmulNT(x!, y!), label: `[${bs}, ${m}, ${k}] @ [${bs}, ${n}, ${k}]ᵀ` };
  }),
  single('matmulTN:2d', 'matmul', (rng, size) => {
    const [m, k, n] = shapeOf(rng, size, 3) as [number, number, number];
    const a = uniform(rng, [k, m]), b = uniform(rng, [k, n]);
    return { inputs: [a, b], run: ([x, y]) => matmulTN(x!, y!), label: `[${k}, ${m}]ᵀ @ [${k}, ${n}]` };
  }),
  single('matmulTN:batched', 'matmul', (rng, size) => {
    const [bs, m, k, n] = shapeOf(rng, size, 4) as [number, number, number, number];
    const a = uniform(rng, [bs, k, m]), b = uniform(rng, [bs, k, n]);
    return { inputs: [a, b], run: ([x, y]) => matmulTN(x!, y!), label: `[${bs}, ${k}, ${m}]ᵀ @ [${bs}, ${k}, ${n}]` };
  }),

  // index ops
  single('gatherRows', 'index', (rng, size) => {
    const shape = shapeOf(rng, size, rankIn(rng, 1, 3));
    const idx = intArray(rng, 1 + rng.int(2 * size), shape[0]!); // repeats allowed: gradients accumulate
    const x = uniform(rng, shape);
    return { inputs: [x], run: ([a]) => gatherRows(a!, idx), label: `x ${fmt(shape)}, indices ${fmt(Array.from(idx))}` };
  }),
  single('scatterAddRows', 'index', (rng, size) => {
    const shape = shapeOf(rng, size, rankIn(rng, 1, 3));
    const rows = dim(rng, size);
    const idx = intArray(rng, shape[0]!, rows);
    const x = uniform(rng, shape);
    return { inputs: [x], run: ([a]) => scatterAddRows(a!, idx, rows), label: `x ${fmt(shape)} into ${rows} rows, indices ${fmt(Array.from(idx))}` };
  }),
  single('takeAlongAxis', 'index', (rng, size) => {
    const shape = shapeOf(rng, size, rankIn(rng, 1, 3));
    const axis = axisOf(rng, shape.length);
    const ax = axis < 0 ? axis + shape.length : axis;
    const k = dim(rng, size);
    const idx = intArray(rng, sizeOf(shape) / shape[ax]! * k, shape[ax]!);
    const x = uniform(rng, shape);
    return { inputs: [x], run: ([a]) => takeAlongAxis(a!, idx, axis), label: `x ${fmt(shape)}, axis ${axis}, ${k} per line` };
  }),
  single('scatterAlongAxis', 'index', (rng, size) => {
    const shape = shapeOf(rng, size, rankIn(rng, 1, 3));
    const axis = axisOf(rng, shape.length);
    const ax = axis < 0 ? axis + shape.length : axis;
    const target = dim(rng, size);
    const idx = intArray(rng, sizeOf(shape), target);
    const x = uniform(rng, shape);
    return { inputs: [x], run: ([a]) => scatterAlongAxis(a!, idx, axis, target), label: `x ${fmt(shape)}, axis ${axis} (${ax}) into size ${target}` };
  }),
  single('topk', 'index', (rng, size) => {
    const shape = shapeOf(rng, size, rankIn(rng, 1, 3));
    const axis = axisOf(rng, shape.length);
    const n = shape[axis < 0 ? axis + shape.length : axis]!;
    const k = 1 + rng.int(n);
    const x = distinctAlong(rng, shape, axis);
    return { inputs: [x], run: ([a]) => topk(a!, k, axis).values, label: `x ${fmt(shape)}, k ${k}, axis ${axis}` };
  }),

  // losses
  single('mse', 'loss', (rng, size) => {
    const shape = shapeOf(rng, size, rankIn(rng, 1, 3));
    const a = uniform(rng, shape), b = uniform(rng, shape);
    return { inputs: [a, b], run: ([p, t]) => mse(p!, t!), label: `${fmt(shape)}` };
  }),
  single('crossEntropy', 'loss', (rng, size) => {
    const n = dim(rng, size), c = dim(rng, size, 2, 6);
    const labels = intArray(rng, n, c);
    const x = uniform(rng, [n, c], -3, 3);
    return { inputs: [x], run: ([a]) => crossEntropy(a!, labels), label: `logits [${n}, ${c}]` };
  }),
  single('nll', 'loss', (rng, size) => {
    const n = dim(rng, size), c = dim(rng, size, 2, 6);
    const labels = intArray(rng, n, c);
    const x = uniform(rng, [n, c], -3, 0);
    return { inputs: [x], run: ([a]) => nll(a!, labels), label: `logProbs [${n}, ${c}]` };
  }),
];

/**
 * Test helpers for the gate tests: each gate as a fused case next to the same gate composed from
 * engine primitives (moe/gates/reference.ts) with the same integer selection, plus a by-hand check
 * of second derivatives (the engine's gradcheck evaluates f under noGrad, so it cannot see a grad
 * taken inside f).
 */
import {
  Rng, Tensor, grad, vjp, randn, rand, fromData, sum, mul, add, concat, reshape, softmax, sigmoid, topk, stableSigmoid,
} from '../../engine/index.js';
import {
  softmaxGate, topKSoftmaxGate, softmaxTopKGate, temperatureSoftmaxGate, hierarchicalSoftmaxGate, sigmoidGate,
  normalizedSigmoidGate, laplaceGate, composedGates as C, topKGap, type NormalizedSigmoidOptions,
} from '../../moe/gates/index.js';
import { flatGate, normalizedSigmoidGap, SELECTION_MARGIN } from '../../moe/gates/registry.js';

const flat = (x: Tensor) => reshape(x, [x.size]);
const cat = (...xs: Tensor[]) => concat(xs.map(flat), 0);

/** A gate at some inputs: fused (the op under test) and composed (engine primitives). */
export interface GateCase {
  readonly name: string;
  readonly inputs: Tensor[];
  readonly fused: (xs: Tensor[]) => Tensor;
  readonly composed: (xs: Tensor[]) => Tensor;
}

/** Logits [T, E] with every row's top-k gap above the selection margin. */
export function logitsWithGap(rng: Rng, T: number, E: number, k: number, std = 1.5, gap = (z: Tensor) => topKGap(z.data, T, E, k)): Tensor {
  for (;;) {
    const z = randn(rng, [T, E], std);
    if (gap(z) > SELECTION_MARGIN) return z;
  }
}

/** Engine top-k indices (the reference selection). */
const topIdx = (z: Tensor, k: number, axis = -1) => topk(z, k, axis).indices;

/** One case per gate (and per variant), drawn from `seed`. */
export function gateCases(seed: number): GateCase[] {
  const rng = new Rng(seed);
  const T = 3, E = 5, k = 2;
  const cases: GateCase[] = [];
  const z = () => logitsWithGap(rng, T, E, k);

  const z0 = z();
  cases.push({ name: 'softmaxGate', inputs: [z0], fused: ([x]) => flatGate(softmaxGate(x!)), composed: ([x]) => flat(C.softmaxOver(x!, null)) });

  const z1 = z(), i1 = topIdx(z1, k);
  cases.push({ name: 'topKSoftmaxGate', inputs: [z1], fused: ([x]) => flatGate(topKSoftmaxGate(x!, k)), composed: ([x]) => cat(C.softmaxOver(x!, i1), softmax(x!)) });

  const z2 = z(), i2 = topIdx(z2, k);
  cases.push({ name: 'softmaxTopKGate ρ=2.5', inputs: [z2], fused: ([x]) => flatGate(softmaxTopKGate(x!, k, { routeScale: 2.5 })), composed: ([x]) => cat(C.softmaxThenTake(x!, i2, 2.5), softmax(x!)) });

  const z3 = z(), i3 = topIdx(z3, k), tau = rand(rng, [], 0.5, 2);
  cases.push({ name: 'temperatureSoftmaxGate top-k (τ tensor)', inputs: [z3, tau], fused: ([x, t]) => flatGate(temperatureSoftmaxGate(x!, t!, k)), composed: ([x, t]) => cat(C.softmaxOver(x!, i3, t!), C.softmaxOver(x!, null, t!)) });
  const z3b = z();
  cases.push({ name: 'temperatureSoftmaxGate dense (τ tensor)', inputs: [z3b, tau], fused: ([x, t]) => flatGate(temperatureSoftmaxGate(x!, t!)), composed: ([x, t]) => flat(C.softmaxOver(x!, null, t!)) });
  const z3c = z(), i3c = topIdx(z3c, k);
  cases.push({ name: 'temperatureSoftmaxGate top-k (τ = 0.7)', inputs: [z3c], fused: ([x]) => flatGate(temperatureSoftmaxGate(x!, 0.7, k)), composed: ([x]) => cat(C.softmaxOver(x!, i3c, 0.7), C.softmaxOver(x!, null, 0.7)) });

  // Hierarchical: G = 3 groups of M = 3; dense, and top-2 groups × top-2 experts.
  const G = 3, M = 3, kG = 2, kE = 2;
  const g1 = logitsWithGap(rng, T, G, kG), g2 = reshape(logitsWithGap(rng, T * G, M, kE), [T, G, M]);
  const groups = topIdx(g1, kG);
  const groupRows = Int32Array.from({ length: T * kG * M }, (_, i) => groups[Math.floor(i / M)]!);
  const experts = topk(fromData(Float64Array.from(groupRows, (a, i) => g2.data[(Math.floor(i / (kG * M)) * G + a) * M + (i % M)]!), [T, kG, M]), kE, 2).indices;
  cases.push({ name: 'hierarchicalSoftmaxGate dense', inputs: [g1, g2], fused: ([a, b]) => flatGate(hierarchicalSoftmaxGate(a!, b!)), composed: ([a, b]) => flat(C.twoLevelOver(a!, b!, null, null, null)) });
  cases.push({
    name: 'hierarchicalSoftmaxGate top-2 × top-2', inputs: [g1, g2],
    fused: ([a, b]) => flatGate(hierarchicalSoftmaxGate(a!, b!, { kGroups: kG, kExperts: kE })),
    composed: ([a, b]) => cat(C.twoLevelOver(a!, b!, groups, groupRows, experts), C.twoLevelOver(a!, b!, null, null, null)),
  });

  const z4 = z(), i4 = topIdx(z4, k);
  cases.push({ name: 'sigmoidGate dense', inputs: [z4], fused: ([x]) => flatGate(sigmoidGate(x!)), composed: ([x]) => flat(sigmoid(x!)) });
  cases.push({ name: 'sigmoidGate top-k', inputs: [z4], fused: ([x]) => flatGate(sigmoidGate(x!, k)), composed: ([x]) => cat(C.sigmoidOver(x!, i4), sigmoid(x!)) });

  const z5 = z();
  cases.push({ name: 'normalizedSigmoidGate dense ρ=2.5', inputs: [z5], fused: ([x]) => flatGate(normalizedSigmoidGate(x!, { routeScale: 2.5 })), composed: ([x]) => cat(C.normalizedSigmoidOver(x!, null, 2.5), sigmoid(x!)) });
  // DeepSeek-V3: E = 6 in 3 groups, keep 2, k = 3, a selection-only bias, ρ = 2.5.
  const bias = Float64Array.from({ length: 6 }, () => 0.3 * rng.normal());
  const v3: NormalizedSigmoidOptions = { k: 3, bias, numGroups: 3, topGroups: 2, routeScale: 2.5 };
  const groupsSpec = { numGroups: 3, topGroups: 2 };
  const z6 = logitsWithGap(rng, T, 6, 3, 1.5, (v) => normalizedSigmoidGap(v, 3, bias, groupsSpec));
  const i6 = normalizedSigmoidGate(z6, v3).indices;
  cases.push({ name: 'normalizedSigmoidGate V3 (bias, groups, ρ)', inputs: [z6], fused: ([x]) => flatGate(normalizedSigmoidGate(x!, v3)), composed: ([x]) => cat(C.normalizedSigmoidOver(x!, i6, 2.5), sigmoid(x!)) });

  const D = 3;
  const x7 = randn(rng, [T, D]), w7 = randn(rng, [E, D]);
  const zc = C.negDistance(x7, w7);
  if (topKGap(zc.data, T, E, k) > SELECTION_MARGIN) {
    const i7 = topIdx(zc, k);
    cases.push({ name: 'laplaceGate top-k', inputs: [x7, w7], fused: ([a, b]) => flatGate(laplaceGate(a!, b!, k)), composed: ([a, b]) => { const zz = C.negDistance(a!, b!); return cat(C.softmaxOver(zz, i7), softmax(zz)); } });
  }
  cases.push({ name: 'laplaceGate dense', inputs: [x7, w7], fused: ([a, b]) => flatGate(laplaceGate(a!, b!)), composed: ([a, b]) => flat(softmax(C.negDistance(a!, b!))) });
  return cases;
}

/** max |a − b| over two equal-length arrays (Infinity on length mismatch or NaN). */
export function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) { const d = Math.abs(a[i]! - b[i]!); m = Number.isNaN(d) ? Infinity : Math.max(m, d); }
  return m;
}

/** First-order VJP of f at xs with cotangent r, as flat arrays per input. */
export function vjpOf(f: (xs: Tensor[]) => Tensor, xs: Tensor[], r: Tensor): Float64Array[] {
  return vjp(f, xs).vjp(r).map((g) => Float64Array.from(g.data));
}

/** ∇_xs ⟨∇_xs ⟨f(xs), r⟩, s⟩: a second derivative (grad of grad), as flat arrays per input. */
export function secondOrder(f: (xs: Tensor[]) => Tensor, xs: Tensor[], r: Tensor, s: Tensor[]): Float64Array[] {
  const h = (p: Tensor[]) => grad((q: Tensor[]) => sum(mul(f(q), r)))(p).map((gi, i) => sum(mul(gi, s[i]!))).reduce((a, b) => add(a, b));
  return grad(h)(xs).map((g) => Float64Array.from(g.data));
}

/**
 * Checks grad of grad against central differences of the gradient along random directions v:
 * ⟨∇h, v⟩ vs (h(x + εv) − h(x − εv)) / 2ε with h = ⟨∇⟨f, r⟩, s⟩. Returns the worst relative error.
 */
export function gradOfGradError(f: (xs: Tensor[]) => Tensor, xs: Tensor[], seed = 0, directions = 3, eps = 1e-5): number {
  const rng = new Rng(seed);
  const r = randn(rng, f(xs).shape);
  const s = xs.map((x) => randn(rng, x.shape));
  const h = (p: Tensor[]) => grad((q: Tensor[]) => sum(mul(f(q), r)))(p).map((gi, i) => sum(mul(gi, s[i]!))).reduce((a, b) => add(a, b)).item();
  const analytic = secondOrder(f, xs, r, s);
  let worst = 0;
  for (let d = 0; d < directions; d++) {
    const v = xs.map((x) => Float64Array.from(x.data, () => rng.normal()));
    const shifted = (sign: number) => xs.map((x, i) => fromData(Float64Array.from(x.data, (u, j) => u + sign * eps * v[i]![j]!), x.shape));
    const numeric = (h(shifted(1)) - h(shifted(-1))) / (2 * eps);
    let a = 0;
    analytic.forEach((g, i) => g.forEach((u, j) => { a += u * v[i]![j]!; }));
    worst = Math.max(worst, Math.abs(a - numeric) / Math.max(Math.abs(a), Math.abs(numeric), 1e-6));
  }
  return worst;
}

/** Group-limited routing by brute force: a different code path from the gate's (sorts, no selectTopK). */
export function referenceV3Selection(z: Tensor, k: number, bias: Float64Array, G: number, keep: number): number[][] {
  const [T, E] = z.shape as [number, number], M = E / G;
  const out: number[][] = [];
  for (let t = 0; t < T; t++) {
    const s = Array.from({ length: E }, (_, e) => stableSigmoid(z.get(t, e)) + bias[e]!);
    const byScore = (a: number, b: number, v: (i: number) => number) => v(b) - v(a) || a - b;
    const gScore = (a: number) => { const g = s.slice(a * M, a * M + M).sort((x, y) => y - x); return g[0]! + (M > 1 ? g[1]! : 0); };
    const kept = Array.from({ length: G }, (_, a) => a).sort((a, b) => byScore(a, b, gScore)).slice(0, keep);
    const pool = Array.from({ length: E }, (_, e) => e).filter((e) => kept.includes(Math.floor(e / M)));
    out.push(pool.sort((a, b) => byScore(a, b, (e) => s[e]!)).slice(0, k));
  }
  return out;
}

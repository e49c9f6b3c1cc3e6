/**
 * The conditional Gaussian-mixture MoE of arXiv 2505.10860, Eq. (1) (softmax routing) and Eq. (8)
 * (dense normalized-sigmoid routing), with shared experts:
 *
 *   f(y|x) = ½ Σ_i ω_i N(y | h1(x, κ_i), τ_i) + ½ Σ_j G_j(x) N(y | h2(x, η_j), ν_j),
 *   G = softmax(β1ᵀx + β0)  or  G_j = σ(β1jᵀx + β0j) / Σ_l σ(β1lᵀx + β0l),
 *
 * (N with mean and *variance*; the ½ becomes 1 when one of the two parts is empty). Provides the
 * seeded sampler, a flat parameter layout, and a fused float64 negative log-likelihood with its
 * hand-derived gradient for fast full-batch fitting (checked against the tape version in
 * `gaussian-moe-tape.ts` by test/stats/gaussian-moe.test.ts).
 */
import { Rng, ValueError } from '../../engine/index.js';
import { erfScalar, stableSigmoid } from '../../engine/ops/arithmetic.js';
import type { FlatObjective } from './optimize.js';
import { MAX_COUNT, checkCountIn, checkExpertShape, checkFloat64, checkModel, checkModelShape, checkNumberArray, checkRng, describeValue } from './validate.js';

/** Expert mean functions. FFN: a·act(wᵀx + b) with parameters [w (d), b (if bias), a]; linear: wᵀx + b with [w (d), b]. */
export type ExpertFamily = 'linear' | 'relu' | 'gelu' | 'sigmoid' | 'tanh';
/** The expert mean function of one part (shared or routed) of a `GaussianMoE`. */
export interface ExpertShape {
  /** Mean-function family (see `ExpertFamily` for the parameter order). */
  readonly family: ExpertFamily;
  /** FFN inner bias (default true; ignored for linear). */ readonly bias?: boolean }
/** Routed gate: 'softmax' (arXiv 2505.10860 Eq. (1)) or 'normalizedSigmoid', G_j = σ(z_j) / Σ_l σ(z_l) (Eq. (8)). */
export type RoutedGateKind = 'softmax' | 'normalizedSigmoid';

/** A shared expert i: input-independent weight ω_i, mean h1(x, κ_i), variance τ_i. */
export interface SharedAtom {
  /** Mixture weight ω_i within the shared part (> 0; the shared weights sum to 1). */
  readonly weight: number;
  /** Expert parameters κ_i (`expertParamCount(sharedExpert, d)` numbers, in `ExpertFamily` order). */
  readonly expert: readonly number[];
  /** Noise variance τ_i (> 0; a variance, not a standard deviation). */
  readonly variance: number }
/** A routed expert j: gate logit β1jᵀx + β0j, mean h2(x, η_j), variance ν_j. */
export interface RoutedAtom {
  /** Gate intercept β0j. */
  readonly beta0: number;
  /** Gate slopes β1j (d numbers). */
  readonly beta1: readonly number[];
  /** Expert parameters η_j (`expertParamCount(routedExpert, d)` numbers, in `ExpertFamily` order). */
  readonly expert: readonly number[];
  /** Noise variance ν_j (> 0; a variance, not a standard deviation). */
  readonly variance: number }

/** A Gaussian MoE with shared (input-independent weights ω, Σω = 1) and routed (gated) experts. */
export interface GaussianMoE {
  /** Input dimension. */
  readonly d: number;
  /** Gate of the routed part. */
  readonly gate: RoutedGateKind;
  /** Mean function h1 of every shared expert. */
  readonly sharedExpert: ExpertShape;
  /** Mean function h2 of every routed expert. */
  readonly routedExpert: ExpertShape;
  /** Shared experts (may be empty; then the routed part has mass 1). */
  readonly shared: readonly SharedAtom[];
  /** Routed experts (may be empty; then the shared part has mass 1). */
  readonly routed: readonly RoutedAtom[];
}

/** Number of expert parameters for a family in dimension d. */
export function expertParamCount(e: ExpertShape, d: number): number {
  checkExpertShape('expertParamCount', 'e', e);
  checkCountIn('expertParamCount', 'd', d, 1, MAX_COUNT);
  return paramCount(e, d);
}
function paramCount(e: ExpertShape, d: number): number {
  return e.family === 'linear' ? d + 1 : d + (e.bias === false ? 0 : 1) + 1;
}

function act(family: ExpertFamily, u: number): number {
  switch (family) {
    case 'relu': return u > 0 ? u : 0;
    case 'sigmoid': return stableSigmoid(u);
    case 'tanh': return Math.tanh(u);
    case 'gelu': return 0.5 * u * (1 + erfScalar(u / Math.SQRT2));
    default: return u;
  }
}
function actDeriv(family: ExpertFamily, u: number): number {
  switch (family) {
    case 'relu': return u > 0 ? 1 : 0;
    case 'sigmoid': { const s = stableSigmoid(u); return s * (1 - s); }
    case 'tanh': { const t = Math.tanh(u); return 1 - t * t; }
    case 'gelu': return 0.5 * (1 + erfScalar(u / Math.SQRT2)) + u * Math.exp(-0.5 * u * u) / Math.sqrt(2 * Math.PI);
    default: return 1;
  }
}

/**
 * Expert mean h(x; θ) with θ = theta[off .. off+p). If `dOut` is given, writes ∂h/∂θ into dOut[0..p).
 * x is x[xo .. xo+d); the derivative goes to dOut[dOff ..].
 */
export function expertMean(e: ExpertShape, d: number, theta: ArrayLike<number>, off: number, x: ArrayLike<number>, xo: number, dOut?: Float64Array, dOff = 0): number {
  const op = 'expertMean';
  checkExpertShape(op, 'e', e);
  checkCountIn(op, 'd', d, 1, MAX_COUNT);
  const p = paramCount(e, d);
  checkCountIn(op, 'off', off, 0, MAX_COUNT);
  checkCountIn(op, 'xo', xo, 0, MAX_COUNT);
  checkNumberArray(op, 'theta', theta);
  if (off + p > theta.length) throw new ValueError(op, `theta must hold off + p = ${off} + ${p} = ${off + p} values; got ${theta.length}`);
  checkNumberArray(op, 'x', x);
  if (xo + d > x.length) throw new ValueError(op, `x must hold xo + d = ${xo} + ${d} = ${xo + d} values; got ${x.length}`);
  if (dOut !== undefined) {
    if (!(dOut instanceof Float64Array)) throw new ValueError(op, `dOut must be a Float64Array; got ${describeValue(dOut)}`);
    checkCountIn(op, 'dOff', dOff, 0, MAX_COUNT);
    if (dOff + p > dOut.length) throw new ValueError(op, `dOut must hold dOff + p = ${dOff} + ${p} = ${dOff + p} values; got ${dOut.length}`);
  }
  return meanOf(e, d, theta, off, x, xo, dOut, dOff);
}

/** `expertMean` without the entry checks (the per-point kernel of the sampler and the NLL). */
function meanOf(e: ExpertShape, d: number, theta: ArrayLike<number>, off: number, x: ArrayLike<number>, xo: number, dOut?: Float64Array, dOff = 0): number {
  let u = 0;
  for (let t = 0; t < d; t++) u += theta[off + t]! * x[xo + t]!;
  if (e.family === 'linear') {
    const m = u + theta[off + d]!;
    if (dOut) { for (let t = 0; t < d; t++) dOut[dOff + t] = x[xo + t]!; dOut[dOff + d] = 1; }
    return m;
  }
  const hasBias = e.bias !== false;
  if (hasBias) u += theta[off + d]!;
  const ai = off + d + (hasBias ? 1 : 0), a = theta[ai]!;
  const h = act(e.family, u);
  if (dOut) {
    const g = a * actDeriv(e.family, u);
    for (let t = 0; t < d; t++) dOut[dOff + t] = g * x[xo + t]!;
    if (hasBias) dOut[dOff + d] = g;
    dOut[dOff + d + (hasBias ? 1 : 0)] = h;
  }
  return a * h;
}

/** Parameter-vector layout: shared atom i = [logit ω_i, κ_i…, log τ_i]; routed atom j = [β0_j, β1_j (d), η_j…, log ν_j]. */
export function layoutOf(m: Pick<GaussianMoE, 'd' | 'sharedExpert' | 'routedExpert'> & { shared: readonly unknown[]; routed: readonly unknown[] }) {
  checkModelShape('layoutOf', m);
  const p1 = paramCount(m.sharedExpert, m.d), p2 = paramCount(m.routedExpert, m.d);
  const sharedStride = p1 + 2, routedStride = 1 + m.d + p2 + 1;
  const routedStart = m.shared.length * sharedStride;
  return {
    /** Parameters per shared expert mean (`expertParamCount(sharedExpert, d)`). */
    p1,
    /** Parameters per routed expert mean (`expertParamCount(routedExpert, d)`). */
    p2,
    /** Numbers per shared atom: p1 + 2 (logit ω, κ, log τ). */
    sharedStride,
    /** Numbers per routed atom: 1 + d + p2 + 1 (β0, β1, η, log ν). */
    routedStride,
    /** Index of the first routed atom (shared atoms come first). */
    routedStart,
    /** Total length of the parameter vector. */
    size: routedStart + m.routed.length * routedStride };
}

/** Model → flat vector (shared weights as log ω, variances as log). */
export function packModel(m: GaussianMoE): Float64Array {
  checkModel('packModel', m);
  const L = layoutOf(m), th = new Float64Array(L.size);
  m.shared.forEach((a, i) => {
    const o = i * L.sharedStride;
    th[o] = Math.log(a.weight); th.set(a.expert, o + 1); th[o + 1 + L.p1] = Math.log(a.variance);
  });
  m.routed.forEach((a, j) => {
    const o = L.routedStart + j * L.routedStride;
    th[o] = a.beta0; th.set(a.beta1, o + 1); th.set(a.expert, o + 1 + m.d); th[o + 1 + m.d + L.p2] = Math.log(a.variance);
  });
  return th;
}

/** Flat vector → model, with the structure (sizes, families, gate) of `like`. Shared weights are softmax-normalised. */
export function unpackModel(like: GaussianMoE, th: ArrayLike<number>): GaussianMoE {
  checkModel('unpackModel', like, 'like', false);
  const L = layoutOf(like), d = like.d;
  checkNumberArray('unpackModel', 'th', th, { length: L.size });
  const logits = like.shared.map((_, i) => th[i * L.sharedStride]!);
  const mx = Math.max(...logits), z = logits.reduce((s, v) => s + Math.exp(v - mx), 0);
  const slice = (a: number, b: number) => Array.from({ length: b - a }, (_, t) => th[a + t]!);
  return {
    ...like,
    shared: like.shared.map((_, i) => {
      const o = i * L.sharedStride;
      return { weight: Math.exp(logits[i]! - mx) / z, expert: slice(o + 1, o + 1 + L.p1), variance: Math.exp(th[o + 1 + L.p1]!) };
    }),
    routed: like.routed.map((_, j) => {
      const o = L.routedStart + j * L.routedStride;
      return { beta0: th[o]!, beta1: slice(o + 1, o + 1 + d), expert: slice(o + 1 + d, o + 1 + d + L.p2), variance: Math.exp(th[o + 1 + d + L.p2]!) };
    }),
  };
}

/** Mixture weights of every component at x (shared first, then routed), each already multiplied by its part's mass. */
export function componentWeights(m: GaussianMoE, x: ArrayLike<number>, xo = 0, out?: Float64Array): Float64Array {
  const op = 'componentWeights';
  checkModel(op, m);
  checkCountIn(op, 'xo', xo, 0, MAX_COUNT);
  checkNumberArray(op, 'x', x);
  if (xo + m.d > x.length) throw new ValueError(op, `x must hold xo + d = ${xo} + ${m.d} = ${xo + m.d} values; got ${x.length}`);
  const K = m.shared.length + m.routed.length;
  if (out !== undefined && !(out instanceof Float64Array && out.length >= K)) throw new ValueError(op, `out must be a Float64Array of ≥ ${K} values; got ${describeValue(out)}`);
  return weightsAt(m, x, xo, out ?? new Float64Array(K));
}

/** `componentWeights` without the entry checks (per point in the sampler and the quadrature). */
function weightsAt(m: GaussianMoE, x: ArrayLike<number>, xo: number, out: Float64Array): Float64Array {
  const k1 = m.shared.length, k2 = m.routed.length;
  const cS = k2 === 0 ? 1 : k1 === 0 ? 0 : 0.5, cR = 1 - cS;
  for (let i = 0; i < k1; i++) out[i] = cS * m.shared[i]!.weight;
  let mx = -Infinity, tot = 0;
  for (let j = 0; j < k2; j++) {
    const a = m.routed[j]!; let z = a.beta0;
    for (let t = 0; t < m.d; t++) z += a.beta1[t]! * x[xo + t]!;
    out[k1 + j] = z; if (z > mx) mx = z;
  }
  for (let j = 0; j < k2; j++) { const v = m.gate === 'softmax' ? Math.exp(out[k1 + j]! - mx) : stableSigmoid(out[k1 + j]!); out[k1 + j] = v; tot += v; }
  for (let j = 0; j < k2; j++) out[k1 + j] = cR * out[k1 + j]! / tot;
  return out;
}

/**
 * Draws n pairs: x ~ Uniform[lo, hi]^d, then a component by its weight at x, then y ~ N(mean, variance).
 * Returns x as an [n·d] row-major Float64Array.
 * @throws ValueError when the model has no experts or a wrongly sized / non-positive atom, or n is not a positive integer.
 */
export function sampleGaussianMoE(m: GaussianMoE, n: number, rng: Rng, xRange: readonly [number, number] = [-3, 3]): {
  /** Inputs, row-major [n·d]. */
  x: Float64Array;
  /** Responses, length n. */
  y: Float64Array;
} {
  checkModel('sampleGaussianMoE', m);
  checkCountIn('sampleGaussianMoE', 'n', n, 1, Math.floor(MAX_COUNT / m.d));
  checkRng('sampleGaussianMoE', rng);
  const range = checkNumberArray('sampleGaussianMoE', 'xRange', xRange, { length: 2, finite: true });
  if (!(range[0]! <= range[1]!)) throw new ValueError('sampleGaussianMoE', `xRange must be [lo, hi] with lo ≤ hi; got [${range[0]}, ${range[1]}]`);
  const d = m.d, x = new Float64Array(n * d), y = new Float64Array(n), w = new Float64Array(m.shared.length + m.routed.length);
  const [lo, hi] = xRange;
  for (let i = 0; i < n; i++) {
    for (let t = 0; t < d; t++) x[i * d + t] = lo + (hi - lo) * rng.uniform();
    weightsAt(m, x, i * d, w);
    let u = rng.uniform(), c = 0;
    while (c < w.length - 1 && u >= w[c]!) { u -= w[c]!; c++; }
    const shared = c < m.shared.length;
    const atom = shared ? m.shared[c]! : m.routed[c - m.shared.length]!;
    const mean = meanOf(shared ? m.sharedExpert : m.routedExpert, d, atom.expert, 0, x, i * d);
    y[i] = mean + Math.sqrt(atom.variance) * rng.normal();
  }
  return { x, y };
}

/** Gauss–Hermite rule ∫ e^{−t²} g(t) dt ≈ Σ w_k g(t_k) (Newton on the orthonormal recurrence; weights sum to √π). */
export function gaussHermite(m: number): { nodes: Float64Array; weights: Float64Array } {
  if (!(Number.isInteger(m) && m >= 1 && m <= 200)) throw new ValueError('gaussHermite', `m must be an integer in [1, 200]; got ${m}`);
  const t = new Float64Array(m), w = new Float64Array(m), PIM4 = Math.pow(Math.PI, -0.25);
  let z = 0;
  for (let i = 0; i < (m + 1) >> 1; i++) {
    if (i === 0) z = Math.sqrt(2 * m + 1) - 1.85575 * Math.pow(2 * m + 1, -0.16667);
    else if (i === 1) z -= 1.14 * Math.pow(m, 0.426) / z;
    else if (i === 2) z = 1.86 * z - 0.86 * t[0]!;
    else if (i === 3) z = 1.91 * z - 0.91 * t[1]!;
    else z = 2 * z - t[i - 2]!;
    let pp = 1;
    for (let it = 0; it < 100; it++) {
      let p1 = PIM4, p2 = 0;
      for (let j = 1; j <= m; j++) { const p3 = p2; p2 = p1; p1 = z * Math.sqrt(2 / j) * p2 - Math.sqrt((j - 1) / j) * p3; }
      pp = Math.sqrt(2 * m) * p2;
      const z1 = z; z = z1 - p1 / pp;
      if (Math.abs(z - z1) <= 1e-14 * Math.max(1, Math.abs(z))) break;
    }
    t[i] = z; t[m - 1 - i] = -z; w[i] = 2 / (pp * pp); w[m - 1 - i] = w[i]!;
  }
  return { nodes: t, weights: w };
}

/**
 * A deterministic quadrature of the population distribution of (x, y) under `truth` (d = 1 only):
 * x on the midpoint rule with `xNodes` points over `xRange`, and, for every true component c at x,
 * y = mean_c(x) + √(2 v_c)·t_k on the `yNodes`-point Gauss–Hermite rule, with weight
 * (1/xNodes)·weight_c(x)·w_k/√π (the weights sum to 1). `gaussianMoENll(like, x, y, w)` on it is
 * E[−log f_like(Y|X)], i.e. KL(truth‖like) up to a constant: its minimiser is the KL projection.
 */
export function populationQuadrature(truth: GaussianMoE, xNodes = 300, yNodes = 16, xRange: readonly [number, number] = [-3, 3]): { x: Float64Array; y: Float64Array; w: Float64Array } {
  checkModel('populationQuadrature', truth);
  if (truth.d !== 1) throw new ValueError('populationQuadrature', `only d = 1 is supported; got d = ${truth.d}`);
  if (!(Number.isInteger(xNodes) && xNodes >= 1)) throw new ValueError('populationQuadrature', `xNodes must be a positive integer; got ${xNodes}`);
  const gh = gaussHermite(yNodes), K = truth.shared.length + truth.routed.length, total = xNodes * K * yNodes;
  const x = new Float64Array(total), y = new Float64Array(total), w = new Float64Array(total), cw = new Float64Array(K), xv = new Float64Array(1);
  const [lo, hi] = xRange;
  let o = 0;
  for (let i = 0; i < xNodes; i++) {
    xv[0] = lo + (hi - lo) * (i + 0.5) / xNodes;
    weightsAt(truth, xv, 0, cw);
    for (let c = 0; c < K; c++) {
      const shared = c < truth.shared.length, atom = shared ? truth.shared[c]! : truth.routed[c - truth.shared.length]!;
      const mean = meanOf(shared ? truth.sharedExpert : truth.routedExpert, 1, atom.expert, 0, xv, 0), sd = Math.sqrt(2 * atom.variance);
      for (let k = 0; k < yNodes; k++, o++) { x[o] = xv[0]; y[o] = mean + sd * gh.nodes[k]!; w[o] = cw[c]! * gh.weights[k]! / (Math.sqrt(Math.PI) * xNodes); }
    }
  }
  return { x, y, w };
}

const LOG_2PI = Math.log(2 * Math.PI);

/**
 * Average negative log-likelihood −(1/n) Σ log f(y_i|x_i) on the flat layout of `like`, with its
 * exact gradient (responsibility form: ∇ = −(1/n) Σ_i Σ_c r_ic ∇ log(weight_c · N_c)).
 * With `weights` (≥ 0, one per point) it is the weighted mean −Σ w_i log f(y_i|x_i) / Σ w_i, e.g. a
 * quadrature of the population NLL (`populationQuadrature`). Value in nats per point.
 * @throws ValueError when the model is invalid, x does not hold n·d values, or weights have the wrong length or a non-positive sum.
 */
export function gaussianMoENll(like: GaussianMoE, x: Float64Array, y: Float64Array, weights?: Float64Array): FlatObjective {
  checkModel('gaussianMoENll', like, 'like');
  checkFloat64('gaussianMoENll', 'y', y);
  checkFloat64('gaussianMoENll', 'x', x);
  if (weights !== undefined) checkFloat64('gaussianMoENll', 'weights', weights);
  const n = y.length, d = like.d;
  if (x.length !== n * d) throw new ValueError('gaussianMoENll', `x must hold n·d = ${n * d} values; got ${x.length}`);
  if (weights !== undefined && weights.length !== n) throw new ValueError('gaussianMoENll', `weights must hold n = ${n} values; got ${weights.length}`);
  const wTotal = weights ? weights.reduce((a, b) => a + b, 0) : n;
  if (!(wTotal > 0)) throw new ValueError('gaussianMoENll', `weights must have a positive sum; got ${wTotal}`);
  const L = layoutOf(like), k1 = like.shared.length, k2 = like.routed.length, K = k1 + k2;
  const logcS = Math.log(k2 === 0 ? 1 : k1 === 0 ? 0 : 0.5), logcR = Math.log(k1 === 0 ? 1 : 0.5);
  const softmax = like.gate === 'softmax';
  const lp = new Float64Array(K), resid = new Float64Array(K), vars = new Float64Array(K), z = new Float64Array(k2), sg = new Float64Array(k2);
  const dm = new Float64Array(K * Math.max(L.p1, L.p2)), logW = new Float64Array(k1), omega = new Float64Array(k1);
  const ez = new Float64Array(k2), logSg = new Float64Array(k2), cst = new Float64Array(K), inv2v = new Float64Array(K);
  return (th, grad) => {
    grad.fill(0);
    // Per-atom constants: shared log-weights, variances and the Gaussian normalisers.
    let mx = -Infinity;
    for (let i = 0; i < k1; i++) mx = Math.max(mx, th[i * L.sharedStride]!);
    let zs = 0; for (let i = 0; i < k1; i++) zs += Math.exp(th[i * L.sharedStride]! - mx);
    for (let i = 0; i < k1; i++) {
      const o = i * L.sharedStride, lv = th[o + 1 + L.p1]!;
      logW[i] = th[o]! - mx - Math.log(zs); omega[i] = Math.exp(logW[i]!);
      vars[i] = Math.exp(lv); inv2v[i] = 1 / (2 * vars[i]!); cst[i] = logcS + logW[i]! - 0.5 * (LOG_2PI + lv);
    }
    for (let j = 0; j < k2; j++) {
      const c = k1 + j, lv = th[L.routedStart + j * L.routedStride + 1 + d + L.p2]!;
      vars[c] = Math.exp(lv); inv2v[c] = 1 / (2 * vars[c]!); cst[c] = logcR - 0.5 * (LOG_2PI + lv);
    }
    let total = 0;
    for (let s = 0; s < n; s++) {
      const xo = s * d, ys = y[s]!;
      for (let i = 0; i < k1; i++) {
        const r = ys - meanOf(like.sharedExpert, d, th, i * L.sharedStride + 1, x, xo, dm, i * L.p1);
        resid[i] = r; lp[i] = cst[i]! - r * r * inv2v[i]!;
      }
      // Routed log-gates: softmax z − lse(z), or log σ(z) − log Σσ.
      let zmx = -Infinity, S = 0;
      for (let j = 0; j < k2; j++) {
        const o = L.routedStart + j * L.routedStride; let zz = th[o]!;
        for (let t = 0; t < d; t++) zz += th[o + 1 + t]! * x[xo + t]!;
        z[j] = zz; if (zz > zmx) zmx = zz;
      }
      let logNorm: number;
      if (softmax) {
        for (let j = 0; j < k2; j++) { ez[j] = Math.exp(z[j]! - zmx); S += ez[j]!; }
        for (let j = 0; j < k2; j++) ez[j] = ez[j]! / S; // softmax probabilities
        logNorm = zmx + Math.log(S);
      } else {
        // σ(z) and log σ(z) from one exp: z ≥ 0: e = e^{−z}, σ = 1/(1+e), log σ = −log1p(e);
        // z < 0: e = e^{z}, σ = e/(1+e), log σ = z − log1p(e). Exact at both tails.
        for (let j = 0; j < k2; j++) {
          const zz = z[j]!;
          if (zz >= 0) { const e = Math.exp(-zz); sg[j] = 1 / (1 + e); logSg[j] = -Math.log1p(e); }
          else { const e = Math.exp(zz); sg[j] = e / (1 + e); logSg[j] = zz - Math.log1p(e); }
          S += sg[j]!;
        }
        logNorm = Math.log(S);
      }
      for (let j = 0; j < k2; j++) {
        const c = k1 + j, o = L.routedStart + j * L.routedStride;
        const r = ys - meanOf(like.routedExpert, d, th, o + 1 + d, x, xo, dm, k1 * L.p1 + j * L.p2);
        const logGate = (softmax ? z[j]! : logSg[j]!) - logNorm;
        resid[c] = r; lp[c] = cst[c]! + logGate - r * r * inv2v[c]!;
      }
      let lmx = -Infinity; for (let c = 0; c < K; c++) if (lp[c]! > lmx) lmx = lp[c]!;
      let se = 0; for (let c = 0; c < K; c++) { lp[c] = Math.exp(lp[c]! - lmx); se += lp[c]!; }
      const ws = weights ? weights[s]! : 1;
      total -= ws * (lmx + Math.log(se));
      // Responsibilities r_c (posterior of component c), times the point's weight; gradient of −log f.
      let RS = 0, RR = 0;
      for (let c = 0; c < K; c++) { lp[c] = ws * lp[c]! / se; if (c < k1) RS += lp[c]!; else RR += lp[c]!; }
      for (let i = 0; i < k1; i++) {
        const o = i * L.sharedStride, r = lp[i]!, e = resid[i]!, v = vars[i]!, gm = -r * e / v;
        grad[o] = grad[o]! - (r - omega[i]! * RS);
        for (let q = 0; q < L.p1; q++) grad[o + 1 + q] = grad[o + 1 + q]! + gm * dm[i * L.p1 + q]!;
        grad[o + 1 + L.p1] = grad[o + 1 + L.p1]! - r * (-0.5 + e * e * inv2v[i]!);
      }
      for (let j = 0; j < k2; j++) {
        const c = k1 + j, o = L.routedStart + j * L.routedStride, r = lp[c]!, e = resid[c]!, v = vars[c]!, gm = -r * e / v;
        const gz = softmax ? r - ez[j]! * RR : r * (1 - sg[j]!) - RR * sg[j]! * (1 - sg[j]!) / S;
        grad[o] = grad[o]! - gz;
        for (let t = 0; t < d; t++) grad[o + 1 + t] = grad[o + 1 + t]! - gz * x[xo + t]!;
        for (let q = 0; q < L.p2; q++) grad[o + 1 + d + q] = grad[o + 1 + d + q]! + gm * dm[k1 * L.p1 + j * L.p2 + q]!;
        grad[o + 1 + d + L.p2] = grad[o + 1 + d + L.p2]! - r * (-0.5 + e * e * inv2v[c]!);
      }
    }
    for (let q = 0; q < grad.length; q++) grad[q] = grad[q]! / wTotal;
    return total / wTotal;
  };
}

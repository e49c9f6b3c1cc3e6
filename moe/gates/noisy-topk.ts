/**
 * Noisy top-k gating (Shazeer et al. 2017, arXiv:1701.06538 §2.1 and Appendix A):
 *   H(x)_i = (x W_g)_i + ε_i · softplus((x W_noise)_i),   ε ~ N(0, 1) (seeded; 0 at evaluation)
 *   G(x)   = softmax(KeepTopK(H(x), k))                      (softmax over the k largest H only)
 * and the smooth load estimator of Appendix A: the probability that expert i stays in the top-k
 * when only its own noise is re-sampled,
 *   P(x, i) = Φ( ((x W_g)_i − kth_excluding(H(x), k, i)) / softplus((x W_noise)_i) ),
 * where kth_excluding(H, k, i) is the k-th largest entry of H with entry i left out (the (k+1)-th
 * of H when i is in the top-k, the k-th otherwise) and Φ the standard normal CDF. Load(X)_i =
 * Σ_x P(x, i); Importance(X)_i = Σ_x G(x)_i; both balance losses are w · CV(·)² (§4, Appendix A).
 */
import {
  Tensor, Rng, fromData, add, sub, mul, div, neg, exp, square, scale, softplus, sum, variance, mean, randn,
  takeAlongAxis, erfcScalar, ValueError, ShapeError, fmtShape, zeros,
} from '../../engine/index.js';
// built-in VJPs: recorded as the engine's own (their cotangents may be reused; engine/buffer-pool.ts)
import { record } from '../../engine/tape.js';
import { allocate } from '../../engine/tensor.js';
import { checkOptions, describeValue } from '../../engine/validate.js';
import { checkLogits, checkK, checkCapacity, rowTopK, gateOutput, scatterAlong, type GateOptions } from './common.js';
import { subsetSoftmax } from './softmax.js';
import type { GateOutput } from '../types.js';

const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

/** Options of {@link noisyTopKGate}. */
export interface NoisyTopKOptions extends GateOptions {
  /** Draws ε ~ N(0, 1) [T, E] for this call (training). Omit both `rng` and `noise` for ε = 0 (evaluation). */
  readonly rng?: Rng;
  /** The standard-normal noise ε [T, E] itself (overrides `rng`); a constant for autodiff. */
  readonly noise?: Tensor;
}

/** What {@link noisyTopKGate} returns: a GateOutput plus the noisy logits and the smooth load. */
export interface NoisyTopKOutput extends GateOutput {
  /** H = clean + ε ⊙ softplus(noiseLogits) [T, E], differentiable. */
  readonly noisyLogits: Tensor;
  /** softplus(noiseLogits) [T, E]: the noise standard deviation per token and expert. */
  readonly noiseStd: Tensor;
  /** P(x, i) [T, E]: probability that expert i stays in token x's top-k (all ones when k = E). */
  readonly loadProbs: Tensor;
  /** Smooth load Σ_t P(t, ·) [E] (Shazeer Appendix A), differentiable. */
  readonly load: Tensor;
  /** Importance Σ_t G(t, ·) [E] (Shazeer §4), differentiable. */
  readonly importance: Tensor;
}

/**
 * For every (t, i): the column of kth_excluding(H[t], k, i) — the (k+1)-th largest of H[t] when i
 * is among the top-k, the k-th largest otherwise (ties → lowest index). [T·E], k < E.
 */
function thresholdIndex(h: ArrayLike<number>, T: number, E: number, k: number): Int32Array {
  const top = rowTopK(h, T, E, k + 1);
  const out = new Int32Array(T * E);
  for (let t = 0; t < T; t++) {
    const inTop = new Set<number>();
    for (let j = 0; j < k; j++) inTop.add(top[t * (k + 1) + j]!);
    const kth = top[t * (k + 1) + k - 1]!, next = top[t * (k + 1) + k]!;
    for (let i = 0; i < E; i++) out[t * E + i] = inTop.has(i) ? next : kth;
  }
  return out;
}

/** Σ of the non-null terms (zeros like `like` when every term is null). */
function addTerms(terms: readonly (Tensor | null)[], like: Tensor): Tensor {
  let acc: Tensor | null = null;
  for (const t of terms) if (t) acc = acc ? add(acc, t) : t;
  return acc ?? zeros(like.shape, like.dtype);
}

/**
 * Smooth load probabilities (Shazeer et al. 2017, Appendix A, Eq. 8–9), fused:
 *   P[t,i] = Φ(u[t,i]),  u[t,i] = (clean[t,i] − noisy[t, θ(t,i)]) / noiseStd[t,i],
 * θ(t,i) the column of kth_excluding(noisy[t], k, i) (an integer constant, ties → lowest index).
 * clean, noisy, noiseStd [T, E] (noiseStd > 0) → P [T, E]. Φ(u) = ½ erfc(−u/√2) (no cancellation in
 * the lower tail). Needs 1 ≤ k < E (with k = E every expert is always selected: P ≡ 1).
 * VJP, with φ(u) = e^{−u²/2}/√(2π) and g_u = g ⊙ φ(u) / noiseStd:
 *   ∂L/∂clean = g_u,   ∂L/∂noisy = −scatter_θ(g_u) (summed over the i sharing a threshold),
 *   ∂L/∂noiseStd = −g_u ⊙ u.
 * JVP: Ṗ = φ(u)/noiseStd ⊙ (ċlean − ṅoisy[θ] − u ⊙ ṅoiseStd). Written with engine ops (grad of grad).
 * @throws {@link moegrad/engine!ShapeError} when the three inputs are not the same [T, E]; {@link moegrad/engine!ValueError} for
 *   non-finite values, noiseStd ≤ 0, or k outside [1, E − 1].
 */
export function noisyTopKLoadProbs(clean: Tensor, noisy: Tensor, noiseStd: Tensor, k: number): Tensor {
  const op = 'noisyTopKLoadProbs';
  const { T, E } = checkLogits(op, clean, 'clean');
  checkLogits(op, noisy, 'noisy');
  checkLogits(op, noiseStd, 'noiseStd');
  for (const [name, x] of [['noisy', noisy], ['noiseStd', noiseStd]] as const) {
    if (x.shape[0] !== T || x.shape[1] !== E) throw new ShapeError(op, `${name} must be [T, E] = ${fmtShape(clean.shape)} like clean; got ${fmtShape(x.shape)}`);
  }
  if (!(Number.isInteger(k) && k >= 1 && k < E)) throw new ValueError(op, `k must be an integer in [1, E − 1 = ${E - 1}] (with k = E every expert is always in the top-k); got ${describeValue(k)}`);
  const s = noiseStd.data;
  for (let i = 0; i < s.length; i++) if (!(s[i]! > 0)) throw new ValueError(op, `noiseStd ${fmtShape(noiseStd.shape)} must be > 0; got ${s[i]} at flat index ${i}`);
  const theta = thresholdIndex(noisy.data, T, E, k);
  const c = clean.data, h = noisy.data;
  const out = allocate(clean.dtype, T * E);
  for (let t = 0; t < T; t++) {
    for (let i = 0; i < E; i++) {
      const at = t * E + i;
      const u = (c[at]! - h[t * E + theta[at]!]!) / s[at]!;
      out[at] = 0.5 * erfcScalar(-u * Math.SQRT1_2);
    }
  }
  const P = fromData(out, [T, E]);
  // u and φ(u)/σ as engine ops on the inputs, so the VJP and JVP are differentiable themselves.
  const parts = () => {
    const u = div(sub(clean, takeAlongAxis(noisy, theta, 1)), noiseStd);
    return { u, slope: div(scale(exp(scale(square(u), -0.5)), INV_SQRT_2PI), noiseStd) };
  };
  return record(op, [clean, noisy, noiseStd], P, (dy, needs) => {
    const { u, slope } = parts();
    const gu = mul(dy, slope);
    return [gu, needs[1] ? neg(scatterAlong(gu, theta, 1, E)) : null, needs[2] ? neg(mul(gu, u)) : null];
  }, ([tc, th, ts]) => {
    const { u, slope } = parts();
    const inner = addTerms([tc ?? null, th ? neg(takeAlongAxis(th, theta, 1)) : null, ts ? neg(mul(u, ts)) : null], P);
    return mul(slope, inner);
  });
}

/**
 * Squared coefficient of variation CV(v)² = Var(v) / mean(v)² of a vector v [n] (population
 * variance), the form of Shazeer et al.'s importance and load losses (§4, Appendix A). Composed from
 * engine ops (differentiable to any order). 0 for n = 1.
 * @throws {@link moegrad/engine!ShapeError} unless v is a rank-1 tensor with n ≥ 1; {@link moegrad/engine!ValueError} when mean(v) = 0
 *   or v holds NaN/±∞.
 */
export function cvSquared(v: Tensor): Tensor {
  const op = 'cvSquared';
  if (!(v instanceof Tensor) || v.rank !== 1 || v.size < 1) throw new ShapeError(op, `v must be a vector [n] with n ≥ 1; got ${v instanceof Tensor ? fmtShape(v.shape) : describeValue(v)}`);
  let m = 0;
  for (const x of v.data) {
    if (!Number.isFinite(x)) throw new ValueError(op, `v ${fmtShape(v.shape)} contains ${x}`);
    m += x;
  }
  if (m === 0) throw new ValueError(op, `mean(v) is 0: CV² is undefined for v ${fmtShape(v.shape)}`);
  return div(variance(v), square(mean(v)));
}

/**
 * Noisy top-k gate (Shazeer et al. 2017, arXiv:1701.06538 Eq. 3–5): H = clean + ε ⊙ softplus(noiseLogits),
 * the k largest H per token (ties → lowest index), G = softmax of those k H values (renormalized).
 * clean, noiseLogits [T, E] → weights [T, k], scores = softmax(H) [T, E], logits = clean, plus the
 * smooth load ({@link noisyTopKLoadProbs}, Appendix A) and importance [E] for {@link noisyTopKLosses}.
 * ε comes from `options.noise` or `options.rng` (seeded), else 0 (evaluation). Gradients reach
 * clean and noiseLogits through H (the weights), and both through the load estimator; the selection
 * is a constant. NOTE: with k = 1 every weight is exactly 1 (no router gradient from the weights;
 * the load loss still trains it).
 * @throws {@link moegrad/engine!ShapeError} for mismatched shapes; {@link moegrad/engine!ValueError} for non-finite logits, k outside
 *   [1, E], a bad capacity or noise.
 */
export function noisyTopKGate(clean: Tensor, noiseLogits: Tensor, k: number, options: NoisyTopKOptions = {}): NoisyTopKOutput {
  const op = 'noisyTopKGate';
  const { T, E } = checkLogits(op, clean, 'clean');
  checkLogits(op, noiseLogits, 'noiseLogits');
  if (noiseLogits.shape[0] !== T || noiseLogits.shape[1] !== E) throw new ShapeError(op, `noiseLogits must be [T, E] = ${fmtShape(clean.shape)} like clean; got ${fmtShape(noiseLogits.shape)}`);
  checkK(op, k, E);
  const capacity = checkCapacity(op, checkOptions(op, options));
  let eps: Tensor | null = null;
  if (options.noise !== undefined) {
    const n = options.noise;
    if (!(n instanceof Tensor) || n.rank !== 2 || n.shape[0] !== T || n.shape[1] !== E) throw new ShapeError(op, `noise must be a [T, E] = ${fmtShape(clean.shape)} Tensor; got ${n instanceof Tensor ? fmtShape(n.shape) : describeValue(n)}`);
    checkLogits(op, n, 'noise');
    eps = n;
  } else if (options.rng !== undefined) {
    if (options.rng === null || typeof options.rng !== 'object' || typeof (options.rng as Rng).normal !== 'function') throw new ValueError(op, `rng must be an Rng; got ${describeValue(options.rng)}`);
    eps = randn(options.rng, [T, E], 1, clean.dtype);
  }
  const noiseStd = softplus(noiseLogits);
  const noisy = eps ? add(clean, mul(eps, noiseStd)) : clean;
  const idx = rowTopK(noisy.data, T, E, k);
  const weights = subsetSoftmax(op, noisy, idx, null);
  const scores = subsetSoftmax(op, noisy, null, null);
  const loadProbs = k < E ? noisyTopKLoadProbs(clean, noisy, noiseStd, k) : fromData(allocate(clean.dtype, T * E).fill(1), [T, E]);
  const g = gateOutput(weights, idx, scores, clean, E, capacity);
  return {
    ...g, noisyLogits: noisy, noiseStd, loadProbs,
    load: sum(loadProbs, 0), importance: sum(scatterAlong(weights, idx, 1, E), 0),
  };
}

/** Coefficients of {@link noisyTopKLosses} (Shazeer et al. use w_importance = w_load = 0.1 in §4 / Appendix A). */
export interface NoisyTopKLossOptions {
  /** w_importance (default 0.1). */
  readonly importance?: number;
  /** w_load (default 0.1). */
  readonly load?: number;
}

/**
 * L = w_importance · CV(Importance)² + w_load · CV(Load)² (Shazeer et al. 2017, Eq. 6–7 and Eq. 11),
 * a differentiable scalar from a {@link noisyTopKGate} output.
 * @throws {@link moegrad/engine!ValueError} for a non-gate input or coefficients that are negative or not finite.
 */
export function noisyTopKLosses(gate: NoisyTopKOutput, options: NoisyTopKLossOptions = {}): Tensor {
  const op = 'noisyTopKLosses';
  if (gate === null || typeof gate !== 'object' || !(gate.load instanceof Tensor) || !(gate.importance instanceof Tensor)) {
    throw new ValueError(op, `gate must be a noisyTopKGate output (with load and importance); got ${describeValue(gate)}`);
  }
  checkOptions(op, options);
  const wI = options.importance ?? 0.1, wL = options.load ?? 0.1;
  for (const [name, w] of [['importance', wI], ['load', wL]] as const) {
    if (!(typeof w === 'number' && Number.isFinite(w) && w >= 0)) throw new ValueError(op, `${name} coefficient must be a finite number ≥ 0; got ${describeValue(w)}`);
  }
  return add(scale(cvSquared(gate.importance), wI), scale(cvSquared(gate.load), wL));
}

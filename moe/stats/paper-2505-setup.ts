/**
 * The synthetic setups of arXiv 2505.10860 App. G.1.2 (Thm 1–4): true models (d = 1, k1* = 1 shared
 * + k2* = 2 routed experts, X ~ U[−3, 3]) and the near-truth starting point of the over-specified
 * fit (k1 = 2 shared + k2 = 3 routed). Plus one variant the paper does not run: Thm 1 with an
 * input-dependent true gate, because with the printed β11* = β12* = 5 the softmax gate
 * softmax(5x − 0.5, 5x + 0.5) = softmax(−0.5, 0.5) does not depend on x. The variant uses
 * β11* = −5, β12* = 0: gate σ(−5x − 1) for expert 1, which is 4·ReLU(−12x) (active for x < 0), and
 * σ(5x + 1) for expert 2, 4·ReLU(12x) (active for x > 0). The simpler change β12* = 0 alone would
 * route each expert to where its ReLU is off (routed mean ≈ 0 outside 0 < x < 0.2), leaving the
 * routed experts nearly unidentifiable.
 */
import type { Rng } from '../../engine/index.js';
import type { GaussianMoE, RoutedAtom } from './gaussian-moe.js';
import { checkIndices, checkModel, checkNumber, checkRng } from './validate.js';

const relu = { family: 'relu' } as const;
const reluNoBias = { family: 'relu', bias: false } as const;
const linear = { family: 'linear' } as const;

const thm1: GaussianMoE = { d: 1, gate: 'softmax', sharedExpert: relu, routedExpert: reluNoBias,
  shared: [{ weight: 1, expert: [6, 0, -8], variance: 0.25 }],
  routed: [{ beta0: -0.5, beta1: [5], expert: [-12, 4], variance: 0.4 }, { beta0: 0.5, beta1: [5], expert: [12, 4], variance: 0.4 }] };

/** The true models of App. G.1.2 (expert vectors: FFN [w, b?, a], linear [slope, intercept]) and the Thm 1 variant `thm1x`. */
export const THM_TRUTHS: Record<'thm1' | 'thm1x' | 'thm2' | 'thm3' | 'thm4', GaussianMoE> = {
  thm1,
  thm1x: { ...thm1, routed: [{ ...thm1.routed[0]!, beta1: [-5] }, { ...thm1.routed[1]!, beta1: [0] }] },
  thm2: { d: 1, gate: 'softmax', sharedExpert: linear, routedExpert: linear,
    shared: [{ weight: 1, expert: [2, 0], variance: 0.2 }],
    routed: [{ beta0: -0.5, beta1: [5], expert: [8, 2], variance: 0.4 }, { beta0: 0.5, beta1: [5], expert: [-6, 1], variance: 0.4 }] },
  thm3: { d: 1, gate: 'normalizedSigmoid', sharedExpert: relu, routedExpert: reluNoBias,
    shared: [{ weight: 1, expert: [6, 0, -8], variance: 0.25 }],
    routed: [{ beta0: -0.5, beta1: [0], expert: [-12, 4], variance: 0.4 }, { beta0: 0.5, beta1: [0], expert: [12, 4], variance: 0.4 }] },
  thm4: { d: 1, gate: 'normalizedSigmoid', sharedExpert: relu, routedExpert: linear,
    shared: [{ weight: 1, expert: [6, 0, -8], variance: 0.25 }],
    routed: [{ beta0: -0.5, beta1: [5], expert: [8, 2], variance: 0.4 }, { beta0: 0.5, beta1: [5], expert: [-6, 1], variance: 0.4 }] },
};

/** Which true atom each fitted atom starts next to: k1 = 2 shared → [0, 0]; k2 = 3 routed → [0, 0, 1]. */
export const SHARED_INIT = [0, 0], ROUTED_INIT = [0, 0, 1];

const logit = (p: number) => Math.log(p / (1 - p));
const sigma = (t: number) => 1 / (1 + Math.exp(-t));

/**
 * Over-specified starting point next to `truth`: fitted atom i starts at true atom `routedOf[i]`
 * (shared: `sharedOf[i]`), atoms sharing a true atom split its mass equally (ω/m; e^{β0}/m for
 * softmax, σ(β0)/m for normalized sigmoid), then every parameter gets N(0, noise²) (variances a
 * log-normal factor). The third-party reproduction scripts of 2309.13850 use noise ∝ n^(−0.083).
 */
export function initNearTruth(truth: GaussianMoE, rng: Rng, noise: number, sharedOf: readonly number[] = SHARED_INIT, routedOf: readonly number[] = ROUTED_INIT): GaussianMoE {
  checkModel('initNearTruth', truth, 'truth');
  checkRng('initNearTruth', rng);
  checkNumber('initNearTruth', 'noise', noise, { min: 0 });
  checkIndices('initNearTruth', 'sharedOf', sharedOf, truth.shared.length);
  checkIndices('initNearTruth', 'routedOf', routedOf, truth.routed.length);
  const jitter = (v: number) => v + noise * rng.normal();
  const countS = (j: number) => sharedOf.filter((t) => t === j).length, countR = (j: number) => routedOf.filter((t) => t === j).length;
  return {
    ...truth,
    shared: sharedOf.map((j) => { const a = truth.shared[j]!; return { weight: a.weight / countS(j), expert: a.expert.map(jitter), variance: a.variance * Math.exp(noise * rng.normal()) }; }),
    routed: routedOf.map((j): RoutedAtom => {
      const a = truth.routed[j]!, m = countR(j);
      const beta0 = truth.gate === 'softmax' ? a.beta0 - Math.log(m) : logit(sigma(a.beta0) / m);
      return { beta0: jitter(beta0), beta1: a.beta1.map(jitter), expert: a.expert.map(jitter), variance: a.variance * Math.exp(noise * rng.normal()) };
    }),
  };
}

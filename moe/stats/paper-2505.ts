/**
 * Experiment 1 of issue #5: the synthetic experiments of arXiv 2505.10860 App. G.1 (Thm 1–4).
 * Truth k1* = 1 shared + k2* = 2 routed experts, fitted k1 = 2 + k2 = 3, X ~ U[−3, 3], Y from the
 * Gaussian MoE density, MLE by full-batch L-BFGS on the fused float64 likelihood (gradient verified
 * against the tape). The paper's EM stops at tolerance 1e−6 or 1000 iterations; L-BFGS at 1e−6
 * stops before the flat over-specified directions settle, so it stops at a relative NLL change
 * < 1e−10 or 1000 iterations (Thm 4: the change must stay < 1e−10 for 10 iterations in a row, cap
 * 5000; see `MAX_ITER`, `PATIENCE`), with steps capped at 2 per coordinate.
 *
 * Choices the paper leaves open (documented in every summary's notes):
 * - initialisation: near the truth, with one fitted atom per true atom plus the extra atom placed
 *   in the first cell (shared: 2 atoms → true shared atom; routed: 2 atoms → routed atom 1,
 *   1 atom → routed atom 2), masses split equally, Gaussian perturbation of every parameter with
 *   std `initNoise · n^(−0.083)` (the scheme of the 2309.13850 reproduction scripts), so fits
 *   start in the right basin;
 * - softmax gauge: softmax(β1 x + β0) is invariant to adding one (c1, c0) to every atom, so before
 *   measuring, fitted gates are shifted so that log Σ e^{β0} and the e^{β0}-weighted mean of β1
 *   match the truth's (the paper's A.2 would pin the last atom instead, but its own truth violates A.2);
 * - D4's misspecified limit Ǧ2 is the population KL projection (`populationLimit`: the NLL's
 *   expectation under the truth, by quadrature, minimised in the same box); the set of limits is
 *   approximated by the local minima reached from two starts, and D4 takes the inf over them
 *   (`lossD4Inf`). An earlier version used one capped sample fit (n = 5e4 quick, 2e5 full), which
 *   sat far from Ǧ2 along the β0 ridge (quick: D4 ≈ 7), so D4 could not fall below that;
 * - Thm 3/4 (normalized sigmoid): the routed gate parameters are kept in |β0|, |β1| ≤ 5 (A.1's
 *   compact parameter space), see `withGateBox`; Thm 3 also rescales the σ(β0) (`alignSigmoidScale`);
 * - ReLU experts: positive homogeneity is removed before measuring (`alignReluScale`).
 */
import { Rng } from '../../engine/index.js';
import type { Cell, CellResult, Experiment, ExperimentSummary } from './experiment.js';
import { type GaussianMoE, type RoutedAtom, gaussianMoENll, layoutOf, packModel, populationQuadrature, sampleGaussianMoE, unpackModel } from './gaussian-moe.js';
import { type FlatObjective, lbfgs } from './optimize.js';
import { fitRates, logSpaced, summaryRows } from './rates.js';
import { lossD1, lossD2, lossD3, lossD4 } from './voronoi.js';

const relu = { family: 'relu' } as const;
const reluNoBias = { family: 'relu', bias: false } as const;
const linear = { family: 'linear' } as const;

/** The four true models of App. G.1.2 (d = 1). Expert vectors: FFN [w, b?, a], linear [slope, intercept]. */
export const THM_TRUTHS: Record<'thm1' | 'thm2' | 'thm3' | 'thm4', GaussianMoE> = {
  thm1: { d: 1, gate: 'softmax', sharedExpert: relu, routedExpert: reluNoBias,
    shared: [{ weight: 1, expert: [6, 0, -8], variance: 0.25 }],
    routed: [{ beta0: -0.5, beta1: [5], expert: [-12, 4], variance: 0.4 }, { beta0: 0.5, beta1: [5], expert: [12, 4], variance: 0.4 }] },
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
const SHARED_INIT = [0, 0], ROUTED_INIT = [0, 0, 1];

const logit = (p: number) => Math.log(p / (1 - p));
const sigma = (t: number) => 1 / (1 + Math.exp(-t));

/** Over-specified starting point next to `truth` (see the module comment), perturbed by `noise`. */
export function initNearTruth(truth: GaussianMoE, rng: Rng, noise: number, sharedOf = SHARED_INIT, routedOf = ROUTED_INIT): GaussianMoE {
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

/** Fixes the softmax gauge of `fit` to the truth's (log Σ e^{β0} and the e^{β0}-weighted mean β1 match). */
export function alignSoftmaxGauge(fit: GaussianMoE, truth: GaussianMoE): GaussianMoE {
  if (fit.gate !== 'softmax' || fit.routed.length === 0) return fit;
  const lse = (v: number[]) => { const m = Math.max(...v); return m + Math.log(v.reduce((s, t) => s + Math.exp(t - m), 0)); };
  const c0 = lse(truth.routed.map((a) => a.beta0)) - lse(fit.routed.map((a) => a.beta0));
  const wmean = (m: GaussianMoE, t: number, shift: number) => {
    let s = 0, w = 0; for (const a of m.routed) { const e = Math.exp(a.beta0 + shift); s += e * a.beta1[t]!; w += e; } return s / w;
  };
  const c1 = Array.from({ length: fit.d }, (_, t) => wmean(truth, t, 0) - wmean(fit, t, c0));
  return { ...fit, routed: fit.routed.map((a) => ({ ...a, beta0: a.beta0 + c0, beta1: a.beta1.map((b, t) => b + c1[t]!) })) };
}

/** Best c > 0 for the ReLU rescaling (w/c, b/c, a·c) of `e` towards `target`, by golden-section search on log c. */
function bestReluScale(e: readonly number[], target: readonly number[]): { c: number; dist: number } {
  const last = e.length - 1;
  const dist = (lc: number) => {
    const c = Math.exp(lc); let s = (e[last]! * c - target[last]!) ** 2;
    for (let k = 0; k < last; k++) s += (e[k]! / c - target[k]!) ** 2;
    return s;
  };
  let lo = -6, hi = 6;
  const g = (Math.sqrt(5) - 1) / 2;
  for (let it = 0; it < 80; it++) {
    const m1 = hi - g * (hi - lo), m2 = lo + g * (hi - lo);
    if (dist(m1) < dist(m2)) hi = m2; else lo = m1;
  }
  const lc = (lo + hi) / 2;
  return { c: Math.exp(lc), dist: dist(lc) };
}

/**
 * ReLU experts are positively homogeneous: a·ReLU(wᵀx + b) = (a c)·ReLU((wᵀx + b)/c) for every c > 0,
 * so (w, b, a) is identifiable only up to that scale (the paper's "strongly identifiable" FFN example
 * ignores this). Before measuring, each fitted ReLU expert is moved along its flat direction to the
 * point closest to the true atom it is nearest to (the likelihood is unchanged).
 */
export function alignReluScale(fit: GaussianMoE, truth: GaussianMoE): GaussianMoE {
  const align = (expert: readonly number[], targets: readonly (readonly number[])[]) => {
    let best = { c: 1, dist: Infinity };
    for (const t of targets) { const r = bestReluScale(expert, t); if (r.dist < best.dist) best = r; }
    const last = expert.length - 1;
    return expert.map((v, k) => (k === last ? v * best.c : v / best.c));
  };
  return {
    ...fit,
    shared: fit.sharedExpert.family === 'relu' ? fit.shared.map((a) => ({ ...a, expert: align(a.expert, truth.shared.map((t) => t.expert)) })) : fit.shared,
    routed: fit.routedExpert.family === 'relu' ? fit.routed.map((a) => ({ ...a, expert: align(a.expert, truth.routed.map((t) => t.expert)) })) : fit.routed,
  };
}

/**
 * Normalized sigmoid with all gate slopes β1 = 0 (Thm 3's sparse regime) depends on β0 only through
 * the ratios σ(β0_j)/Σσ(β0_l): scaling every σ(β0_j) by one c > 0 leaves the density unchanged, so β0
 * drifts along that direction. Before measuring, the fitted masses are rescaled so that Σ_j σ(β0_j)
 * equals the truth's (exactly likelihood-preserving only when the fitted slopes are 0; they are
 * O(n^-1/4) here). c is capped so that every rescaled σ stays below 1 − 1e-9.
 */
export function alignSigmoidScale(fit: GaussianMoE, truth: GaussianMoE): GaussianMoE {
  if (fit.gate !== 'normalizedSigmoid' || fit.routed.length === 0) return fit;
  const s = fit.routed.map((a) => sigma(a.beta0));
  const target = truth.routed.reduce((acc, a) => acc + sigma(a.beta0), 0);
  const total = s.reduce((a, b) => a + b, 0);
  if (!(total > 0)) return fit;
  const c = Math.min(target / total, (1 - 1e-9) / Math.max(...s));
  return { ...fit, routed: fit.routed.map((a, j) => ({ ...a, beta0: logit(c * s[j]!) })) };
}

export interface FitOptions {
  readonly tol?: number; readonly maxIter?: number; readonly initNoise?: number;
  /** Consecutive iterations the tol test must hold (lbfgs `patience`, default 1). */ readonly patience?: number;
  /** Apply `alignSigmoidScale` (Thm 3). */ readonly alignSigmoid?: boolean;
  /** Compact gate parameter space (assumption A.1): |β0| ≤ B and |β1| ≤ B, enforced by a stiff quadratic penalty outside. */
  readonly gateBox?: number;
}

/**
 * Adds 1e3·Σ max(0, |β| − B)² over the routed gate parameters (β0, β1): the MLE over a compact
 * parameter space (2505.10860 A.1). Without it the normalized-sigmoid fits drift along a near-flat
 * ridge (all β0 → −∞, where σ(z) ≈ e^z and the gate turns into a shift-invariant softmax).
 */
function withGateBox(f: FlatObjective, like: GaussianMoE, bound: number): FlatObjective {
  const L = layoutOf(like), idx: number[] = [];
  for (let j = 0; j < like.routed.length; j++) for (let t = 0; t <= like.d; t++) idx.push(L.routedStart + j * L.routedStride + t);
  return (th, g) => {
    let v = f(th, g);
    for (const i of idx) {
      const over = Math.abs(th[i]!) - bound;
      if (over > 0) { v += 1e3 * over * over; g[i] = g[i]! + 2e3 * over * Math.sign(th[i]!); }
    }
    return v;
  };
}

/** Draws n points from `truth` and fits the over-specified model by MLE. Deterministic in `seed`. */
export function fitThm(truth: GaussianMoE, n: number, seed: number, opts: FitOptions = {}) {
  const { tol = 1e-10, maxIter = 1000, initNoise = 0.5 } = opts;
  const rng = new Rng(seed);
  const data = sampleGaussianMoE(truth, n, rng.split());
  const init = initNearTruth(truth, rng.split(), initNoise * Math.pow(n, -0.083));
  let objective = gaussianMoENll(init, data.x, data.y);
  if (opts.gateBox !== undefined) objective = withGateBox(objective, init, opts.gateBox);
  const res = lbfgs(objective, packModel(init), { tol, maxIter, maxStep: 2, patience: opts.patience ?? 1 });
  const raw = unpackModel(init, res.theta);
  let fit = alignReluScale(alignSoftmaxGauge(raw, truth), truth);
  if (opts.alignSigmoid) fit = alignSigmoidScale(fit, truth);
  return { fit, raw, nll: res.value, iterations: res.iterations, converged: res.converged, reason: res.reason };
}

export interface LimitOptions { readonly seed?: number; readonly initNoise?: number; readonly maxIter?: number; readonly tol?: number; readonly gateBox?: number; readonly xNodes?: number; readonly yNodes?: number }

/**
 * The misspecified limit Ǧ2 of 2505.10860 Thm 4 (dense regime): the KL projection of the truth onto
 * over-specified models in the gate box, computed by minimising the *population* NLL
 * E[−log f(Y|X)] (deterministic quadrature, `populationQuadrature`) from the same kind of start as
 * the fits. Unlike a fit on one large sample, it carries no sampling error of its own.
 */
export function populationLimit(truth: GaussianMoE, opts: LimitOptions = {}) {
  const { seed = 777, initNoise = 0.1, maxIter = 20000, tol = 1e-15, gateBox, xNodes = 300, yNodes = 16 } = opts;
  const q = populationQuadrature(truth, xNodes, yNodes);
  const init = initNearTruth(truth, new Rng(seed), initNoise);
  let objective = gaussianMoENll(init, q.x, q.y, q.w);
  if (gateBox !== undefined) objective = withGateBox(objective, init, gateBox);
  const res = lbfgs(objective, packModel(init), { tol, maxIter, maxStep: 2 });
  const raw = unpackModel(init, res.theta);
  return { fit: alignReluScale(raw, truth), raw, nll: res.value, iterations: res.iterations, converged: res.converged, reason: res.reason };
}

type ThmName = keyof typeof THM_TRUTHS;
const LOSS_NAME: Record<ThmName, string> = { thm1: 'D1', thm2: 'D2', thm3: 'D3', thm4: 'D4' };
const REPORTED: Record<ThmName, number> = { thm1: 0.451, thm2: 0.517, thm3: 0.46, thm4: 0.552 };
const TITLES: Record<ThmName, string> = {
  thm1: 'Thm 1: softmax routing, ReLU-FFN experts (D1)',
  thm2: 'Thm 2: softmax routing, linear experts (D2)',
  thm3: 'Thm 3: normalized sigmoid, sparse regime, ReLU-FFN experts (D3)',
  thm4: 'Thm 4: normalized sigmoid, dense regime, linear routed experts (D4)',
};

/**
 * L-BFGS iteration caps. Thm 4's fits crawl along the β0 ridge: at 1000 iterations most are still
 * moving (continuing lowers the sample NLL by ~1e-4 per point and moves β0 by > 1), so they get 5000.
 */
const MAX_ITER: Record<ThmName, number> = { thm1: 1000, thm2: 1000, thm3: 1000, thm4: 5000 };
/**
 * Consecutive iterations the relative-change test must hold. With 1, Thm 4 fits stopped on one tiny
 * step (n = 1e5, rep 2: after 135 iterations, NLL 9e-3 per point above where 10 lead, D4 14.6 vs 0.88).
 */
const PATIENCE: Record<ThmName, number> = { thm1: 1, thm2: 1, thm3: 1, thm4: 10 };

/** Box |β0|, |β1| ≤ 5 for the normalized-sigmoid fits (Thm 3, 4); see withGateBox. */
const GATE_BOX = 5;

/**
 * Starts (seeds of `initNearTruth`, noise 0.1) for the population KL projections that approximate
 * D4's set of limits. With the |β| ≤ 5 box the population NLL of Thm 4 has (at least) two local
 * minima 2e-6 nats apart (seed 777: an atom pinned at β0 = +5; seeds 1–3: the extra atom pinned at
 * β0 = −5; which one a start reaches depends on the quadrature, so keep the default 300 × 16 nodes);
 * no fit at n ≤ 1e5 can tell them apart (n·2e-6 < 1), so D4 takes the infimum over both,
 * as Eq. (11)'s inf over the set of limits does.
 */
const LIMIT_SEEDS = [777, 1];
/** Per-process cache of D4's reference limits (population KL projections). */
let limitCache: GaussianMoE[] | null = null;
/** D4's reference limits for Thm 4: `populationLimit` from each of `LIMIT_SEEDS` (computed once per process). */
export function thm4Limits(): GaussianMoE[] {
  limitCache ??= LIMIT_SEEDS.map((seed) => populationLimit(THM_TRUTHS.thm4, { seed, gateBox: GATE_BOX }).fit);
  return limitCache;
}
/** inf over `limits` of D4(fit, ·): Eq. (11)'s infimum over the set of misspecified limits. */
export function lossD4Inf(fit: GaussianMoE, truth: GaussianMoE, limits: readonly GaussianMoE[]): number {
  return Math.min(...limits.map((l) => lossD4(fit, truth, l)));
}

function makeThm(name: ThmName): Experiment {
  const truth = THM_TRUTHS[name], loss = LOSS_NAME[name];
  return {
    name,
    description: `arXiv 2505.10860 ${TITLES[name]}; fitted exponent of ${loss} vs log(n)/n (paper ${REPORTED[name]})`,
    paper: `arXiv 2505.10860 ${name.replace('thm', 'Thm ')} (App. G.1)`,
    reported: [{ label: `${loss} exponent a in O((log n / n)^a)`, value: REPORTED[name], axis: 'logn/n' }],
    cells({ quick }) {
      const ns = quick ? logSpaced(100, 10000, 5) : logSpaced(100, 100000, 10);
      const reps = quick ? 6 : 10;
      const cells: Cell[] = [];
      for (const n of ns) for (let rep = 0; rep < reps; rep++) {
        cells.push({ id: `n=${n}/rep=${rep}`, n, rep, seed: 1000003 * (rep + 1) + n, params: {} });
      }
      return cells;
    },
    runCell(cell) {
      const t0 = Date.now();
      const r = fitThm(truth, cell.n, cell.seed, { alignSigmoid: name === 'thm3', maxIter: MAX_ITER[name], patience: PATIENCE[name], ...(truth.gate === 'normalizedSigmoid' ? { gateBox: GATE_BOX } : {}) });
      let value: number;
      if (name === 'thm1') value = lossD1(r.fit, truth);
      else if (name === 'thm2') value = lossD2(r.fit, truth);
      else if (name === 'thm3') value = lossD3(r.fit, truth);
      else value = lossD4Inf(r.fit, truth, thm4Limits());
      return { id: cell.id, n: cell.n, rep: cell.rep, seed: cell.seed, metrics: { [loss]: value },
        info: { nll: r.nll, iterations: r.iterations, converged: r.converged, reason: r.reason }, ms: Date.now() - t0 } satisfies CellResult;
    },
    summarize(results): ExperimentSummary {
      const rows = summaryRows(results, [loss]);
      const fits = [
        ...fitRates(results, [{ series: loss, axis: 'logn/n', reported: REPORTED[name], expected: 0.5 }]),
        ...fitRates(results, [{ series: loss, axis: 'n', expected: -0.5 }]),
      ];
      const iters = results.map((r) => Number(r.info?.iterations ?? NaN)).filter(Number.isFinite);
      const notConverged = results.filter((r) => r.info?.converged === false).length;
      return {
        rows, fits,
        plot: { title: `arXiv 2505.10860 ${TITLES[name]}`, yLabel: `mean ${loss} (± 1 std)` },
        notes: [
          `MLE by full-batch L-BFGS (stop at relative NLL change < 1e-10 on ${PATIENCE[name]} consecutive iteration(s), or ${MAX_ITER[name]} iterations); mean iterations ${iters.length ? (iters.reduce((a, b) => a + b, 0) / iters.length).toFixed(0) : 'n/a'}, ${notConverged} of ${results.length} fits hit a cap.`,
          'Init near the truth (extra atoms split the first true atom), perturbation std 0.5·n^-0.083; softmax gauge aligned to the truth before measuring.',
          ...(truth.gate === 'normalizedSigmoid' ? ['Routed gate parameters kept in the box |β0|, |β1| ≤ 5 (A.1 compactness) by a stiff penalty: unconstrained fits drift to β0 → −∞ along a near-flat ridge.'] : []),
          ...(name === 'thm3' ? ['With β1* = 0 the normalized-sigmoid gate identifies β0 only up to a common scale of the σ(β0); fitted σ(β0) are rescaled to the truth\'s total before measuring D3 (see alignSigmoidScale).'] : []),
          ...(name === 'thm4' ? ['D4 routed terms are measured against the population KL projections Ǧ2 (quadrature of E[−log f], two local minima 2e-6 nats apart), taking the inf over them as Eq. (11) does.'] : []),
          ...(name === 'thm1' || name === 'thm2' ? ['As printed, β11* = β12* = 5, so the true softmax gate does not depend on x (spec §5.1 note 1).'] : []),
        ],
      };
    },
  };
}

/** thm1..thm4 of arXiv 2505.10860 App. G.1. */
export const PAPER_2505_EXPERIMENTS: Experiment[] = (['thm1', 'thm2', 'thm3', 'thm4'] as const).map(makeThm);

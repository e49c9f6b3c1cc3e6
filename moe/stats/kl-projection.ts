/**
 * The misspecified limit Ǧ2 of arXiv 2505.10860 Thm 4 (normalized sigmoid, dense regime, App. A):
 * when a true routed expert with a non-zero gate slope is fitted by several atoms, their sigmoid sum
 * cannot equal one sigmoid, so the MLE converges not to G* but to the KL projection
 *   Ǧ ∈ argmin_{G in the compact space} KL(f_{G*} ‖ f_G) = argmin E_{(X,Y)~G*}[−log f_G(Y|X)],
 * and Eq. (11)'s D4 is measured against the *set* of such minimisers. Here E[−log f_G] is a
 * deterministic quadrature (`populationQuadrature`: midpoint rule in x, Gauss–Hermite in y per true
 * component), minimised by the same constrained L-BFGS as the fits from several near-truth splits
 * and seeded random starts, to a tight tolerance. Every distinct minimum is reported with its KL
 * (population NLL minus the truth's); the set of limits is the minima within `tolerance` nats of the
 * best one (a fit at n points cannot tell apart minima closer than ~1/n).
 *
 * The quadrature is a discrete measure: a start can reach a "minimum" with KL < 0 by parking narrow
 * components on its y-nodes (seen from random starts on coarse rules). A true KL is ≥ 0, so such
 * points (KL < −`artefact`) are quadrature artefacts: they are reported in `artefacts` and excluded.
 */
import { Rng, ValueError } from '../../engine/index.js';
import { type Data, type FitReport, DEFAULT_SPACE, type ParameterSpace, fitFrom, meanNll, randomStart, toFittedGauge } from './estimate.js';
import { type GaussianMoE, packModel, populationQuadrature } from './gaussian-moe.js';
import { initNearTruth } from './paper-2505-setup.js';
import { checkArray, checkCountIn, checkIndices, checkModel, checkNumber, checkNumberArray, checkOptions, checkRecord, checkSpace } from './validate.js';

/** One local minimum of the population NLL found by `klProjection`. */
export interface KLMinimum {
  /** The minimising model (as returned by `fitFrom`). */
  readonly model: GaussianMoE;
  /** Population NLL E[−log f(Y|X)] at the minimum (quadrature). */
  readonly nll: number;
  /** KL(truth ‖ model) = nll − the truth's population NLL. */
  readonly kl: number;
  /** Why the L-BFGS run stopped. */
  readonly reason: FitReport['reason'];
  /** max|∇| of the penalised objective at the minimum. */
  readonly gradMax: number;
  /** L-BFGS iterations. */
  readonly iterations: number;
}

/** Options of `klProjection`. */
export interface KLProjectionOptions {
  /** The compact parameter space the projection is taken over (default `DEFAULT_SPACE`). */
  readonly space?: ParameterSpace;
  /** Midpoint-rule nodes in x over [−3, 3] (default 300). */
  readonly xNodes?: number;
  /** Gauss–Hermite nodes in y per true component (default 16). */
  readonly yNodes?: number;
  /** Near-truth starts: for each assignment of fitted routed atoms to true atoms, these seeds (noise 0.1). */
  readonly seeds?: readonly number[];
  /** Seeded truth-agnostic random starts (default 6). */
  readonly randomStarts?: number;
  /** Minima within this many nats of the best belong to the set of limits (default 1e-5). */
  readonly tolerance?: number;
  /** End points with KL below −artefact are quadrature artefacts (default 1e-5; the rule's own error is far smaller). */
  readonly artefact?: number;
  /** L-BFGS iteration cap per start (default 20000; gtol 1e-9, tol 1e-15, patience 50). */
  readonly maxIter?: number;
}

/**
 * All distinct minima found (sorted by KL) and the set of limits (within `tolerance` of the best).
 * `fitted` gives the over-specified structure as in `initNearTruth`: `shared` is the true shared atom
 * each fitted shared atom starts at, and each entry of `routed` one assignment of fitted routed atoms
 * to true routed atoms (every assignment is started with every seed).
 * @throws ValueError when truth.d ≠ 1, or every start ended below the truth's population NLL (only artefacts).
 */
export function klProjection(truth: GaussianMoE, fitted: { shared: readonly number[]; routed: readonly number[][] }, opts: KLProjectionOptions = {}) {
  const op = 'klProjection';
  checkModel(op, truth, 'truth');
  const f0 = checkRecord<{ shared?: unknown; routed?: unknown }>(op, 'fitted', fitted, 'an object { shared, routed }');
  checkIndices(op, 'fitted.shared', f0.shared, truth.shared.length);
  checkArray<unknown>(op, 'fitted.routed', f0.routed).forEach((r, i) => checkIndices(op, `fitted.routed[${i}]`, r, truth.routed.length));
  checkOptions(op, opts, 'opts');
  const { space = DEFAULT_SPACE, xNodes = 300, yNodes = 16, seeds = [1, 2], randomStarts = 6, tolerance = 1e-5, artefact = 1e-5, maxIter = 20000 } = opts;
  checkSpace(op, space);
  checkCountIn(op, 'xNodes', xNodes, 1, 1e6);
  checkCountIn(op, 'yNodes', yNodes, 1, 200);
  checkNumberArray(op, 'seeds', seeds, { finite: true });
  checkCountIn(op, 'randomStarts', randomStarts, 0, 1e4);
  checkNumber(op, 'tolerance', tolerance, { min: 0 });
  checkNumber(op, 'artefact', artefact, { min: 0 });
  checkCountIn(op, 'maxIter', maxIter, 0, Number.MAX_SAFE_INTEGER);
  if (truth.d !== 1) throw new ValueError('klProjection', `only d = 1 is supported (quadrature); got d = ${truth.d}`);
  const q = populationQuadrature(truth, xNodes, yNodes);
  const data: Data = { x: q.x, y: q.y, w: q.w };
  const truthNll = meanNll(truth, data);
  const settings = { space, maxIter, gtol: 1e-9, tol: 1e-15, patience: 50 } as const;
  const starts: GaussianMoE[] = [];
  for (const routedOf of fitted.routed) for (const seed of seeds) starts.push(initNearTruth(truth, new Rng(seed), 0.1, fitted.shared, routedOf));
  const rng = new Rng(12345);
  for (let r = 0; r < randomStarts; r++) starts.push(randomStart(starts[0]!, data, rng.split(), space));
  const minima: KLMinimum[] = [], artefacts: KLMinimum[] = [];
  for (const s of starts) {
    const f = fitFrom(s, data, settings);
    const m: KLMinimum = { model: f.model, nll: f.nll, kl: f.nll - truthNll, reason: f.reason, gradMax: f.gradMax, iterations: f.iterations };
    if (m.kl < -artefact) { artefacts.push(m); continue; }
    const v = packModel(toFittedGauge(m.model));
    const same = minima.find((o) => Math.abs(o.nll - m.nll) < 1e-9 && packModel(toFittedGauge(o.model)).every((t, i) => Math.abs(t - v[i]!) < 1e-3));
    if (!same) minima.push(m);
  }
  if (minima.length === 0) throw new ValueError('klProjection', `every start ended below the truth's population NLL (quadrature artefacts: ${artefacts.length}); use more quadrature nodes`);
  minima.sort((a, b) => a.kl - b.kl);
  const best = minima[0]!;
  return {
    /** The truth's population NLL E[−log f_{G*}(Y|X)] on the quadrature (nats). */
    truthNll,
    /** Distinct minima with KL ≥ −artefact, sorted by KL (ascending). */
    minima,
    /** End points with KL < −artefact (quadrature artefacts), excluded from `minima`. */
    artefacts,
    /** The minima within `tolerance` nats of the best: the set of limits Ǧ2 that D4 is measured against. */
    limits: minima.filter((m) => m.nll <= best.nll + tolerance) };
}

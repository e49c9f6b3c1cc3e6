/**
 * Research-grade least-squares estimation of the regression MoE of `regression-moe.ts` (the arXiv
 * 2503.03213 experiments), the counterpart of `estimate.ts` for the Gaussian MoE of 2505.10860:
 *
 * - **An explicit compact parameter space** (2503.03213 assumes compact parameter sets, as A.1 of
 *   2505.10860 does): every free gate parameter (within-group β1, β0; group gates ω, α) has
 *   |·| ≤ gateBox, every expert parameter |e1|, |e2| ≤ expertBox. For the temperature gate the box
 *   holds the invariant logits' coefficients: |β/τ| ≤ gateBox. Enforced by the same stiff quadratic
 *   penalty as `estimate.ts` (`constrainedObjective`), so a minimiser lies at most |∇LSE|/(2ρ) outside.
 *   Without it some hierarchical fits let a gate run off (gate masses e^{β0} of 1e200 in the losses).
 * - **No exact flat directions.** One atom per softmax is pinned at (0, 0) (`isPinned`). The
 *   temperature gate softmax((β1 x + β0)/τ) is invariant under (β, τ) → (cβ, cτ) — the PDE
 *   β ∂u/∂β = −τ ∂u/∂τ of arXiv 2401.13875 §3 is this invariance in infinitesimal form — so τ is
 *   held at its start value (a gauge; the losses use the invariants β/τ).
 * - **The stopping rule** of the Gaussian fits (`REGRESSION_FIT_RULE`: strong-Wolfe L-BFGS, Armijo
 *   fallback, max|∇| ≤ 1e-6, else a relative change ≤ 1e-10 on 50 consecutive iterations, cap 5000).
 * - **Multi-start**: the near-truth start (the "local root near the truth") plus `starts` seeded,
 *   truth-agnostic random starts, screened on a subsample; the best `polish` of those whose subsample
 *   LSE is within a relative `margin` of the local root's are continued on all points, and the lowest
 *   LSE found is the "global" fit. (margin 0.1 in LSE is 0.05 nats/point in the Gaussian NLL with the
 *   noise variance estimated by the LSE, the margin of `multiStartFit`.)
 */
import { Rng, ValueError } from '../../../engine/index.js';
import { type Constraints, type FitStop, constrainedObjective, boxViolation, subsample } from '../estimate.js';
import { type MinimizeResult, checkCount, flattenTree, lbfgs, unflattenTree } from '../optimize.js';
import { checkNumber, checkOptions } from '../validate.js';
import { type RegressionMoE, checkModel, fromParams, isPinned, lseAt, lseObjective, toParams } from './regression-moe.js';

/** The compact parameter space of a regression fit (printed with every summary). */
export interface RegressionSpace {
  /** |free gate parameter| ≤ gateBox (temperature gate: |β/τ| ≤ gateBox). */
  readonly gateBox: number;
  /** |e1|, |e2| ≤ expertBox. */
  readonly expertBox: number;
}

/** Default space: the truths of paper-2503.ts have |gate parameters| ≤ 2 and |expert parameters| ≤ 2, strictly inside. */
export const DEFAULT_REGRESSION_SPACE: RegressionSpace = { gateBox: 10, expertBox: 20 };

/** The L-BFGS rule of these fits (the rule of the 2505.10860 fits, `THM_FIT_RULE`), stored in every cell. */
export const REGRESSION_FIT_RULE = { lineSearch: 'wolfe', patience: 50, fallback: 'armijo', gtol: 1e-6, tol: 1e-10, maxIter: 5000 } as const;

/** One line for summaries. */
export function describeRegressionSpace(s: RegressionSpace): string {
  checkRegressionSpace('describeRegressionSpace', s);
  return `|gate parameters| ≤ ${s.gateBox} (temperature: |β/τ| ≤ ${s.gateBox}, τ held at its start value: (β, τ) and (cβ, cτ) are the same gate); |expert parameters| ≤ ${s.expertBox}; one gate per softmax pinned at (0, 0)`;
}

function checkRegressionSpace(op: string, s: unknown): asserts s is RegressionSpace {
  const r = checkOptions(op, s as RegressionSpace, 'space');
  checkNumber(op, 'space.gateBox', r.gateBox, { min: 0, minExclusive: true });
  checkNumber(op, 'space.expertBox', r.expertBox, { min: 0, minExclusive: true });
}

/**
 * The constraints of `like`'s flat layout (`toParams` order: free b1, free b0, e1, e2, then log τ or
 * the free group gates w1, w0) in `space`. The temperature's log τ is fixed (see the module comment).
 * @throws ValueError for an invalid model or space.
 */
export function regressionConstraints(like: RegressionMoE, space: RegressionSpace = DEFAULT_REGRESSION_SPACE): Constraints {
  checkModel(like);
  checkRegressionSpace('regressionConstraints', space);
  const k = like.atoms.length, nFree = like.atoms.filter((_, i) => !isPinned(like, i)).length;
  const G = like.gate === 'hierarchical' ? like.groupGates!.length : 0;
  const size = 2 * nFree + 2 * k + (like.gate === 'temperature' ? 1 : 0) + 2 * Math.max(0, G - 1);
  const lo = new Float64Array(size), hi = new Float64Array(size), fixed: number[] = [];
  const gate = like.gate === 'temperature' ? space.gateBox * like.tau! : space.gateBox;
  const set = (from: number, count: number, b: number) => { for (let i = from; i < from + count; i++) { lo[i] = -b; hi[i] = b; } };
  set(0, 2 * nFree, gate);
  set(2 * nFree, 2 * k, space.expertBox);
  if (like.gate === 'temperature') { lo[size - 1] = -Infinity; hi[size - 1] = Infinity; fixed.push(size - 1); }
  set(2 * nFree + 2 * k, 2 * Math.max(0, G - 1), space.gateBox);
  if (flattenTree(toParams(like)).length !== size) throw new Error(`regressionConstraints: layout of ${like.gate} out of step with toParams`);
  return { fixed, lo, hi, relu: [] };
}

/** Throws a ValueError unless `data` is { x, y }: Float64Arrays of one length ≥ 1 with finite values. */
function checkRegData(op: string, data: unknown): asserts data is { x: Float64Array; y: Float64Array } {
  const d = data as { x?: unknown; y?: unknown } | null;
  if (!(d && d.x instanceof Float64Array && d.y instanceof Float64Array && d.x.length === d.y.length && d.x.length > 0)) {
    throw new ValueError(op, `data must be { x, y }: Float64Arrays of one length ≥ 1; got ${d === null || typeof d !== 'object' ? JSON.stringify(d) : `x ${describe(d.x)}, y ${describe(d.y)}`}`);
  }
  for (const v of [d.x, d.y]) for (let i = 0; i < v.length; i++) if (!Number.isFinite(v[i])) throw new ValueError(op, `data must be finite; got ${v[i]} at index ${i}`);
}
const describe = (v: unknown) => (v instanceof Float64Array ? `Float64Array(${v.length})` : JSON.stringify(v)?.slice(0, 40) ?? String(v));

/** Throws a ValueError naming the first key of `o` that is not in `known` (a misspelt option would otherwise be ignored). */
function checkKeys(op: string, o: object, known: readonly string[]): void {
  for (const k of Object.keys(o)) if (!known.includes(k)) throw new ValueError(op, `unknown option '${k}'; known: ${known.join(', ')}`);
}

/** What every regression fit reports: the fitted model, its LSE, and how the fit stopped (`FitStop`). */
export interface RegressionFitReport extends FitStop {
  /** The fitted model. */
  readonly model: RegressionMoE;
  /** Mean squared error (1/n) Σ (y − f(x))² at the fit (no penalties). */
  readonly lse: number;
}

/** Stopping-rule overrides of `fitRegressionIn` (defaults: `REGRESSION_FIT_RULE`). */
export interface RegressionFitSettings {
  /** The compact space (default `DEFAULT_REGRESSION_SPACE`). */
  readonly space?: RegressionSpace;
  /** Iteration cap (default 5000). */
  readonly maxIter?: number;
}

/**
 * Least squares over the compact space from `start` (constrained L-BFGS with `REGRESSION_FIT_RULE`).
 * Deterministic. Continue a screened fit with `fitRegressionIn(report.model, …)`.
 * @throws ValueError for an invalid start, space or iteration cap.
 */
export function fitRegressionIn(start: RegressionMoE, data: { x: Float64Array; y: Float64Array }, settings: RegressionFitSettings = {}): RegressionFitReport {
  const op = 'fitRegressionIn';
  checkModel(start);
  checkOptions(op, settings, 'settings');
  checkKeys(op, settings, ['space', 'maxIter']);
  const { space = DEFAULT_REGRESSION_SPACE, maxIter = REGRESSION_FIT_RULE.maxIter } = settings;
  checkCount(op, 'maxIter', maxIter, 0);
  checkRegData(op, data);
  const c = regressionConstraints(start, space), template = toParams(start);
  // A start outside the box is projected onto it (the penalty alone would leave a far start outside).
  const theta0 = flattenTree(template).map((v, i) => Math.min(c.hi[i]!, Math.max(c.lo[i]!, v)));
  const { lineSearch, patience, fallback, gtol, tol } = REGRESSION_FIT_RULE;
  const res: MinimizeResult = lbfgs(constrainedObjective(lseObjective(start, data), c), theta0, { lineSearch, patience, fallback, gtol, tol, maxIter, maxStep: 2 });
  const model = fromParams(start, unflattenTree(template, res.theta));
  return { model, lse: lseAt(model, data), reason: res.reason, converged: res.converged, iterations: res.iterations, evaluations: res.evaluations, gradMax: res.gradMax, boxViolation: boxViolation(c, res.theta) };
}

/**
 * A truth-agnostic random start with `like`'s structure (atoms, groups, gate, expert), scaled from
 * the data only: free gate parameters uniform on half the gate box (temperature: τ = 1); linear
 * experts slope ~ N(0, (sd_y/sd_x)²), intercept ~ N(ȳ, sd_y²); GELU experts e1 ~ N(0, (2/sd_x)²),
 * e2 ~ N(0, (2 sd_y)²); all clamped to the box.
 */
export function randomRegressionStart(like: RegressionMoE, data: { x: Float64Array; y: Float64Array }, rng: Rng, space: RegressionSpace = DEFAULT_REGRESSION_SPACE): RegressionMoE {
  checkModel(like);
  checkRegressionSpace('randomRegressionStart', space);
  checkRegData('randomRegressionStart', data);
  if (!(rng instanceof Rng)) throw new ValueError('randomRegressionStart', `rng must be an Rng; got ${JSON.stringify(rng)}`);
  const n = data.y.length, mean = (a: Float64Array) => a.reduce((s, v) => s + v, 0) / n;
  const mx = mean(data.x), my = mean(data.y);
  const sx = Math.sqrt(data.x.reduce((s, v) => s + (v - mx) ** 2, 0) / n) || 1, sy = Math.sqrt(data.y.reduce((s, v) => s + (v - my) ** 2, 0) / n) || 1;
  const half = space.gateBox / 2, clamp = (v: number) => Math.max(-space.expertBox, Math.min(space.expertBox, v));
  const gate = () => half * (2 * rng.uniform() - 1);
  const atoms = like.atoms.map((_, i) => {
    const pinned = isPinned(like, i), b1 = pinned ? 0 : gate(), b0 = pinned ? 0 : gate();
    const e = like.expert === 'linear' ? [rng.normal() * sy / sx, my + sy * rng.normal()] : [2 * rng.normal() / sx, 2 * sy * rng.normal()];
    return { b1, b0, e1: clamp(e[0]!), e2: clamp(e[1]!) };
  });
  const extra: Partial<RegressionMoE> = like.gate === 'temperature' ? { tau: 1 }
    : like.gate === 'hierarchical' ? { groupGates: like.groupGates!.map((_, a, all) => (a === all.length - 1 ? { b1: 0, b0: 0 } : { b1: gate(), b0: gate() })) } : {};
  return { ...like, atoms, ...extra };
}

/** Multi-start design (defaults as `multiStartFit`'s). */
export interface RegressionMultiStartSettings extends RegressionFitSettings {
  /** Truth-agnostic random starts (default 10). */
  readonly starts?: number;
  /** Iterations of each random start on the screening subsample (default 200). */
  readonly screenIter?: number;
  /** At most this many screened starts are continued on all points (default 2). */
  readonly polish?: number;
  /** A screened start is continued only if its subsample LSE ≤ (1 + margin)·the local root's (default 0.1). */
  readonly margin?: number;
  /** Screening subsample size (default 1000). */
  readonly screenPoints?: number;
  /** Seed of the random starts and of the subsample (default 0). */
  readonly seed?: number;
}

/** What `multiStartRegression` returns. */
export interface RegressionMultiStart {
  /** The fit from the near-truth start. */
  readonly local: RegressionFitReport;
  /** The lowest LSE found over the local root and the polished random starts. */
  readonly global: RegressionFitReport;
  /** True when the global fit is a random start with LSE below the local root's by more than 2e-8 (relative; 1e-8 nats per point, as `multiStartFit`). */
  readonly globalIsRandom: boolean;
  /** How many random starts were polished on all points. */
  readonly polished: number;
  /** The lowest LSE (on all points) of any random start, screened or polished. */
  readonly bestRandomLse: number;
}

/**
 * Multi-start least squares: `nearTruth` fitted to convergence, plus `starts` random starts
 * (`randomRegressionStart`) screened on a seeded subsample, the `polish` best within `margin`
 * continued on all points. Deterministic given `seed`.
 * @throws ValueError for invalid settings or the reasons of `fitRegressionIn`.
 */
export function multiStartRegression(nearTruth: RegressionMoE, data: { x: Float64Array; y: Float64Array }, settings: RegressionMultiStartSettings = {}): RegressionMultiStart {
  const op = 'multiStartRegression';
  checkOptions(op, settings, 'settings');
  checkKeys(op, settings, ['space', 'maxIter', 'starts', 'screenIter', 'polish', 'margin', 'screenPoints', 'seed']);
  checkModel(nearTruth);
  checkRegData(op, data);
  const { starts = 10, screenIter = 200, polish = 2, margin = 0.1, screenPoints = 1000, seed = 0, ...fit } = settings;
  checkCount(op, 'starts', starts, 0);
  if (starts > 1e4) throw new ValueError(op, `starts must be ≤ 1e4 (each is a fit); got ${starts}`);
  checkCount(op, 'screenIter', screenIter, 1);
  checkCount(op, 'polish', polish, 0);
  checkCount(op, 'screenPoints', screenPoints, 1);
  checkNumber(op, 'margin', margin, { min: 0 });
  checkNumber(op, 'seed', seed);
  const local = fitRegressionIn(nearTruth, data, fit);
  const rng = new Rng(seed);
  const sub = subsample(data, screenPoints, rng.split()) as { x: Float64Array; y: Float64Array };
  const localOnSub = lseAt(local.model, sub);
  const screened = Array.from({ length: starts }, () => fitRegressionIn(randomRegressionStart(nearTruth, data, rng.split(), fit.space), sub, { ...fit, maxIter: screenIter }));
  const chosen = screened.map((r, i) => ({ r, i })).filter((o) => o.r.lse <= (1 + margin) * localOnSub)
    .sort((a, b) => (a.r.lse - b.r.lse) || (a.i - b.i)).slice(0, polish);
  let global = local, globalIsRandom = false, bestRandomLse = Infinity;
  for (const r of screened) bestRandomLse = Math.min(bestRandomLse, lseAt(r.model, data));
  for (const { r } of chosen) {
    const cont = fitRegressionIn(r.model, data, fit), done = { ...cont, iterations: r.iterations + cont.iterations, evaluations: r.evaluations + cont.evaluations };
    bestRandomLse = Math.min(bestRandomLse, done.lse);
    // The criterion of `multiStartFit`: better by > 1e-8 nats per point in the Gaussian likelihood, ΔLSE/(2·LSE) > 1e-8 —
    // below it the random start has found the local root again (in another gauge, to within the stopping rule).
    if (done.lse < global.lse * (1 - 2e-8)) { global = done; globalIsRandom = true; }
  }
  return { local, global, globalIsRandom, polished: chosen.length, bestRandomLse };
}

/** Which bounds of `space` a fitted model sits on ('gate box', 'expert box'), within 1e-6 relative. */
export function regressionActiveBounds(m: RegressionMoE, space: RegressionSpace = DEFAULT_REGRESSION_SPACE): Set<string> {
  checkModel(m);
  checkRegressionSpace('regressionActiveBounds', space);
  const on = new Set<string>(), near = (v: number, b: number) => Math.abs(v) >= b * (1 - 1e-6);
  const gs = m.gate === 'temperature' ? 1 / m.tau! : 1;
  m.atoms.forEach((a, i) => {
    if (!isPinned(m, i) && (near(a.b1 * gs, space.gateBox) || near(a.b0 * gs, space.gateBox))) on.add('gate box');
    if (near(a.e1, space.expertBox) || near(a.e2, space.expertBox)) on.add('expert box');
  });
  for (const g of m.groupGates ?? []) if (near(g.b1, space.gateBox) || near(g.b0, space.gateBox)) on.add('gate box');
  return on;
}

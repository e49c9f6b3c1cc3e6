/**
 * Voronoi losses measured in the right gauge: as an infimum over the symmetry group of the fitted
 * model, computed numerically rather than guessed by a heuristic alignment.
 *
 * A mixing measure is identified only up to the transformations that leave the density unchanged,
 * so a loss between a fit Ĝ and the truth G* is meaningful as inf_{g ∈ group} D(g·Ĝ, G*):
 * - softmax routing (arXiv 2505.10860 Eq. (1)): softmax(β1ᵀx + β0) is invariant to adding one
 *   (c0, c1) to every routed atom — a (1 + d)-dimensional translation;
 * - ReLU experts: a·ReLU(wᵀx + b) = (a·c)·ReLU((wᵀx + b)/c) for every c > 0, one scale per atom;
 * - normalized sigmoid with all gate slopes zero (Thm 3's sparse regime): σ(β0_j)/Σσ(β0_l) is
 *   invariant to scaling every σ(β0_j) by one c (only approximately a symmetry when the fitted
 *   slopes are not exactly 0; used only where the caller asks for it).
 * The β0 part of the translation and the sigmoid scale multiply every routed mass by one factor, and
 * the losses are not invariant to that (shrinking all masses shrinks every mass-weighted term), so
 * those two are not optimised: they are fixed by matching the total routed mass Σ e^{β0} (Σ σ(β0)) to
 * the truth's — softmax identifies only relative masses. The infimum runs over the slope translation
 * c1 and the ReLU scales. The Voronoi cells move with the gauge, so the loss is piecewise smooth in
 * it: the infimum is found by Nelder–Mead from several starts (the mass-normalised identity, a
 * heuristic alignment, seeded perturbations), followed by coordinate-wise grid + golden-section
 * polishing, and is never above the loss at the heuristic start.
 */
import { Rng, ValueError } from '../../engine/index.js';
import type { GaussianMoE } from './gaussian-moe.js';
import { nelderMead } from './optimize.js';
import { checkCountIn, checkFn, checkModel, checkNumber, checkNumberArray, checkOptBoolean, checkOptions, checkRecord, checkSameStructure, describeValue } from './validate.js';

/** A GaugeGroup: three booleans. */
function checkGroup(op: string, g: unknown): GaugeGroup {
  const r = checkRecord<Record<string, unknown>>(op, 'group', g, 'a GaugeGroup { softmaxTranslation, reluScale, sigmoidScale }');
  for (const k of ['softmaxTranslation', 'reluScale', 'sigmoidScale']) {
    if (typeof r[k] !== 'boolean') throw new ValueError(op, `group.${k} must be a boolean; got ${describeValue(r[k])}`);
  }
  return g as GaugeGroup;
}

/** Which symmetries of a fitted model the infimum runs over. */
export interface GaugeGroup {
  /** Translate every routed softmax gate by one (c0, c1) (1 + d gauge coordinates). */
  readonly softmaxTranslation: boolean;
  /** Rescale each ReLU expert (w, b, a) → (w/c, b/c, a·c), one log c per ReLU atom. */
  readonly reluScale: boolean;
  /** Scale every routed σ(β0_j) by one c (normalized sigmoid; exact only when all gate slopes are 0). */
  readonly sigmoidScale: boolean;
}

/** The exact symmetries of `m` (softmax translation, ReLU scales); `sigmoidScale` only on request. */
export function symmetriesOf(m: GaussianMoE, opts: { sigmoidScale?: boolean } = {}): GaugeGroup {
  checkModel('symmetriesOf', m, 'model', false);
  checkOptions('symmetriesOf', opts, 'opts');
  checkOptBoolean('symmetriesOf', 'sigmoidScale', opts.sigmoidScale);
  return {
    softmaxTranslation: m.gate === 'softmax' && m.routed.length > 0,
    reluScale: m.sharedExpert.family === 'relu' || m.routedExpert.family === 'relu',
    sigmoidScale: opts.sigmoidScale === true && m.gate === 'normalizedSigmoid' && m.routed.length > 0,
  };
}

interface Layout { readonly trans: number; readonly sharedScale: number[]; readonly routedScale: number[]; readonly sigmoid: number; readonly size: number }

function layout(m: GaussianMoE, g: GaugeGroup): Layout {
  let o = 0;
  const trans = g.softmaxTranslation ? (o += 1 + m.d, 0) : -1;
  const sharedScale = m.shared.map(() => (g.reluScale && m.sharedExpert.family === 'relu' ? o++ : -1));
  const routedScale = m.routed.map(() => (g.reluScale && m.routedExpert.family === 'relu' ? o++ : -1));
  const sigmoid = g.sigmoidScale ? o++ : -1;
  return { trans, sharedScale, routedScale, sigmoid, size: o };
}

const sigma = (t: number) => 1 / (1 + Math.exp(-t));
const scaleRelu = (e: readonly number[], logc: number) => { const c = Math.exp(logc), last = e.length - 1; return e.map((v, k) => (k === last ? v * c : v / c)); };

/**
 * g·m for a gauge vector (layout: [c0, c1…] | log c per ReLU atom | log c of the sigmoid scale). Null if outside the group's domain.
 * @throws ValueError when `g` has the wrong length for `m` and `group`.
 */
export function applyGauge(m: GaussianMoE, group: GaugeGroup, g: ArrayLike<number>): GaussianMoE | null {
  checkModel('applyGauge', m, 'model', false);
  checkGroup('applyGauge', group);
  checkNumberArray('applyGauge', 'g', g);
  return gaugeOf(m, group, g);
}
/** `applyGauge` without the entry checks (every evaluation of the gauge search). */
function gaugeOf(m: GaussianMoE, group: GaugeGroup, g: ArrayLike<number>): GaussianMoE | null {
  const L = layout(m, group);
  if (g.length !== L.size) throw new ValueError('applyGauge', `gauge vector must have ${L.size} entries for this model; got ${g.length}`);
  let c = 1;
  if (L.sigmoid >= 0) {
    c = Math.exp(g[L.sigmoid]!);
    if (!(c * Math.max(...m.routed.map((a) => sigma(a.beta0))) < 1 - 1e-12)) return null;
  }
  return {
    ...m,
    shared: m.shared.map((a, i) => (L.sharedScale[i]! >= 0 ? { ...a, expert: scaleRelu(a.expert, g[L.sharedScale[i]!]!) } : a)),
    routed: m.routed.map((a, j) => {
      let beta0 = a.beta0, beta1 = a.beta1;
      if (L.trans >= 0) { beta0 += g[L.trans]!; beta1 = beta1.map((b, t) => b + g[L.trans + 1 + t]!); }
      if (L.sigmoid >= 0) { const s = c * sigma(a.beta0); beta0 = Math.log(s / (1 - s)); }
      return { ...a, beta0, beta1, expert: L.routedScale[j]! >= 0 ? scaleRelu(a.expert, g[L.routedScale[j]!]!) : a.expert };
    }),
  };
}

/** log c minimising ‖(w/c, b/c, a·c) − target‖² (golden section on log c ∈ [−8, 8]). */
function bestReluLogScale(e: readonly number[], target: readonly number[]): { logc: number; dist: number } {
  const last = e.length - 1;
  const dist = (lc: number) => { const c = Math.exp(lc); let s = (e[last]! * c - target[last]!) ** 2; for (let k = 0; k < last; k++) s += (e[k]! / c - target[k]!) ** 2; return s; };
  const r = golden(dist, -8, 8);
  return { logc: r.x, dist: r.value };
}

function golden(f: (x: number) => number, lo: number, hi: number, iters = 80): { x: number; value: number } {
  const k = (Math.sqrt(5) - 1) / 2;
  let a = lo, b = hi, x1 = b - k * (b - a), x2 = a + k * (b - a), f1 = f(x1), f2 = f(x2);
  for (let i = 0; i < iters; i++) {
    if (f1 <= f2) { b = x2; x2 = x1; f2 = f1; x1 = b - k * (b - a); f1 = f(x1); }
    else { a = x1; x1 = x2; f1 = f2; x2 = a + k * (b - a); f2 = f(x2); }
  }
  return f1 <= f2 ? { x: x1, value: f1 } : { x: x2, value: f2 };
}

/**
 * A heuristic gauge towards `truth` (the start the search improves on): the softmax translation that
 * matches log Σ e^{β0} and the e^{β0}-weighted mean of β1 to the truth's, and for each ReLU atom the
 * scale that brings it closest to its nearest true expert.
 */
export function heuristicGauge(fit: GaussianMoE, truth: GaussianMoE, group: GaugeGroup): Float64Array {
  checkModel('heuristicGauge', fit, 'fit', false);
  checkModel('heuristicGauge', truth, 'truth', false);
  checkSameStructure('heuristicGauge', fit, truth, ['fit', 'truth']);
  checkGroup('heuristicGauge', group);
  return heuristicOf(fit, truth, group);
}
function heuristicOf(fit: GaussianMoE, truth: GaussianMoE, group: GaugeGroup): Float64Array {
  const L = layout(fit, group), g = new Float64Array(L.size);
  if (L.trans >= 0 && truth.gate === 'softmax') {
    const lse = (v: number[]) => { const m = Math.max(...v); return m + Math.log(v.reduce((s, t) => s + Math.exp(t - m), 0)); };
    const c0 = lse(truth.routed.map((a) => a.beta0)) - lse(fit.routed.map((a) => a.beta0));
    g[L.trans] = c0;
    const wmean = (m: GaussianMoE, t: number, shift: number) => { let s = 0, w = 0; for (const a of m.routed) { const e = Math.exp(a.beta0 + shift); s += e * a.beta1[t]!; w += e; } return s / w; };
    for (let t = 0; t < fit.d; t++) g[L.trans + 1 + t] = wmean(truth, t, 0) - wmean(fit, t, c0);
  }
  const nearest = (e: readonly number[], targets: readonly (readonly number[])[]) => targets.map((t) => bestReluLogScale(e, t)).reduce((a, b) => (b.dist < a.dist ? b : a)).logc;
  fit.shared.forEach((a, i) => { if (L.sharedScale[i]! >= 0) g[L.sharedScale[i]!] = nearest(a.expert, truth.shared.map((t) => t.expert)); });
  fit.routed.forEach((a, j) => { if (L.routedScale[j]! >= 0) g[L.routedScale[j]!] = nearest(a.expert, truth.routed.map((t) => t.expert)); });
  if (L.sigmoid >= 0) {
    const target = truth.routed.reduce((s, a) => s + sigma(a.beta0), 0), total = fit.routed.reduce((s, a) => s + sigma(a.beta0), 0);
    const cap = (1 - 1e-9) / Math.max(...fit.routed.map((a) => sigma(a.beta0)));
    g[L.sigmoid] = Math.log(Math.min(target / total, cap));
  }
  return g;
}

/** What `gaugeInfimum` returns. */
export interface GaugeInfimum {
  /** inf over the group of loss(g·fit) (the best value found). */
  readonly value: number;
  /** The fit in the minimising gauge (same density as `fit`). */
  readonly model: GaussianMoE;
  /** The minimising gauge vector (layout of `applyGauge`; empty when the group is trivial). */
  readonly gauge: Float64Array;
  /** loss(fit) as given. The infimum may lie above it: the routed-mass coordinates are fixed by mass matching, not optimised. */
  readonly atIdentity: number;
  /** loss at the heuristic alignment (`heuristicGauge`; Infinity if outside the group's domain); `value` is never above it. */
  readonly atHeuristic: number;
}

/**
 * inf_{g ∈ group} loss(g·fit) for a Voronoi loss `loss` against `truth` (see the module comment).
 * Deterministic given `seed` (default 0). `starts` (default 4) seeded perturbations of the heuristic
 * start are tried besides the mass-normalised identity and the heuristic itself.
 */
export function gaugeInfimum(fit: GaussianMoE, truth: GaussianMoE, loss: (m: GaussianMoE) => number, group?: GaugeGroup, opts: { seed?: number; starts?: number } = {}): GaugeInfimum {
  const op = 'gaugeInfimum';
  checkModel(op, fit, 'fit', false);
  checkModel(op, truth, 'truth', false);
  checkSameStructure(op, fit, truth, ['fit', 'truth']);
  checkFn(op, 'loss', loss);
  if (group === undefined) group = symmetriesOf(fit); else checkGroup(op, group);
  checkOptions(op, opts, 'opts');
  const { seed = 0, starts = 4 } = opts;
  checkNumber(op, 'seed', seed);
  checkCountIn(op, 'starts', starts, 0, 1e4);
  return infimumOf(fit, truth, loss, group, seed, starts);
}
function infimumOf(fit: GaussianMoE, truth: GaussianMoE, loss: (m: GaussianMoE) => number, group: GaugeGroup, seed: number, starts: number): GaugeInfimum {
  const L = layout(fit, group);
  // The β0 part of the softmax translation (and the sigmoid scale) multiplies every routed mass by one
  // factor; D1–D4 are not invariant to that (shrinking all masses shrinks the mass-weighted terms), so
  // those coordinates are fixed by matching the total routed mass to the truth's (softmax identifies
  // only relative masses), and the infimum runs over the rest: the slope translation c1 and the ReLU scales.
  const heuristic = heuristicOf(fit, truth, group);
  const normalizedBy = [L.trans, L.sigmoid].filter((i) => i >= 0);
  const free = Array.from({ length: L.size }, (_, i) => i).filter((i) => !normalizedBy.includes(i));
  const full = (z: ArrayLike<number>) => { const g = Float64Array.from(heuristic); free.forEach((i, k) => { g[i] = z[k]!; }); return g; };
  const f = (z: ArrayLike<number>) => { const m = gaugeOf(fit, group, full(z)); if (!m) return Infinity; const v = loss(m); return Number.isNaN(v) ? Infinity : v; };
  const atIdentity = loss(fit);
  const zHeuristic = Float64Array.from(free.map((i) => heuristic[i]!)), atHeuristic = f(zHeuristic);
  if (free.length === 0) return { value: atHeuristic, model: gaugeOf(fit, group, heuristic) ?? fit, gauge: heuristic, atIdentity, atHeuristic };
  const rng = new Rng(seed);
  const candidates = [new Float64Array(free.length), zHeuristic, ...Array.from({ length: starts }, () => zHeuristic.map((v) => v + rng.normal()))];
  let best: { x: Float64Array; value: number } = { x: zHeuristic, value: atHeuristic };
  for (const c of candidates) {
    const r = nelderMead(f, c, { step: 0.5, maxEval: 3000, restarts: 3 });
    if (r.value < best.value) best = { x: r.x, value: r.value };
  }
  // Coordinate polish: a grid over ±2 around the best point, then golden section around the best cell.
  for (let round = 0; round < 2; round++) {
    let improved = false;
    for (let k = 0; k < free.length; k++) {
      const x = Float64Array.from(best.x), at = (v: number) => { x[k] = v; return f(x); };
      const c0 = best.x[k]!, h = 0.1;
      let bv = best.value, bx = c0;
      for (let s = -20; s <= 20; s++) { const v = at(c0 + s * h); if (v < bv) { bv = v; bx = c0 + s * h; } }
      const gs = golden(at, bx - h, bx + h, 50);
      if (gs.value < bv) { bv = gs.value; bx = gs.x; }
      if (bv < best.value - 1e-15) { x[k] = bx; best = { x: Float64Array.from(x), value: bv }; improved = true; }
    }
    if (!improved) break;
  }
  const gauge = full(best.x);
  return { value: best.value, model: gaugeOf(fit, group, gauge)!, gauge, atIdentity, atHeuristic };
}

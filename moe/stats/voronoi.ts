/**
 * Voronoi cells and losses between a fitted and a true mixing measure (Manole & Ho 2022; arXiv
 * 2505.10860 Eq. (3)–(11)). A fitted atom belongs to the cell of its nearest true atom (Euclidean
 * distance on the atom's location vector; exact ties go to the lower true index). Exponents follow
 * the cell size: exact cells (one fitted atom) use first powers, over-specified cells higher ones.
 */
import { ValueError } from '../../engine/index.js';
import type { GaussianMoE } from './gaussian-moe.js';
import { MAX_COUNT, checkArray, checkCountIn, checkEnum, checkFn, checkModel, checkNumberArray, checkOptBoolean, checkOptions, checkRecord, checkSameStructure, describeValue } from './validate.js';

/** Location lists: an array of number arrays (NaN allowed: it propagates). O(total length). */
function checkLocations(op: string, name: string, v: unknown): void {
  checkArray<unknown>(op, name, v).forEach((l, i) => checkNumberArray(op, `${name}[${i}]`, l));
}

/**
 * Fitted and true Voronoi atoms { mass, loc, parts }: numbers and number arrays (NaN allowed: it
 * propagates), at least one true atom, every location of one length, every atom with the same
 * number of parameter groups, group q of one length. O(total size).
 */
function checkMeasures(op: string, fitted: unknown, truth: unknown): void {
  checkAtoms(op, 'fitted', fitted);
  checkAtoms(op, 'truth', truth);
  const all = [...(fitted as Atom[]).map((a, i) => [`fitted[${i}]`, a] as const), ...(truth as Atom[]).map((a, j) => [`truth[${j}]`, a] as const)];
  if ((truth as Atom[]).length === 0) throw new ValueError(op, 'the true measure has no atoms (truth is an empty Array)');
  const [n0, a0] = all[0]!;
  for (const [n, a] of all) {
    if (a.loc.length !== a0.loc.length) throw new ValueError(op, `atom locations differ in length: ${n0}.loc has ${a0.loc.length}, ${n}.loc has ${a.loc.length}`);
    if (a.parts.length !== a0.parts.length) throw new ValueError(op, `atoms differ in their number of parameter groups: ${n0} has ${a0.parts.length}, ${n} has ${a.parts.length}`);
    a.parts.forEach((p, q) => { if (p.length !== a0.parts[q]!.length) throw new ValueError(op, `parameter group ${q} differs in length: ${n0} has ${a0.parts[q]!.length}, ${n} has ${p.length}`); });
  }
}

function checkAtoms(op: string, name: string, v: unknown): void {
  checkArray<unknown>(op, name, v).forEach((a, i) => {
    const r = checkRecord<{ mass?: unknown; loc?: unknown; parts?: unknown }>(op, `${name}[${i}]`, a, 'an Atom { mass, loc, parts }');
    if (typeof r.mass !== 'number') throw new ValueError(op, `${name}[${i}].mass must be a number; got ${describeValue(r.mass)}`);
    checkNumberArray(op, `${name}[${i}].loc`, r.loc);
    checkArray<unknown>(op, `${name}[${i}].parts`, r.parts).forEach((p, q) => checkNumberArray(op, `${name}[${i}].parts[${q}]`, p));
  });
}

/** Two models for a loss: structure and number-typed parameters (NaN propagates), same d and expert shapes. */
function checkLossModels(op: string, fit: unknown, truth: unknown, names: readonly [string, string] = ['fit', 'truth']): void {
  checkModel(op, fit, names[0], false);
  checkModel(op, truth, names[1], false);
  checkSameStructure(op, fit as GaussianMoE, truth as GaussianMoE, names);
}

/** An atom of a mixing measure: its mass, the vector that decides its cell, and parameter groups. */
export interface Atom {
  /** Mass of the atom (mixture weight or its gate-derived analogue, e.g. exp β0). */
  readonly mass: number;
  /** Location vector whose Euclidean distance to the true locations decides the atom's Voronoi cell. */
  readonly loc: readonly number[];
  /** Parameter groups; the loss takes ‖part_q(fitted) − part_q(true)‖ group by group (same count in fitted and true atoms). */
  readonly parts: readonly (readonly number[])[];
}

function dist2(a: readonly number[], b: readonly number[]): number {
  if (a.length !== b.length) throw new ValueError('voronoiCells', `atom locations differ in length: ${a.length} vs ${b.length}`);
  let s = 0; for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) ** 2; return s;
}
function norm(a: readonly number[], b: readonly number[]): number { return Math.sqrt(dist2(a, b)); }

/**
 * cells[j] = indices of fitted atoms whose nearest true location is j (ties → lowest j). Cells may be empty.
 * @throws ValueError when `truth` is empty or two locations differ in length.
 */
export function voronoiCells(fitted: readonly (readonly number[])[], truth: readonly (readonly number[])[]): number[][] {
  checkLocations('voronoiCells', 'fitted', fitted);
  checkLocations('voronoiCells', 'truth', truth);
  return cellsOf(fitted, truth);
}
function cellsOf(fitted: readonly (readonly number[])[], truth: readonly (readonly number[])[]): number[][] {
  if (truth.length === 0) throw new ValueError('voronoiCells', 'the true measure has no atoms (truth is an empty Array)');
  const cells = truth.map(() => [] as number[]);
  fitted.forEach((f, i) => {
    let best = 0, bd = Infinity;
    truth.forEach((t, j) => { const dd = dist2(f, t); if (dd < bd) { bd = dd; best = j; } });
    cells[best]!.push(i);
  });
  return cells;
}

/** Which terms `voronoiLoss` adds and with which exponents (defaults: the D1 loss of arXiv 2505.10860 Eq. (4)). */
export interface VoronoiLossOptions {
  /** Which cells get the mass term |Σ_{i∈V_j} mass_i − mass*_j|: all (default), only |V_j| > 1, or none. */
  readonly massTerm?: 'all' | 'over' | 'none';
  /** Weight each fitted atom's parameter terms by its mass (default true). */
  readonly weightByMass?: boolean;
  /** Exponent of ‖Δ part q‖ for a cell of the given size; null drops the term. Default 1 (exact) / 2 (over). */
  readonly exponent?: (cellSize: number, part: number) => number | null;
}

/**
 * Generic Voronoi loss Σ_j [mass term] + Σ_j Σ_{i∈V_j} w_i Σ_q ‖part_q(i) − part_q*(j)‖^{e(|V_j|, q)}.
 * @throws ValueError as `voronoiCells`, or when a fitted atom and its true atom have different numbers of parts.
 */
export function voronoiLoss(fitted: readonly Atom[], truth: readonly Atom[], opts: VoronoiLossOptions = {}): number {
  checkMeasures('voronoiLoss', fitted, truth);
  checkOptions('voronoiLoss', opts, 'opts');
  if (opts.massTerm !== undefined) checkEnum('voronoiLoss', 'massTerm', opts.massTerm, ['all', 'over', 'none'] as const);
  checkOptBoolean('voronoiLoss', 'weightByMass', opts.weightByMass);
  if (opts.exponent !== undefined) checkFn('voronoiLoss', 'exponent', opts.exponent);
  return lossOf(fitted, truth, opts);
}
function lossOf(fitted: readonly Atom[], truth: readonly Atom[], opts: VoronoiLossOptions = {}): number {
  const { massTerm = 'all', weightByMass = true, exponent = (size: number) => (size === 1 ? 1 : 2) } = opts;
  const cells = cellsOf(fitted.map((a) => a.loc), truth.map((a) => a.loc));
  let loss = 0;
  truth.forEach((t, j) => {
    const cell = cells[j]!;
    if (massTerm === 'all' || (massTerm === 'over' && cell.length > 1)) loss += Math.abs(cell.reduce((s, i) => s + fitted[i]!.mass, 0) - t.mass);
    for (const i of cell) {
      const a = fitted[i]!;
      if (a.parts.length !== t.parts.length) throw new ValueError('voronoiLoss', `atom ${i} has ${a.parts.length} parameter groups, true atom ${j} has ${t.parts.length}`);
      let s = 0;
      a.parts.forEach((p, q) => { const e = exponent(cell.length, q); if (e !== null) s += Math.pow(norm(p, t.parts[q]!), e); });
      loss += (weightByMass ? a.mass : 1) * s;
    }
  });
  return loss;
}

/** Per fitted atom: its cell, the cell size and ‖Δ‖ of each parameter group against its true atom. */
export function perAtomErrors(fitted: readonly Atom[], truth: readonly Atom[]): {
  /** Index of the true atom whose cell the fitted atom is in. */
  cell: number;
  /** Number of fitted atoms in that cell (1 = exact, > 1 = over-specified). */
  cellSize: number;
  /** Euclidean ‖part_q(fitted) − part_q(true)‖ for every parameter group q. */
  errors: number[];
}[] {
  checkMeasures('perAtomErrors', fitted, truth);
  const cells = cellsOf(fitted.map((a) => a.loc), truth.map((a) => a.loc));
  const cellOf = new Int32Array(fitted.length);
  cells.forEach((c, j) => c.forEach((i) => { cellOf[i] = j; }));
  return fitted.map((a, i) => {
    const j = cellOf[i]!, t = truth[j]!;
    return { cell: j, cellSize: cells[j]!.length, errors: a.parts.map((p, q) => norm(p, t.parts[q]!)) };
  });
}

/**
 * r(m) of 2505.10860 Thm 2 (App. B): the smallest order for which the polynomial systems (12)–(13)
 * have only trivial solutions: r(2) = 4, r(3) = 6; for m ≥ 4 the paper only bounds r ≥ 7, and 7 is used.
 */
export function rOrder(cellSize: number): number {
  checkCountIn('rOrder', 'cellSize', cellSize, 0, MAX_COUNT);
  if (cellSize <= 1) return 1;
  return cellSize === 2 ? 4 : cellSize === 3 ? 6 : 7;
}

/** Shared atoms as Voronoi atoms: mass ω, location ξ = (κ, τ), parts per `split` of κ plus τ. */
function sharedAtoms(m: GaussianMoE, splitExpert: (e: readonly number[]) => number[][]): Atom[] {
  return m.shared.map((a) => ({ mass: a.weight, loc: [...a.expert, a.variance], parts: [...splitExpert(a.expert), [a.variance]] }));
}
/** Routed atoms: mass from β0 (exp for softmax, σ for normalized sigmoid), location ζ = (β1, η, ν). */
function routedAtoms(m: GaussianMoE, splitExpert: (e: readonly number[]) => number[][], mass: (b0: number) => number, withBeta0 = false): Atom[] {
  return m.routed.map((a) => ({ mass: mass(a.beta0), loc: [...a.beta1, ...a.expert, a.variance],
    parts: [[...a.beta1], ...splitExpert(a.expert), [a.variance], ...(withBeta0 ? [[a.beta0]] : [])] }));
}
const whole = (e: readonly number[]) => [[...e]];
const sigma = (t: number) => 1 / (1 + Math.exp(-t));

/** D1 (Eq. (4)): softmax routing, strongly identifiable experts. Mass exp(β0) for routed atoms. */
export function lossD1(fit: GaussianMoE, truth: GaussianMoE): number {
  checkLossModels('lossD1', fit, truth);
  return lossOf(sharedAtoms(fit, whole), sharedAtoms(truth, whole)) + lossOf(routedAtoms(fit, whole, Math.exp), routedAtoms(truth, whole, Math.exp));
}

/**
 * D2 (Eq. (6)): softmax routing, linear experts h = w x + b (d-dim slope w, intercept b).
 * Over cells: shared (‖Δκ1‖², |Δκ0|^r, |Δτ|^{r/2}); routed (‖Δβ1‖^r, ‖Δη1‖^{r/2}, |Δη0|^r, |Δν|^{r/2}), r = r(|V|).
 */
export function lossD2(fit: GaussianMoE, truth: GaussianMoE): number {
  checkLossModels('lossD2', fit, truth);
  const d = truth.d, split = (e: readonly number[]) => [e.slice(0, d), e.slice(d)];
  const shared = lossOf(sharedAtoms(fit, split), sharedAtoms(truth, split), {
    exponent: (size, q) => (size === 1 ? 1 : [2, rOrder(size), rOrder(size) / 2][q]!) });
  const routed = lossOf(routedAtoms(fit, split, Math.exp), routedAtoms(truth, split, Math.exp), {
    exponent: (size, q) => (size === 1 ? 1 : [rOrder(size), rOrder(size) / 2, rOrder(size), rOrder(size) / 2][q]!) });
  return shared + routed;
}

/**
 * D3 (Eq. (10)): normalized sigmoid, sparse regime. Shared as D1; routed: mass |Σσ(β0) − σ(β0*)| only for
 * over cells, no mass weights, exact cells (‖Δβ1‖ + ‖Δη‖ + |Δν| + |Δβ0|), over cells (‖Δβ1‖² + ‖Δη‖² + |Δν|²).
 */
export function lossD3(fit: GaussianMoE, truth: GaussianMoE): number {
  checkLossModels('lossD3', fit, truth);
  const shared = lossOf(sharedAtoms(fit, whole), sharedAtoms(truth, whole));
  const routed = lossOf(routedAtoms(fit, whole, sigma, true), routedAtoms(truth, whole, sigma, true), {
    massTerm: 'over', weightByMass: false, exponent: (size, q) => (size === 1 ? 1 : q === 3 ? null : 2) });
  return shared + routed;
}

/**
 * D4 (Eq. (11)): normalized sigmoid, dense regime. Shared terms as D1 against the truth; routed atoms
 * against the reference `limit` (the misspecified limit Ǧ2, e.g. a fit at very large n):
 * Σ_j Σ_{i∈V_j} (‖Δβ1‖ + |Δβ0| + ‖Δη‖ + |Δν|), no mass terms or weights.
 */
export function lossD4(fit: GaussianMoE, truth: GaussianMoE, limit: GaussianMoE): number {
  checkLossModels('lossD4', fit, truth);
  checkLossModels('lossD4', fit, limit, ['fit', 'limit']);
  const shared = lossOf(sharedAtoms(fit, whole), sharedAtoms(truth, whole));
  const routed = lossOf(routedAtoms(fit, whole, sigma, true), routedAtoms(limit, whole, sigma, true), {
    massTerm: 'none', weightByMass: false, exponent: () => 1 });
  return shared + routed;
}

/** A regression-MoE atom for the LSE loss of §3.3: gate bias β0 (mass exp β0), gate slopes β1, expert η. */
export interface RegressionAtom {
  /** Gate bias β0 (the atom's mass is exp β0). */
  readonly beta0: number;
  /** Gate slopes β1 (d numbers). */
  readonly beta1: readonly number[];
  /** Expert parameters η. */
  readonly expert: readonly number[] }

/**
 * Regression-form Voronoi loss (2503.03213 / 2402.02952 template): cells on (β1, η), mass exp(β0),
 * exact cells e^{β0}(‖Δβ1‖ + ‖Δη‖), over cells e^{β0}(‖Δβ1‖² + ‖Δη‖²), plus Σ_j |Σ e^{β0i} − e^{β0j*}|.
 */
export function regressionVoronoiLoss(fit: readonly RegressionAtom[], truth: readonly RegressionAtom[]): number {
  for (const [name, atoms] of [['fit', fit], ['truth', truth]] as const) {
    checkArray<unknown>('regressionVoronoiLoss', name, atoms).forEach((a, i) => {
      const r = checkRecord<{ beta0?: unknown; beta1?: unknown; expert?: unknown }>('regressionVoronoiLoss', `${name}[${i}]`, a, 'a RegressionAtom { beta0, beta1, expert }');
      if (typeof r.beta0 !== 'number') throw new ValueError('regressionVoronoiLoss', `${name}[${i}].beta0 must be a number; got ${describeValue(r.beta0)}`);
      checkNumberArray('regressionVoronoiLoss', `${name}[${i}].beta1`, r.beta1);
      checkNumberArray('regressionVoronoiLoss', `${name}[${i}].expert`, r.expert);
    });
  }
  const toAtoms = (as: readonly RegressionAtom[]): Atom[] => as.map((a) => ({ mass: 0, loc: [...a.beta1, ...a.expert], parts: [[...a.beta1], [...a.expert]] }));
  checkMeasures('regressionVoronoiLoss', toAtoms(fit), toAtoms(truth));
  const atoms = (as: readonly RegressionAtom[]): Atom[] => as.map((a) => ({ mass: Math.exp(a.beta0), loc: [...a.beta1, ...a.expert], parts: [[...a.beta1], [...a.expert]] }));
  return lossOf(atoms(fit), atoms(truth));
}

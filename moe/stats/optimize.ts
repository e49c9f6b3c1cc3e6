/**
 * Full-batch optimizers on a flat parameter vector: L-BFGS (two-loop recursion + strong-Wolfe
 * line search, `line-search.ts`) and Adam, plus `tapeObjective`, which turns a loss written with engine ops
 * over a parameter tree into a flat (value, gradient) function whose gradient comes from the tape.
 *
 * Stopping rule (research grade, the default): stop when max|∇f| ≤ gtol (1e-6), or when the relative
 * change of f stays ≤ tol (1e-10) for `patience` (20) consecutive iterations, or at maxIter (5000).
 * One calm step is not convergence: on the near-flat directions of an over-specified mixture a
 * backtracked step can change f by < 1e-10 while the gradient is still 1e-4. 2505.10860 App. G.1's EM
 * used a relative tolerance of 1e-6 and 1000 iterations; that rule stops such fits early.
 */
import { Tensor, type TensorTree, fromData, treeLeaves, treeMap, valueAndGrad, ValueError } from '../../engine/index.js';
import { armijoSearch, wolfeSearch, type LineSearchContext } from './line-search.js';
import { checkEnum, checkFn, checkNumber, checkNumberArray, checkOptBoolean, checkOptions, describeValue } from './validate.js';

/** A differentiable objective on a flat vector: returns f(θ) and writes ∇f(θ) into `grad`. */
export type FlatObjective = (theta: Float64Array, grad: Float64Array) => number;

/** Stopping rule and step controls of `lbfgs` (defaults are the research-grade rule in the module comment). */
export interface MinimizeOptions {
  /** Relative change test: |f_k − f_{k+1}| ≤ tol·max(1, |f_k|) (default 1e-10). */
  readonly tol?: number;
  /** Stop when ‖∇f‖∞ ≤ gtol (default 1e-6). */
  readonly gtol?: number;
  /** Iteration cap (default 5000). */
  readonly maxIter?: number;
  /** L-BFGS memory (default 10). */
  readonly memory?: number;
  /** Largest allowed |change| of any coordinate in one step (default Infinity); keeps flat directions from jumping. */
  readonly maxStep?: number;
  /**
   * The `tol` test must hold on this many consecutive iterations (default 20). One tiny step (a
   * line search that backtracked far) is not convergence on a flat ridge; patience > 1 waits for a run.
   */
  readonly patience?: number;
  /**
   * Line search (default 'wolfe'): strong Wolfe conditions, extrapolating past the unit step when
   * the curvature test asks for it; 'armijo' is backtracking by halving from the unit step (the rule
   * used for results fitted before this option existed).
   */
  readonly lineSearch?: 'wolfe' | 'armijo';
  /**
   * What a failed strong-Wolfe search falls back to (default 'armijo': backtracking along the same
   * direction, which accepts any step that does not increase f beyond the Armijo bound — near a stiff
   * box-penalty wall the Wolfe bracket can hold no representable decrease while a backtracked step still
   * gives L-BFGS a new curvature pair); 'none' reproduces fits made before the fallback existed.
   */
  readonly fallback?: 'armijo' | 'none';
}

/** Why a minimisation stopped: gradient rule, patient relative-change rule, iteration cap, or no descent step found. */
export type StopReason = 'gtol' | 'tol' | 'maxIter' | 'lineSearch';

/** What `lbfgs` and `adamMinimize` return. */
export interface MinimizeResult {
  /** The parameter vector at the stop. */
  readonly theta: Float64Array;
  /** f(theta). */
  readonly value: number;
  /** Iterations taken (optimizer steps). */
  readonly iterations: number;
  /** Objective evaluations, line-search trials included. */
  readonly evaluations: number;
  /** True for 'gtol' and 'tol'. */
  readonly converged: boolean;
  /** Which stopping rule fired. */
  readonly reason: StopReason;
  /** max|∇f| at the returned θ. */
  readonly gradMax: number;
}

function dot(a: Float64Array, b: Float64Array): number { let s = 0; for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!; return s; }
/** ‖a‖∞ (NaN if any entry is NaN). */
export function maxAbs(a: ArrayLike<number>): number { checkNumberArray('maxAbs', 'a', a); return normInf(a); }
/** `maxAbs` without the entry check (per iteration in the optimizers). */
function normInf(a: ArrayLike<number>): number { let m = 0; for (let i = 0; i < a.length; i++) { const v = Math.abs(a[i]!); if (!(v <= m)) m = v; } return m; }

/** Throws ValueError (naming `op` and `name`) unless `v` is a finite number (optionally an integer) ≥ `min`. Loop counts must never be ∞. */
export function checkCount(op: string, name: string, v: number, min: number, integer = true): void {
  if (typeof op !== 'string' || typeof name !== 'string' || typeof min !== 'number' || Number.isNaN(min)) {
    throw new ValueError(typeof op === 'string' ? op : 'checkCount', `checkCount needs (op: string, name: string, v, min: number); got op ${describeValue(op)}, name ${describeValue(name)}, min ${describeValue(min)}`);
  }
  if (!(typeof v === 'number' && Number.isFinite(v) && v >= min && (!integer || Number.isInteger(v)))) {
    throw new ValueError(op, `${name} must be a finite ${integer ? 'integer' : 'number'} ≥ ${min}; got ${describeValue(v)}`);
  }
}

/**
 * Minimises `f` with L-BFGS. Deterministic. Non-finite trial values are treated as "too far" by
 * the line search (the step halves), so an objective may return Infinity/NaN outside its domain.
 * When the strong-Wolfe search finds no step, Armijo backtracking is tried along the same direction
 * (unless `fallback: 'none'`);
 * when that fails too, the memory is dropped and steepest descent is tried (Wolfe, then Armijo) before
 * giving up with reason 'lineSearch'. A run whose Wolfe searches all succeed never uses the fallback.
 * @throws ValueError for an invalid option (patience or memory not an integer ≥ 1, maxIter not an
 * integer ≥ 0, tol or gtol not finite ≥ 0, maxStep ≤ 0) or when f is not finite at `theta0`.
 */
export function lbfgs(f: FlatObjective, theta0: ArrayLike<number>, opts: MinimizeOptions = {}): MinimizeResult {
  checkFn('lbfgs', 'f', f);
  checkNumberArray('lbfgs', 'theta0', theta0);
  checkOptions('lbfgs', opts, 'opts');
  const { tol = 1e-10, gtol = 1e-6, maxIter = 5000, memory = 10, maxStep = Infinity, patience = 20, lineSearch = 'wolfe', fallback = 'armijo' } = opts;
  checkEnum('lbfgs', 'lineSearch', lineSearch, ['wolfe', 'armijo'] as const);
  checkEnum('lbfgs', 'fallback', fallback, ['armijo', 'none'] as const);
  if (!(typeof patience === 'number' && Number.isInteger(patience) && patience >= 1)) throw new ValueError('lbfgs', `patience must be an integer ≥ 1; got ${describeValue(patience)}`);
  checkCount('lbfgs', 'maxIter', maxIter, 0);
  checkCount('lbfgs', 'memory', memory, 1);
  if (memory > 1e6) throw new ValueError('lbfgs', `memory must be ≤ 1e6 (it is allocated up front); got ${memory}`);
  checkCount('lbfgs', 'tol', tol, 0, false);
  checkCount('lbfgs', 'gtol', gtol, 0, false);
  if (!(typeof maxStep === 'number' && maxStep > 0)) throw new ValueError('lbfgs', `maxStep must be > 0; got ${describeValue(maxStep)}`);
  const p = theta0.length;
  let x = Float64Array.from(theta0);
  let g = new Float64Array(p);
  let fx = f(x, g);
  let evals = 1;
  if (!Number.isFinite(fx)) throw new ValueError('lbfgs', `objective is not finite at the starting point (${fx})`);
  const S: Float64Array[] = [], Y: Float64Array[] = [], rho: number[] = [];
  const dir = new Float64Array(p), alpha = new Float64Array(memory);
  let xNew = new Float64Array(p), gNew = new Float64Array(p), calm = 0;
  const done = (it: number, reason: StopReason): MinimizeResult =>
    ({ theta: x, value: fx, iterations: it, evaluations: evals, converged: reason === 'gtol' || reason === 'tol', reason, gradMax: normInf(g) });
  const steepest = () => {
    S.length = 0; Y.length = 0; rho.length = 0;
    const sc = 1 / Math.max(1, normInf(g));
    for (let i = 0; i < p; i++) dir[i] = -g[i]! * sc;
    return dot(g, dir);
  };
  /** Line search along `dir` (no coordinate moves more than maxStep); writes the accepted point into xNew, gNew. */
  const search = (slope: number): number => {
    const ctx: LineSearchContext = { f, x, fx, dir, slope, maxAlpha: maxStep / Math.max(1e-300, normInf(dir)), evals: 0 };
    let fNew = (lineSearch === 'wolfe' ? wolfeSearch : armijoSearch)(ctx, xNew, gNew);
    // A failed Wolfe search (its zoom can shrink the bracket only to 90 % per trial, and ReLU kinks or
    // the box penalty's curvature jump can defeat the cubic model) still leaves backtracking, which only
    // asks for sufficient decrease and halves down to 2^-40 of the step.
    if (Number.isNaN(fNew) && lineSearch === 'wolfe' && fallback === 'armijo') fNew = armijoSearch(ctx, xNew, gNew);
    evals += ctx.evals;
    return fNew;
  };
  for (let it = 0; it < maxIter; it++) {
    if (normInf(g) <= gtol) return done(it, 'gtol');
    // Two-loop recursion: dir = −H·g.
    for (let i = 0; i < p; i++) dir[i] = -g[i]!;
    for (let k = S.length - 1; k >= 0; k--) {
      const a = rho[k]! * dot(S[k]!, dir); alpha[k] = a;
      const y = Y[k]!; for (let i = 0; i < p; i++) dir[i] = dir[i]! - a * y[i]!;
    }
    const gamma = S.length ? dot(S[S.length - 1]!, Y[Y.length - 1]!) / dot(Y[Y.length - 1]!, Y[Y.length - 1]!) : 1 / Math.max(1, normInf(g));
    for (let i = 0; i < p; i++) dir[i] = dir[i]! * gamma;
    for (let k = 0; k < S.length; k++) {
      const b = rho[k]! * dot(Y[k]!, dir);
      const s = S[k]!; for (let i = 0; i < p; i++) dir[i] = dir[i]! + (alpha[k]! - b) * s[i]!;
    }
    let slope = dot(g, dir);
    if (!(slope < 0)) slope = steepest(); // not a descent direction: restart from steepest descent
    let fNew = search(slope);
    if (Number.isNaN(fNew) && S.length > 0) fNew = search(steepest());
    if (Number.isNaN(fNew)) return done(it, 'lineSearch');
    const s = new Float64Array(p), y = new Float64Array(p);
    for (let i = 0; i < p; i++) { s[i] = xNew[i]! - x[i]!; y[i] = gNew[i]! - g[i]!; }
    const sy = dot(s, y);
    if (sy > 1e-12 * Math.sqrt(dot(s, s) * dot(y, y))) {
      if (S.length === memory) { S.shift(); Y.shift(); rho.shift(); }
      S.push(s); Y.push(y); rho.push(1 / sy);
    }
    const fOld = fx;
    [x, xNew] = [xNew, x]; [g, gNew] = [gNew, g]; fx = fNew;
    calm = Math.abs(fOld - fx) <= tol * Math.max(1, Math.abs(fOld)) ? calm + 1 : 0;
    if (calm >= patience) return done(it + 1, normInf(g) <= gtol ? 'gtol' : 'tol');
  }
  return done(maxIter, normInf(g) <= gtol ? 'gtol' : 'maxIter');
}

/** Options of `adamMinimize`. */
export interface AdamLoopOptions {
  /** Learning rate (default 0.01). */
  readonly lr?: number;
  /** First-moment decay, in [0, 1) (default 0.9). */
  readonly beta1?: number;
  /** Second-moment decay, in [0, 1) (default 0.999). */
  readonly beta2?: number;
  /** Denominator guard ε (default 1e-8). */
  readonly eps?: number;
  /** Number of steps, ≥ 1 (default 1000). */
  readonly maxIter?: number;
  /** Stop when |f_k − f_{k+1}| ≤ tol·max(1, |f_k|); 0 (the default) disables the test. */
  readonly tol?: number;
}

/**
 * Full-batch Adam on a flat vector; stops on relative objective change < tol (checked every step) or maxIter.
 * @throws ValueError for an invalid option (maxIter < 1, lr/tol/eps not finite ≥ 0, beta1/beta2 outside [0, 1)).
 */
export function adamMinimize(f: FlatObjective, theta0: ArrayLike<number>, opts: AdamLoopOptions = {}): MinimizeResult {
  checkFn('adamMinimize', 'f', f);
  checkNumberArray('adamMinimize', 'theta0', theta0);
  checkOptions('adamMinimize', opts, 'opts');
  const { lr = 0.01, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, maxIter = 1000, tol = 0 } = opts;
  checkCount('adamMinimize', 'maxIter', maxIter, 1);
  if (maxIter > 1e9) throw new ValueError('adamMinimize', `maxIter must be ≤ 1e9 (Adam runs every step); got ${maxIter}`);
  checkCount('adamMinimize', 'lr', lr, 0, false);
  checkCount('adamMinimize', 'tol', tol, 0, false);
  checkCount('adamMinimize', 'eps', eps, 0, false);
  checkNumber('adamMinimize', 'beta1', beta1, { min: 0, max: 1, maxExclusive: true });
  checkNumber('adamMinimize', 'beta2', beta2, { min: 0, max: 1, maxExclusive: true });
  if (!(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1)) throw new ValueError('adamMinimize', `beta1, beta2 must lie in [0, 1); got ${beta1}, ${beta2}`);
  const p = theta0.length, x = Float64Array.from(theta0), g = new Float64Array(p);
  const m = new Float64Array(p), v = new Float64Array(p);
  let fx = f(x, g), prev = fx;
  for (let t = 1; t <= maxIter; t++) {
    const c1 = 1 - beta1 ** t, c2 = 1 - beta2 ** t;
    for (let i = 0; i < p; i++) {
      m[i] = beta1 * m[i]! + (1 - beta1) * g[i]!;
      v[i] = beta2 * v[i]! + (1 - beta2) * g[i]! * g[i]!;
      x[i] = x[i]! - (lr * m[i]! / c1) / (Math.sqrt(v[i]! / c2) + eps);
    }
    fx = f(x, g);
    if (tol > 0 && Math.abs(prev - fx) <= tol * Math.max(1, Math.abs(prev))) return { theta: x, value: fx, iterations: t, evaluations: t + 1, converged: true, reason: 'tol', gradMax: normInf(g) };
    prev = fx;
  }
  return { theta: x, value: fx, iterations: maxIter, evaluations: maxIter + 1, converged: false, reason: 'maxIter', gradMax: normInf(g) };
}

/** A parameter tree: a Tensor, or an object/array whose leaves are Tensors. */
function checkTree(op: string, tree: unknown, name: string): void {
  const ok = tree instanceof Tensor || (tree !== null && typeof tree === 'object' && !ArrayBuffer.isView(tree));
  if (!ok) throw new ValueError(op, `${name} must be a Tensor or a tree (object/array) of Tensors; got ${describeValue(tree)}`);
}

/** Flattens a tensor tree into one float64 vector (leaf order of `treeLeaves`). */
export function flattenTree(tree: TensorTree): Float64Array {
  checkTree('flattenTree', tree, 'tree');
  return flatten(tree);
}
function flatten(tree: TensorTree): Float64Array {
  const leaves = treeLeaves(tree);
  const out = new Float64Array(leaves.reduce((s, t) => s + t.size, 0));
  let o = 0;
  for (const t of leaves) { for (let i = 0; i < t.size; i++) out[o + i] = t.data[i]!; o += t.size; }
  return out;
}

/** Rebuilds a float64 tree shaped like `template` from a flat vector. */
export function unflattenTree<T extends TensorTree>(template: T, theta: ArrayLike<number>): T {
  checkTree('unflattenTree', template, 'template');
  const size = treeLeaves(template).reduce((s, t) => s + t.size, 0);
  checkNumberArray('unflattenTree', 'theta', theta, { length: size });
  return unflatten(template, theta);
}
function unflatten<T extends TensorTree>(template: T, theta: ArrayLike<number>): T {
  let o = 0;
  return treeMap(template, (t: Tensor) => {
    const buf = new Float64Array(t.size);
    for (let i = 0; i < t.size; i++) buf[i] = theta[o + i]!;
    o += t.size;
    return fromData(buf, t.shape);
  });
}

/**
 * A flat objective whose value and gradient come from moegrad's tape: `loss` is any scalar
 * function of a parameter tree written with engine ops (gates, experts, likelihoods...).
 * `options.reuseIntermediates` (default false) is passed to `valueAndGrad` (engine `GradOptions`):
 * set it when `loss` keeps none of the tensors it makes, and each evaluation reuses the previous
 * one's buffers instead of fresh memory.
 * @throws ValueError when loss is not a function, template not a tensor tree, or the option not a boolean.
 */
export function tapeObjective<T extends TensorTree>(loss: (params: T) => Tensor, template: T, options?: { reuseIntermediates?: boolean }): FlatObjective {
  checkFn('tapeObjective', 'loss', loss);
  checkTree('tapeObjective', template, 'template');
  const o = checkOptions<{ reuseIntermediates?: boolean }>('tapeObjective', options);
  checkOptBoolean('tapeObjective', 'options.reuseIntermediates', o.reuseIntermediates);
  const vg = valueAndGrad(loss, { reuseIntermediates: o.reuseIntermediates === true });
  return (theta, grad) => {
    const { value, grad: gTree } = vg(unflatten(template, theta));
    grad.set(flatten(gTree));
    return value.item();
  };
}

/**
 * Nelder–Mead simplex minimisation of a (possibly non-smooth, piecewise) function, with restarts
 * from the best vertex until a restart no longer improves (the standard remedy for a collapsed
 * simplex). Deterministic. Returns the best point and value; `Infinity`/NaN values mean "outside".
 * Used for small gauge optimisations (≤ ~10 variables), not for fitting.
 * Options: `step` initial simplex edge, one number or one per coordinate (default 0.5); `maxEval`
 * evaluation budget (default 4000); `tol` relative spread of the simplex values that ends a run
 * (default 1e-12); `restarts` (default 4).
 * @throws ValueError when maxEval is not an integer ≥ 1 or restarts not an integer ≥ 0.
 */
export function nelderMead(f: (x: Float64Array) => number, x0: ArrayLike<number>, opts: { step?: number | ArrayLike<number>; maxEval?: number; tol?: number; restarts?: number } = {}): {
  /** Best point found. */
  x: Float64Array;
  /** f(x) (Infinity when every point tried was outside). */
  value: number;
  /** Function evaluations used (at most about `maxEval`). */
  evaluations: number;
} {
  checkFn('nelderMead', 'f', f);
  checkNumberArray('nelderMead', 'x0', x0);
  checkOptions('nelderMead', opts, 'opts');
  const { step = 0.5, maxEval = 4000, tol = 1e-12, restarts = 4 } = opts;
  checkCount('nelderMead', 'maxEval', maxEval, 1);
  checkCount('nelderMead', 'restarts', restarts, 0);
  checkNumber('nelderMead', 'tol', tol, { min: 0 });
  if (typeof step === 'number') checkNumber('nelderMead', 'step', step);
  else checkNumberArray('nelderMead', 'step', step, { length: x0.length, finite: true });
  const p = x0.length;
  const val = (x: Float64Array) => { const v = f(x); return Number.isNaN(v) ? Infinity : v; };
  let best = Float64Array.from(x0), bestV = val(best), evals = 1;
  if (p === 0) return { x: best, value: bestV, evaluations: evals };
  const stepOf = (i: number) => (typeof step === 'number' ? step : step[i]!);
  for (let r = 0; r <= restarts && evals < maxEval; r++) {
    const before = bestV;
    const sx: Float64Array[] = [Float64Array.from(best)], sv: number[] = [bestV];
    for (let i = 0; i < p; i++) { const v = Float64Array.from(best); v[i] = v[i]! + stepOf(i) * (r % 2 ? -1 : 1) / (1 + r); sx.push(v); sv.push(val(v)); evals++; }
    const point = (c: Float64Array, w: Float64Array, t: number) => { const o = new Float64Array(p); for (let i = 0; i < p; i++) o[i] = c[i]! + t * (w[i]! - c[i]!); return o; };
    while (evals < maxEval) {
      const idx = sv.map((_, i) => i).sort((a, b) => sv[a]! - sv[b]!);
      const order = idx.map((i) => sx[i]!), vals = idx.map((i) => sv[i]!);
      sx.splice(0, sx.length, ...order); sv.splice(0, sv.length, ...vals);
      if (Math.abs(sv[p]! - sv[0]!) <= tol * Math.max(1e-300, Math.abs(sv[0]!)) + 1e-300) break;
      const c = new Float64Array(p);
      for (let k = 0; k < p; k++) for (let i = 0; i < p; i++) c[i] = c[i]! + sx[k]![i]! / p;
      const xr = point(c, sx[p]!, -1), fr = val(xr); evals++;
      if (fr < sv[0]!) {
        const xe = point(c, sx[p]!, -2), fe = val(xe); evals++;
        if (fe < fr) { sx[p] = xe; sv[p] = fe; } else { sx[p] = xr; sv[p] = fr; }
      } else if (fr < sv[p - 1]!) { sx[p] = xr; sv[p] = fr; }
      else {
        const xc = fr < sv[p]! ? point(c, sx[p]!, -0.5) : point(c, sx[p]!, 0.5), fc = val(xc); evals++;
        if (fc < Math.min(fr, sv[p]!)) { sx[p] = xc; sv[p] = fc; }
        else for (let k = 1; k <= p; k++) { sx[k] = point(sx[0]!, sx[k]!, 0.5); sv[k] = val(sx[k]!); evals++; }
      }
    }
    let k0 = 0; for (let k = 1; k < sv.length; k++) if (sv[k]! < sv[k0]!) k0 = k;
    if (sv[k0]! < bestV) { bestV = sv[k0]!; best = Float64Array.from(sx[k0]!); }
    if (!(bestV < before - tol * Math.abs(before)) && r > 0) break;
  }
  return { x: best, value: bestV, evaluations: evals };
}

/**
 * Line searches for `lbfgs` along a descent direction d from x (slope φ'(0) = ∇f(x)·d < 0).
 *
 * - `wolfeSearch`: the strong Wolfe conditions (Nocedal & Wright, Numerical Optimization, 2nd ed.,
 *   Alg. 3.5 with the zoom of Alg. 3.6, cubic interpolation safeguarded to the inner 80 % of the
 *   bracket):  φ(a) ≤ φ(0) + c1·a·φ'(0)  and  |φ'(a)| ≤ c2·|φ'(0)|,  c1 = 1e-4, c2 = 0.9.
 *   It extrapolates (a > 1) when the quasi-Newton step is too short — on the near-flat ridges of
 *   an over-specified mixture the unit step is often far too short — and its accepted steps always
 *   give the curvature pair sᵀy > 0 that keeps the L-BFGS matrix positive definite.
 * - `armijoSearch`: backtracking from a = 1 by halving until the first condition holds (what
 *   `lbfgs` used before; kept so older results can be reproduced).
 *
 * Non-finite trial values count as "too far" (the bracket shrinks), so an objective may return
 * Infinity/NaN outside its domain. Both return the accepted value and write the point and its
 * gradient into `xOut`, `gOut`; NaN when no acceptable step was found.
 */
import type { FlatObjective } from './optimize.js';

/** One trial point along the line: step a, φ(a), φ'(a), and (when kept) the point and its gradient. */
interface Trial { a: number; f: number; d: number; x: Float64Array | null; g: Float64Array | null }

/** Shared state of one line search: the objective, the base point and direction, and the count of evaluations. */
export interface LineSearchContext {
  readonly f: FlatObjective;
  readonly x: Float64Array;
  readonly fx: number;
  readonly dir: Float64Array;
  /** φ'(0) = ∇f(x)·dir, < 0. */
  readonly slope: number;
  /** Largest step allowed (maxStep / max|dir|, or Infinity). */
  readonly maxAlpha: number;
  /** Incremented once per objective evaluation. */
  evals: number;
}

const C1 = 1e-4, C2 = 0.9;

function evaluate(ctx: LineSearchContext, a: number): Trial {
  const p = ctx.x.length, x = new Float64Array(p), g = new Float64Array(p);
  for (let i = 0; i < p; i++) x[i] = ctx.x[i]! + a * ctx.dir[i]!;
  const f = ctx.f(x, g); ctx.evals++;
  let d = 0; for (let i = 0; i < p; i++) d += g[i]! * ctx.dir[i]!;
  return Number.isFinite(f) && Number.isFinite(d) ? { a, f, d, x, g } : { a, f: Infinity, d: NaN, x: null, g: null };
}

/** Minimiser of the cubic through (a, fa, da) and (b, fb, db), safeguarded into the inner 80 % of [a, b]; bisection when undefined. */
function cubicStep(lo: Trial, hi: Trial): number {
  const left = Math.min(lo.a, hi.a), right = Math.max(lo.a, hi.a), w = right - left;
  const mid = 0.5 * (lo.a + hi.a);
  if (!Number.isFinite(hi.f)) return mid; // the far side is outside the domain: bisect
  const d1 = lo.d + hi.d - 3 * (lo.f - hi.f) / (lo.a - hi.a);
  const disc = d1 * d1 - lo.d * hi.d;
  if (!(disc >= 0)) return mid;
  const d2 = Math.sign(hi.a - lo.a) * Math.sqrt(disc);
  const t = hi.a - (hi.a - lo.a) * (hi.d + d2 - d1) / (hi.d - lo.d + 2 * d2);
  if (!Number.isFinite(t)) return mid;
  return Math.min(right - 0.1 * w, Math.max(left + 0.1 * w, t));
}

function accept(t: Trial, xOut: Float64Array, gOut: Float64Array): number {
  xOut.set(t.x!); gOut.set(t.g!);
  return t.f;
}

/** Strong-Wolfe line search (see the module comment). Starts at a = min(1, maxAlpha). */
export function wolfeSearch(ctx: LineSearchContext, xOut: Float64Array, gOut: Float64Array): number {
  const { fx, slope, maxAlpha } = ctx;
  const armijo = (t: Trial) => t.f <= fx + C1 * t.a * slope;
  const curvature = (t: Trial) => Math.abs(t.d) <= -C2 * slope;
  const zoom = (lo: Trial, hi: Trial): number => {
    for (let j = 0; j < 40; j++) {
      const t = evaluate(ctx, cubicStep(lo, hi));
      if (!armijo(t) || t.f >= lo.f) hi = t;
      else {
        if (curvature(t)) return accept(t, xOut, gOut);
        if (t.d * (hi.a - lo.a) >= 0) hi = lo;
        lo = t;
      }
      if (Math.abs(hi.a - lo.a) <= 1e-14 * Math.max(1, lo.a)) break;
    }
    // No step met both conditions: a point with sufficient decrease is still progress.
    return lo.a > 0 ? accept(lo, xOut, gOut) : NaN;
  };
  let prev: Trial = { a: 0, f: fx, d: slope, x: null, g: null };
  let a = Math.min(1, maxAlpha);
  for (let i = 0; i < 30; i++) {
    const t = evaluate(ctx, a);
    if (!armijo(t) || (i > 0 && t.f >= prev.f)) return zoom(prev, t);
    if (curvature(t)) return accept(t, xOut, gOut);
    if (t.d >= 0) return zoom(t, prev);
    if (a >= maxAlpha) return accept(t, xOut, gOut); // sufficient decrease at the largest allowed step
    prev = t;
    a = Math.min(maxAlpha, 4 * a); // still descending steeply: extrapolate
  }
  return accept(prev, xOut, gOut);
}

/** Backtracking Armijo search from a = min(1, maxAlpha), halving (the rule `lbfgs` used before the Wolfe search). */
export function armijoSearch(ctx: LineSearchContext, xOut: Float64Array, gOut: Float64Array): number {
  let a = Math.min(1, ctx.maxAlpha);
  for (let ls = 0; ls < 40; ls++) {
    const t = evaluate(ctx, a);
    if (t.f <= ctx.fx + C1 * a * ctx.slope) return accept(t, xOut, gOut);
    a *= 0.5;
  }
  return NaN;
}

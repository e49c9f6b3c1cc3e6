/**
 * A one-dimensional regression MoE for the least-squares experiments (2503.03213 / 2405.13997
 * style, spec §2.1, §7 items 3, 4, 7, 10):
 *   f_G(x) = Σ_i g_i(x) · h(x, η_i),   Y = f_{G*}(X) + N(0, σ²),   X ~ U[lo, hi].
 * Gates: softmax over z_i = β1_i x + β0_i (the last atom's gate pinned at β1 = β0 = 0, as assumption
 * A.2 of 2505.10860 removes the softmax's translation invariance); unnormalized sigmoid σ(z_i);
 * top-K̄ sparse softmax with the theory's selection rule (2505.10860 App. F: rank β1_i·x only, β0
 * enters the softmax over the selected experts). Experts: `gelu` h = e2·GELU(e1·x) (strongly
 * identifiable two-layer FFN) or `linear` h = e1·x + e2.
 * Fitting uses the engine's tape for the gradient and the toolkit's full-batch L-BFGS.
 */
import {
  type Tensor, Rng, add, mul, sub, mean, square, sum, softmax, sigmoid, gelu, concat, fromData, zeros, tensor,
  ValueError,
} from '../../../engine/index.js';
import { erfScalar, stableSigmoid } from '../../../engine/ops/arithmetic.js';
import { lbfgs, tapeObjective, flattenTree, unflattenTree, type MinimizeResult } from '../optimize.js';

export type RegGate = 'softmax' | 'sigmoid' | 'topk';
export type RegExpert = 'gelu' | 'linear';

/** One atom: gate slope b1 and bias b0, expert parameters (e1, e2). */
export interface RegAtom { readonly b1: number; readonly b0: number; readonly e1: number; readonly e2: number }

export interface RegressionMoE {
  readonly gate: RegGate;
  readonly expert: RegExpert;
  /** For softmax/topk the last atom's gate must be (0, 0): it is pinned, not fitted. */
  readonly atoms: readonly RegAtom[];
  /** K̄ for gate 'topk'. */
  readonly topK?: number;
}

const pinned = (m: Pick<RegressionMoE, 'gate'>): boolean => m.gate !== 'sigmoid';

/** Throws unless the model is consistent (pinned last gate, K̄ in range). */
export function checkModel(m: RegressionMoE): void {
  const op = 'RegressionMoE';
  if (m.atoms.length < 1) throw new ValueError(op, 'needs at least one atom');
  if (pinned(m)) {
    const last = m.atoms[m.atoms.length - 1]!;
    if (last.b1 !== 0 || last.b0 !== 0) throw new ValueError(op, `the last atom's gate is pinned at (0, 0) for ${m.gate}; got (${last.b1}, ${last.b0})`);
  }
  if (m.gate === 'topk' && !(Number.isInteger(m.topK) && m.topK! >= 1 && m.topK! <= m.atoms.length)) {
    throw new ValueError(op, `topK must be an integer in [1, ${m.atoms.length}]; got ${m.topK}`);
  }
}

const geluScalar = (t: number): number => 0.5 * t * (1 + erfScalar(t / Math.SQRT2));

/** h(x, η) for one atom. */
export function expertValue(kind: RegExpert, a: RegAtom, x: number): number {
  return kind === 'gelu' ? a.e2 * geluScalar(a.e1 * x) : a.e1 * x + a.e2;
}

/** Indices of the K̄ largest β1_i·x (ties → lower index), the theory's top-K selection. */
function selectTopK(b1: ArrayLike<number>, x: number, k: number): number[] {
  // Partial selection (k and the atom count are small): repeatedly take the best remaining.
  const chosen: number[] = [];
  for (let r = 0; r < k; r++) {
    let best = -1;
    for (let i = 0; i < b1.length; i++) if (!chosen.includes(i) && (best < 0 || b1[i]! * x > b1[best]! * x)) best = i;
    chosen.push(best);
  }
  return chosen;
}

/** Gate values g(x) ∈ R^k (plain numbers). */
export function gateValues(m: RegressionMoE, x: number): Float64Array {
  const k = m.atoms.length, z = m.atoms.map((a) => a.b1 * x + a.b0), out = new Float64Array(k);
  if (m.gate === 'sigmoid') { z.forEach((v, i) => { out[i] = stableSigmoid(v); }); return out; }
  const active = m.gate === 'topk' ? selectTopK(m.atoms.map((a) => a.b1), x, m.topK!) : z.map((_, i) => i);
  const zmax = Math.max(...active.map((i) => z[i]!));
  let s = 0;
  for (const i of active) { out[i] = Math.exp(z[i]! - zmax); s += out[i]!; }
  for (const i of active) out[i] = out[i]! / s;
  return out;
}

/** f_G(x) (plain numbers). */
export function regressionValue(m: RegressionMoE, x: number): number {
  const g = gateValues(m, x);
  let f = 0;
  m.atoms.forEach((a, i) => { if (g[i]! !== 0) f += g[i]! * expertValue(m.expert, a, x); });
  return f;
}

/** Draws (X, Y) with X ~ U[lo, hi] and Y = f(X) + N(0, σ²). */
export function sampleRegression(m: RegressionMoE, n: number, noiseStd: number, rng: Rng, range: readonly [number, number] = [-1, 1]): { x: Float64Array; y: Float64Array } {
  checkModel(m);
  const x = new Float64Array(n), y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    x[i] = range[0] + (range[1] - range[0]) * rng.uniform();
    y[i] = regressionValue(m, x[i]!) + noiseStd * rng.normal();
  }
  return { x, y };
}

/** ‖f_G − f_{G*}‖_{L2(U[lo,hi])} on a midpoint grid of `points` points. */
export function l2Distance(a: RegressionMoE, b: RegressionMoE, range: readonly [number, number] = [-1, 1], points = 2000): number {
  let s = 0;
  for (let i = 0; i < points; i++) {
    const x = range[0] + (range[1] - range[0]) * (i + 0.5) / points;
    s += (regressionValue(a, x) - regressionValue(b, x)) ** 2;
  }
  return Math.sqrt(s / points);
}

/** Mean gate value of each atom over the input range (how much the model uses it). */
export function gateUsage(m: RegressionMoE, range: readonly [number, number] = [-1, 1], points = 500): Float64Array {
  const u = new Float64Array(m.atoms.length);
  for (let i = 0; i < points; i++) {
    const g = gateValues(m, range[0] + (range[1] - range[0]) * (i + 0.5) / points);
    for (let j = 0; j < u.length; j++) u[j] = u[j]! + g[j]! / points;
  }
  return u;
}

/** Fitted parameters as tensors: free gate parameters (pinned atom excluded) and expert parameters. */
export interface RegParams { readonly b1: Tensor; readonly b0: Tensor; readonly e1: Tensor; readonly e2: Tensor; readonly [key: string]: Tensor }

export function toParams(m: RegressionMoE): RegParams {
  const free = pinned(m) ? m.atoms.slice(0, -1) : m.atoms;
  const t = (v: number[]) => (v.length ? tensor(v) : zeros([0]));
  return { b1: t(free.map((a) => a.b1)), b0: t(free.map((a) => a.b0)), e1: t(m.atoms.map((a) => a.e1)), e2: t(m.atoms.map((a) => a.e2)) };
}

export function fromParams(like: RegressionMoE, p: RegParams): RegressionMoE {
  const k = like.atoms.length, nFree = p.b1.size;
  const atoms = Array.from({ length: k }, (_, i) => ({
    b1: i < nFree ? p.b1.data[i]! : 0, b0: i < nFree ? p.b0.data[i]! : 0, e1: p.e1.data[i]!, e2: p.e2.data[i]!,
  }));
  return { ...like, atoms };
}

/** Mean squared error (1/n) Σ (y − f(x))² on the tape. `x` is [n, 1], `y` is [n]. */
export function lseLoss(like: RegressionMoE, p: RegParams, x: Tensor, y: Tensor): Tensor {
  const n = x.shape[0]!, k = like.atoms.length;
  let logits = p.b1.size > 0 ? add(mul(x, p.b1), p.b0) : zeros([n, 0]);
  if (pinned(like)) logits = p.b1.size > 0 ? concat([logits, zeros([n, 1])], 1) : zeros([n, 1]);
  let g: Tensor;
  if (like.gate === 'sigmoid') g = sigmoid(logits);
  else if (like.gate === 'softmax') g = softmax(logits, 1);
  else {
    // Theory top-K̄: the selection (a constant here) ranks β1·x; unselected logits get −1e30.
    const b1 = [...Array.from(p.b1.data), ...(pinned(like) ? [0] : [])];
    const mask = new Float64Array(n * k).fill(-1e30), xd = x.data;
    for (let t = 0; t < n; t++) for (const i of selectTopK(b1, xd[t]!, like.topK!)) mask[t * k + i] = 0;
    g = softmax(add(logits, fromData(mask, [n, k])), 1);
  }
  const h = like.expert === 'gelu' ? mul(p.e2, gelu(mul(x, p.e1))) : add(mul(x, p.e1), p.e2);
  return mean(square(sub(sum(mul(g, h), 1), y)));
}

export interface RegFitOptions { readonly maxIter?: number; readonly tol?: number; readonly gtol?: number }

const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

/**
 * The same objective as `lseLoss` with a hand-derived gradient on flat parameters (b1, b0, e1, e2
 * in `toParams` order), for speed in the sweeps; the tests check it against the tape gradient.
 *   ∂L/∂f_t = 2 r_t / n,  r_t = f(x_t) − y_t;   ∂f/∂h_i = g_i;
 *   softmax over the active set A: ∂f/∂z_j = g_j (h_j − f);   sigmoid: ∂f/∂z_j = g_j (1 − g_j) h_j;
 *   gelu h = e2·G(e1 x): ∂h/∂e2 = G(e1 x), ∂h/∂e1 = e2·x·(Φ(e1 x) + e1 x·φ(e1 x));  linear: (x, 1).
 */
export function lseObjective(like: RegressionMoE, data: { x: Float64Array; y: Float64Array }): (theta: Float64Array, grad: Float64Array) => number {
  const k = like.atoms.length, nFree = pinned(like) ? k - 1 : k, n = data.x.length;
  const z = new Float64Array(k), g = new Float64Array(k), h = new Float64Array(k), dh1 = new Float64Array(k), dh2 = new Float64Array(k);
  const b1s = new Float64Array(k), on = new Uint8Array(k);
  return (theta, grad) => {
    grad.fill(0);
    for (let i = 0; i < nFree; i++) b1s[i] = theta[i]!;
    let loss = 0;
    for (let t = 0; t < n; t++) {
      const x = data.x[t]!;
      for (let i = 0; i < k; i++) {
        z[i] = i < nFree ? theta[i]! * x + theta[nFree + i]! : 0;
        const e1 = theta[2 * nFree + i]!, e2 = theta[2 * nFree + k + i]!;
        if (like.expert === 'gelu') {
          const u = e1 * x, Phi = 0.5 * (1 + erfScalar(u / Math.SQRT2));
          h[i] = e2 * u * Phi; dh1[i] = e2 * x * (Phi + u * INV_SQRT_2PI * Math.exp(-0.5 * u * u)); dh2[i] = u * Phi;
        } else { h[i] = e1 * x + e2; dh1[i] = x; dh2[i] = 1; }
      }
      g.fill(0);
      if (like.gate === 'sigmoid') for (let i = 0; i < k; i++) g[i] = stableSigmoid(z[i]!);
      else {
        on.fill(like.gate === 'topk' ? 0 : 1);
        if (like.gate === 'topk') for (const i of selectTopK(b1s, x, like.topK!)) on[i] = 1;
        let zmax = -Infinity, s = 0;
        for (let i = 0; i < k; i++) if (on[i]) zmax = Math.max(zmax, z[i]!);
        for (let i = 0; i < k; i++) if (on[i]) { g[i] = Math.exp(z[i]! - zmax); s += g[i]!; }
        for (let i = 0; i < k; i++) g[i] = g[i]! / s;
      }
      let f = 0;
      for (let i = 0; i < k; i++) f += g[i]! * h[i]!;
      const r = f - data.y[t]!, c = (2 * r) / n;
      loss += r * r;
      for (let i = 0; i < k; i++) {
        if (g[i] === 0) continue;
        const dz = like.gate === 'sigmoid' ? g[i]! * (1 - g[i]!) * h[i]! : g[i]! * (h[i]! - f);
        if (i < nFree) { grad[i] = grad[i]! + c * dz * x; grad[nFree + i] = grad[nFree + i]! + c * dz; }
        grad[2 * nFree + i] = grad[2 * nFree + i]! + c * g[i]! * dh1[i]!;
        grad[2 * nFree + k + i] = grad[2 * nFree + k + i]! + c * g[i]! * dh2[i]!;
      }
    }
    return loss / n;
  };
}

/** Least-squares fit from `init` by full-batch L-BFGS (fused gradient, see `lseObjective`). Deterministic. */
export function fitRegression(init: RegressionMoE, data: { x: Float64Array; y: Float64Array }, opts: RegFitOptions = {}): { model: RegressionMoE; result: MinimizeResult } {
  checkModel(init);
  const template = toParams(init);
  const result = lbfgs(lseObjective(init, data), flattenTree(template), { maxIter: opts.maxIter ?? 1500, tol: opts.tol ?? 1e-12, gtol: opts.gtol ?? 1e-9 });
  return { model: fromParams(init, unflattenTree(template, result.theta)), result };
}

/** The tape version of the objective as a flat function (reference for `lseObjective`). */
export function tapeLseObjective(like: RegressionMoE, data: { x: Float64Array; y: Float64Array }): (theta: Float64Array, grad: Float64Array) => number {
  const n = data.x.length;
  const x = fromData(Float64Array.from(data.x), [n, 1]), y = fromData(Float64Array.from(data.y), [n]);
  return tapeObjective((p: RegParams) => lseLoss(like, p, x, y), toParams(like));
}

/**
 * Initial atoms near the truth: fitted atom i starts at true atom `from[i]` plus N(0, noise²) on every
 * free parameter; atoms sharing a true atom split its gate mass equally (exp β0 for softmax/topk,
 * σ(β0) for sigmoid). For pinned gates the last fitted atom must come from the last true atom.
 */
export function splitInit(truth: RegressionMoE, from: readonly number[], noise: number, rng: Rng, gate: RegGate = truth.gate, topK?: number): RegressionMoE {
  const count = from.map((j) => from.filter((v) => v === j).length);
  const isPinned = gate !== 'sigmoid';
  if (isPinned && from[from.length - 1] !== truth.atoms.length - 1) throw new ValueError('splitInit', 'with a pinned gate the last fitted atom must come from the last true atom');
  const atoms = from.map((j, i) => {
    const t = truth.atoms[j]!, m = count[i]!;
    const last = isPinned && i === from.length - 1;
    const b0 = gate === 'sigmoid' ? logit(stableSigmoid(t.b0) / m) : t.b0 - Math.log(m);
    return {
      b1: last ? 0 : t.b1 + noise * rng.normal(), b0: last ? 0 : b0 + noise * rng.normal(),
      e1: t.e1 + noise * rng.normal(), e2: t.e2 + noise * rng.normal(),
    };
  });
  return { gate, expert: truth.expert, atoms, ...(topK !== undefined ? { topK } : {}) };
}

function logit(p: number): number { return Math.log(p / (1 - p)); }

/** A 32-bit seed from any list of numbers/strings (FNV-1a), so cells get distinct reproducible seeds. */
export function seedOf(...parts: (string | number)[]): number {
  let h = 0x811c9dc5;
  for (const ch of parts.join('|')) { h ^= ch.charCodeAt(0); h = Math.imul(h, 0x01000193); }
  return h >>> 0;
}

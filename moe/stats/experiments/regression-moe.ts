/**
 * A one-dimensional regression MoE for the least-squares experiments (arXiv 2503.03213 / 2405.13997):
 *   f_G(x) = Σ_i g_i(x) · h(x, η_i),   Y = f_{G*}(X) + N(0, σ²),   X ~ U[lo, hi].
 * Gates: softmax over z_i = β1_i x + β0_i; temperature ("dense-to-sparse", arXiv 2401.13875)
 * softmax(z/τ) with τ = e^s (a parameter here; `fitRegressionIn` holds it fixed, see regression-estimate.ts); hierarchical softmax_a(ω_a x + α_a)·softmax_{b∈a}(z_ab); unnormalized
 * sigmoid σ(z_i); top-K̄ softmax with the theory's selection rule (2505.10860 App. F: rank β1_i·x only).
 * Every softmax has one pinned atom (β1 = β0 = 0, assumption A.2 of 2505.10860), so no translation
 * direction is flat. Experts: `gelu` h = e2·GELU(e1·x) (strongly identifiable FFN) or `linear` e1·x + e2.
 * Fitting: fused float64 gradient (checked against the engine's tape) and the toolkit's L-BFGS.
 */
import {
  type Tensor, Rng, add, mul, sub, mean, square, sum, softmax, sigmoid, gelu, concat, fromData, zeros, tensor,
  exp, neg, slice, takeAlongAxis, ValueError,
} from '../../../engine/index.js';
import { erfScalar, stableSigmoid } from '../../../engine/ops/arithmetic.js';
import { lbfgs, tapeObjective, flattenTree, unflattenTree, type MinimizeResult } from '../optimize.js';

/** Gate of a `RegressionMoE` (see the module comment for each). */
export type RegGate = 'softmax' | 'sigmoid' | 'topk' | 'temperature' | 'hierarchical';
/** Expert of a `RegressionMoE`: 'gelu' h = e2·GELU(e1·x) or 'linear' e1·x + e2. */
export type RegExpert = 'gelu' | 'linear';

/** One atom: gate slope b1 and bias b0, expert parameters (e1, e2). */
export interface RegAtom { readonly b1: number; readonly b0: number; readonly e1: number; readonly e2: number }

/** A first-level (group) gate of the hierarchical softmax: z_a = b1·x + b0. */
export interface RegGroupGate { readonly b1: number; readonly b0: number }

/** A one-dimensional regression MoE (the model of the module comment). */
export interface RegressionMoE {
  readonly gate: RegGate;
  readonly expert: RegExpert;
  /** Pinned gates (see `isPinned`) must be (0, 0): they are fixed, not fitted. Hierarchical: listed group by group. */
  readonly atoms: readonly RegAtom[];
  /** K̄ for gate 'topk'. */
  readonly topK?: number;
  /** Temperature τ > 0 for gate 'temperature': g(x) = softmax((β1 x + β0)/τ). */
  readonly tau?: number;
  /** Group sizes for 'hierarchical' (positive, summing to the atom count). */
  readonly groups?: readonly number[];
  /** First-level gates for 'hierarchical', one per group; the last group's is pinned at (0, 0). */
  readonly groupGates?: readonly RegGroupGate[];
}

/** Group index of every atom (all 0 unless the gate is hierarchical). */
export function groupIndex(m: Pick<RegressionMoE, 'gate' | 'atoms' | 'groups'>): Int32Array {
  const out = new Int32Array(m.atoms.length);
  if (m.gate !== 'hierarchical' || !m.groups) return out;
  let i = 0;
  m.groups.forEach((size, a) => { for (let r = 0; r < size && i < out.length; r++) out[i++] = a; });
  return out;
}

/**
 * Whether atom i's gate is pinned at (β1, β0) = (0, 0), which removes the softmax translation
 * invariance (assumption A.2 of arXiv 2505.10860): the last atom for softmax / topk / temperature,
 * the last atom of every group for hierarchical (one pin per within-group softmax), none for sigmoid.
 */
export function isPinned(m: Pick<RegressionMoE, 'gate' | 'atoms' | 'groups'>, i: number): boolean {
  if (m.gate === 'sigmoid') return false;
  if (m.gate !== 'hierarchical') return i === m.atoms.length - 1;
  const g = groupIndex(m);
  return i === g.length - 1 || g[i + 1] !== g[i];
}

/** Throws a ValueError unless the model is consistent (pinned gates at 0, K̄, τ, groups in range). */
export function checkModel(m: RegressionMoE): void {
  const op = 'RegressionMoE';
  const r = m as unknown as Record<string, unknown> | null;
  if (r === null || typeof r !== 'object' || !Array.isArray(r.atoms)) throw new ValueError(op, `expected a model { gate, expert, atoms: [...] }; got ${JSON.stringify(m)?.slice(0, 80)}`);
  if (!['softmax', 'sigmoid', 'topk', 'temperature', 'hierarchical'].includes(r.gate as string)) throw new ValueError(op, `gate must be softmax, sigmoid, topk, temperature or hierarchical; got ${JSON.stringify(r.gate)}`);
  if (r.expert !== 'gelu' && r.expert !== 'linear') throw new ValueError(op, `expert must be 'gelu' or 'linear'; got ${JSON.stringify(r.expert)}`);
  const finite = (v: unknown) => typeof v === 'number' && Number.isFinite(v);
  m.atoms.forEach((a, i) => {
    if (!(a && finite(a.b1) && finite(a.b0) && finite(a.e1) && finite(a.e2))) throw new ValueError(op, `atom ${i} must have finite numbers b1, b0, e1, e2; got ${JSON.stringify(a)}`);
  });
  for (const [i, g] of (m.groupGates ?? []).entries()) if (!(g && finite(g.b1) && finite(g.b0))) throw new ValueError(op, `group gate ${i} must have finite numbers b1, b0; got ${JSON.stringify(g)}`);
  const k = m.atoms.length;
  if (k < 1) throw new ValueError(op, 'needs at least one atom');
  if (m.gate === 'hierarchical') {
    const gs = m.groups ?? [];
    if (!(gs.length >= 1 && gs.every((s) => Number.isInteger(s) && s >= 1) && gs.reduce((a, b) => a + b, 0) === k)) {
      throw new ValueError(op, `groups must be positive integers summing to the atom count ${k}; got ${JSON.stringify(m.groups)}`);
    }
    const gg = m.groupGates ?? [];
    if (gg.length !== gs.length) throw new ValueError(op, `expected ${gs.length} group gates; got ${gg.length}`);
    const last = gg[gg.length - 1]!;
    if (last.b1 !== 0 || last.b0 !== 0) throw new ValueError(op, `the last group's gate is pinned at (0, 0); got (${last.b1}, ${last.b0})`);
  }
  m.atoms.forEach((a, i) => {
    if (isPinned(m, i) && (a.b1 !== 0 || a.b0 !== 0)) throw new ValueError(op, `atom ${i}'s gate is pinned at (0, 0) for ${m.gate}; got (${a.b1}, ${a.b0})`);
  });
  if (m.gate === 'topk' && !(Number.isInteger(m.topK) && m.topK! >= 1 && m.topK! <= k)) {
    throw new ValueError(op, `topK must be an integer in [1, ${k}]; got ${m.topK}`);
  }
  if (m.gate === 'temperature' && !(typeof m.tau === 'number' && Number.isFinite(m.tau) && m.tau > 0)) {
    throw new ValueError(op, `tau must be a finite number > 0 for gate 'temperature'; got ${m.tau}`);
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

/** out[i] = exp(z[i] − max) / Σ over `idx` (stable softmax restricted to the indices `idx`). */
function softmaxOver(z: ArrayLike<number>, idx: readonly number[], out: Float64Array): void {
  let zmax = -Infinity, s = 0;
  for (const i of idx) zmax = Math.max(zmax, z[i]!);
  for (const i of idx) { out[i] = Math.exp(z[i]! - zmax); s += out[i]!; }
  for (const i of idx) out[i] = out[i]! / s;
}

/** Atom indices of each group (one group [0..k) unless hierarchical). */
function groupMembers(m: RegressionMoE): number[][] {
  const g = groupIndex(m), out: number[][] = [];
  g.forEach((a, i) => { (out[a] ??= []).push(i); });
  return out;
}

/**
 * Gate values g(x) ∈ R^k (plain numbers). Temperature: softmax((β1 x + β0)/τ) (arXiv 2401.13875's
 * dense-to-sparse gate); hierarchical: softmax_a(ω_a x + α_a) · softmax_{b∈a}(β1_ab x + β0_ab).
 */
export function gateValues(m: RegressionMoE, x: number): Float64Array {
  const k = m.atoms.length, z = m.atoms.map((a) => a.b1 * x + a.b0), out = new Float64Array(k);
  if (m.gate === 'sigmoid') { z.forEach((v, i) => { out[i] = stableSigmoid(v); }); return out; }
  if (m.gate === 'hierarchical') {
    const gg = m.groupGates!, p = new Float64Array(gg.length);
    softmaxOver(gg.map((a) => a.b1 * x + a.b0), gg.map((_, a) => a), p);
    groupMembers(m).forEach((idx, a) => { softmaxOver(z, idx, out); for (const i of idx) out[i] = out[i]! * p[a]!; });
    return out;
  }
  if (m.gate === 'temperature') for (let i = 0; i < k; i++) z[i] = z[i]! / m.tau!;
  softmaxOver(z, m.gate === 'topk' ? selectTopK(m.atoms.map((a) => a.b1), x, m.topK!) : z.map((_, i) => i), out);
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

/**
 * Fitted parameters as tensors, in flat (`flattenTree`) order: free gate slopes b1 and biases b0 (pinned
 * atoms excluded), expert parameters e1, e2 (all atoms), then `s` = [log τ] for 'temperature' (τ > 0 by
 * construction) or the free group gates w1, w0 (all groups but the last) for 'hierarchical'.
 */
export interface RegParams { readonly b1: Tensor; readonly b0: Tensor; readonly e1: Tensor; readonly e2: Tensor; readonly [key: string]: Tensor }

const vec = (v: number[]): Tensor => (v.length ? tensor(v) : zeros([0]));

/** The fitted parameters of `m` as tensors (`RegParams` layout; pinned gates left out). */
export function toParams(m: RegressionMoE): RegParams {
  const free = m.atoms.filter((_, i) => !isPinned(m, i));
  const base = { b1: vec(free.map((a) => a.b1)), b0: vec(free.map((a) => a.b0)), e1: vec(m.atoms.map((a) => a.e1)), e2: vec(m.atoms.map((a) => a.e2)) };
  if (m.gate === 'temperature') return { ...base, s: tensor([Math.log(m.tau!)]) };
  if (m.gate === 'hierarchical') { const gf = m.groupGates!.slice(0, -1); return { ...base, w1: vec(gf.map((g) => g.b1)), w0: vec(gf.map((g) => g.b0)) }; }
  return base;
}

/** Inverse of `toParams`: the model with `like`'s structure and the parameters `p` (pinned gates at (0, 0)). */
export function fromParams(like: RegressionMoE, p: RegParams): RegressionMoE {
  let f = 0;
  const atoms = like.atoms.map((_, i) => {
    const free = !isPinned(like, i), j = free ? f++ : -1;
    return { b1: free ? p.b1.data[j]! : 0, b0: free ? p.b0.data[j]! : 0, e1: p.e1.data[i]!, e2: p.e2.data[i]! };
  });
  if (like.gate === 'temperature') return { ...like, atoms, tau: Math.exp(p.s!.data[0]!) };
  if (like.gate === 'hierarchical') {
    const G = like.groupGates!.length;
    return { ...like, atoms, groupGates: Array.from({ length: G }, (_, a) => (a < G - 1 ? { b1: p.w1!.data[a]!, b0: p.w0!.data[a]! } : { b1: 0, b0: 0 })) };
  }
  return { ...like, atoms };
}

/** Column index of every atom's logit in [free logits | one zero column] (pinned atoms → the zero column). */
function logitColumns(m: RegressionMoE): Int32Array {
  let f = 0;
  const nFree = m.atoms.filter((_, i) => !isPinned(m, i)).length;
  return Int32Array.from(m.atoms.map((_, i) => (isPinned(m, i) ? nFree : f++)));
}

/** Mean squared error (1/n) Σ (y − f(x))² on the tape. `x` is [n, 1], `y` is [n]. */
export function lseLoss(like: RegressionMoE, p: RegParams, x: Tensor, y: Tensor): Tensor {
  const n = x.shape[0]!, k = like.atoms.length;
  let logits = p.b1.size > 0 ? add(mul(x, p.b1), p.b0) : zeros([n, 0]);
  if (like.gate !== 'sigmoid') logits = p.b1.size > 0 ? concat([logits, zeros([n, 1])], 1) : zeros([n, 1]);
  if (like.gate === 'hierarchical') {
    const cols = logitColumns(like), idx = new Int32Array(n * k);
    for (let t = 0; t < n; t++) idx.set(cols, t * k);
    logits = takeAlongAxis(logits, idx, 1);
  }
  let g: Tensor;
  if (like.gate === 'sigmoid') g = sigmoid(logits);
  else if (like.gate === 'softmax') g = softmax(logits, 1);
  else if (like.gate === 'temperature') g = softmax(mul(logits, exp(neg(p.s!))), 1);
  else if (like.gate === 'hierarchical') {
    const members = groupMembers(like), G = members.length;
    const q = concat(members.map((idx) => softmax(slice(logits, [0, idx[0]!], [n, idx[0]! + idx.length]), 1)), 1);
    const zg = G > 1 ? concat([add(mul(x, p.w1!), p.w0!), zeros([n, 1])], 1) : zeros([n, 1]);
    const gi = groupIndex(like), gIdx = new Int32Array(n * k);
    for (let t = 0; t < n; t++) gIdx.set(gi, t * k);
    g = mul(takeAlongAxis(softmax(zg, 1), gIdx, 1), q);
  } else {
    // Theory top-K̄: the selection (a constant here) ranks β1·x; unselected logits get −1e30.
    const b1 = [...Array.from(p.b1.data), 0];
    const mask = new Float64Array(n * k).fill(-1e30), xd = x.data;
    for (let t = 0; t < n; t++) for (const i of selectTopK(b1, xd[t]!, like.topK!)) mask[t * k + i] = 0;
    g = softmax(add(logits, fromData(mask, [n, k])), 1);
  }
  const h = like.expert === 'gelu' ? mul(p.e2, gelu(mul(x, p.e1))) : add(mul(x, p.e1), p.e2);
  return mean(square(sub(sum(mul(g, h), 1), y)));
}

/** Options of `fitRegression`; unset fields take `lbfgs`'s defaults (gtol 1e-6 on max|∇|, tol 1e-10 held 20 iterations, cap 5000). */
export interface RegFitOptions { readonly maxIter?: number; readonly tol?: number; readonly gtol?: number; readonly patience?: number }

const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

/**
 * The same objective as `lseLoss` with a hand-derived gradient on flat parameters (`toParams` order),
 * for speed in the sweeps; the tests check it against the tape gradient.
 *   ∂L/∂f_t = 2 r_t / n,  r_t = f(x_t) − y_t;   ∂f/∂h_i = g_i;
 *   softmax over the active set A: ∂f/∂z_j = g_j (h_j − f);   sigmoid: ∂f/∂z_j = g_j (1 − g_j) h_j;
 *   temperature, z_j = (β1_j x + β0_j)/τ, τ = e^s: ∂f/∂β_j = g_j (h_j − f)·(x, 1)/τ, ∂f/∂s = −Σ_j z_j g_j (h_j − f);
 *   hierarchical, g_ab = p_a q_{b|a}, F_a = Σ_b q_{b|a} h_ab: ∂f/∂z2_ab = g_ab (h_ab − F_a), ∂f/∂z1_a = p_a (F_a − f)
 *   (the gates of arXiv 2503.03213; Jacobians derived by hand, checked against the tape in the tests);
 *   gelu h = e2·G(e1 x): ∂h/∂e2 = G(e1 x), ∂h/∂e1 = e2·x·(Φ(e1 x) + e1 x·φ(e1 x));  linear: (x, 1).
 */
export function lseObjective(like: RegressionMoE, data: { x: Float64Array; y: Float64Array }): (theta: Float64Array, grad: Float64Array) => number {
  checkModel(like);
  const k = like.atoms.length, n = data.x.length, cols = logitColumns(like), gate = like.gate;
  const fi = Int32Array.from(cols.map((c, i) => (isPinned(like, i) ? -1 : c))), nFree = fi.filter((v) => v >= 0).length;
  const xOff = 2 * nFree + 2 * k, members = groupMembers(like), gi = groupIndex(like), G = members.length;
  const z = new Float64Array(k), g = new Float64Array(k), h = new Float64Array(k), dh1 = new Float64Array(k), dh2 = new Float64Array(k);
  const b1s = new Float64Array(k), on = new Uint8Array(k), zg = new Float64Array(G), pg = new Float64Array(G), F = new Float64Array(G);
  const allGroups = members.map((_, a) => a);
  return (theta, grad) => {
    grad.fill(0);
    for (let i = 0; i < k; i++) b1s[i] = fi[i]! >= 0 ? theta[fi[i]!]! : 0;
    const invTau = gate === 'temperature' ? Math.exp(-theta[xOff]!) : 1;
    let loss = 0;
    for (let t = 0; t < n; t++) {
      const x = data.x[t]!;
      for (let i = 0; i < k; i++) {
        z[i] = fi[i]! >= 0 ? (theta[fi[i]!]! * x + theta[nFree + fi[i]!]!) * invTau : 0;
        const e1 = theta[2 * nFree + i]!, e2 = theta[2 * nFree + k + i]!;
        if (like.expert === 'gelu') {
          const u = e1 * x, Phi = 0.5 * (1 + erfScalar(u / Math.SQRT2));
          h[i] = e2 * u * Phi; dh1[i] = e2 * x * (Phi + u * INV_SQRT_2PI * Math.exp(-0.5 * u * u)); dh2[i] = u * Phi;
        } else { h[i] = e1 * x + e2; dh1[i] = x; dh2[i] = 1; }
      }
      g.fill(0);
      if (gate === 'sigmoid') for (let i = 0; i < k; i++) g[i] = stableSigmoid(z[i]!);
      else if (gate === 'hierarchical') {
        for (let a = 0; a < G; a++) zg[a] = a < G - 1 ? theta[xOff + a]! * x + theta[xOff + G - 1 + a]! : 0;
        softmaxOver(zg, allGroups, pg);
        for (let a = 0; a < G; a++) {
          softmaxOver(z, members[a]!, g);
          let s = 0; for (const i of members[a]!) s += g[i]! * h[i]!;
          F[a] = s;
          for (const i of members[a]!) g[i] = g[i]! * pg[a]!;
        }
      } else {
        on.fill(gate === 'topk' ? 0 : 1);
        if (gate === 'topk') for (const i of selectTopK(b1s, x, like.topK!)) on[i] = 1;
        let zmax = -Infinity, s = 0;
        for (let i = 0; i < k; i++) if (on[i]) zmax = Math.max(zmax, z[i]!);
        for (let i = 0; i < k; i++) if (on[i]) { g[i] = Math.exp(z[i]! - zmax); s += g[i]!; }
        for (let i = 0; i < k; i++) g[i] = g[i]! / s;
      }
      let f = 0;
      for (let i = 0; i < k; i++) f += g[i]! * h[i]!;
      const r = f - data.y[t]!, c = (2 * r) / n;
      loss += r * r;
      let ds = 0;
      for (let i = 0; i < k; i++) {
        if (g[i] === 0) continue;
        const dz = gate === 'sigmoid' ? g[i]! * (1 - g[i]!) * h[i]! : g[i]! * (h[i]! - (gate === 'hierarchical' ? F[gi[i]!]! : f));
        if (fi[i]! >= 0) { grad[fi[i]!] = grad[fi[i]!]! + c * dz * x * invTau; grad[nFree + fi[i]!] = grad[nFree + fi[i]!]! + c * dz * invTau; }
        if (gate === 'temperature') ds -= z[i]! * dz;
        grad[2 * nFree + i] = grad[2 * nFree + i]! + c * g[i]! * dh1[i]!;
        grad[2 * nFree + k + i] = grad[2 * nFree + k + i]! + c * g[i]! * dh2[i]!;
      }
      if (gate === 'temperature') grad[xOff] = grad[xOff]! + c * ds;
      if (gate === 'hierarchical') for (let a = 0; a < G - 1; a++) {
        const dza = c * pg[a]! * (F[a]! - f);
        grad[xOff + a] = grad[xOff + a]! + dza * x; grad[xOff + G - 1 + a] = grad[xOff + G - 1 + a]! + dza;
      }
    }
    return loss / n;
  };
}

/** (1/n) Σ (y − f_m(x))² of any model on data (e.g. the truth, whose atom count differs from the fit's). */
export function lseAt(m: RegressionMoE, data: { x: Float64Array; y: Float64Array }): number {
  let s = 0;
  for (let t = 0; t < data.x.length; t++) s += (data.y[t]! - regressionValue(m, data.x[t]!)) ** 2;
  return s / data.x.length;
}

/** Least-squares fit from `init` by full-batch L-BFGS (fused gradient, see `lseObjective`) with the project's stopping rule. Deterministic. */
export function fitRegression(init: RegressionMoE, data: { x: Float64Array; y: Float64Array }, opts: RegFitOptions = {}): { model: RegressionMoE; result: MinimizeResult } {
  checkModel(init);
  const template = toParams(init);
  const result = lbfgs(lseObjective(init, data), flattenTree(template), opts);
  return { model: fromParams(init, unflattenTree(template, result.theta)), result };
}

/** The tape version of the objective as a flat function (reference for `lseObjective`). */
export function tapeLseObjective(like: RegressionMoE, data: { x: Float64Array; y: Float64Array }): (theta: Float64Array, grad: Float64Array) => number {
  const n = data.x.length;
  const x = fromData(Float64Array.from(data.x), [n, 1]), y = fromData(Float64Array.from(data.y), [n]);
  return tapeObjective((p: RegParams) => lseLoss(like, p, x, y), toParams(like), { reuseIntermediates: true }); // lseLoss keeps nothing
}

/**
 * Initial atoms near the truth: fitted atom i starts at true atom `from[i]` plus N(0, noise²) on every
 * free parameter; atoms sharing a true atom split its gate mass equally (exp β0 for softmax/topk and
 * within a hierarchical group, exp(β0/τ) for temperature, σ(β0) for sigmoid). A pinned fitted atom must
 * come from a pinned true atom (the last one; for hierarchical the last of its group). Hierarchical fits
 * keep the truth's groups (`from` must list them in order) and its group gates plus noise; temperature
 * fits start at τ*·exp(noise·N(0, 1)).
 */
export function splitInit(truth: RegressionMoE, from: readonly number[], noise: number, rng: Rng, gate: RegGate = truth.gate, topK?: number): RegressionMoE {
  const op = 'splitInit';
  const count = from.map((j) => from.filter((v) => v === j).length);
  if (from.some((j) => !(Number.isInteger(j) && j >= 0 && j < truth.atoms.length))) throw new ValueError(op, `from must index the ${truth.atoms.length} true atoms; got ${JSON.stringify(from)}`);
  if ((gate === 'hierarchical' || gate === 'temperature') && truth.gate !== gate) throw new ValueError(op, `a ${gate} fit needs a ${gate} truth; got ${truth.gate}`);
  let groups: number[] | undefined;
  if (gate === 'hierarchical') {
    const tg = groupIndex(truth), fg = from.map((j) => tg[j]!);
    groups = truth.groups!.map((_, a) => fg.filter((v) => v === a).length);
    if (fg.some((v, i) => i > 0 && v < fg[i - 1]!) || groups.some((c) => c === 0)) throw new ValueError(op, `from must list every true group, in order; got ${JSON.stringify(from)}`);
  }
  const shape = { gate, atoms: from.map(() => truth.atoms[0]!), ...(groups ? { groups } : {}) };
  from.forEach((j, i) => {
    const bad = isPinned(shape, i) && (gate === 'hierarchical' ? !isPinned(truth, j) : j !== truth.atoms.length - 1);
    if (bad) throw new ValueError(op, `fitted atom ${i} has a pinned gate, so it must come from a pinned true atom (the last${gate === 'hierarchical' ? ' of its group' : ''}); got true atom ${j}`);
  });
  const atoms = from.map((j, i) => {
    const t = truth.atoms[j]!, m = count[i]!;
    const last = isPinned(shape, i);
    const b0 = gate === 'sigmoid' ? logit(stableSigmoid(t.b0) / m) : t.b0 - (gate === 'temperature' ? truth.tau! : 1) * Math.log(m);
    return {
      b1: last ? 0 : t.b1 + noise * rng.normal(), b0: last ? 0 : b0 + noise * rng.normal(),
      e1: t.e1 + noise * rng.normal(), e2: t.e2 + noise * rng.normal(),
    };
  });
  const extra: Partial<RegressionMoE> = gate === 'temperature' ? { tau: truth.tau! * Math.exp(noise * rng.normal()) }
    : gate === 'hierarchical' ? { groups: groups!, groupGates: truth.groupGates!.map((a, q, all) => (q === all.length - 1 ? { b1: 0, b0: 0 } : { b1: a.b1 + noise * rng.normal(), b0: a.b0 + noise * rng.normal() })) } : {};
  return { gate, expert: truth.expert, atoms, ...(topK !== undefined ? { topK } : {}), ...extra };
}

function logit(p: number): number { return Math.log(p / (1 - p)); }

/** A 32-bit seed from any list of numbers/strings (FNV-1a), so cells get distinct reproducible seeds. */
export function seedOf(...parts: (string | number)[]): number {
  let h = 0x811c9dc5;
  for (const ch of parts.join('|')) { h ^= ch.charCodeAt(0); h = Math.imul(h, 0x01000193); }
  return h >>> 0;
}

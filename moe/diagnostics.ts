/**
 * Router diagnostics: plain numbers and typed arrays for logging, computed from raw buffers, so
 * they never touch the tape (the router analyses of OLMoE, arXiv:2409.02060 §5, and
 * 2505.10860 §3.3). T tokens, E experts, K chosen per token.
 */
import { Tensor, ShapeError, ValueError, fmtShape } from '../engine/index.js';
import { selectTopK } from '../engine/ops/index-ops.js';
import type { GateOutput, RoutingPlan } from './types.js';
import { checkObject, checkOptions, checkBoolean, checkNumbers, checkIndexArray, checkCount, describeValue } from '../engine/validate.js';
import { checkPlan } from './dispatch.js';

function scoresOf(op: string, scores: Tensor | Pick<GateOutput, 'scores'>): { T: number; E: number; d: ArrayLike<number> } {
  const s = scores instanceof Tensor ? scores : checkObject<Pick<GateOutput, 'scores'>>(op, scores, 'scores', 'a [T, E] Tensor or a gate output with scores').scores;
  if (!(s instanceof Tensor) || s.rank !== 2) throw new ShapeError(op, `scores must be a [T, E] tensor; got ${s instanceof Tensor ? fmtShape(s.shape) : describeValue(s)}`);
  if (s.data.some((v) => Number.isNaN(v))) throw new ValueError(op, `scores ${fmtShape(s.shape)} contain NaN`);
  return { T: s.shape[0]!, E: s.shape[1]!, d: s.data };
}

function planOf(op: string, x: RoutingPlan | Pick<GateOutput, 'plan'>): RoutingPlan {
  checkObject(op, x, 'plan', 'a RoutingPlan or a gate output');
  const p = 'plan' in x ? x.plan : x;
  checkPlan(op, p);
  return p;
}

/**
 * Tokens per expert, `load[e] = #{(t, k) : expert(t, k) = e}` (Float64Array [E]). By default this
 * counts routing decisions (what the gate chose, as DeepSeek-V3's bias update uses);
 * `{ kept: true }` counts only slots that survived the capacity limit.
 */
export function expertLoad(plan: RoutingPlan | Pick<GateOutput, 'plan'>, options: { readonly kept?: boolean } = {}): Float64Array {
  const p = planOf('expertLoad', plan);
  const kept = checkBoolean('expertLoad', 'kept', checkOptions('expertLoad', options).kept, false);
  const load = new Float64Array(p.numExperts);
  if (kept) for (let e = 0; e < p.numExperts; e++) load[e] = p.offsets[e + 1]! - p.offsets[e]!;
  else for (const e of p.expertOf) load[e] = load[e]! + 1;
  return load;
}

/** Importance per expert, `imp[e] = Σ_t s[t,e]` (column sums of the dense scores [T, E]). */
export function expertImportance(scores: Tensor | Pick<GateOutput, 'scores'>): Float64Array {
  const { T, E, d } = scoresOf('expertImportance', scores);
  const imp = new Float64Array(E);
  for (let t = 0; t < T; t++) for (let e = 0; e < E; e++) imp[e] = imp[e]! + d[t * E + e]!;
  return imp;
}

/**
 * Jain's fairness index `J(r) = (Σ r_i)² / (n Σ r_i²)` over non-negative shares r (Jain, Chiu & Hawe 1984,
 * DEC-TR-301):
 * 1 when all equal, 1/n when one expert takes everything.
 */
export function jainIndex(values: ArrayLike<number>): number {
  const op = 'jainIndex';
  const n = checkNumbers(op, values).length;
  if (n === 0) throw new ValueError(op, 'needs at least one value; got Array(0)');
  let s = 0, s2 = 0;
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v) || v < 0) throw new ValueError(op, `values must be finite and ≥ 0; got ${v} at ${i}`);
    s += v; s2 += v * v;
  }
  if (s2 === 0) throw new ValueError(op, `all ${n} values are 0: the index is undefined`);
  return (s * s) / (n * s2);
}

/**
 * Mean gate entropy in nats, `(1/T) Σ_t −Σ_e p̂[t,e] log p̂[t,e]` with `p̂ = s / Σ_e s` (so it works
 * for sigmoid scores too; 0·log 0 = 0). Ranges over [0, log E]; log E for a uniform router.
 */
export function gateEntropy(scores: Tensor | Pick<GateOutput, 'scores'>): number {
  const op = 'gateEntropy';
  const { T, E, d } = scoresOf(op, scores);
  if (T === 0) throw new ValueError(op, 'needs at least one token');
  let total = 0;
  for (let t = 0; t < T; t++) {
    let z = 0;
    for (let e = 0; e < E; e++) {
      const v = d[t * E + e]!;
      if (v < 0) throw new ValueError(op, `scores must be ≥ 0; got ${v} at [${t}, ${e}]`);
      z += v;
    }
    if (!(z > 0)) throw new ValueError(op, `token ${t} has all-zero scores`);
    for (let e = 0; e < E; e++) { const p = d[t * E + e]! / z; if (p > 0) total -= p * Math.log(p); }
  }
  return total / T;
}

/**
 * Top-k margin per token, `s_(k) − s_(k+1)` (k-th minus (k+1)-th largest score; Float64Array [T]).
 * A small margin means a small change of the router flips the selection. Needs 1 ≤ k < E.
 */
export function topKMargin(scores: Tensor | Pick<GateOutput, 'scores'>, k: number): Float64Array {
  const op = 'topKMargin';
  const { T, E, d } = scoresOf(op, scores);
  if (!Number.isInteger(k) || k < 1 || k >= E) throw new ValueError(op, `k must be an integer in [1, ${E - 1}] for E = ${E} experts; got ${k}`);
  const out = new Float64Array(T);
  const order = new Int32Array(E);
  for (let t = 0; t < T; t++) {
    for (let e = 0; e < E; e++) order[e] = e;
    selectTopK(order, k + 1, (e) => d[t * E + e]!);
    out[t] = d[t * E + order[k - 1]!]! - d[t * E + order[k]!]!;
  }
  return out;
}

/** Fraction of the T·K routing decisions dropped by the capacity limit (0 when dropless). */
export function dropRate(plan: RoutingPlan | Pick<GateOutput, 'plan'>): number {
  const p = planOf('dropRate', plan);
  return p.numTokens * p.topK === 0 ? 0 : p.dropped.length / (p.numTokens * p.topK);
}

/** Experts that received no token (ids in increasing order). */
export function unusedExperts(load: ArrayLike<number>): Int32Array {
  checkNumbers('unusedExperts', load, 'load');
  for (let e = 0; e < load.length; e++) {
    if (!(load[e]! >= 0 && Number.isFinite(load[e]!))) throw new ValueError('unusedExperts', `load must be finite and ≥ 0; got ${load[e]} at ${e}`);
  }
  const out: number[] = [];
  for (let e = 0; e < load.length; e++) if (load[e] === 0) out.push(e);
  return Int32Array.from(out);
}

/** A per-token expert selection: flat [N·k] sets (row-major), a plan (its expertOf), or a gate. */
export type RouterSelection = Int32Array | RoutingPlan | Pick<GateOutput, 'indices' | 'plan'>;

function selectionOf(op: string, sel: RouterSelection, k: number | undefined): { sets: Int32Array; k: number } {
  if (k !== undefined && !(Number.isInteger(k) && k >= 1)) throw new ValueError(op, `k must be an integer ≥ 1; got ${describeValue(k)}`);
  if (sel instanceof Int32Array) {
    if (k === undefined) throw new ValueError(op, 'k is required when selections are given as Int32Arrays');
    return { sets: sel, k };
  }
  checkObject(op, sel, 'selection', 'an Int32Array of expert sets, a RoutingPlan or a gate output');
  if ('expertOf' in sel) checkPlan(op, sel);
  else if (!(sel.indices instanceof Int32Array)) throw new ValueError(op, `selection must be an Int32Array of expert sets, a RoutingPlan or a gate output; got ${describeValue(sel)}`);
  else checkPlan(op, sel.plan);
  const sets = 'expertOf' in sel ? sel.expertOf : sel.indices;
  const kk = 'expertOf' in sel ? sel.topK : sel.plan.topK;
  if (k !== undefined && k !== kk) throw new ValueError(op, `k = ${k} does not match the selection's top-K ${kk}`);
  return { sets, k: kk };
}

/** Mean over tokens of |A_i ∩ B_i| / k for two aligned selections of k experts per token. */
function meanOverlap(op: string, a: RouterSelection, b: RouterSelection, k?: number): number {
  const A = selectionOf(op, a, k), B = selectionOf(op, b, k ?? A.k);
  if (A.k !== B.k || !Number.isInteger(A.k) || A.k < 1) throw new ValueError(op, `both selections need the same k ≥ 1; got ${A.k} and ${B.k}`);
  if (A.sets.length !== B.sets.length || A.sets.length % A.k !== 0 || A.sets.length === 0) {
    throw new ShapeError(op, `selections must cover the same N ≥ 1 tokens with k = ${A.k} experts each; got ${A.sets.length} and ${B.sets.length} entries`);
  }
  const kk = A.k, N = A.sets.length / kk;
  let matched = 0;
  for (let i = 0; i < N; i++) {
    for (let p = 0; p < kk; p++) {
      const e = A.sets[i * kk + p]!;
      let dup = false;
      for (let q = 0; q < p; q++) if (A.sets[i * kk + q] === e) dup = true;
      if (dup) throw new ValueError(op, `token ${i} lists expert ${e} twice; a selection is a set of k distinct experts`);
      for (let q = 0; q < kk; q++) if (B.sets[i * kk + q] === e) { matched++; break; }
    }
  }
  return matched / (N * kk);
}

/**
 * Router saturation (OLMoE, arXiv:2409.02060 §5; 2505.10860 §3.3), as a fraction in [0, 1]:
 *   `Sat(t) = (1/N) Σ_i |E_i^(t) ∩ E_i^(T)| / k`,
 * where E_i^(t) is the set of k experts token i activates at checkpoint t and `final` is the last
 * checkpoint. 1 means the checkpoint already routes exactly like the final one.
 */
export function routerSaturation(current: RouterSelection, final: RouterSelection, k?: number): number {
  return meanOverlap('routerSaturation', current, final, k);
}

/**
 * Router change rate between consecutive checkpoints (2505.10860 §3.3), a fraction in [0, 1]:
 *   `CR(t) = (1/N) Σ_i |E_i^(t+1) \ E_i^(t)| / k = 1 − (1/N) Σ_i |E_i^(t+1) ∩ E_i^(t)| / k`.
 */
export function routerChangeRate(previous: RouterSelection, next: RouterSelection, k?: number): number {
  return 1 - meanOverlap('routerChangeRate', next, previous, k);
}

/**
 * Per-token-type expert sets, as the 2505.10860 analysis code computes them (LibMoE, arXiv:2411.00918):
 * for each vocabulary id in `tokenTypes`, count how often its occurrences select each expert
 * (`indices` [T·K] aligned with `tokenIds` [T]), and take the k most selected experts (ties → lowest
 * id). Returns flat sets [N·k] ready for routerSaturation / routerChangeRate. `tokenTypes` defaults to
 * the ids present, most frequent first (ties → lowest id); pass the same list for every checkpoint.
 */
export function expertSetsByTokenType(tokenIds: Int32Array, indices: Int32Array, numExperts: number, k: number, tokenTypes?: Int32Array): {
  /** The N token types, in the order of `sets`. */
  tokenTypes: Int32Array;
  /** [N·k] the k most selected experts of each token type. */
  sets: Int32Array;
} {
  const op = 'expertSetsByTokenType';
  checkIndexArray(op, tokenIds, 'tokenIds');
  checkIndexArray(op, indices, 'indices');
  if (tokenTypes !== undefined) checkIndexArray(op, tokenTypes, 'tokenTypes');
  checkCount(op, 'numExperts', numExperts, 1);
  if (numExperts > 1 << 24) throw new ValueError(op, `numExperts must be ≤ ${1 << 24}; got ${numExperts}`);
  const T = tokenIds.length;
  if (T === 0 || indices.length % T !== 0) throw new ShapeError(op, `indices (${indices.length}) must hold K choices for each of the ${T} tokens`);
  if (!Number.isInteger(k) || k < 1 || k > numExperts) throw new ValueError(op, `k must be an integer in [1, ${numExperts}]; got ${describeValue(k)}`);
  const K = indices.length / T;
  const counts = new Map<number, Float64Array>();
  const freq = new Map<number, number>();
  for (let t = 0; t < T; t++) {
    const id = tokenIds[t]!;
    let c = counts.get(id);
    if (!c) { c = new Float64Array(numExperts); counts.set(id, c); }
    freq.set(id, (freq.get(id) ?? 0) + 1);
    for (let j = 0; j < K; j++) {
      const e = indices[t * K + j]!;
      if (e < 0 || e >= numExperts) throw new ValueError(op, `expert index ${e} out of range [0, ${numExperts})`);
      c[e] = c[e]! + 1;
    }
  }
  const types = tokenTypes ?? Int32Array.from([...freq.keys()].sort((a, b) => freq.get(b)! - freq.get(a)! || a - b));
  const sets = new Int32Array(types.length * k);
  const order = new Int32Array(numExperts);
  types.forEach((id, i) => {
    const c = counts.get(id);
    if (!c) throw new ValueError(op, `token type ${id} does not occur in tokenIds`);
    for (let e = 0; e < numExperts; e++) order[e] = e;
    selectTopK(order, k, (e) => c[e]!);
    sets.set(order.subarray(0, k), i * k);
  });
  return { tokenTypes: types, sets };
}

/** Summary of one routing step (plain numbers). */
export interface RouterDiagnostics {
  /** Tokens T. */
  readonly numTokens: number;
  /** Routed experts E. */
  readonly numExperts: number;
  /** Experts per token K. */
  readonly topK: number;
  /** Routing decisions per expert [E] (before capacity dropping). */
  readonly load: Float64Array;
  /** Σ_t s[t,e] per expert [E]. */
  readonly importance: Float64Array;
  /** Jain's index of the load, in [1/E, 1]. */
  readonly jain: number;
  /** max_e load / mean load − 1 (DeepSeek-V3's MaxVio); 0 when perfectly balanced. */
  readonly maxViolation: number;
  /** Mean gate entropy in nats. */
  readonly entropy: number;
  /** Mean top-K margin s_(K) − s_(K+1) (null for dense gates, K = E). */
  readonly meanTopKMargin: number | null;
  /** Fraction of the T·K routing decisions dropped by the capacity limit, in [0, 1]. */
  readonly dropRate: number;
  /** Experts with zero load. */
  readonly unused: Int32Array;
}

/** All single-step diagnostics of a gate output at once. */
export function routerDiagnostics(gate: GateOutput): RouterDiagnostics {
  const { plan } = checkObject<GateOutput>('routerDiagnostics', gate, 'gate', 'a gate output { weights, indices, scores, plan }');
  checkPlan('routerDiagnostics', plan);
  if (!(gate.scores instanceof Tensor)) throw new ValueError('routerDiagnostics', `gate.scores must be a Tensor; got ${describeValue(gate.scores)}`);
  const load = expertLoad(plan);
  const E = plan.numExperts, K = plan.topK, T = plan.numTokens;
  const mean = (T * K) / E;
  let maxLoad = 0;
  for (const l of load) maxLoad = Math.max(maxLoad, l);
  const margins = K < E ? topKMargin(gate.scores, K) : null;
  return {
    numTokens: T, numExperts: E, topK: K,
    load, importance: expertImportance(gate.scores),
    jain: jainIndex(load),
    maxViolation: maxLoad / mean - 1,
    entropy: gateEntropy(gate.scores),
    meanTopKMargin: margins ? margins.reduce((a, b) => a + b, 0) / Math.max(T, 1) : null,
    dropRate: dropRate(plan),
    unused: unusedExperts(load),
  };
}

/**
 * Experts each token is processed by after routing (Int32Array [T]): the kept slots of each token in
 * the plan. For expert-choice routing (Zhou et al. 2022, arXiv:2202.09368) this varies from 0 to E;
 * for top-K token choice it is K minus the token's capacity drops.
 */
export function expertsPerToken(plan: RoutingPlan | Pick<GateOutput, 'plan'>): Int32Array {
  const p = planOf('expertsPerToken', plan);
  const out = new Int32Array(p.numTokens);
  for (let e = 0; e < p.numExperts; e++) {
    for (let i = p.offsets[e]!; i < p.offsets[e + 1]!; i++) {
      const t = Math.floor(p.order[i]! / p.topK);
      if (!(t >= 0 && t < p.numTokens)) throw new ValueError('expertsPerToken', `plan slot ${p.order[i]} at row ${i} is out of range [0, ${p.numTokens * p.topK})`);
      out[t]!++;
    }
  }
  return out;
}

/**
 * Tokens no expert processes (ids in increasing order): the tokens expert-choice routing leaves out
 * (Zhou et al. 2022), or whose every slot was dropped by a capacity limit. Their routed output is 0.
 */
export function tokensWithoutExpert(plan: RoutingPlan | Pick<GateOutput, 'plan'>): Int32Array {
  const counts = expertsPerToken(planOf('tokensWithoutExpert', plan));
  const out: number[] = [];
  counts.forEach((c, t) => { if (c === 0) out.push(t); });
  return Int32Array.from(out);
}

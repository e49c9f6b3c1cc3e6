/**
 * Balanced assignment (BASE layers, Lewis et al. 2021, arXiv:2103.16716): every token goes to
 * exactly one expert and every expert receives the same number of tokens, maximizing the total
 * token–expert affinity Σ_t z[t, a(t)]. BASE solves the assignment with an auction algorithm; here a
 * few log-domain Sinkhorn iterations (as S-BASE, Clark et al. 2022, arXiv:2202.01169) give a
 * balanced transport plan, rounded greedily to an exactly balanced hard assignment.
 *
 * Gradient: the HARD assignment with the BASE weight — the assignment a(t) is a constant for
 * autodiff (no gradient through the Sinkhorn iterations), and the expert output is scaled by
 * w[t] = σ(z[t, a(t)]) (BASE: h + σ(h·w_a) f_a(h)), through which the router learns: ∂w/∂z[t,e] =
 * σ'(z[t,e]) at e = a(t), 0 at every other expert.
 */
import { Tensor, ValueError } from '../../engine/index.js';
import { checkOptions, describeValue } from '../../engine/validate.js';
import { checkLogits, gateOutput } from './common.js';
import { selectedSigmoid } from './sigmoid.js';
import type { GateOutput } from '../types.js';

/** Options of {@link balancedAssignmentGate} and {@link sinkhornLogPlan}. */
export interface BalancedAssignmentOptions {
  /** Sinkhorn iterations (row then column normalization each), an integer in [0, 1000]; default 8. */
  readonly iterations?: number;
  /** Entropic temperature τ > 0 of the plan exp(z/τ + f + g); default 1. */
  readonly temperature?: number;
}

function checkSinkhorn(op: string, options: BalancedAssignmentOptions): { iterations: number; tau: number } {
  checkOptions(op, options);
  const iterations = options.iterations ?? 8, tau = options.temperature ?? 1;
  if (!(Number.isInteger(iterations) && iterations >= 0 && iterations <= 1000)) throw new ValueError(op, `iterations must be an integer in [0, 1000]; got ${describeValue(iterations)}`);
  if (!(typeof tau === 'number' && Number.isFinite(tau) && tau > 0)) throw new ValueError(op, `temperature must be a finite number > 0; got ${describeValue(tau)}`);
  return { iterations, tau };
}

/** log Σ_j exp(v_j) of `n` values at base + j·stride (max-shifted). */
function lse(v: ArrayLike<number>, base: number, stride: number, n: number, shift: ArrayLike<number>, shiftBase: number, shiftStride: number): number {
  let m = -Infinity;
  for (let j = 0; j < n; j++) m = Math.max(m, v[base + j * stride]! + shift[shiftBase + j * shiftStride]!);
  let s = 0;
  for (let j = 0; j < n; j++) s += Math.exp(v[base + j * stride]! + shift[shiftBase + j * shiftStride]! - m);
  return m + Math.log(s);
}

/**
 * Log of the entropic balanced transport plan after `iterations` Sinkhorn steps (log domain):
 * with u = logits/τ, start g = 0 and repeat f_t = −log Σ_e e^{u[t,e] + g_e} (rows sum to 1),
 * g_e = log(T/E) − log Σ_t e^{u[t,e] + f_t} (columns sum to T/E); returns u + f + g [T·E] row-major.
 * Plain numbers (never on the tape). logits [T, E] finite.
 * @throws {@link moegrad/engine!ValueError} for non-finite logits or bad options.
 */
export function sinkhornLogPlan(logits: Tensor, options: BalancedAssignmentOptions = {}): Float64Array {
  const op = 'sinkhornLogPlan';
  const { T, E } = checkLogits(op, logits);
  const { iterations, tau } = checkSinkhorn(op, options);
  const u = Float64Array.from(logits.data, (v) => v / tau);
  const f = new Float64Array(T), g = new Float64Array(E);
  const logCol = Math.log(T / E);
  for (let it = 0; it < iterations; it++) {
    for (let t = 0; t < T; t++) f[t] = -lse(u, t * E, 1, E, g, 0, 1);
    for (let e = 0; e < E; e++) g[e] = logCol - lse(u, e, E, T, f, 0, 1);
  }
  const out = new Float64Array(T * E);
  for (let t = 0; t < T; t++) for (let e = 0; e < E; e++) out[t * E + e] = u[t * E + e]! + f[t]! + g[e]!;
  return out;
}

/**
 * Exactly balanced hard assignment from a log plan [T·E]: pairs in decreasing plan value (ties →
 * lower t·E + e) each assign their token if it is still free and the expert has fewer than ⌈T/E⌉
 * tokens. Every token gets one expert; every expert gets ⌊T/E⌋ or ⌈T/E⌉ tokens.
 */
function roundBalanced(logPlan: Float64Array, T: number, E: number): Int32Array {
  const q = Math.floor(T / E);
  const pairs = Int32Array.from({ length: T * E }, (_, i) => i).sort((a, b) => logPlan[b]! - logPlan[a]! || a - b);
  const assign = new Int32Array(T).fill(-1), count = new Int32Array(E);
  // T = q·E + r: r experts take q + 1 tokens, the others q (an expert may grow to q + 1 while fewer
  // than r have), so the capacities sum to T and no token is left over.
  let bigLeft = T - q * E, left = T;
  for (const p of pairs) {
    if (left === 0) break;
    const t = Math.floor(p / E), e = p % E;
    if (assign[t] !== -1 || count[e]! >= (bigLeft > 0 ? q + 1 : q)) continue;
    assign[t] = e; count[e]!++; left--;
    if (count[e] === q + 1) bigLeft--;
  }
  return assign;
}

/**
 * BASE-layer gate (Lewis et al. 2021, arXiv:2103.16716), balanced by Sinkhorn: the hard assignment
 * a(t) from {@link sinkhornLogPlan} rounded to exact balance (each expert gets ⌊T/E⌋ or ⌈T/E⌉
 * tokens; with T = E·m exactly m), weight w[t] = σ(logits[t, a(t)]) (the BASE layer's σ(h·w_a)).
 * logits [T, E] → weights [T, 1], indices [T] = a, scores = σ(logits) [T, E], top-1 plan (dropless).
 * The assignment is a constant for autodiff (no gradient through the Sinkhorn iterations); the
 * router's gradient is σ'(z) at the assigned expert, 0 elsewhere.
 * @throws {@link moegrad/engine!ValueError} for non-finite logits, iterations outside [0, 1000] or temperature ≤ 0.
 */
export function balancedAssignmentGate(logits: Tensor, options: BalancedAssignmentOptions = {}): GateOutput {
  const op = 'balancedAssignmentGate';
  const { T, E } = checkLogits(op, logits);
  checkSinkhorn(op, options);
  const assign = roundBalanced(sinkhornLogPlan(logits, options), T, E);
  const weights = selectedSigmoid(op, logits, assign);
  return gateOutput(weights, assign, selectedSigmoid(op, logits, null), logits, E, { capacity: Infinity, priority: 'token' });
}

/**
 * Normalized sigmoid gate: DeepSeek-V3's sparse router (arXiv:2412.19437 §2.1.2) (sigmoid scores, selection-only
 * bias for loss-free balancing, group-limited routing, top-K, normalize over the selected, route
 * scale ρ) and the dense theory version of 2505.10860 (normalized over all experts).
 */
import { Tensor, fromData, mul, sub, sum, scale, neg, sigmoid, softmaxLine, weightedCenter, stableSigmoid, ShapeError, ValueError, fmtShape } from '../../engine/index.js';
// built-in VJPs: recorded as the engine's own (their cotangents may be reused; engine/buffer-pool.ts)
import { record } from '../../engine/tape.js';
import { allocate } from '../../engine/tensor.js';
import { checkLogits, checkK, checkCapacity, rowTopK, denseIndices, gateOutput, gatherAlong, scatterAlong, type GateOptions , checkOpName, checkRouteScale } from './common.js';
import { checkOptions, describeValue } from '../../engine/validate.js';
import { selectedSigmoid } from './sigmoid.js';
import type { GateOutput } from '../types.js';

export interface NormalizedSigmoidOptions extends GateOptions {
  /** Experts chosen per token; omitted = the dense theory version (normalized over all E). */
  readonly k?: number;
  /**
   * Selection-only bias b [E] (DeepSeek-V3 loss-free balancing): experts are chosen by s + b, but
   * the weights use the unbiased s. Never differentiated: a Tensor is read as a constant.
   */
  readonly bias?: Float64Array | Tensor;
  /** Group-limited routing: E experts in `numGroups` contiguous groups (must divide E). */
  readonly numGroups?: number;
  /** Keep the best `topGroups` groups (by `groupScore`) per token, then take the top-k inside them. */
  readonly topGroups?: number;
  /** Group score: sum of the top-2 biased scores in the group (V3 default), or their max. */
  readonly groupScore?: 'top2Sum' | 'max';
  /** Route scale ρ multiplying the normalized weights (V3 671B: 2.5); default 1. */
  readonly routeScale?: number;
}

/** log σ(v) = −softplus(−v), finite for any finite v (never log(0)). */
const logSigmoid = (v: number): number => -(Math.max(-v, 0) + Math.log1p(Math.exp(-Math.abs(v))));

/**
 * Fused w[t,j] = ρ s_j / Σ_{i∈T} s_i, s = σ(z[t, idx[t,j]]) (idx null: all E).  z [T, E] → w [T, K].
 * Forward in log space, ŵ = softmax(log s) (max-shifted ratio), so it stays finite when every s underflows
 * (z ≈ −1e4) where s/Σs would be 0/0.
 * VJP: g_{z,j} = ρ s_j(1−s_j)/S · (g_j − ⟨g, ŵ⟩) = w_j σ(−z_j) (g_j − ⟨g, w⟩/ρ) on the
 * selected, 0 elsewhere.
 * JVP: with l = log s, l̇ = σ(−z_sel) ⊙ ż_sel and ŵ = softmax(l): ẇ = w ⊙ (l̇ − ⟨ŵ, l̇⟩).
 */
function normalizedSigmoid(op: string, z: Tensor, idx: Int32Array | null, routeScale: number): Tensor {
  const T = z.shape[0]!, E = z.shape[1]!, K = idx ? idx.length / T : E;
  const d = z.data;
  const out = allocate(z.dtype, T * K);
  const ls = new Float64Array(K);
  for (let t = 0; t < T; t++) {
    for (let j = 0; j < K; j++) ls[j] = logSigmoid(d[t * E + (idx ? idx[t * K + j]! : j)]!);
    softmaxLine(ls, 0, 1, K, out, t * K, 1, op); // ŵ = softmax(log s), the engine's kernel
    if (routeScale !== 1) for (let j = 0; j < K; j++) out[t * K + j] = routeScale * out[t * K + j]!;
  }
  const w = fromData(out, [T, K]);
  return record(op, [z], w, (dy) => {
    const oneMinusS = sigmoid(neg(gatherAlong(z, idx, 1))); // Shape: [T, K]
    const centered = weightedCenter(dy, routeScale === 1 ? w : scale(w, 1 / routeScale), 1); // g − ⟨g, w⟩/ρ
    return [scatterAlong(mul(mul(w, oneMinusS), centered), idx, 1, E)];
  }, ([dz]) => {
    const dl = mul(gatherAlong(dz!, idx, 1), sigmoid(neg(gatherAlong(z, idx, 1)))); // l̇ = (log σ)'(z) ż = σ(−z) ż
    return mul(w, weightedCenter(dl, routeScale === 1 ? w : scale(w, 1 / routeScale), 1)); // w ⊙ (l̇ − ⟨ŵ, l̇⟩)
  });
}

/**
 * Integer selection of DeepSeek-V3 (never on the tape): scores s + b, optionally group-limited
 * (keep `topGroups` of `numGroups` groups by the sum of their top-2 — or max — biased scores, mask
 * the rest), then the top-k. NOTE: ties → lowest index, at both levels.
 */
export function selectNormalizedSigmoid(
  op: string, logits: Tensor, k: number, bias: Float64Array | null,
  groups: { numGroups: number; topGroups: number; groupScore: 'top2Sum' | 'max' } | null,
): Int32Array {
  checkOpName('selectNormalizedSigmoid', op);
  const { T, E } = checkLogits(op, logits);
  checkK(op, k, E);
  if (bias !== null && !(bias instanceof Float64Array && bias.length === E)) throw new ValueError(op, `bias must be null or a Float64Array of E = ${E} entries; got ${describeValue(bias)}`);
  if (groups !== null) {
    const g = groups as Partial<NonNullable<typeof groups>> | undefined;
    if (g === undefined || typeof g !== 'object' || !Number.isInteger(g.numGroups) || g.numGroups! < 1 || E % g.numGroups! !== 0
      || !Number.isInteger(g.topGroups) || g.topGroups! < 1 || g.topGroups! > g.numGroups! || (g.groupScore !== 'top2Sum' && g.groupScore !== 'max')) {
      throw new ValueError(op, `groups must be null or { numGroups dividing E = ${E}, topGroups in [1, numGroups], groupScore 'top2Sum' | 'max' }; got ${describeValue(groups)}${g && typeof g === 'object' ? ` ${JSON.stringify(g)}` : ''}`);
    }
    if (k > g.topGroups! * (E / g.numGroups!)) throw new ValueError(op, `k = ${k} exceeds the ${g.topGroups! * (E / g.numGroups!)} experts in the kept groups`);
  }
  const d = logits.data;
  const sel = new Float64Array(T * E);
  for (let i = 0; i < sel.length; i++) sel[i] = stableSigmoid(d[i]!) + (bias ? bias[i % E]! : 0);
  if (groups) {
    const { numGroups: G, topGroups, groupScore } = groups;
    const M = E / G;
    const gScore = new Float64Array(T * G);
    const inGroup = rowTopK(sel, T * G, M, Math.min(2, M)); // [T·G, ≤2] best experts of each group
    const per = Math.min(2, M);
    for (let r = 0; r < T * G; r++) {
      const a = sel[r * M + inGroup[r * per]!]!;
      gScore[r] = groupScore === 'max' || per === 1 ? a : a + sel[r * M + inGroup[r * per + 1]!]!;
    }
    const keep = rowTopK(gScore, T, G, topGroups);
    const kept = new Uint8Array(G);
    for (let t = 0; t < T; t++) {
      kept.fill(0);
      for (let j = 0; j < topGroups; j++) kept[keep[t * topGroups + j]!] = 1;
      for (let e = 0; e < E; e++) if (!kept[Math.floor(e / M)]) sel[t * E + e] = -Infinity;
    }
  }
  return rowTopK(sel, T, E, k);
}

/** Reads and checks the selection-only bias (a Tensor is read as data: no gradient). */
function biasArray(op: string, bias: Float64Array | Tensor | undefined, E: number): Float64Array | null {
  if (bias === undefined) return null;
  const data = bias instanceof Tensor ? Float64Array.from(bias.data) : bias;
  if (!(data instanceof Float64Array) || data.length !== E || (bias instanceof Tensor && bias.rank !== 1)) {
    const got = bias instanceof Tensor ? fmtShape(bias.shape) : `[${(bias as { length?: number }).length ?? typeof bias}]`;
    throw new ShapeError(op, `bias must have one entry per expert, [${E}]; got ${got} (${describeValue(bias)})`);
  }
  for (let e = 0; e < E; e++) if (!Number.isFinite(data[e]!)) throw new ValueError(op, `bias[${e}] must be finite; got ${data[e]}`);
  return data;
}

/**
 * Normalized sigmoid gate. s = σ(z) [T, E] are the scores (V3 routers have no bias inside σ).
 * - k given (DeepSeek-V3): T(t) = top-k of s + b within the kept groups; weights [T, k] =
 *   ρ s_T / Σ_T s (Σ_j w = ρ), from the unbiased s — b only changes which experts are chosen.
 * - k omitted (2505.10860 Eq. 8, dense theory): weights [T, E] = ρ s / Σ_E s.
 * VJP: on T, g_z = ρ s(1−s)/S ⊙ (g − ⟨g, ŵ⟩), S = Σ_T s, ŵ = s/S; 0 off T; the bias gets none.
 */
export function normalizedSigmoidGate(logits: Tensor, options: NormalizedSigmoidOptions = {}): GateOutput {
  const op = 'normalizedSigmoidGate';
  const { T, E } = checkLogits(op, logits);
  const capacity = checkCapacity(op, checkOptions(op, options));
  const routeScale = options.routeScale ?? 1;
  checkRouteScale(op, routeScale);
  const { k, numGroups, topGroups } = options;
  const bias = biasArray(op, options.bias, E);
  const scores = selectedSigmoid(op, logits, null);
  if (k === undefined) {
    if (bias || numGroups !== undefined || topGroups !== undefined) {
      throw new ValueError(op, 'bias, numGroups and topGroups only affect the top-k selection; the dense version (k omitted) selects every expert');
    }
    return gateOutput(normalizedSigmoid(op, logits, null, routeScale), denseIndices(T, E), scores, logits, E, capacity);
  }
  checkK(op, k, E);
  let groups = null;
  if (numGroups !== undefined || topGroups !== undefined) {
    if (!Number.isInteger(numGroups) || numGroups! < 1 || E % numGroups! !== 0) {
      throw new ValueError(op, `numGroups must be a positive integer dividing E = ${E}; got ${numGroups}`);
    }
    const G = numGroups!;
    if (!Number.isInteger(topGroups) || topGroups! < 1 || topGroups! > G) {
      throw new ValueError(op, `topGroups must be an integer in [1, numGroups = ${G}]; got ${topGroups}`);
    }
    if (k > topGroups! * (E / G)) {
      throw new ValueError(op, `k = ${k} exceeds the ${topGroups}·${E / G} = ${topGroups! * (E / G)} experts in the kept groups`);
    }
    const groupScore = options.groupScore ?? 'top2Sum';
    if (groupScore !== 'top2Sum' && groupScore !== 'max') throw new ValueError(op, `groupScore must be 'top2Sum' or 'max'; got '${String(groupScore)}'`);
    groups = { numGroups: G, topGroups: topGroups!, groupScore };
  }
  const idx = selectNormalizedSigmoid(op, logits, k, bias, groups);
  return gateOutput(normalizedSigmoid(op, logits, idx, routeScale), idx, scores, logits, E, capacity);
}

/**
 * Hierarchical (two-level) softmax gate (Jordan & Jacobs 1994; Shazeer et al. 2017,
 * arXiv:1701.06538 appendix B): G groups of M experts, E = G·M,
 * w_{a,b} = softmax_a(z¹) · softmax_b(z²_{a·}), dense or top-k at each level (FuseMoE's
 * HierarchicalMoE: top-k at each level, softmax renormalized over the selected).
 */
import { Tensor, fromData, add, mul, sub, sum, reshape, expandDims, softmax, softmaxLine, weightedCenter, ShapeError, DTypeError, fmtShape } from '../../engine/index.js';
// built-in VJPs: recorded as the engine's own (their cotangents may be reused; engine/buffer-pool.ts)
import { record } from '../../engine/tape.js';
import { allocate } from '../../engine/tensor.js';
import { checkFinite, checkK, checkCapacity, rowTopK, gateOutput, gatherAlong, scatterAlong, type GateOptions } from './common.js';
import { checkOptions } from '../../engine/validate.js';
import type { GateOutput } from '../types.js';

export interface HierarchicalOptions extends GateOptions {
  /** Groups kept per token (top-k of the group logits); default G (dense first level). */
  readonly kGroups?: number;
  /** Experts kept inside each kept group; default M (dense second level). */
  readonly kExperts?: number;
}

/** The integer selection at both levels (null where a level is dense). */
interface TwoLevelSelection {
  readonly G: number; readonly M: number; readonly kG: number; readonly kE: number;
  /** [T·kG] kept groups, best first (null: all G in order). */
  readonly groups: Int32Array | null;
  /** [T·kG·M] each kept group's index repeated M times, to gather its row of z² (null: dense). */
  readonly groupRows: Int32Array | null;
  /** [T·kG·kE] kept experts inside each kept group, best first (null: all M in order). */
  readonly experts: Int32Array | null;
}

/** out[0..n) = softmax of v[0..n) (the engine's max-shifted kernel). */
function softmaxInto(v: Float64Array, n: number, out: Float64Array, op: string): void {
  softmaxLine(v, 0, 1, n, out, 0, 1, op);
}

/**
 * Fused w[t, i·kE + j] = p_i · q_{j|i}: p = softmax of z¹[t] over the kept groups, q = softmax of
 * z²[t, group_i] over its kept experts.  z¹ [T, G], z² [T, G, M] → w [T, kG·kE].
 * VJP, with g viewed as [T, kG, kE] and h_i = Σ_j g_ij q_{j|i}:
 *   g_{z¹} = scatter(p ⊙ (h − ⟨h, p⟩)),   g_{z²} = scatter(w ⊙ (g − h)),   0 off the selection.
 * JVP: log w_ij = log p_i + log q_{j|i}, so ẇ = w ⊙ (u̇¹ − ⟨p, u̇¹⟩ + u̇² − ⟨q, u̇²⟩) with u̇¹ = gather(ż¹),
 * u̇² = gather(ż²) on the selection (the centerings by weightedCenter, as in the VJP).
 * p and q are recomputed with engine softmax (differentiable), so grad of grad works.
 */
function twoLevelSoftmax(op: string, z1: Tensor, z2: Tensor, s: TwoLevelSelection): Tensor {
  const T = z1.shape[0]!;
  const { G, M, kG, kE } = s;
  const d1 = z1.data, d2 = z2.data;
  const out = allocate(z1.dtype, T * kG * kE);
  const u1 = new Float64Array(kG), p = new Float64Array(kG), u2 = new Float64Array(kE), q = new Float64Array(kE);
  for (let t = 0; t < T; t++) {
    for (let i = 0; i < kG; i++) u1[i] = d1[t * G + (s.groups ? s.groups[t * kG + i]! : i)]!;
    softmaxInto(u1, kG, p, op);
    for (let i = 0; i < kG; i++) {
      const a = s.groups ? s.groups[t * kG + i]! : i;
      for (let j = 0; j < kE; j++) u2[j] = d2[(t * G + a) * M + (s.experts ? s.experts[(t * kG + i) * kE + j]! : j)]!;
      softmaxInto(u2, kE, q, op);
      for (let j = 0; j < kE; j++) out[(t * kG + i) * kE + j] = p[i]! * q[j]!;
    }
  }
  const w = fromData(out, [T, kG * kE]);
  return record(op, [z1, z2], w, (dy, needs) => {
    const p1 = softmax(gatherAlong(z1, s.groups, 1), 1); // Shape: [T, kG]
    const q2 = softmax(gatherAlong(gatherAlong(z2, s.groupRows, 1), s.experts, 2), 2); // Shape: [T, kG, kE]
    const g3 = reshape(dy, [T, kG, kE]);
    const h = sum(mul(g3, q2), 2); // Shape: [T, kG]
    // h − ⟨h, p⟩ and g − h = g − ⟨g, q⟩ through weightedCenter: no cancellation at a dominant p or q
    const dz1 = needs[0] ? scatterAlong(mul(p1, weightedCenter(h, p1, 1)), s.groups, 1, G) : null;
    const dz2 = needs[1]
      ? scatterAlong(scatterAlong(mul(reshape(w, [T, kG, kE]), weightedCenter(g3, q2, 2)), s.experts, 2, M), s.groupRows, 1, G)
      : null;
    return [dz1, dz2];
  }, ([dz1, dz2]) => {
    let dlog: Tensor | null = null; // Shape: [T, kG, kE], the tangent of log w
    if (dz1) {
      const p1 = softmax(gatherAlong(z1, s.groups, 1), 1);
      dlog = expandDims(weightedCenter(gatherAlong(dz1, s.groups, 1), p1, 1), 2); // [T, kG, 1], broadcast over j
    }
    if (dz2) {
      const q2 = softmax(gatherAlong(gatherAlong(z2, s.groupRows, 1), s.experts, 2), 2);
      const lq = weightedCenter(gatherAlong(gatherAlong(dz2, s.groupRows, 1), s.experts, 2), q2, 2);
      dlog = dlog ? add(dlog, lq) : lq;
    }
    return reshape(mul(reshape(w, [T, kG, kE]), dlog!), [T, kG * kE]);
  });
}

/** Top-k at each level (ties → lowest index): groups by z¹, then experts inside each kept group by z². */
function selectTwoLevel(z1: Tensor, z2: Tensor, kG: number, kE: number): TwoLevelSelection {
  const T = z1.shape[0]!, G = z1.shape[1]!, M = z2.shape[2]!;
  if (kG === G && kE === M) return { G, M, kG, kE, groups: null, groupRows: null, experts: null };
  const groups = rowTopK(z1.data, T, G, kG);
  const groupRows = new Int32Array(T * kG * M);
  const rows = new Float64Array(T * kG * M); // the kept groups' rows of z², [T·kG, M]
  for (let r = 0; r < T * kG; r++) {
    const t = Math.floor(r / kG), a = groups[r]!;
    groupRows.fill(a, r * M, r * M + M);
    rows.set(z2.data.subarray((t * G + a) * M, (t * G + a + 1) * M), r * M);
  }
  return { G, M, kG, kE, groups, groupRows, experts: kE === M ? null : rowTopK(rows, T * kG, M, kE) };
}

/**
 * Hierarchical softmax gate. groupLogits z¹ [T, G], expertLogits z² [T, G, M]; expert a·M + b.
 * Dense (default): weights = scores [T, E], Σ = 1. With kGroups/kExperts: weights [T, kG·kE]
 * (group-major, best first), renormalized at each level, so Σ_j w = 1 too; scores are the dense
 * p_a q_{b|a} [T, E]. Unselected groups/experts get zero gradient; ties → lowest index.
 */
export function hierarchicalSoftmaxGate(groupLogits: Tensor, expertLogits: Tensor, options: HierarchicalOptions = {}): GateOutput {
  const op = 'hierarchicalSoftmaxGate';
  const [T, G] = checkFinite(op, groupLogits, 'groupLogits', 2, '[T, G]') as [number, number];
  const [T2, G2, M] = checkFinite(op, expertLogits, 'expertLogits', 3, '[T, G, M]') as [number, number, number];
  if (T2 !== T || G2 !== G) {
    throw new ShapeError(op, `expertLogits must be [T, G, M] = [${T}, ${G}, M] to match groupLogits ${fmtShape(groupLogits.shape)}; got ${fmtShape(expertLogits.shape)}`);
  }
  if (groupLogits.dtype !== expertLogits.dtype) throw new DTypeError(op, `groupLogits are ${groupLogits.dtype} but expertLogits are ${expertLogits.dtype}`);
  checkOptions(op, options);
  const kG = checkK(op, options.kGroups ?? G, G, 'kGroups', 'G');
  const kE = checkK(op, options.kExperts ?? M, M, 'kExperts', 'M');
  const capacity = checkCapacity(op, checkOptions(op, options));
  const E = G * M;
  const dense: TwoLevelSelection = { G, M, kG: G, kE: M, groups: null, groupRows: null, experts: null };
  const scores = twoLevelSoftmax(op, groupLogits, expertLogits, dense);
  const sel = selectTwoLevel(groupLogits, expertLogits, kG, kE);
  const weights = sel.groups || sel.experts ? twoLevelSoftmax(op, groupLogits, expertLogits, sel) : scores;
  const K = kG * kE;
  const indices = new Int32Array(T * K);
  for (let t = 0; t < T; t++) {
    for (let i = 0; i < kG; i++) {
      const a = sel.groups ? sel.groups[t * kG + i]! : i;
      for (let j = 0; j < kE; j++) indices[t * K + i * kE + j] = a * M + (sel.experts ? sel.experts[(t * kG + i) * kE + j]! : j);
    }
  }
  return gateOutput(weights, indices, scores, undefined, E, capacity);
}

/**
 * Differentiable load-balancing losses and the router z-loss (sources cited per loss). T tokens, E routed experts,
 * K experts chosen per token. In each balance loss the dispatch fraction f is piecewise constant
 * (a count of integer routing decisions, no gradient) and the mean score P carries the gradient:
 * ∂L/∂s[t,e] = coefficient · f_e / T (chained through any normalization).
 */
import {
  Tensor, fromData, mean, sum, mul, div, scale, square, logsumexp, reshape, ShapeError, ValueError, fmtShape,
} from '../engine/index.js';
import { allocate, assertTensor } from '../engine/tensor.js';
import type { GateOutput } from './types.js';
import { checkNumber, checkObject, checkOptions, describeValue } from '../engine/validate.js';

/** Whether any element is NaN (a plain loop: `some` with a callback per element boxed every value). */
function hasNaN(a: ArrayLike<number>): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== a[i]) return true;
  return false;
}

/** What the balance losses read from a gate: dense scores [T, E] and the chosen experts [T·K]. */
export type RoutedScores = Pick<GateOutput, 'scores' | 'indices'>;

interface Routed { readonly T: number; readonly E: number; readonly K: number; readonly scores: Tensor; readonly indices: Int32Array }

function readRouting(op: string, gate: RoutedScores): Routed {
  const { scores, indices } = checkObject<RoutedScores>(op, gate, 'gate', 'a gate output { scores, indices }');
  assertTensor(scores, op, 'scores');
  if (scores.rank !== 2 || scores.shape[0]! < 1) throw new ShapeError(op, `scores must be [T, E] with T ≥ 1; got ${fmtShape(scores.shape)}`);
  const [T, E] = scores.shape as [number, number];
  if (!(indices instanceof Int32Array) || indices.length === 0 || indices.length % T !== 0) {
    throw new ShapeError(op, `indices must be an Int32Array of T·K entries for T = ${T}; got ${indices?.length}`);
  }
  for (let i = 0; i < indices.length; i++) {
    if (indices[i]! < 0 || indices[i]! >= E) throw new ValueError(op, `expert index ${indices[i]} at ${i} is out of range [0, ${E})`);
  }
  if (hasNaN(scores.data)) throw new ValueError(op, `scores ${fmtShape(scores.shape)} contain NaN`);
  return { T, E, K: indices.length / T, scores, indices };
}

/** Counts of tokens choosing each expert within tokens [from, to) → a constant [E] tensor scaled by `factor`. */
function selectionCounts(r: Routed, from: number, to: number, factor: number, weight?: Float64Array): Tensor {
  const out = allocate(r.scores.dtype, r.E);
  for (let i = from * r.K; i < to * r.K; i++) out[r.indices[i]!] = out[r.indices[i]!]! + (weight ? factor * weight[Math.floor(i / r.K)]! : factor);
  return fromData(out, [r.E]);
}

/**
 * A token mask [T] (booleans or 0/1; padding tokens false/0), as a Float64Array of 0/1 plus the
 * number of kept tokens (≥ 1). HF Transformers' load-balancing loss excludes padding the same way.
 */
export function tokenMask(op: string, mask: unknown, T: number): { m: Float64Array; kept: number } {
  const ok = mask !== null && typeof mask === 'object' && (Array.isArray(mask) || ArrayBuffer.isView(mask));
  if (!ok) throw new ValueError(op, `mask must be an array of T = ${T} booleans or 0/1 values; got ${describeValue(mask)}`);
  const a = mask as ArrayLike<unknown>;
  if (a.length !== T) throw new ShapeError(op, `mask must have one entry per token, [${T}]; got [${a.length}] (${describeValue(mask)})`);
  const m = new Float64Array(T);
  let kept = 0;
  for (let t = 0; t < T; t++) {
    const v = a[t];
    if (v !== true && v !== false && v !== 0 && v !== 1) throw new ValueError(op, `mask[${t}] must be a boolean or 0/1; got ${describeValue(v)}`);
    m[t] = v === true || v === 1 ? 1 : 0;
    kept += m[t]!;
  }
  if (kept === 0) throw new ValueError(op, `mask keeps no token: all ${T} entries are false or 0 (${describeValue(mask)})`);
  return { m, kept };
}

/** A constant column [T, 1] of per-token weights in `dtype`. */
function column(w: Float64Array, dtype: 'float64' | 'float32'): Tensor {
  return fromData(dtype === 'float64' ? Float64Array.from(w) : Float32Array.from(w), [w.length, 1]);
}

/** Options shared by the token-level losses: a token mask (padding excluded). */
export interface TokenMaskOption {
  /** [T] booleans or 0/1: tokens with false/0 (padding) are left out of every mean and count. */
  readonly mask?: ArrayLike<boolean | number>;
}

/**
 * Switch Transformer / GShard auxiliary load-balancing loss (Fedus et al. 2022, arXiv:2101.03961 §2.2;
 * Lepikhin et al. 2020, arXiv:2006.16668 §2.2):
 *   `L = α · E · Σ_e f_e · P_e`,
 *   `f_e = (1/T) · #{t : e ∈ TopK(t)}` (fraction of tokens whose top-K includes e, a constant),
 *   `P_e = (1/T) · Σ_t s[t,e]` (mean router probability, differentiable).
 * Normalization: Σ_e f_e = K, so perfectly uniform routing (s = 1/E, every expert chosen by K·T/E
 * tokens) gives `L = α · K` — exactly α for Switch's top-1, and what HF Mixtral / flaxformer
 * (`mean(f·P)·E²`) compute. Gradient: `∂L/∂s[t,e] = α·E·f_e/T`.
 */
export function switchAuxLoss(gate: RoutedScores, options: { readonly coefficient?: number } & TokenMaskOption = {}): Tensor {
  const op = 'switchAuxLoss';
  const r = readRouting(op, gate);
  const alpha = checkNumber(op, 'coefficient', (checkOptions(op, options).coefficient === undefined ? 1 : options.coefficient));
  if (options.mask !== undefined) {
    // f_e = (1/N) Σ_t m_t #[e ∈ TopK(t)],  P_e = (1/N) Σ_t m_t s[t,e],  N = Σ_t m_t
    const { m, kept } = tokenMask(op, options.mask, r.T);
    const f = selectionCounts(r, 0, r.T, 1 / kept, m);
    const P = scale(sum(mul(r.scores, column(m, r.scores.dtype)), 0), 1 / kept);
    return scale(sum(mul(P, f)), alpha * r.E);
  }
  const f = selectionCounts(r, 0, r.T, 1 / r.T);
  return scale(sum(mul(mean(r.scores, 0), f)), alpha * r.E);
}

/**
 * ST-MoE router z-loss (Zoph et al. 2022, arXiv:2202.08906 §3): `L_z = (1/T) Σ_t (log Σ_e exp z[t,e])²` on the router logits
 * [T, E] (or a gate's `logits`). Gradient: `∂L_z/∂z[t] = (2/T) · lse(z[t]) · softmax(z[t])`.
 */
export function routerZLoss(logits: Tensor | Pick<GateOutput, 'logits'>, options: TokenMaskOption = {}): Tensor {
  const op = 'routerZLoss';
  const z = logits instanceof Tensor ? logits : checkObject<Pick<GateOutput, 'logits'>>(op, logits, 'logits', 'a [T, E] Tensor or a gate output with logits').logits;
  if (z === undefined) throw new ValueError(op, `this gate has no router logits (Laplace and hierarchical gates do not expose them); got ${describeValue(logits)} without logits`);
  assertTensor(z, op, 'logits');
  if (z.rank !== 2 || z.shape[0]! < 1) throw new ShapeError(op, `logits must be [T, E] with T ≥ 1; got ${fmtShape(z.shape)}`);
  if (hasNaN(z.data)) throw new ValueError(op, `logits ${fmtShape(z.shape)} contain NaN`);
  if (checkOptions(op, options).mask !== undefined) {
    // (1/N) Σ_t m_t lse(z_t)², N = Σ_t m_t
    const { m, kept } = tokenMask(op, options.mask, z.shape[0]!);
    return scale(sum(mul(square(logsumexp(z, -1, true)), column(m, z.dtype))), 1 / kept);
  }
  return mean(square(logsumexp(z, -1)));
}

/**
 * DeepSeekMoE expert-level balance loss (Dai et al. 2024, arXiv:2401.06066 §3.3): `L_ExpBal = α · Σ_e f_e · P_e` with
 *   `f_e = E/(K·T) · #{t : e ∈ TopK(t)}` and `P_e = (1/T) Σ_t s[t,e]`,
 * over the E routed experts (N' = mN − K_s and K' = mK − K_s in the paper's notation: shared
 * experts are not in the gate). Uniform routing gives `L = α` (f_e = 1, P_e = 1/E).
 */
export function expertBalanceLoss(gate: RoutedScores, options: { readonly alpha?: number } = {}): Tensor {
  const op = 'expertBalanceLoss';
  const r = readRouting(op, gate);
  const f = selectionCounts(r, 0, r.T, r.E / (r.K * r.T));
  return scale(sum(mul(mean(r.scores, 0), f)), checkNumber('expertBalanceLoss', 'alpha', (checkOptions('expertBalanceLoss', options).alpha === undefined ? 1 : options.alpha)));
}

/**
 * DeepSeekMoE device-level balance loss (Dai et al. 2024, arXiv:2401.06066 §3.3): experts split into `numDevices` contiguous
 * equal groups; `L_DevBal = α · Σ_d f'_d · P'_d` with f'_d the mean of the expert-level f_e over
 * device d and P'_d the sum of P_e over it. Uniform routing gives `L = α`.
 */
export function deviceBalanceLoss(gate: RoutedScores, options: { readonly numDevices: number; readonly alpha?: number }): Tensor {
  const op = 'deviceBalanceLoss';
  const r = readRouting(op, gate);
  const n = checkObject<{ numDevices: number }>(op, options, 'options', 'an object { numDevices, alpha? }').numDevices;
  const alpha = checkNumber(op, 'alpha', options.alpha === undefined ? 1 : options.alpha);
  if (!Number.isInteger(n) || n < 1 || r.E % n !== 0) throw new ValueError(op, `numDevices must be a positive divisor of E = ${r.E}; got ${describeValue(n)}`);
  const per = r.E / n;
  const fDev = reshape(selectionCounts(r, 0, r.T, r.E / (r.K * r.T) / per), [n, per]);
  const pDev = reshape(mean(r.scores, 0), [n, per]);
  return scale(sum(mul(sum(fDev, 1), sum(pDev, 1))), alpha);
}

/**
 * DeepSeek-V3 complementary sequence-wise balance loss (DeepSeek-AI 2024, arXiv:2412.19437
 * §2.1.2), averaged over the sequences of
 * the batch (tokens are consecutive sequences of `seqLen`): for each sequence,
 *   `L_seq = α · Σ_e f_e · P_e`,  `f_e = E/(K·L) · #{t in seq : e ∈ TopK(t)}`,
 *   `s'[t,e] = s[t,e] / Σ_j s[t,j]`,  `P_e = (1/L) Σ_{t in seq} s'[t,e]`.
 * The selection counted is the gate's `indices` (with loss-free balancing these include the bias).
 * Uniform routing in every sequence gives `L = α`.
 */
export function sequenceBalanceLoss(gate: RoutedScores, options: { readonly seqLen?: number; readonly alpha?: number } & TokenMaskOption = {}): Tensor {
  const op = 'sequenceBalanceLoss';
  const r = readRouting(op, gate);
  checkOptions(op, options);
  const alpha = checkNumber(op, 'alpha', options.alpha === undefined ? 1 : options.alpha);
  const L = options.seqLen ?? r.T;
  if (!Number.isInteger(L) || L < 1 || r.T % L !== 0) throw new ValueError(op, `seqLen must be a positive divisor of T = ${r.T}; got ${describeValue(L)}`);
  const B = r.T / L;
  if (options.mask !== undefined) {
    // per sequence b with N_b = Σ_{t∈b} m_t kept tokens: f[b,e] = E/(K·N_b) Σ m_t #[e ∈ TopK(t)],
    // P[b,e] = (1/N_b) Σ m_t s'[t,e]; the loss averages over the sequences with N_b ≥ 1.
    const { m } = tokenMask(op, options.mask, r.T);
    const w = new Float64Array(r.T);
    let live = 0;
    for (let b = 0; b < B; b++) {
      let n = 0;
      for (let t = b * L; t < (b + 1) * L; t++) n += m[t]!;
      if (n > 0) live++;
      for (let t = b * L; t < (b + 1) * L; t++) w[t] = n > 0 ? m[t]! / n : 0;
    }
    const fm = allocate(r.scores.dtype, B * r.E);
    for (let b = 0; b < B; b++) fm.set(selectionCounts(r, b * L, (b + 1) * L, r.E / r.K, w).data, b * r.E);
    const normalizedM = div(r.scores, sum(r.scores, 1, true));
    const Pm = sum(reshape(mul(normalizedM, column(w, r.scores.dtype)), [B, L, r.E]), 1);
    return scale(sum(mul(Pm, fromData(fm, [B, r.E]))), alpha / live);
  }
  const fData = allocate(r.scores.dtype, B * r.E);
  for (let b = 0; b < B; b++) fData.set(selectionCounts(r, b * L, (b + 1) * L, r.E / (r.K * L)).data, b * r.E);
  const f = fromData(fData, [B, r.E]);
  const normalized = div(r.scores, sum(r.scores, 1, true));
  const P = mean(reshape(normalized, [B, L, r.E]), 1);
  return scale(mean(sum(mul(P, f), 1)), alpha);
}

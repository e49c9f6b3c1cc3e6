/**
 * Scaled dot-product attention (Vaswani et al. 2017, arXiv:1706.03762, eq. 1), multi-head by batching:
 *   S = c·Q Kᵀ (c = 1/√d_k by default),  S_ij = −∞ where masked,  P = softmax_j(S) (max-shifted),  Y = P V
 * Forward: fused — S = Q Kᵀ and Y = P V on the matmul backend, the masked max-shifted softmax in
 * place between them; one tape node, P kept for the backward (no recomputation).
 * VJP (analytic; P enters as a recorded op, `probabilitiesOp`, whose own VJP/JVP are the softmax rules):
 *   dV = Pᵀ dY,  dP = dY Vᵀ,  dS = P ⊙ (dP − rowsum(dP ⊙ P)),  dQ = c·dS K,  dK = c·dSᵀ Q
 * JVP:  Ṡ = c·(Q̇ Kᵀ + Q K̇ᵀ),  Ṗ = P ⊙ (Ṡ − rowsum(Ṡ ⊙ P)),  Ẏ = Ṗ V + P V̇
 * Both are written with differentiable engine ops (matmul, where, softmax, weightedCenter), so grad of
 * grad and forward-over-reverse work. `attentionComposed` is the same function built from engine ops
 * only (the reference the fused forward is tested and benchmarked against).
 */
import { Tensor, allocate, fromData, assertTensor, commonDType, type TypedArray } from '../tensor.js';
import { getBackend } from '../backend/backend.js';
import { record } from '../tape.js';
import { ShapeError, ValueError, fmtShape } from '../errors.js';
import { broadcastShapes, sizeOf } from '../shape.js';
import { describeValue, checkOptions } from '../validate.js';
import { add, mul, where } from './arithmetic.js';
import { reshape, transpose, broadcastTo } from './shape-ops.js';
import { matmul } from './matmul.js';
import { softmax, weightedCenter } from './softmax.js';

/** Options of {@link scaledDotProductAttention}. */
export interface AttentionOptions {
  /** Causal (autoregressive) mask: query i attends to keys j ≤ i (PyTorch's `is_causal`, top-left aligned). Default false. */
  readonly causal?: boolean;
  /**
   * Attention mask of 0/1 values (1 = attend), broadcastable to [..., Tq, Tk] (e.g. [Tq, Tk] or
   * [B, 1, Tq, Tk]); combined with `causal` by AND. Not differentiated.
   */
  readonly mask?: Tensor | null;
  /** Score scale c (default 1/√d_k). */
  readonly scale?: number;
}

interface Geometry { lead: number[]; N: number; Tq: number; Tk: number; dk: number; dv: number; c: number }

function checkArgs(op: string, q: Tensor, k: Tensor, v: Tensor, options: AttentionOptions): Geometry {
  assertTensor(q, op, 'q'); assertTensor(k, op, 'k'); assertTensor(v, op, 'v');
  commonDType(op, q, k, v);
  checkOptions(op, options);
  if (q.rank < 2 || k.rank !== q.rank || v.rank !== q.rank) {
    throw new ShapeError(op, `q, k, v must have one rank ≥ 2 ([..., T, d]); got q ${fmtShape(q.shape)}, k ${fmtShape(k.shape)}, v ${fmtShape(v.shape)}`);
  }
  const r = q.rank;
  const lead = q.shape.slice(0, r - 2);
  for (let i = 0; i < r - 2; i++) {
    if (k.shape[i] !== lead[i] || v.shape[i] !== lead[i]) throw new ShapeError(op, `q, k, v must share their leading (batch, head) dims; got q ${fmtShape(q.shape)}, k ${fmtShape(k.shape)}, v ${fmtShape(v.shape)}`);
  }
  const Tq = q.shape[r - 2]!, dk = q.shape[r - 1]!, Tk = k.shape[r - 2]!, dv = v.shape[r - 1]!;
  if (k.shape[r - 1] !== dk) throw new ShapeError(op, `q and k must have the same feature size d_k; got q ${fmtShape(q.shape)} and k ${fmtShape(k.shape)}`);
  if (v.shape[r - 2] !== Tk) throw new ShapeError(op, `k and v must have the same number of keys Tk; got k ${fmtShape(k.shape)} and v ${fmtShape(v.shape)}`);
  if (Tk < 1 || dk < 1) throw new ShapeError(op, `needs at least one key and d_k ≥ 1; got k ${fmtShape(k.shape)}`);
  if (options.causal !== undefined && typeof options.causal !== 'boolean') throw new ValueError(op, `causal must be a boolean; got ${describeValue(options.causal)}`);
  const c = options.scale ?? 1 / Math.sqrt(dk);
  if (!(typeof c === 'number' && Number.isFinite(c))) throw new ValueError(op, `scale must be a finite number; got ${describeValue(options.scale)}`);
  if (options.mask !== undefined && options.mask !== null) {
    if (!(options.mask instanceof Tensor)) throw new ValueError(op, `mask must be a Tensor of 0/1 values broadcastable to ${fmtShape([...lead, Tq, Tk])}; got ${describeValue(options.mask)}`);
    const target = [...lead, Tq, Tk];
    let ok = options.mask.rank <= target.length;
    if (ok) { try { ok = broadcastShapes(options.mask.shape, target, op).every((d, i) => d === target[i]); } catch { ok = false; } }
    if (!ok) throw new ShapeError(op, `mask ${fmtShape(options.mask.shape)} does not broadcast to [..., Tq, Tk] = ${fmtShape(target)}`);
  }
  for (const [name, t] of [['q', q], ['k', k], ['v', v]] as const) {
    if (t.data.some((x) => !Number.isFinite(x))) throw new ValueError(op, `${name} ${fmtShape(t.shape)} contains NaN or ±Infinity`);
  }
  return { lead, N: sizeOf(lead), Tq, Tk, dk, dv, c };
}

/** The 0/1 "may attend" tensor ([Tq, Tk] for causal only, [...lead, Tq, Tk] with a mask), or null when all may. */
function allowedOf(g: Geometry, options: AttentionOptions, dtype: Tensor['dtype']): Tensor | null {
  const causal = options.causal === true;
  const mask = options.mask ?? null;
  if (!causal && !mask) return null;
  const shape = mask ? [...g.lead, g.Tq, g.Tk] : [g.Tq, g.Tk];
  const m = mask ? broadcastTo(mask, shape).data : null;
  const out = allocate(dtype, sizeOf(shape));
  for (let at = 0; at < out.length; at++) {
    const j = at % g.Tk, i = Math.floor(at / g.Tk) % g.Tq;
    out[at] = (!causal || j <= i) && (!m || m[at] !== 0) ? 1 : 0;
  }
  return fromData(out, shape);
}

/** P = softmax(c·Q Kᵀ masked) as [N, Tq, Tk], built from differentiable engine ops. */
function probabilities(q3: Tensor, k3: Tensor, c: number, allowed: Tensor | null, N: number): Tensor {
  let s = mul(matmul(q3, transpose(k3)), c);
  if (allowed) s = where(allowed.rank === 2 ? allowed : reshape(allowed, [N, allowed.shape[allowed.rank - 2]!, allowed.shape[allowed.rank - 1]!]), s, -Infinity);
  return softmax(s, -1);
}

/**
 * Scaled dot-product attention (Vaswani et al. 2017, arXiv:1706.03762, eq. 1; PyTorch
 * `F.scaled_dot_product_attention`): `Y = softmax(c·Q Kᵀ + M) V` with c = 1/√d_k and M = −∞ where a
 * key is masked (causal: key j > query i). Multi-head: put heads on a leading axis, q [B, H, Tq, d_k].
 * The softmax is max-shifted. Fused forward; analytic VJP and JVP (engine/ops/attention.ts), differentiable
 * to any order.
 *
 * @param q - queries [..., Tq, d_k] (float64 or float32).
 * @param k - keys [..., Tk, d_k], same leading dims and dtype.
 * @param v - values [..., Tk, d_v], same leading dims and dtype.
 * @param options - `causal`, `mask` (0/1, broadcastable to [..., Tq, Tk]), `scale`; see {@link AttentionOptions}.
 * @returns Y [..., Tq, d_v].
 * @example
 * const y = scaledDotProductAttention(q, k, v, { causal: true });  // q, k, v [B, H, T, d]
 * @throws {@link ShapeError} on mismatched ranks, leading dims, d_k or Tk, or a mask that does not
 *   broadcast; {@link DTypeError} on mixed dtypes; {@link ValueError} for NaN/±∞ inputs, a bad scale, or
 *   a query whose every key is masked (its softmax would be 0/0).
 */
export function scaledDotProductAttention(q: Tensor, k: Tensor, v: Tensor, options: AttentionOptions = {}): Tensor {
  const op = 'scaledDotProductAttention';
  const g = checkArgs(op, q, k, v, options);
  const { N, Tq, Tk, dk, dv, c } = g;
  const allowed = allowedOf(g, options, q.dtype);
  const al = allowed?.data ?? null, perN = allowed !== null && allowed.rank > 2;
  // S = Q Kᵀ on the matmul backend (Kᵀ laid out first), then the masked, max-shifted softmax in place.
  const kd = k.data, kt = allocate(k.dtype, N * dk * Tk);
  for (let n = 0; n < N; n++) for (let j = 0; j < Tk; j++) for (let t = 0; t < dk; t++) kt[(n * dk + t) * Tk + j] = kd[(n * Tk + j) * dk + t]!;
  const P = allocate(q.dtype, N * Tq * Tk);
  getBackend().matmul(q.data, kt, P, N, Tq, dk, Tk);
  for (let n = 0; n < N; n++) {
    for (let i = 0; i < Tq; i++) {
      const o = (n * Tq + i) * Tk, ao = ((perN ? n * Tq : 0) + i) * Tk;
      let m = -Infinity;
      for (let j = 0; j < Tk; j++) {
        if (al && al[ao + j] === 0) { P[o + j] = -Infinity; continue; }
        const sv = c * P[o + j]!;
        P[o + j] = sv;
        if (sv > m) m = sv;
      }
      if (m === -Infinity) throw new ValueError(op, `query ${i} of batch entry ${n} has every key masked${options.mask ? ` by mask ${fmtShape(options.mask.shape)}` : ''} (its softmax is 0/0); allow at least one key per query`);
      let z = 0;
      for (let j = 0; j < Tk; j++) { const e = Math.exp(P[o + j]! - m); P[o + j] = e; z += e; }
      for (let j = 0; j < Tk; j++) P[o + j] = P[o + j]! / z;
    }
  }
  const out = allocate(q.dtype, N * Tq * dv);
  getBackend().matmul(P, v.data, out, N, Tq, Tk, dv);
  const y = fromData(out, [...g.lead, Tq, dv]);
  const q3 = () => reshape(q, [N, Tq, dk]), k3 = () => reshape(k, [N, Tk, dk]), v3 = () => reshape(v, [N, Tk, dv]);
  // P as a differentiable function of (q, k): the saved values, recorded with their own VJP/JVP.
  const probs = () => probabilitiesOp(q3(), k3(), P, c);
  return record(op, [q, k, v], y, (dy, needs) => {
    const dY = reshape(dy, [N, Tq, dv]);
    const Pt = needs[0] || needs[1] ? probs() : fromData(P, [N, Tq, Tk]);
    const dV = needs[2] ? reshape(matmul(transpose(Pt), dY), v.shape) : null;
    if (!needs[0] && !needs[1]) return [null, null, dV];
    const dS = mul(mul(Pt, weightedCenter(matmul(dY, transpose(v3())), Pt, -1)), c);
    return [
      needs[0] ? reshape(matmul(dS, k3()), q.shape) : null,
      needs[1] ? reshape(matmul(transpose(dS), q3()), k.shape) : null,
      dV,
    ];
  }, (tangents) => {
    const [tq, tk, tv] = [tangents[0] ?? null, tangents[1] ?? null, tangents[2] ?? null];
    const Pt = probs();
    let ty: Tensor | null = null;
    if (tq || tk) ty = matmul(probsTangent(q3(), k3(), Pt, c, tq && reshape(tq, [N, Tq, dk]), tk && reshape(tk, [N, Tk, dk])), v3());
    if (tv) { const t = matmul(Pt, reshape(tv, [N, Tk, dv])); ty = ty ? add(ty, t) : t; }
    return ty ? reshape(ty, y.shape) : fromData(allocate(y.dtype, y.size), y.shape);
  });
}

/** Ṗ = P ⊙ (Ṡ − rowsum(Ṡ ⊙ P)) with Ṡ = c·(Q̇ Kᵀ + Q K̇ᵀ) (null tangents are zero). */
function probsTangent(Q: Tensor, K: Tensor, P: Tensor, c: number, tq: Tensor | null, tk: Tensor | null): Tensor {
  const a = tq ? matmul(tq, transpose(K)) : null;
  const b = tk ? matmul(Q, transpose(tk)) : null;
  const tS = mul(a && b ? add(a, b) : (a ?? b)!, c);
  return mul(P, weightedCenter(tS, P, -1));
}

/**
 * The attention probabilities P = softmax(c·Q Kᵀ, masked) [N, Tq, Tk] as a recorded op whose forward
 * returns the values the fused forward already computed (no recomputation) and whose rules are
 *   VJP: dS = c·P ⊙ (dP − rowsum(dP ⊙ P)), dQ = dS K, dK = dSᵀ Q;   JVP: Ṗ as in probsTangent.
 * Masked entries have P = 0, so they get no gradient. Differentiable to any order (P is this op's output).
 */
function probabilitiesOp(Q: Tensor, K: Tensor, values: TypedArray, c: number): Tensor {
  const [N, Tq] = Q.shape as [number, number, number];
  const P = fromData(values, [N, Tq, K.shape[1]!]);
  return record('scaledDotProductAttention.probabilities', [Q, K], P, (dP, needs) => {
    const dS = mul(mul(P, weightedCenter(dP, P, -1)), c);
    return [needs[0] ? matmul(dS, K) : null, needs[1] ? matmul(transpose(dS), Q) : null];
  }, ([tq, tk]) => (tq || tk ? probsTangent(Q, K, P, c, tq ?? null, tk ?? null) : fromData(allocate(P.dtype, P.size), P.shape)));
}

/**
 * Internal reference: the same attention composed from engine ops only (matmul, where, softmax),
 * recording every intermediate; the fused op is tested and benchmarked against it.
 */
export function attentionComposed(q: Tensor, k: Tensor, v: Tensor, options: AttentionOptions = {}): Tensor {
  const g = checkArgs('attentionComposed', q, k, v, options);
  const P = probabilities(reshape(q, [g.N, g.Tq, g.dk]), reshape(k, [g.N, g.Tk, g.dk]), g.c, allowedOf(g, options, q.dtype), g.N);
  return reshape(matmul(P, reshape(v, [g.N, g.Tk, g.dv])), [...g.lead, g.Tq, g.dv]);
}

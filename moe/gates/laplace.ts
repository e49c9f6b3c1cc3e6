/**
 * Laplace gate (Nguyen et al. 2024, arXiv:2410.02935): logits z[t,e] = −‖x_t − ω_e‖₂ (no bias, as FuseMoE's
 * `−cdist(x, W)`), then a softmax, dense or over the top-k renormalized.
 */
import { Tensor, fromData, add, mul, sub, div, neg, sum, matmul, transpose, reshape, where, ShapeError, DTypeError, fmtShape } from '../../engine/index.js';
// built-in VJPs: recorded as the engine's own (their cotangents may be reused; engine/buffer-pool.ts)
import { record } from '../../engine/tape.js';
import { allocate } from '../../engine/tensor.js';
import { checkFinite, checkOpName, checkK, checkCapacity, rowTopK, denseIndices, gateOutput, type GateOptions } from './common.js';
import { checkOptions } from '../../engine/validate.js';
import { subsetSoftmax } from './softmax.js';
import type { GateOutput } from '../types.js';

/**
 * Fused negative distances z[t,e] = −‖x_t − ω_e‖₂.  x [T, D], centroids ω [E, D] → z [T, E].
 * VJP with c[t,e] = g[t,e] / ‖x_t − ω_e‖:  g_x = −(rowsum(c) ⊙ x − c ω),  g_ω = cᵀ x − colsum(c) ⊙ ω.
 * NOTE: the norm has a kink at x_t = ω_e; there we use the subgradient 0 (c[t,e] := 0), the
 * minimum-norm element of the subdifferential (the unit ball). Second derivatives there are not
 * meaningful. O(T·E·D) via matmul, no [T, E, D] intermediate.
 * JVP with r = x_t − ω_e:  ż[t,e] = −⟨r, ẋ_t − ω̇_e⟩/‖r‖ (0 at r = 0), expanded as
 *   ⟨r, ẋ_t⟩ = rowsum(x ⊙ ẋ)_t − (ẋ ωᵀ)_{te},   −⟨r, ω̇_e⟩ = −(x ω̇ᵀ)_{te} + rowsum(ω ⊙ ω̇)_e   (matmuls, no [T, E, D]).
 */
export function laplaceLogits(op: string, x: Tensor, centroids: Tensor): Tensor {
  checkOpName('laplaceLogits', op);
  checkFinite(op, x, 'x', 2, '[T, D]');
  checkFinite(op, centroids, 'centroids', 2, '[E, D]');
  if (x.shape[1] !== centroids.shape[1]) throw new ShapeError(op, `x [T, D] and centroids [E, D] must share D; got ${fmtShape(x.shape)} and ${fmtShape(centroids.shape)}`);
  const T = x.shape[0]!, D = x.shape[1]!, E = centroids.shape[0]!;
  const dx = x.data, dw = centroids.data;
  const out = allocate(x.dtype, T * E);
  const away = new Uint8Array(T * E); // 1 where x_t ≠ ω_e (the norm is differentiable there)
  for (let t = 0; t < T; t++) {
    for (let e = 0; e < E; e++) {
      let s = 0;
      for (let i = 0; i < D; i++) { const r = dx[t * D + i]! - dw[e * D + i]!; s += r * r; }
      out[t * E + e] = -Math.sqrt(s);
      away[t * E + e] = s > 0 ? 1 : 0;
    }
  }
  const z = fromData(out, [T, E]);
  const mask = fromData(Float64Array.from(away), [T, E]);
  return record(op, [x, centroids], z, (dy, needs) => {
    // Shape: [T, E]; the distance −z is replaced by 1 where it is 0, and c is 0 there (subgradient 0)
    const c = where(mask, div(dy, where(mask, neg(z), 1)), 0);
    const gx = needs[0] ? neg(sub(mul(sum(c, 1, true), x), matmul(c, centroids))) : null;
    const gw = needs[1] ? sub(matmul(transpose(c), x), mul(reshape(sum(c, 0), [E, 1]), centroids)) : null;
    return [gx, gw];
  }, ([dx, dw]) => {
    const c = where(mask, div(1, where(mask, neg(z), 1)), 0); // 1/‖r‖, 0 at r = 0 (subgradient 0)
    let inner: Tensor | null = null; // ⟨r, ẋ_t − ω̇_e⟩, Shape: [T, E]
    if (dx) inner = sub(sum(mul(x, dx), 1, true), matmul(dx, transpose(centroids)));
    if (dw) {
      const t = sub(reshape(sum(mul(centroids, dw), 1), [1, E]), matmul(x, transpose(dw)));
      inner = inner ? add(inner, t) : t;
    }
    return neg(mul(c, inner!));
  });
}

/**
 * Laplace gate: z = −‖x − ω_e‖ (the router logits), scores = softmax(z) [T, E]; dense
 * (k omitted: weights = scores) or top-k of z (nearest centroids; ties → lowest index) with the
 * softmax renormalized over the selected, weights [T, k].  x [T, D], centroids [E, D].
 * VJP: the softmax VJP (§1.1/§1.2) then ∂z/∂x = −r/‖r‖, ∂z/∂ω_e = r/‖r‖ (r = x − ω_e); 0 at r = 0.
 */
export function laplaceGate(x: Tensor, centroids: Tensor, k?: number, options: GateOptions = {}): GateOutput {
  const op = 'laplaceGate';
  const [T, D] = checkFinite(op, x, 'x', 2, '[T, D]') as [number, number];
  const [E, Dc] = checkFinite(op, centroids, 'centroids', 2, '[E, D]') as [number, number];
  if (Dc !== D) throw new ShapeError(op, `centroids must be [E, D] with D = ${D} to match x ${fmtShape(x.shape)}; got ${fmtShape(centroids.shape)}`);
  if (x.dtype !== centroids.dtype) throw new DTypeError(op, `x is ${x.dtype} but centroids are ${centroids.dtype}`);
  const capacity = checkCapacity(op, checkOptions(op, options));
  const z = laplaceLogits(op, x, centroids);
  const scores = subsetSoftmax(op, z, null, null);
  if (k === undefined) return gateOutput(scores, denseIndices(T, E), scores, z, E, capacity);
  checkK(op, k, E);
  const idx = rowTopK(z.data, T, E, k);
  return gateOutput(subsetSoftmax(op, z, idx, null), idx, scores, z, E, capacity);
}

/**
 * Fused normalization ops over the last axis: layerNorm (Ba, Kiros & Hinton 2016, arXiv:1607.06450,
 * eq. 4) and rmsNorm (Zhang & Sennrich 2019, arXiv:1910.07467, eq. 4). Forward is one pass per row
 * (statistics accumulated in float64 whatever the dtype) that keeps x̂ and r for the backward; the VJP
 * and the JVP are the analytic formulas, written with differentiable engine ops (x̂ and r enter as
 * recorded ops with their own rules, `savedStats`) so grad of grad and forward-over-reverse work.
 *
 * Notation, per row of D values (the last axis): μ = mean(x), σ² = mean((x − μ)²) (biased, as
 * PyTorch), r = 1/√(σ² + ε), x̂ = (x − μ)·r, y = γ ⊙ x̂ + β; for RMSNorm r = 1/√(mean(x²) + ε), x̂ = x·r,
 * y = γ ⊙ x̂. With g = dy ⊙ γ:
 *   layerNorm: dx = r·(g − mean(g) − x̂·mean(g ⊙ x̂)),  dγ = Σ_rows dy ⊙ x̂,  dβ = Σ_rows dy
 *   rmsNorm:   dx = r·(g − x̂·mean(g ⊙ x̂)),            dγ = Σ_rows dy ⊙ x̂
 * The JVPs are the same linear maps applied to the tangents:
 *   layerNorm: ẏ = γ ⊙ r·(ẋ − mean(ẋ) − x̂·mean(ẋ ⊙ x̂)) + γ̇ ⊙ x̂ + β̇
 *   rmsNorm:   ẏ = γ ⊙ r·(ẋ − x̂·mean(ẋ ⊙ x̂)) + γ̇ ⊙ x̂
 */
import { Tensor, allocate, fromData, assertTensor, zeros, type TypedArray } from '../tensor.js';
import { record } from '../tape.js';
import { ShapeError, DTypeError, ValueError, fmtShape } from '../errors.js';
import { describeValue } from '../validate.js';
import { add, sub, mul, square, scale } from './arithmetic.js';
import { mean } from './reduce.js';
import { sumTo, broadcastTo } from './shape-ops.js';

function checkNormArgs(op: string, x: Tensor, weight: Tensor | null | undefined, bias: Tensor | null | undefined, eps: number): number {
  assertTensor(x, op, 'x');
  if (x.rank < 1 || x.shape[x.rank - 1]! < 1) throw new ShapeError(op, `x needs rank ≥ 1 and a last axis of size ≥ 1 (the normalized features); got ${fmtShape(x.shape)}`);
  const D = x.shape[x.rank - 1]!;
  for (const [name, p] of [['weight', weight], ['bias', bias]] as const) {
    if (p === null || p === undefined) continue;
    assertTensor(p, op, name);
    if (p.rank !== 1 || p.shape[0] !== D) throw new ShapeError(op, `${name} must be [D] = [${D}] (the last axis of x ${fmtShape(x.shape)}); got ${fmtShape(p.shape)}`);
    if (p.dtype !== x.dtype) throw new DTypeError(op, `${name} is ${p.dtype} but x is ${x.dtype}`);
  }
  if (!(typeof eps === 'number' && Number.isFinite(eps) && eps >= 0)) throw new ValueError(op, `eps must be a finite number ≥ 0; got ${describeValue(eps)}`);
  return D;
}

/** Shared forward loop: per row, x̂ = (x − μ)·r (μ = 0 for RMSNorm), y = γ ⊙ x̂ + β. */
function normForward(op: string, x: Tensor, weight: Tensor | null, bias: Tensor | null, eps: number, centered: boolean): { y: Tensor; xhat: TypedArray; rstd: TypedArray } {
  const D = x.shape[x.rank - 1]!;
  const rows = x.size / D;
  const d = x.data, g = weight?.data, b = bias?.data;
  const out = allocate(x.dtype, x.size), xhat = allocate(x.dtype, x.size), rstd = allocate(x.dtype, rows);
  for (let row = 0; row < rows; row++) {
    const o = row * D;
    let mu = 0;
    if (centered) { for (let j = 0; j < D; j++) mu += d[o + j]!; mu /= D; }
    let ss = 0;
    for (let j = 0; j < D; j++) { const c = d[o + j]! - mu; ss += c * c; }
    if (!Number.isFinite(ss)) throw new ValueError(op, `x ${fmtShape(x.shape)} has NaN or ±Infinity in row ${row}`);
    const denom = ss / D + eps;
    if (!(denom > 0)) throw new ValueError(op, `row ${row} of x ${fmtShape(x.shape)} is constant and eps = 0: the normalization divides by zero`);
    const r = 1 / Math.sqrt(denom);
    rstd[row] = r;
    for (let j = 0; j < D; j++) {
      const xh = (d[o + j]! - mu) * r;
      xhat[o + j] = xh;
      out[o + j] = (g ? g[j]! * xh : xh) + (b ? b[j]! : 0);
    }
  }
  return { y: fromData(out, x.shape), xhat, rstd };
}

/**
 * x̂ and r as differentiable functions of x, holding the values the forward computed (no recomputation):
 * two recorded ops whose rules are the analytic derivatives, each using the other, so grad of grad and
 * forward-over-reverse see the full dependence on x:
 *   x̂ = (x − μ)·r:  dx = r·(g − mean(g) − x̂·mean(g ⊙ x̂))   (RMSNorm: no mean(g) term)
 *   r = 1/√(σ² + ε): ∂r/∂x_j = −r²·x̂_j/D, so dx = −(r²/D)·x̂ ⊙ g_r and ṙ = −r²·mean(x̂ ⊙ ẋ)
 */
function savedStats(op: string, x: Tensor, xhatData: TypedArray, rData: TypedArray, centered: boolean): { xhat: () => Tensor; r: () => Tensor } {
  const D = x.shape[x.rank - 1]!;
  const rShape = [...x.shape.slice(0, -1), 1];
  const xhat = (): Tensor => {
    const xh = fromData(xhatData, x.shape);
    return record(`${op}.xhat`, [x], xh, (g) => [normLinear(g, xh, r(), centered)], ([t]) => (t ? normLinear(t, xh, r(), centered) : zeros(x.shape, x.dtype)));
  };
  const r = (): Tensor => {
    const rt = fromData(rData, rShape);
    return record(`${op}.rstd`, [x], rt, (g) => [mul(xhat(), mul(square(rt), scale(g, -1 / D)))],
      ([t]) => (t ? mul(scale(square(rt), -1), mean(mul(xhat(), t), -1, true)) : zeros(rShape, x.dtype)));
  };
  return { xhat, r };
}

/** The normalization's Jacobian applied to a row vector field v: r·(v − mean(v) − x̂·mean(v ⊙ x̂)). */
function normLinear(v: Tensor, xhat: Tensor, r: Tensor, centered: boolean): Tensor {
  const proj = mul(xhat, mean(mul(v, xhat), -1, true));
  return mul(r, centered ? sub(sub(v, mean(v, -1, true)), proj) : sub(v, proj));
}

function normOp(op: string, x: Tensor, weight: Tensor | null, bias: Tensor | null, eps: number, centered: boolean): Tensor {
  const { y, xhat: xhatData, rstd } = normForward(op, x, weight, bias, eps, centered);
  const stats = savedStats(op, x, xhatData, rstd, centered);
  const inputs = [x, ...(weight ? [weight] : []), ...(bias ? [bias] : [])];
  const iw = weight ? 1 : -1, ib = bias ? (weight ? 2 : 1) : -1;
  const D = x.shape[x.rank - 1]!;
  return record(op, inputs, y, (dy, needs) => {
    const xhat = stats.xhat();
    const grads: (Tensor | null)[] = inputs.map(() => null);
    if (needs[0]) grads[0] = normLinear(weight ? mul(dy, weight) : dy, xhat, stats.r(), centered);
    if (iw > 0 && needs[iw]) grads[iw] = sumTo(mul(dy, xhat), [D]);
    if (ib > 0 && needs[ib]) grads[ib] = sumTo(dy, [D]);
    return grads;
  }, (tangents) => {
    const xhat = stats.xhat();
    const tx = tangents[0] ?? null, tw = iw > 0 ? tangents[iw] ?? null : null, tb = ib > 0 ? tangents[ib] ?? null : null;
    let ty: Tensor | null = null;
    if (tx) { const lin = normLinear(tx, xhat, stats.r(), centered); ty = weight ? mul(lin, weight) : lin; }
    if (tw) { const t = mul(xhat, tw); ty = ty ? add(ty, t) : t; }
    if (tb) ty = ty ? add(ty, tb) : broadcastTo(tb, x.shape);
    return ty ?? zeros(x.shape, x.dtype);
  });
}

/**
 * Layer normalization over the last axis (Ba, Kiros & Hinton 2016, arXiv:1607.06450, eq. 4; PyTorch
 * `F.layer_norm(x, [D], weight, bias, eps)`): `y = γ ⊙ (x − μ)/√(σ² + ε) + β` per row, with μ and σ²
 * (biased) the row's mean and variance. Fused forward; analytic VJP
 * `dx = r·(g − mean(g) − x̂·mean(g ⊙ x̂))`, g = dy ⊙ γ, and JVP (formulas in engine/ops/norm.ts),
 * differentiable to any order.
 *
 * @param x - [..., D], float64 or float32.
 * @param weight - γ [D] (same dtype), or null/omitted for γ = 1.
 * @param bias - β [D] (same dtype), or null/omitted for β = 0.
 * @param eps - ε ≥ 0 added to the variance (default 1e-5, as PyTorch).
 * @returns y with the shape and dtype of x.
 * @example layerNorm(randn(new Rng(0), [4, 8]), ones([8]), zeros([8]));
 * @throws {@link ShapeError} when x is a scalar or weight/bias are not [D]; {@link DTypeError} when
 *   their dtype differs from x's; {@link ValueError} for eps < 0, non-finite rows, or a constant row with eps = 0.
 */
export function layerNorm(x: Tensor, weight?: Tensor | null, bias?: Tensor | null, eps = 1e-5): Tensor {
  const op = 'layerNorm';
  checkNormArgs(op, x, weight, bias, eps);
  return normOp(op, x, weight ?? null, bias ?? null, eps, true);
}

/**
 * RMS normalization over the last axis (Zhang & Sennrich 2019, arXiv:1910.07467, eq. 4; PyTorch
 * `F.rms_norm(x, [D], weight, eps)`): `y = γ ⊙ x/√(mean(x²) + ε)` per row. Fused forward; analytic VJP
 * `dx = r·(g − x̂·mean(g ⊙ x̂))`, g = dy ⊙ γ, and JVP (formulas in engine/ops/norm.ts), differentiable to any order.
 *
 * @param x - [..., D], float64 or float32.
 * @param weight - γ [D] (same dtype), or null/omitted for γ = 1.
 * @param eps - ε ≥ 0 added to the mean square (default 1e-6).
 * @returns y with the shape and dtype of x.
 * @example rmsNorm(randn(new Rng(0), [4, 8]), ones([8]));
 * @throws {@link ShapeError} when x is a scalar or weight is not [D]; {@link DTypeError} when its dtype
 *   differs from x's; {@link ValueError} for eps < 0, non-finite rows, or an all-zero row with eps = 0.
 */
export function rmsNorm(x: Tensor, weight?: Tensor | null, eps = 1e-6): Tensor {
  const op = 'rmsNorm';
  checkNormArgs(op, x, weight, null, eps);
  return normOp(op, x, weight ?? null, null, eps, false);
}

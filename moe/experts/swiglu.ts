/**
 * Fused SwiGLU gate (Shazeer 2020, arXiv:2002.05202) for the SwiGLU experts: one pass forward and
 * one pass per input gradient, instead of silu, mul and the half-dozen elementwise ops of their
 * composed backward.
 *   swiglu(G, U)          = silu(G) ⊙ U,     silu(g) = g·σ(g)
 *   swigluDGate(A, G, B)  = A ⊙ B ⊙ silu'(G) silu'(g) = σ(g)·(1 + g·(1 − σ(g)))     (= dG when A = dY, B = U)
 *   swigluDUp(A, G)       = A ⊙ silu(G)                                             (= dU when A = dY)
 *   silu''(g) = σ(g)(1 − σ(g))·(2 + g·(1 − 2σ(g)))  (second-order rules only, in engine ops)
 * Each op records its VJP and JVP next to its forward; all rules are built from these three ops
 * (and engine ops for silu''), so grad of grad and forward mode work.
 */
import { Tensor, fromData, add, mul, sigmoid, sub, ShapeError } from '../../engine/index.js';
// built-in VJPs: recorded as the engine's own (their cotangents may be reused; engine/buffer-pool.ts)
import { record } from '../../engine/tape.js';
import { commonDType, assertTensor, allocate, type TypedArray } from '../../engine/tensor.js';
import { fmtShape } from '../../engine/errors.js';

/** σ(g) without overflow: 1/(1 + e^−g) for g ≥ 0, e^g/(1 + e^g) below. */
function sig(g: number): number {
  if (g >= 0) return 1 / (1 + Math.exp(-g));
  const t = Math.exp(g);
  return t / (1 + t);
}

function sameShape(op: string, ts: readonly [string, Tensor][]): void {
  for (const [name, t] of ts) assertTensor(t, op, name);
  const [n0, t0] = ts[0]!;
  for (const [name, t] of ts.slice(1)) {
    commonDType(op, t0, t);
    if (t.shape.length !== t0.shape.length || t.shape.some((d, i) => d !== t0.shape[i])) throw new ShapeError(op, `${n0} and ${name} must have one shape; got ${fmtShape(t0.shape)} and ${fmtShape(t.shape)}`);
  }
}

const out = (like: Tensor, data: TypedArray): Tensor => fromData(data, like.shape);

/** silu''(g) in engine ops: σ(1 − σ)(2 + g(1 − 2σ)). */
function silu2(g: Tensor): Tensor {
  const s = sigmoid(g);
  return mul(mul(s, sub(1, s)), add(mul(g, sub(1, mul(s, 2))), 2));
}

/**
 * `silu(G) ⊙ U`. VJP: `dG = swigluDGate(dY, G, U)`, `dU = swigluDUp(dY, G)`.
 * JVP: `Ẏ = swigluDGate(Ġ, G, U) + swigluDUp(U̇, G)`.
 */
export function swiglu(g: Tensor, u: Tensor): Tensor {
  const op = 'swiglu';
  sameShape(op, [['g', g], ['u', u]]);
  const y = allocate(g.dtype, g.size), gd = g.data, ud = u.data;
  for (let i = 0; i < y.length; i++) { const v = gd[i]!; y[i] = v * sig(v) * ud[i]!; }
  return record(op, [g, u], out(g, y), (dy, needs) => [needs[0] ? swigluDGate(dy, g, u) : null, needs[1] ? swigluDUp(dy, g) : null],
    ([dg, du]) => (dg && du ? add(swigluDGate(dg, g, u), swigluDUp(du, g)) : dg ? swigluDGate(dg, g, u) : swigluDUp(du!, g)));
}

/**
 * `A ⊙ B ⊙ silu'(G)` (symmetric in A and B). VJP: `dA = swigluDGate(C, G, B)`, `dB = swigluDGate(C, G, A)`,
 * `dG = C ⊙ A ⊙ B ⊙ silu''(G)`. JVP: the sum of the same three terms with the tangents.
 */
export function swigluDGate(a: Tensor, g: Tensor, b: Tensor): Tensor {
  const op = 'swigluDGate';
  sameShape(op, [['a', a], ['g', g], ['b', b]]);
  const y = allocate(g.dtype, g.size), ad = a.data, gd = g.data, bd = b.data;
  for (let i = 0; i < y.length; i++) { const v = gd[i]!, s = sig(v); y[i] = ad[i]! * bd[i]! * s * (1 + v * (1 - s)); }
  const viaG = (c: Tensor): Tensor => mul(mul(mul(c, a), b), silu2(g));
  return record(op, [a, g, b], out(g, y), (c, needs) => [
    needs[0] ? swigluDGate(c, g, b) : null, needs[1] ? viaG(c) : null, needs[2] ? swigluDGate(c, g, a) : null,
  ], ([da, dg, db]) => [da ? swigluDGate(da, g, b) : null, dg ? viaG(dg) : null, db ? swigluDGate(a, g, db) : null]
    .filter((t): t is Tensor => t !== null).reduce((p, t) => add(p, t)));
}

/** `A ⊙ silu(G)`. VJP: `dA = swigluDUp(C, G)`, `dG = swigluDGate(C, G, A)`. JVP: `swigluDUp(Ȧ, G) + swigluDGate(A, G, Ġ)`. */
export function swigluDUp(a: Tensor, g: Tensor): Tensor {
  const op = 'swigluDUp';
  sameShape(op, [['a', a], ['g', g]]);
  const y = allocate(g.dtype, g.size), ad = a.data, gd = g.data;
  for (let i = 0; i < y.length; i++) { const v = gd[i]!; y[i] = ad[i]! * v * sig(v); }
  return record(op, [a, g], out(g, y), (c, needs) => [needs[0] ? swigluDUp(c, g) : null, needs[1] ? swigluDGate(c, g, a) : null],
    ([da, dg]) => (da && dg ? add(swigluDUp(da, g), swigluDGate(a, g, dg)) : da ? swigluDUp(da, g) : swigluDGate(a, g, dg!)));
}

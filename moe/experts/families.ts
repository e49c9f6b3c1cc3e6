/**
 * Expert families with parameters batched per expert (leading axis E); SwiGLU as in
 * Shazeer 2020 (arXiv:2002.05202), the FFN experts as in Shazeer et al. 2017 (arXiv:1701.06538):
 *   linear:                 h(x) = x·A[e] + b[e]                         A [E,D,O], b [E,O]
 *   relu|gelu|tanh|sigmoid: h(x) = φ(x·W1[e] + b1[e])·W2[e] + b2[e]      W1 [E,D,H], W2 [E,H,O]
 *   swiglu:                 h(x) = (silu(x·Wg[e]) ⊙ (x·Wu[e]))·Wd[e]     Wg, Wu [E,D,H], Wd [E,H,O]
 * (GELU is the exact erf form.) Experts are composed from the grouped matmul, the fused bias +
 * activation epilogue (fused-ffn.ts) and engine ops, so their gradients (and gradients of
 * gradients) come for free; applyExpert (plain engine ops) is the reference they are tested against.
 */
import {
  Tensor, Rng, randn, zeros, add, mul, relu, gelu, tanh, sigmoid, silu, matmul, reshape, slice, gatherRows,
  ShapeError, ValueError, fmtShape, type DType,
} from '../../engine/index.js';
import { segmentMatmul } from './segment-matmul.js';
import { segmentLinearAct, type FusedAct } from './fused-ffn.js';
import { swiglu } from './swiglu.js';
import { checkObject, checkCountIn, checkDType, checkIndexArray, checkTensor, describeValue, MAX_COUNT } from '../../engine/validate.js';

/** Expert family: affine, two-layer FFN with an activation (ReLU, GELU, tanh, sigmoid), or SwiGLU. */
export type ExpertKind = 'linear' | 'relu' | 'gelu' | 'tanh' | 'sigmoid' | 'swiglu';
/** Every {@link ExpertKind}. */
export const EXPERT_KINDS: readonly ExpertKind[] = ['linear', 'relu', 'gelu', 'tanh', 'sigmoid', 'swiglu'];

/** Linear experts: A [E, D, O], b [E, O]. (Type aliases, not interfaces, so they are TensorTrees.) */
export type LinearExpertParams = {
  /** A [E, D, O]. */
  readonly a: Tensor;
  /** b [E, O]. */
  readonly b: Tensor;
};
/** Two-layer FFN experts: W1 [E, D, H], b1 [E, H], W2 [E, H, O], b2 [E, O]. */
export type FfnExpertParams = {
  /** W1 [E, D, H]. */
  readonly w1: Tensor;
  /** b1 [E, H]. */
  readonly b1: Tensor;
  /** W2 [E, H, O]. */
  readonly w2: Tensor;
  /** b2 [E, O]. */
  readonly b2: Tensor;
};
/** SwiGLU experts (no biases, as in LLaMA/DeepSeek): Wg, Wu [E, D, H], Wd [E, H, O]. */
export type SwiGluExpertParams = {
  /** W_gate [E, D, H]: h = SiLU(x·W_gate) ⊙ (x·W_up). */
  readonly wGate: Tensor;
  /** W_up [E, D, H]. */
  readonly wUp: Tensor;
  /** W_down [E, H, O]: output h·W_down. */
  readonly wDown: Tensor;
};
/** The parameters of E experts of one family, batched on a leading axis E. */
export type ExpertParams = LinearExpertParams | FfnExpertParams | SwiGluExpertParams;

/** Sizes for {@link initExperts}. */
export interface ExpertDims {
  /** Number of experts E (the leading axis of every parameter). */
  readonly numExperts: number;
  /** Input width D. */
  readonly dIn: number;
  /** Hidden width H (ignored by linear experts). */
  readonly dHidden: number;
  /** Output width O (default D). */
  readonly dOut?: number;
  /** Parameter dtype (default float64). */
  readonly dtype?: DType;
}

/** Rows [N, D]: a rank-2 Tensor. */
function checkFiniteRows(op: string, x: unknown): void {
  checkTensor(op, x, 'x');
  if ((x as Tensor).rank !== 2) throw new ShapeError(op, `x must be [N, D]; got ${fmtShape((x as Tensor).shape)}`);
}

function checkKind(op: string, kind: string): asserts kind is ExpertKind {
  if (!(EXPERT_KINDS as readonly string[]).includes(kind)) throw new ValueError(op, `unknown expert kind ${typeof kind === 'string' ? `'${kind}'` : describeValue(kind)}; expected one of ${EXPERT_KINDS.join(', ')}`);
}

/**
 * Random expert parameters: weights ~ N(0, 1/fan_in) (LeCun), biases 0. Deterministic given `rng`.
 */
export function initExperts(rng: Rng, kind: ExpertKind, dims: ExpertDims): ExpertParams {
  const op = 'initExperts';
  checkKind(op, kind);
  if (rng === null || typeof rng !== 'object' || typeof (rng as Rng).normal !== 'function') throw new ValueError(op, `rng must be an Rng; got ${describeValue(rng)}`);
  const { numExperts: E, dIn: D, dHidden: H, dtype = 'float64' } = checkObject<ExpertDims>(op, dims, 'dims', 'an object { numExperts, dIn, dHidden, dOut?, dtype? }');
  const O = dims.dOut ?? D;
  for (const [name, v] of [['numExperts', E], ['dIn', D], ['dHidden', H], ['dOut', O]] as const) checkCountIn(op, name, v, 1, MAX_COUNT);
  checkDType(op, dtype);
  const w = (rows: number, cols: number) => randn(rng, [E, rows, cols], 1 / Math.sqrt(rows), dtype);
  if (kind === 'linear') return { a: w(D, O), b: zeros([E, O], dtype) };
  if (kind === 'swiglu') return { wGate: w(D, H), wUp: w(D, H), wDown: w(H, O) };
  return { w1: w(D, H), b1: zeros([E, H], dtype), w2: w(H, O), b2: zeros([E, O], dtype) };
}

const activations: Record<'relu' | 'gelu' | 'tanh' | 'sigmoid', (x: Tensor) => Tensor> = {
  relu, gelu: (x) => gelu(x, 'none'), tanh, sigmoid,
};

/** Checks that `params` has the fields and [E, ...] shapes of `kind`. Returns E. */
export function checkExpertParams(op: string, params: ExpertParams, kind: ExpertKind, dIn: number, input?: Tensor): number {
  checkKind(op, kind);
  checkObject(op, params, 'params', `${kind} expert params`);
  if (!Number.isInteger(dIn) || dIn < 1) throw new ValueError(op, `dIn must be a positive integer; got ${describeValue(dIn)}`);
  const need = kind === 'linear' ? ['a', 'b'] : kind === 'swiglu' ? ['wGate', 'wUp', 'wDown'] : ['w1', 'b1', 'w2', 'b2'];
  const p = params as unknown as Record<string, Tensor | undefined>;
  for (const k of need) if (!(p[k] instanceof Tensor)) throw new ValueError(op, `${kind} expert params need '${k}' (${need.join(', ')}); got keys ${Object.keys(p).join(', ')}`);
  const first = p[need[0]!]!;
  if (first.rank !== 3 || first.shape[1] !== dIn) {
    throw new ShapeError(op, `${kind} expert weight '${need[0]}' must be [E, ${dIn}, H]; got ${fmtShape(first.shape)}${input ? ` (input ${fmtShape(input.shape)})` : ''}`);
  }
  return first.shape[0]!;
}

/**
 * Applies every expert to its own segment of dispatched rows: rows [S, D] grouped by expert
 * (`offsets` [E+1], `expertOfRow` [S] from the plan) → [S, O]. Uses the grouped matmul.
 */
export function applyExperts(params: ExpertParams, kind: ExpertKind, rows: Tensor, offsets: Int32Array, expertOfRow: Int32Array): Tensor {
  const op = 'applyExperts';
  checkFiniteRows(op, rows);
  const E = checkExpertParams(op, params, kind, rows.shape[1]!, rows);
  checkIndexArray(op, offsets, 'offsets');
  checkIndexArray(op, expertOfRow, 'expertOfRow');
  for (let i = 0; i < expertOfRow.length; i++) {
    if (expertOfRow[i]! < 0 || expertOfRow[i]! >= E) throw new ValueError(op, `expertOfRow[${i}] = ${expertOfRow[i]} is out of range [0, ${E})`);
  }
  if (offsets.length !== E + 1 || offsets[0] !== 0 || offsets[E] !== rows.shape[0]) {
    throw new ValueError(op, `offsets must have E + 1 = ${E + 1} entries from 0 to ${rows.shape[0]}; got ${describeValue(offsets)}`);
  }
  if (expertOfRow.length !== rows.shape[0]) throw new ShapeError(op, `expertOfRow has ${expertOfRow.length} entries for ${fmtShape(rows.shape)} rows`);
  // bias + activation as the grouped GEMM's epilogue (fused-ffn.ts): no [S, H] tensor of gathered
  // bias rows or pre-activations, and a one-pass activation backward with db as a column sum
  const lin = (x: Tensor, w: Tensor, b: Tensor, act: FusedAct) => segmentLinearAct(x, w, b, offsets, act);
  if (kind === 'linear') { const p = params as LinearExpertParams; return lin(rows, p.a, p.b, 'identity'); }
  if (kind === 'swiglu') {
    const p = params as SwiGluExpertParams;
    // silu(x·Wg) ⊙ (x·Wu) as one fused op (swiglu.ts): one pass forward, one per input gradient
    return segmentMatmul(swiglu(segmentMatmul(rows, p.wGate, offsets), segmentMatmul(rows, p.wUp, offsets)), p.wDown, offsets);
  }
  const p = params as FfnExpertParams;
  return lin(lin(rows, p.w1, p.b1, kind), p.w2, p.b2, 'identity');
}

/** Expert e's slice of a batched parameter [E, ...] → [...] (differentiable). */
function pick(w: Tensor, e: number): Tensor {
  return reshape(slice(w, [e], [e + 1]), w.shape.slice(1));
}

/**
 * One expert applied densely to every row: x [N, D] → [N, O], with plain matmuls. The reference
 * that the grouped path is tested against, and handy for plotting a single expert.
 */
export function applyExpert(params: ExpertParams, kind: ExpertKind, e: number, x: Tensor): Tensor {
  const op = 'applyExpert';
  checkFiniteRows(op, x);
  const E = checkExpertParams(op, params, kind, x.shape[1]!, x);
  if (!Number.isInteger(e) || e < 0 || e >= E) throw new ValueError(op, `expert ${describeValue(e)} out of range [0, ${E})`);
  const lin = (v: Tensor, w: Tensor, b: Tensor) => add(matmul(v, pick(w, e)), pick(b, e));
  if (kind === 'linear') { const p = params as LinearExpertParams; return lin(x, p.a, p.b); }
  if (kind === 'swiglu') {
    const p = params as SwiGluExpertParams;
    return matmul(mul(silu(matmul(x, pick(p.wGate, e))), matmul(x, pick(p.wUp, e))), pick(p.wDown, e));
  }
  const p = params as FfnExpertParams;
  return lin(activations[kind](lin(x, p.w1, p.b1)), p.w2, p.b2);
}

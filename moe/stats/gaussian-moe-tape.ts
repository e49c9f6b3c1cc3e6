/**
 * The 2505.10860 Gaussian MoE negative log-likelihood written with engine ops, so its gradient (and
 * higher derivatives) come from moegrad's tape. Same parameterisation as the flat layout of
 * `gaussian-moe.ts` (log ω logits, log variances), so the fused float64 objective can be checked
 * against it exactly, and any gate or expert composed from engine ops can be fitted with
 * `tapeObjective` + `lbfgs`.
 */
import {
  type Tensor, add, concat, exp, fromData, gelu, log, logSoftmax, logsumexp, matmul, mean, mul, neg, relu, scale, sigmoid,
  slice, softplus, square, sub, sum, tanh, transpose, reshape,
} from '../../engine/index.js';
import { normalizedSigmoidGate, softmaxGate } from '../gates/index.js';
import { gaussianLogPdf } from './gaussian-logpdf.js';
import { type ExpertShape, type GaussianMoE, type RoutedGateKind, layoutOf } from './gaussian-moe.js';
import { ShapeError, fmtShape } from '../../engine/errors.js';
import { checkTensor } from '../../engine/validate.js';
import { checkEnum, checkExpertShape, checkModel, checkNumberArray, checkOptBoolean, checkRecord } from './validate.js';

/** A float64/float32 tensor of exactly `shape` (null entries: any size), checked at entry. */
function checkShape(op: string, name: string, v: unknown, shape: readonly (number | null)[]): Tensor {
  const t = checkTensor(op, v, name);
  if (t.shape.length !== shape.length || shape.some((s, i) => s !== null && t.shape[i] !== s)) {
    throw new ShapeError(op, `${name} must have shape [${shape.map((s) => s ?? '·').join(', ')}]; got ${fmtShape(t.shape)}`);
  }
  return t;
}
const paramCount = (e: ExpertShape, d: number) => (e.family === 'linear' ? d + 1 : d + (e.bias === false ? 0 : 1) + 1);

/** Parameters of a Gaussian MoE as a tensor tree (k1 shared, k2 routed atoms, p1/p2 expert params). */
export type GaussianMoEParams = {
  /** [k1] shared logits log ω (normalised by a softmax). */
  sharedLogits: Tensor;
  /** [k1, p1] shared expert parameters κ (layout of `expertMean`). */
  sharedExpert: Tensor;
  /** [k1] shared log-variances log τ. */
  sharedLogVar: Tensor;
  /** [k2] routed gate intercepts β0. */
  beta0: Tensor;
  /** [k2, d] routed gate slopes β1. */
  beta1: Tensor;
  /** [k2, p2] routed expert parameters η (layout of `expertMean`). */
  routedExpert: Tensor;
  /** [k2] routed log-variances log ν. */
  routedLogVar: Tensor;
};

/**
 * Routed log-gate log G(x) [n, k2] from logits z [n, k2]: softmax, log G = log-softmax(z), or the
 * dense normalized sigmoid G_j = σ(z_j)/Σ_l σ(z_l) of arXiv 2505.10860 Eq. (8),
 * log G = log σ(z) − logsumexp(log σ(z)) with log σ(z) = −softplus(−z). Both are computed in the
 * log domain, so log G stays finite and exact where G itself underflows (|z| in the hundreds), and
 * are the formulas PyTorch users write (`torch.log_softmax`). `throughGateOps: true` instead takes
 * the log of the fused dense gate ops' weights (moe/gates `softmaxGate`, `normalizedSigmoidGate`),
 * the same values for moderate logits; kept to cross-check the gate ops against this formula.
 * Throws ValueError on an unknown kind, ShapeError unless z is 2-d.
 */
export function routedLogGate(kind: RoutedGateKind, z: Tensor, throughGateOps = false): Tensor {
  checkEnum('routedLogGate', 'kind', kind, ['softmax', 'normalizedSigmoid'] as const);
  checkShape('routedLogGate', 'z', z, [null, null]);
  checkOptBoolean('routedLogGate', 'throughGateOps', throughGateOps);
  if (throughGateOps) return log((kind === 'softmax' ? softmaxGate(z) : normalizedSigmoidGate(z)).weights);
  if (kind === 'softmax') return logSoftmax(z, -1);
  const logSig = neg(softplus(neg(z)));
  return logSoftmax(logSig, -1); // log σ_j − logsumexp_l log σ_l
}

/** Expert means [n, k] for inputs x [n, d] and expert parameters [k, p] (layout of `expertMean`). */
export function expertMeans(e: ExpertShape, x: Tensor, theta: Tensor): Tensor {
  checkExpertShape('expertMeans', 'e', e);
  checkShape('expertMeans', 'x', x, [null, null]);
  checkShape('expertMeans', 'theta', theta, [null, paramCount(e, x.shape[1]!)]);
  return meansOf(e, x, theta);
}
function meansOf(e: ExpertShape, x: Tensor, theta: Tensor): Tensor {
  const d = x.shape[1]!, k = theta.shape[0]!;
  let u = matmul(x, transpose(slice(theta, [0, 0], [k, d])));              // [n, k]
  if (e.family === 'linear') return add(u, reshape(slice(theta, [0, d], [k, d + 1]), [k]));
  const hasBias = e.bias !== false;
  if (hasBias) u = add(u, reshape(slice(theta, [0, d], [k, d + 1]), [k]));
  const ai = d + (hasBias ? 1 : 0);
  const a = reshape(slice(theta, [0, ai], [k, ai + 1]), [k]);
  const h = e.family === 'relu' ? relu(u) : e.family === 'gelu' ? gelu(u, 'none') : e.family === 'sigmoid' ? sigmoid(u) : tanh(u);
  return mul(h, a);
}

/** log N(y | m, e^{lv}) for y [n, 1], m [n, k], lv [k]: one fused op (gaussian-logpdf.ts), same values as the composed formula. */
const logNormal = gaussianLogPdf;

/** −(1/n) Σ log f(y|x) on the tape (a scalar, nats per point). x is [n, d], y is [n]. */
export function gaussianMoENllTape(like: GaussianMoE, p: GaussianMoEParams, x: Tensor, y: Tensor): Tensor {
  const op = 'gaussianMoENllTape';
  checkModel(op, like, 'like', false);
  const xt = checkShape(op, 'x', x, [null, like.d]);
  checkShape(op, 'y', y, [xt.shape[0]!]);
  const L = layoutOf(like), k1 = like.shared.length, k2 = like.routed.length;
  const pr = checkRecord<Record<string, unknown>>(op, 'p', p, 'a GaussianMoEParams tree');
  const want: Record<string, number[]> = { sharedLogits: [k1], sharedExpert: [k1, L.p1], sharedLogVar: [k1], beta0: [k2], beta1: [k2, like.d], routedExpert: [k2, L.p2], routedLogVar: [k2] };
  for (const [k, shape] of Object.entries(want)) if (k1 > 0 || !k.startsWith('shared')) if (k2 > 0 || k.startsWith('shared')) checkShape(op, `p.${k}`, pr[k], shape);
  const n = y.shape[0]!;
  const yc = reshape(y, [n, 1]);
  const parts: Tensor[] = [];
  const cS = k2 === 0 ? 1 : 0.5, cR = k1 === 0 ? 1 : 0.5;
  if (k1 > 0) {
    const m = meansOf(like.sharedExpert, x, p.sharedExpert);
    parts.push(add(add(logNormal(yc, m, p.sharedLogVar), logSoftmax(p.sharedLogits, -1)), Math.log(cS)));
  }
  if (k2 > 0) {
    const z = add(matmul(x, transpose(p.beta1)), p.beta0);
    const m = meansOf(like.routedExpert, x, p.routedExpert);
    parts.push(add(add(logNormal(yc, m, p.routedLogVar), routedLogGate(like.gate, z)), Math.log(cR)));
  }
  return neg(mean(logsumexp(parts.length === 1 ? parts[0]! : concat(parts, 1), -1)));
}

/** The tensor tree for a flat parameter vector in the layout of `packModel` (a pure re-indexing). */
export function tapeParamsFromFlat(like: GaussianMoE, th: ArrayLike<number>): GaussianMoEParams {
  checkModel('tapeParamsFromFlat', like, 'like', false);
  checkNumberArray('tapeParamsFromFlat', 'th', th, { length: layoutOf(like).size });
  const L = layoutOf(like), d = like.d, k1 = like.shared.length, k2 = like.routed.length;
  const pick = (rows: number, cols: number, at: (r: number, c: number) => number, shape: number[]) => {
    const buf = new Float64Array(rows * cols);
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) buf[r * cols + c] = th[at(r, c)]!;
    return fromData(buf, shape);
  };
  const so = (i: number) => i * L.sharedStride, ro = (j: number) => L.routedStart + j * L.routedStride;
  return {
    sharedLogits: pick(k1, 1, (i) => so(i), [k1]),
    sharedExpert: pick(k1, L.p1, (i, c) => so(i) + 1 + c, [k1, L.p1]),
    sharedLogVar: pick(k1, 1, (i) => so(i) + 1 + L.p1, [k1]),
    beta0: pick(k2, 1, (j) => ro(j), [k2]),
    beta1: pick(k2, d, (j, c) => ro(j) + 1 + c, [k2, d]),
    routedExpert: pick(k2, L.p2, (j, c) => ro(j) + 1 + d + c, [k2, L.p2]),
    routedLogVar: pick(k2, 1, (j) => ro(j) + 1 + d + L.p2, [k2]),
  };
}

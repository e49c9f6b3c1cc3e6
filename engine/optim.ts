/**
 * Optimizers over parameter trees. Pure: each step returns new parameters and new state; the
 * inputs are untouched. Updates run outside the tape on raw buffers (one loop per leaf).
 */
import { Tensor, allocate, fromData, zeros } from './tensor.js';
import { type TensorTree, treeLeaves, treeMap } from './tree.js';
import { ShapeError, ValueError, fmtShape } from './errors.js';
import { sameShape } from './shape.js';

function checkPair(op: string, params: Tensor[], grads: Tensor[]): void {
  if (params.length !== grads.length) throw new ShapeError(op, `params have ${params.length} tensors but grads have ${grads.length}`);
  params.forEach((p, i) => {
    const g = grads[i]!;
    if (!sameShape(p.shape, g.shape)) throw new ShapeError(op, `leaf ${i}: param ${fmtShape(p.shape)} vs grad ${fmtShape(g.shape)}`);
  });
}

/** Applies `update(i, p, g, out)` per leaf and returns the new tree. */
function stepLeaves<T extends TensorTree>(params: T, grads: T, op: string, update: (leaf: number, p: ArrayLike<number>, g: ArrayLike<number>, out: Float64Array | Float32Array) => void): T {
  const ps = treeLeaves(params), gs = treeLeaves(grads);
  checkPair(op, ps, gs);
  return treeMap(params, (p, i) => {
    const out = allocate(p.dtype, p.size);
    update(i, p.data, gs[i]!.data, out);
    return fromData(out, p.shape);
  });
}

export interface SgdOptions { readonly lr: number; readonly momentum?: number; readonly weightDecay?: number }
export interface SgdState<T extends TensorTree> { readonly velocity: T | null }

/** SGD with optional momentum (PyTorch form: v ← μv + g; p ← p − lr·v). */
export function sgd<T extends TensorTree>(params: T, grads: T, opts: SgdOptions, state: SgdState<T> = { velocity: null }): { params: T; state: SgdState<T> } {
  const { lr, momentum = 0, weightDecay = 0 } = opts;
  if (!(lr > 0)) throw new ValueError('sgd', `lr must be > 0; got ${lr}`);
  const velLeaves = state.velocity ? treeLeaves(state.velocity) : null;
  const newVel: Tensor[] = [];
  const next = stepLeaves(params, grads, 'sgd', (i, p, g, out) => {
    const v = allocate('float64', out.length);
    const vPrev = velLeaves?.[i]?.data;
    for (let j = 0; j < out.length; j++) {
      const gj = g[j]! + weightDecay * p[j]!;
      const vj = momentum > 0 ? momentum * (vPrev ? vPrev[j]! : 0) + gj : gj;
      v[j] = vj;
      out[j] = p[j]! - lr * vj;
    }
    newVel.push(fromData(v, [out.length]));
  });
  const velocity = momentum > 0 ? treeMap(params, (p, i) => fromData(newVel[i]!.data, p.shape)) : null;
  return { params: next, state: { velocity } };
}

export interface AdamOptions {
  readonly lr: number;
  readonly beta1?: number;
  readonly beta2?: number;
  readonly eps?: number;
  /** Decoupled weight decay (AdamW) when used through `adamw`; L2 added to the gradient in `adam`. */
  readonly weightDecay?: number;
}
export interface AdamState<T extends TensorTree> { readonly step: number; readonly m: T; readonly v: T }

/** Fresh Adam state (zeros like params). */
export function adamInit<T extends TensorTree>(params: T): AdamState<T> {
  return { step: 0, m: treeMap(params, (p) => zeros(p.shape, p.dtype)), v: treeMap(params, (p) => zeros(p.shape, p.dtype)) };
}

function adamCore<T extends TensorTree>(op: string, params: T, grads: T, opts: AdamOptions, state: AdamState<T> | undefined, decoupled: boolean): { params: T; state: AdamState<T> } {
  const { lr, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weightDecay = 0 } = opts;
  if (!(lr > 0)) throw new ValueError(op, `lr must be > 0; got ${lr}`);
  if (!(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1)) throw new ValueError(op, `betas must be in [0, 1); got ${beta1}, ${beta2}`);
  const st = state ?? adamInit(params);
  const t = st.step + 1;
  const ms = treeLeaves(st.m), vs = treeLeaves(st.v);
  const newM: Tensor[] = [], newV: Tensor[] = [];
  const c1 = 1 - Math.pow(beta1, t), c2 = 1 - Math.pow(beta2, t);
  const next = stepLeaves(params, grads, op, (i, p, g, out) => {
    const m0 = ms[i]!.data, v0 = vs[i]!.data;
    const m = allocate(ms[i]!.dtype, out.length), v = allocate(vs[i]!.dtype, out.length);
    for (let j = 0; j < out.length; j++) {
      const gj = decoupled ? g[j]! : g[j]! + weightDecay * p[j]!;
      m[j] = beta1 * m0[j]! + (1 - beta1) * gj;
      v[j] = beta2 * v0[j]! + (1 - beta2) * gj * gj;
      const update = (m[j]! / c1) / (Math.sqrt(v[j]! / c2) + eps);
      out[j] = p[j]! - lr * (update + (decoupled ? weightDecay * p[j]! : 0));
    }
    newM.push(fromData(m, ms[i]!.shape)); newV.push(fromData(v, vs[i]!.shape));
  });
  return { params: next, state: { step: t, m: treeMap(st.m, (_x, i) => newM[i]!), v: treeMap(st.v, (_x, i) => newV[i]!) } };
}

/** Adam (Kingma & Ba) with bias correction; `weightDecay` adds L2 to the gradient. */
export function adam<T extends TensorTree>(params: T, grads: T, opts: AdamOptions, state?: AdamState<T>): { params: T; state: AdamState<T> } {
  return adamCore('adam', params, grads, opts, state, false);
}

/** AdamW (Loshchilov & Hutter): weight decay decoupled from the adaptive step. */
export function adamw<T extends TensorTree>(params: T, grads: T, opts: AdamOptions, state?: AdamState<T>): { params: T; state: AdamState<T> } {
  return adamCore('adamw', params, grads, { weightDecay: 0.01, ...opts }, state, true);
}

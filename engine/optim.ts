/**
 * Optimizers over parameter trees. Pure: each step returns new parameters and new state; the
 * inputs are untouched. Updates run outside the tape on raw buffers (one loop per leaf).
 */
import { Tensor, allocate, fromData, zeros } from './tensor.js';
import { type TensorTree, treeMap, treeLeaves, alignTrees } from './tree.js';
import { ValueError } from './errors.js';
import { checkNumber, checkOptions, checkCount, describeValue } from './validate.js';

/**
 * Applies `update(i, p, g, out, extra)` per leaf of `params` and returns the new tree (params' structure).
 * `grads` and every tree in `state` are paired with `params` by key/structure, never by leaf order:
 * a mismatch throws, naming the optimizer and the path of the first mismatched leaf.
 */
function stepLeaves<T extends TensorTree>(
  op: string, params: T, grads: T, state: Record<string, TensorTree>,
  update: (leaf: number, p: ArrayLike<number>, g: ArrayLike<number>, out: Float64Array | Float32Array, extra: Tensor[]) => void,
): T {
  const names = ['grads', ...Object.keys(state).map((k) => `state.${k}`)];
  const aligned = alignTrees(op, params, [grads, ...Object.values(state)], names);
  if (aligned.length === 0) throw new ValueError(op, `params contain no Tensor; got ${describeValue(params)}`);
  return treeMap(params, (p, i) => {
    const [g, ...extra] = aligned[i]!;
    const out = allocate(p.dtype, p.size);
    update(i, p.data, g!.data, out, extra);
    return fromData(out, p.shape);
  });
}

/** Options of {@link sgd}. */
export interface SgdOptions {
  /** Learning rate, > 0 and finite. */
  readonly lr: number;
  /** Momentum μ ≥ 0 (default 0: plain SGD). */
  readonly momentum?: number;
  /** L2 weight decay λ ≥ 0 added to the gradient, g + λp (default 0). */
  readonly weightDecay?: number;
}
/** SGD state: the momentum buffers, pass the returned state to the next step. */
export interface SgdState<T extends TensorTree> {
  /** Velocity v per parameter (params' structure), or null without momentum / before the first step. */
  readonly velocity: T | null;
}

/**
 * SGD with optional momentum and L2 weight decay (PyTorch's `torch.optim.SGD` form:
 * g ← g + λp; v ← μv + g; p ← p − lr·v). Pure: returns new parameters and the state for the next step.
 *
 * @example
 * let state: SgdState<typeof params> | undefined;
 * ({ params, state } = sgd(params, grads, { lr: 0.1, momentum: 0.9 }, state));
 * @throws {@link ValueError} when lr, momentum or weightDecay are out of range, when `grads` or
 *   `state` do not have the structure of `params`, or when params hold no Tensor.
 */
export function sgd<T extends TensorTree>(params: T, grads: T, opts: SgdOptions, state: SgdState<T> = { velocity: null }): {
  /** The updated parameters (params' structure, shapes and dtypes). */
  params: T;
  /** The state to pass to the next step. */
  state: SgdState<T>;
} {
  const op = 'sgd';
  const { lr, momentum = 0, weightDecay = 0 } = checkOptions(op, opts, 'opts') as SgdOptions;
  if (!(typeof lr === 'number' && lr > 0 && Number.isFinite(lr))) throw new ValueError(op, `lr must be > 0 and finite; got ${describeValue(lr)}`);
  checkNumber(op, 'momentum', momentum, { min: 0 });
  checkNumber(op, 'weightDecay', weightDecay, { min: 0 });
  checkOptions(op, state, 'state');
  const velocityIn = state.velocity ?? null;
  const newVel: Tensor[] = [];
  const next = stepLeaves(op, params, grads, velocityIn ? { velocity: velocityIn } : {}, (_i, p, g, out, [vPrevT]) => {
    const v = allocate('float64', out.length);
    const vPrev = vPrevT?.data;
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

/** Options of {@link adam} and {@link adamw}. */
export interface AdamOptions {
  /** Learning rate α, > 0 and finite. */
  readonly lr: number;
  /** Decay of the first-moment estimate, in [0, 1) (default 0.9). */
  readonly beta1?: number;
  /** Decay of the second-moment estimate, in [0, 1) (default 0.999). */
  readonly beta2?: number;
  /** ε ≥ 0 added to √v̂ in the denominator (default 1e-8). */
  readonly eps?: number;
  /** Decoupled weight decay (AdamW) when used through `adamw`; L2 added to the gradient in `adam`. */
  readonly weightDecay?: number;
}
/**
 * Adam/AdamW state (Kingma & Ba 2015, Algorithm 1): keep the state returned by each step and pass it
 * to the next — a fresh state every step makes Adam a sign-descent method.
 */
export interface AdamState<T extends TensorTree> {
  /** Steps taken so far, t (0 for a fresh state); bias corrections use t + 1. */
  readonly step: number;
  /** First-moment estimate m (params' structure). */
  readonly m: T;
  /** Second-moment estimate v (params' structure). */
  readonly v: T;
}

/** Fresh Adam state (zeros like params). */
export function adamInit<T extends TensorTree>(params: T): AdamState<T> {
  if (treeLeaves(params).length === 0) throw new ValueError('adamInit', `params contain no Tensor; got ${describeValue(params)}`);
  return { step: 0, m: treeMap(params, (p) => zeros(p.shape, p.dtype)), v: treeMap(params, (p) => zeros(p.shape, p.dtype)) };
}

function adamCore<T extends TensorTree>(op: string, params: T, grads: T, opts: AdamOptions, state: AdamState<T> | undefined, decoupled: boolean): { params: T; state: AdamState<T> } {
  const { lr, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weightDecay = 0 } = opts;
  if (!(typeof lr === 'number' && lr > 0 && Number.isFinite(lr))) throw new ValueError(op, `lr must be > 0 and finite; got ${describeValue(lr)}`);
  if (!(typeof beta1 === 'number' && typeof beta2 === 'number' && beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1)) throw new ValueError(op, `betas must be in [0, 1); got ${describeValue(beta1)}, ${describeValue(beta2)}`);
  checkNumber(op, 'eps', eps, { min: 0 });
  checkNumber(op, 'weightDecay', weightDecay, { min: 0 });
  if (state !== undefined) {
    checkOptions(op, state, 'state');
    checkCount(op, 'state.step', state.step, 0);
  }
  if (state === undefined && treeLeaves(params).length === 0) throw new ValueError(op, `params contain no Tensor; got ${describeValue(params)}`);
  const st = state ?? adamInit(params);
  const t = st.step + 1;
  const newM: Tensor[] = [], newV: Tensor[] = [];
  const c1 = 1 - Math.pow(beta1, t), c2 = 1 - Math.pow(beta2, t);
  const next = stepLeaves(op, params, grads, { m: st.m, v: st.v }, (_i, p, g, out, [mT, vT]) => {
    const m0 = mT!.data, v0 = vT!.data;
    const m = allocate(mT!.dtype, out.length), v = allocate(vT!.dtype, out.length);
    for (let j = 0; j < out.length; j++) {
      const gj = decoupled ? g[j]! : g[j]! + weightDecay * p[j]!;
      m[j] = beta1 * m0[j]! + (1 - beta1) * gj;
      v[j] = beta2 * v0[j]! + (1 - beta2) * gj * gj;
      const update = (m[j]! / c1) / (Math.sqrt(v[j]! / c2) + eps);
      out[j] = p[j]! - lr * (update + (decoupled ? weightDecay * p[j]! : 0));
    }
    newM.push(fromData(m, mT!.shape)); newV.push(fromData(v, vT!.shape));
  });
  // the new state has params' structure (so a state made for { w, b } keeps working with { b, w })
  return { params: next, state: { step: t, m: treeMap(params, (_x, i) => newM[i]!), v: treeMap(params, (_x, i) => newV[i]!) } };
}

/**
 * Adam (Kingma & Ba 2015, arXiv:1412.6980, Algorithm 1) with bias correction; `weightDecay` adds
 * L2 to the gradient. Pure: returns new parameters and the state to pass to the next step (omit
 * `state` on the first step, or start from {@link adamInit}).
 *
 * @example
 * let state = adamInit(params);
 * ({ params, state } = adam(params, grads, { lr: 1e-3 }, state));
 * @throws {@link ValueError} when lr, the betas, eps or weightDecay are out of range, when `grads` or
 *   `state` do not have the structure of `params` (the message names the path of the first mismatch),
 *   or when params hold no Tensor.
 */
export function adam<T extends TensorTree>(params: T, grads: T, opts: AdamOptions, state?: AdamState<T>): {
  /** The updated parameters (params' structure, shapes and dtypes). */
  params: T;
  /** The state to pass to the next step. */
  state: AdamState<T>;
} {
  return adamCore('adam', params, grads, checkOptions('adam', opts, 'opts'), state, false);
}

/**
 * AdamW (Loshchilov & Hutter 2019, arXiv:1711.05101, Algorithm 2): weight decay (default 0.01)
 * decoupled from the adaptive step, p ← p − lr·(m̂/(√v̂ + ε) + λp). Same state and contract as {@link adam}.
 *
 * @throws {@link ValueError} when lr, the betas, eps or weightDecay are out of range, when `grads` or
 *   `state` do not have the structure of `params` (the message names the path of the first mismatch),
 *   or when params hold no Tensor.
 */
export function adamw<T extends TensorTree>(params: T, grads: T, opts: AdamOptions, state?: AdamState<T>): {
  /** The updated parameters (params' structure, shapes and dtypes). */
  params: T;
  /** The state to pass to the next step. */
  state: AdamState<T>;
} {
  return adamCore('adamw', params, grads, { weightDecay: 0.01, ...checkOptions('adamw', opts, 'opts') }, state, true);
}

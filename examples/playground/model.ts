/**
 * The playground's model, DOM-free so the browser page and the Node test (test/browser/run.ts) run
 * the very same code: a 2-D toy classification task, a small MoE whose output is the two class
 * logits, full-batch Adam training, and router inspection at one point.
 */
import {
  Rng, Tensor, tensor, randn, zeros, noGrad, valueAndGrad, grad, adam, crossEntropy, softmax, matmul, add, sub, mul, relu,
  topk, scatterAlongAxis, expandDims, broadcastTo, permute, sum, slice, reshape, treePaths, treeLeaves,
  type AdamState, type TensorTree,
} from '../../index.js';

export type TaskName = 'xor' | 'rings' | 'spiral';
export const TASKS: readonly TaskName[] = ['xor', 'rings', 'spiral'];

export type GateKind = 'softmax' | 'topKSoftmax';
export const GATE_KINDS: readonly { kind: GateKind; label: string; sparse: boolean }[] = [
  { kind: 'softmax', label: 'softmax (dense)', sparse: false },
  { kind: 'topKSoftmax', label: 'top-k softmax (Mixtral)', sparse: true },
];

export interface PlaygroundConfig {
  readonly task: TaskName;
  readonly gate: GateKind;
  readonly numExperts: number;
  readonly topK: number;
  readonly dHidden: number;
  readonly lr: number;
  readonly seed: number;
  readonly numPoints: number;
}

export const DEFAULT_CONFIG: PlaygroundConfig = {
  task: 'xor', gate: 'topKSoftmax', numExperts: 4, topK: 2, dHidden: 8, lr: 0.03, seed: 7, numPoints: 200,
};

/** Half-width of the square input domain [-EXTENT, EXTENT]². */
export const EXTENT = 1.25;

export interface Dataset {
  /** [N, 2] points. */
  readonly x: Tensor;
  /** [N] class labels 0/1. */
  readonly labels: Int32Array;
}

/** Draws the toy data set for a task (deterministic in the seed). */
export function makeTask(task: TaskName, seed: number, n: number): Dataset {
  const rng = new Rng(seed);
  const pts = new Float64Array(2 * n);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let x0: number, x1: number, label: number;
    if (task === 'spiral') {
      label = i % 2;
      const t = 0.25 + 2.6 * rng.uniform();
      const r = t / 2.85;
      const a = t * 2 + label * Math.PI;
      x0 = r * Math.cos(a) + 0.05 * rng.normal();
      x1 = r * Math.sin(a) + 0.05 * rng.normal();
    } else {
      x0 = 2 * rng.uniform() - 1;
      x1 = 2 * rng.uniform() - 1;
      label = task === 'xor' ? (x0 * x1 > 0 ? 1 : 0) : (Math.hypot(x0, x1) < 0.6 ? 1 : 0);
    }
    pts[2 * i] = x0; pts[2 * i + 1] = x1; labels[i] = label;
  }
  return { x: tensor(pts, [n, 2]), labels };
}

/** Router and expert parameters: linear router, relu MLP experts 2 → H → 2. */
export interface MoEParams {
  readonly router: { readonly w: Tensor; readonly b: Tensor };
  readonly experts: { readonly w1: Tensor; readonly b1: Tensor; readonly w2: Tensor; readonly b2: Tensor };
  readonly [key: string]: TensorTree;
}

export interface RouteResult {
  /** [T, 2] class logits. */
  readonly y: Tensor;
  /** [T, E] dense router scores. */
  readonly scores: Tensor;
  /** [T, K] combine weights aligned with `indices`. */
  readonly weights: Tensor;
  /** [T·K] chosen experts. */
  readonly indices: Int32Array;
  readonly topK: number;
}

export function initParams(config: PlaygroundConfig): MoEParams {
  const rng = new Rng(config.seed + 1);
  const E = config.numExperts, H = config.dHidden;
  return {
    router: { w: randn(rng, [2, E], 1.0), b: zeros([E]) },
    experts: { w1: randn(rng, [E, 2, H], 1.0), b1: randn(rng, [E, H], 0.1), w2: randn(rng, [E, H, 2], 0.5), b2: zeros([E, 2]) },
  };
}

/** The MoE forward pass on points x [T, 2]. */
export function forward(params: MoEParams, x: Tensor, config: PlaygroundConfig): RouteResult {
  const E = config.numExperts, T = x.shape[0]!;
  const logits = add(matmul(x, params.router.w), params.router.b);
  const scores = softmax(logits, 1);
  let weights: Tensor, indices: Int32Array, K: number;
  if (config.gate === 'softmax') {
    K = E; weights = scores;
    indices = new Int32Array(T * E).map((_, i) => i % E);
  } else {
    K = config.topK;
    const top = topk(logits, K, 1);
    weights = softmax(top.values, 1); indices = top.indices;
  }
  const dense = K === E && config.gate === 'softmax' ? weights : scatterAlongAxis(weights, indices, 1, E);
  const H = config.dHidden;
  const xs = broadcastTo(expandDims(x, 0), [E, T, 2]);
  const h = relu(add(matmul(xs, params.experts.w1), reshape(params.experts.b1, [E, 1, H])));
  const out = add(matmul(h, params.experts.w2), reshape(params.experts.b2, [E, 1, 2]));
  const y = sum(mul(expandDims(permute(dense, [1, 0]), 2), out), 0);
  return { y, scores, weights, indices, topK: K };
}

/** Fraction of routed slots each expert received. */
export function expertLoadOf(indices: Int32Array, numExperts: number): Float64Array {
  const load = new Float64Array(numExperts);
  for (const e of indices) load[e]! += 1 / indices.length;
  return load;
}

/** Jain's fairness index (Σx)² / (n·Σx²): 1 when perfectly balanced, 1/n when one expert takes all. */
export function jainOf(values: ArrayLike<number>): number {
  let s = 0, s2 = 0;
  for (let i = 0; i < values.length; i++) { s += values[i]!; s2 += values[i]! * values[i]!; }
  return s2 === 0 ? 0 : (s * s) / (values.length * s2);
}

export interface TrainState {
  readonly params: MoEParams;
  readonly opt: AdamState<MoEParams> | undefined;
  readonly step: number;
}

export interface StepResult {
  readonly state: TrainState;
  /** Loss before the update. */
  readonly loss: number;
  /** Training accuracy before the update. */
  readonly accuracy: number;
  readonly load: Float64Array;
  readonly jain: number;
}

export function initTraining(config: PlaygroundConfig): TrainState {
  return { params: initParams(config), opt: undefined, step: 0 };
}

/** One full-batch Adam step on the cross-entropy of the MoE's logits. */
export function trainStep(state: TrainState, data: Dataset, config: PlaygroundConfig): StepResult {
  let route: RouteResult | undefined;
  const lossOf = (p: MoEParams) => { route = forward(p, data.x, config); return crossEntropy(route.y, data.labels); };
  const { value, grad: g } = valueAndGrad(lossOf)(state.params);
  const next = adam(state.params, g, { lr: config.lr }, state.opt);
  const r = route!;
  const load = expertLoadOf(r.indices, config.numExperts);
  const yv = r.y.data;
  let correct = 0;
  for (let i = 0; i < data.labels.length; i++) if ((yv[2 * i + 1]! > yv[2 * i]! ? 1 : 0) === data.labels[i]) correct++;
  return {
    state: { params: next.params, opt: next.state, step: state.step + 1 },
    loss: value.item(), accuracy: correct / data.labels.length, load, jain: jainOf(load),
  };
}

/** Router and model outputs on a res×res grid over the domain (no tape). */
export interface GridView {
  readonly res: number;
  /** [res²] top-1 expert per cell. */
  readonly expert: Int32Array;
  /** [res²] that expert's combine weight. */
  readonly weight: Float64Array;
  /** [res²] P(class 1). */
  readonly prob: Float64Array;
}

export function gridView(params: MoEParams, config: PlaygroundConfig, res: number): GridView {
  const pts = new Float64Array(2 * res * res);
  for (let r = 0; r < res; r++) for (let c = 0; c < res; c++) {
    const i = r * res + c;
    pts[2 * i] = -EXTENT + (2 * EXTENT * (c + 0.5)) / res;
    pts[2 * i + 1] = EXTENT - (2 * EXTENT * (r + 0.5)) / res;
  }
  return noGrad(() => {
    const out = forward(params, tensor(pts, [res * res, 2]), config);
    const n = res * res, K = out.topK;
    const expert = new Int32Array(n), weight = new Float64Array(n), prob = new Float64Array(n);
    const w = out.weights.data, y = out.y.data;
    for (let i = 0; i < n; i++) {
      let best = 0;
      for (let k = 1; k < K; k++) if (w[i * K + k]! > w[i * K + best]!) best = k;
      expert[i] = out.indices[i * K + best]!; weight[i] = w[i * K + best]!;
      prob[i] = 1 / (1 + Math.exp(y[2 * i]! - y[2 * i + 1]!));
    }
    return { res, expert, weight, prob };
  });
}

/** What the router does at one point, and d(output)/d(router parameter) there. */
export interface PointInspection {
  readonly scores: number[];
  readonly selected: number[];
  readonly weights: number[];
  /** The class logits y = (y₀, y₁) and the inspected output o = y₁ − y₀. */
  readonly y: [number, number];
  readonly output: number;
  /** One row per router parameter tensor: its name, shape and gradient values (row-major). */
  readonly grads: { name: string; shape: readonly number[]; values: number[] }[];
}

export function inspectPoint(params: MoEParams, config: PlaygroundConfig, point: readonly [number, number]): PointInspection {
  const x = tensor([[point[0], point[1]]]);
  const r = noGrad(() => forward(params, x, config));
  const K = r.topK;
  const outputOf = (router: MoEParams['router']) => {
    const y = forward({ ...params, router }, x, config).y;
    return sum(sub(slice(y, [0, 1], [1, 2]), slice(y, [0, 0], [1, 1])));
  };
  const g = grad(outputOf)(params.router);
  const paths = treePaths(g);
  const grads = treeLeaves(g).map((t, i) => ({ name: `router.${paths[i]}`, shape: t.shape, values: t.toArray() }));
  const y = r.y.toArray();
  return {
    scores: r.scores.toArray(), selected: Array.from(r.indices.subarray(0, K)),
    weights: r.weights.toArray().slice(0, K), y: [y[0]!, y[1]!], output: y[1]! - y[0]!, grads,
  };
}

/** A compact fingerprint of a parameter tree: every leaf's values, flattened in tree order. */
export function flattenParams(params: TensorTree): number[] {
  return treeLeaves(params).flatMap((t) => t.toArray());
}


/**
 * The playground's model, DOM-free so the browser page and the Node test (test/browser/run.ts) run
 * the very same code: a 2-D toy classification task, the library's MoELayer (a makeGate router and
 * relu experts 2 → H → 2) whose output is read as the two class logits, full-batch Adam training,
 * and router inspection at one point (scores, selection, weights, ∂o/∂router parameters).
 */
import {
  Rng, Tensor, tensor, noGrad, valueAndGrad, grad, adam, crossEntropy, sub, sum, slice, treePaths, treeLeaves,
  MoELayer, routerDiagnostics, jainIndex,
  type AdamState, type TensorTree, type GateOutput, type MoELayerConfig, type MoELayerParams,
} from '../../index.js';
import { GATE_KINDS, HIERARCHICAL_GROUPS, playgroundLayerGate, type GateKind } from './gates.js';

export { GATE_KINDS, HIERARCHICAL_GROUPS, type GateKind };

export type TaskName = 'xor' | 'rings' | 'spiral';
export const TASKS: readonly TaskName[] = ['xor', 'rings', 'spiral'];

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

/** The layer config for a playground config (cached: MoELayer caches its gate per config object). */
const layerConfigs = new Map<string, MoELayerConfig>();
export function layerConfig(config: PlaygroundConfig): MoELayerConfig {
  const key = `${config.gate}/${config.numExperts}/${config.topK}/${config.dHidden}`;
  let lc = layerConfigs.get(key);
  if (!lc) {
    const { gate, topK } = playgroundLayerGate(config.gate, config.numExperts, config.topK);
    lc = { dModel: 2, dHidden: config.dHidden, numExperts: config.numExperts, topK, gate, expert: 'relu' };
    layerConfigs.set(key, lc);
  }
  return lc;
}

export type MoEParams = MoELayerParams;

export interface RouteResult {
  /** [T, 2] class logits (the layer's output). */
  readonly y: Tensor;
  /** The gate's output: scores [T, E], weights [T, K], indices [T·K], plan. */
  readonly gate: GateOutput;
}

export function initParams(config: PlaygroundConfig): MoEParams {
  return MoELayer.init(new Rng(config.seed + 1), layerConfig(config));
}

/**
 * The MoE forward pass on points x [T, 2]: the layer's 2-D output is read as the two class logits.
 * `noiseRng` draws a noisy top-k gate's noise (training); without it ε = 0.
 */
export function forward(params: MoEParams, x: Tensor, config: PlaygroundConfig, noiseRng?: Rng): RouteResult {
  const out = MoELayer.apply(params, x, layerConfig(config), noiseRng ? { noiseRng } : {});
  return { y: out.y, gate: out.gate };
}

/**
 * Balance numbers of one routing: load share per expert (fraction of routing decisions) and Jain's
 * index. Under a dense gate every expert gets every token, so the load is trivially uniform; there
 * Jain's index is taken over the importance Σ_t s[t,e] instead (`jainOf` says which).
 */
export function balanceOf(gate: GateOutput): { load: Float64Array; jain: number; jainOf: 'load' | 'importance' } {
  const d = routerDiagnostics(gate);
  const total = d.load.reduce((a, b) => a + b, 0);
  const load = d.load.map((v) => v / total);
  return d.topK < d.numExperts ? { load, jain: d.jain, jainOf: 'load' } : { load, jain: jainIndex(d.importance), jainOf: 'importance' };
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
  /** What Jain's index was taken over: the load (sparse gates) or the importance (dense gates). */
  readonly jainOf: 'load' | 'importance';
}

export function initTraining(config: PlaygroundConfig): TrainState {
  return { params: initParams(config), opt: undefined, step: 0 };
}

/** One full-batch Adam step on the cross-entropy of the MoE's logits. */
export function trainStep(state: TrainState, data: Dataset, config: PlaygroundConfig): StepResult {
  let route: RouteResult | undefined;
  // noisy top-k trains with fresh seeded noise each step (the same in the page and in Node)
  const noiseRng = config.gate === 'noisyTopK' ? new Rng(config.seed * 7919 + state.step) : undefined;
  const lossOf = (p: MoEParams) => { route = forward(p, data.x, config, noiseRng); return crossEntropy(route.y, data.labels); };
  const { value, grad: g } = valueAndGrad(lossOf)(state.params);
  const next = adam(state.params, g, { lr: config.lr }, state.opt);
  const r = route!;
  const { load, jain, jainOf } = balanceOf(r.gate);
  const yv = r.y.data;
  let correct = 0;
  for (let i = 0; i < data.labels.length; i++) if ((yv[2 * i + 1]! > yv[2 * i]! ? 1 : 0) === data.labels[i]) correct++;
  return {
    state: { params: next.params, opt: next.state, step: state.step + 1 },
    loss: value.item(), accuracy: correct / data.labels.length, load, jain, jainOf,
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
    const n = res * res, K = out.gate.plan.topK;
    const expert = new Int32Array(n), weight = new Float64Array(n), prob = new Float64Array(n);
    const w = out.gate.weights.data, y = out.y.data, idx = out.gate.indices;
    for (let i = 0; i < n; i++) {
      let best = 0;
      for (let k = 1; k < K; k++) if (w[i * K + k]! > w[i * K + best]!) best = k;
      expert[i] = idx[i * K + best]!; weight[i] = w[i * K + best]!;
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
  /** The temperature τ = exp(logTau) when the gate learns one. */
  readonly tau?: number;
}

export function inspectPoint(params: MoEParams, config: PlaygroundConfig, point: readonly [number, number]): PointInspection {
  const x = tensor([[point[0], point[1]]]);
  const r = noGrad(() => forward(params, x, config));
  const K = r.gate.plan.topK;
  const router = params.router as Record<string, TensorTree>;
  const outputOf = (router: MoEParams['router']) => {
    const y = forward({ ...params, router }, x, config).y;
    return sum(sub(slice(y, [0, 1], [1, 2]), slice(y, [0, 0], [1, 1])));
  };
  const g = grad(outputOf)(params.router);
  const paths = treePaths(g);
  const grads = treeLeaves(g).map((t, i) => ({ name: `router.${paths[i]}`, shape: t.shape, values: t.toArray() }));
  const y = r.y.toArray();
  return {
    scores: r.gate.scores.toArray(), selected: Array.from(r.gate.indices.subarray(0, K)),
    weights: r.gate.weights.toArray().slice(0, K), y: [y[0]!, y[1]!], output: y[1]! - y[0]!, grads,
    ...(router.logTau instanceof Tensor ? { tau: Math.exp(router.logTau.item()) } : {}),
  };
}

/** Laplace centroids ω [E, 2] as points, or null for gates without them. */
export function centroidsOf(params: MoEParams): [number, number][] | null {
  const c = (params.router as Record<string, TensorTree>).centroids;
  if (!(c instanceof Tensor)) return null;
  const d = c.data;
  return Array.from({ length: c.shape[0]! }, (_, e) => [d[2 * e]!, d[2 * e + 1]!]);
}

/** A compact fingerprint of a parameter tree: every leaf's values, flattened in tree order. */
export function flattenParams(params: TensorTree): number[] {
  return treeLeaves(params).flatMap((t) => t.toArray());
}


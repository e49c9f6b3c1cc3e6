/**
 * A toy sparse-MoE training loop for the router experiments (5, 6): a piecewise-linear regression
 * task in R^D with R regions (spec §7 item 11), a `MoELayer` trained with Adam on MSE, and
 * checkpoints every `checkpointEvery` steps at which the probe set's routing is recorded.
 */
import { type Tensor, Rng, adam, adamInit, fromData, mse, add, scale, valueAndGrad, noGrad } from '../../../engine/index.js';
import { MoELayer, type MoELayerConfig, type MoELayerParams } from '../../layer/layer.js';
import { updateBias } from '../../balancing.js';

/** Piecewise-linear task: region r(x) = nearest centroid, y = A_r x + c_r. */
export interface PiecewiseTask { readonly dim: number; readonly centroids: Float64Array; readonly maps: Float64Array; readonly offsets: Float64Array; readonly regions: number }

/** A seeded random piecewise-linear task: centroids ~ N(0, 4), maps A_r ~ N(0, 1/dim), offsets c_r ~ N(0, 1). */
export function makeTask(rng: Rng, dim = 8, regions = 8): PiecewiseTask {
  const centroids = new Float64Array(regions * dim), maps = new Float64Array(regions * dim * dim), offsets = new Float64Array(regions * dim);
  for (let i = 0; i < centroids.length; i++) centroids[i] = 2 * rng.normal();
  for (let i = 0; i < maps.length; i++) maps[i] = rng.normal() / Math.sqrt(dim);
  for (let i = 0; i < offsets.length; i++) offsets[i] = rng.normal();
  return { dim, centroids, maps, offsets, regions };
}

/**
 * Draws T samples: region r with probability `weights[r]` (uniform by default), x = centroid_r +
 * N(0, 0.7²), y = A_{r(x)} x + c_{r(x)} with r(x) the nearest centroid. Returns x, y [T, D] and r(x).
 */
export function sampleTask(task: PiecewiseTask, T: number, rng: Rng, weights?: readonly number[]): { x: Tensor; y: Tensor; region: Int32Array } {
  const { dim: D, regions: R } = task;
  const x = new Float64Array(T * D), y = new Float64Array(T * D), region = new Int32Array(T);
  const w = weights ?? new Array<number>(R).fill(1 / R);
  for (let t = 0; t < T; t++) {
    let u = rng.uniform(), r = 0;
    while (r < R - 1 && u >= w[r]!) { u -= w[r]!; r++; }
    for (let d = 0; d < D; d++) x[t * D + d] = task.centroids[r * D + d]! + 0.7 * rng.normal();
    let best = 0, bd = Infinity;
    for (let q = 0; q < R; q++) {
      let s = 0; for (let d = 0; d < D; d++) s += (x[t * D + d]! - task.centroids[q * D + d]!) ** 2;
      if (s < bd) { bd = s; best = q; }
    }
    region[t] = best;
    for (let i = 0; i < D; i++) {
      let s = task.offsets[best * D + i]!;
      for (let j = 0; j < D; j++) s += task.maps[(best * D + i) * D + j]! * x[t * D + j]!;
      y[t * D + i] = s;
    }
  }
  return { x: fromData(x, [T, D]), y: fromData(y, [T, D]), region };
}

/** Training settings of `trainToy` (Adam on freshly sampled mini-batches). */
export interface TrainOptions {
  readonly steps: number;
  readonly batch: number;
  readonly lr: number;
  /** Switch aux-loss coefficient α (0 = none). */
  readonly switchAlpha: number;
  /** DeepSeek-V3 bias update speed γ (0 = no loss-free balancing). */
  readonly biasGamma: number;
  /** Sampling weights of the task regions for training batches (uniform when omitted). */
  readonly regionWeights?: readonly number[];
  readonly checkpoints: number;
}

/** Routing and loss on the probe set at one training step. */
export interface Checkpoint {
  readonly step: number;
  /** Probe routing [P·K] (expert ids per probe sample). */
  readonly indices: Int32Array;
  /** Probe routing decisions per expert [E]. */
  readonly load: Float64Array;
  /** Probe MSE. */
  readonly loss: number;
}

/** Trains a MoELayer on the task; returns checkpoints taken every steps/checkpoints steps (the last at `steps`). */
export function trainToy(config: MoELayerConfig, task: PiecewiseTask, probe: { x: Tensor; y: Tensor }, opts: TrainOptions, rng: Rng): { checkpoints: Checkpoint[]; bias: Float64Array } {
  let params: MoELayerParams = MoELayer.init(rng.split(), config);
  let state = adamInit(params);
  let bias: Float64Array = new Float64Array(config.numExperts);
  const useBias = opts.biasGamma > 0;
  const dataRng = rng.split();
  const every = Math.max(1, Math.round(opts.steps / opts.checkpoints));
  const checkpoints: Checkpoint[] = [];
  const objective = valueAndGrad((p: MoELayerParams, x: Tensor, y: Tensor, out: { load?: Float64Array }) => {
    const r = MoELayer.apply(p, x, config, useBias ? { bias } : {});
    out.load = r.aux.load;
    const task = mse(r.y, y);
    return opts.switchAlpha > 0 ? add(task, scale(r.aux.switchLoss, opts.switchAlpha)) : task;
  });
  for (let step = 1; step <= opts.steps; step++) {
    const { x, y } = sampleTask(task, opts.batch, dataRng, opts.regionWeights);
    const out: { load?: Float64Array } = {};
    const { grad } = objective(params, x, y, out);
    ({ params, state } = adam(params, grad, { lr: opts.lr }, state));
    if (useBias && out.load) bias = updateBias(bias, out.load, opts.biasGamma);
    if (step % every === 0 || step === opts.steps) {
      const r = noGrad(() => MoELayer.apply(params, probe.x, config, useBias ? { bias } : {}));
      checkpoints.push({ step, indices: Int32Array.from(r.gate.indices), load: r.aux.load, loss: mse(r.y, probe.y).item() });
    }
  }
  return { checkpoints, bias };
}

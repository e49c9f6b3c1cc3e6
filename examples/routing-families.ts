/**
 * Routing families side by side on one small task (issue 16): top-k softmax (Mixtral, + Switch
 * loss), normalized sigmoid (DeepSeek-V3, + loss-free bias), noisy top-k (Shazeer et al. 2017, +
 * importance/load CV² losses), expert choice (Zhou et al. 2022), Soft MoE (Puigcerver et al. 2023)
 * and BASE balanced assignment (Lewis et al. 2021, by Sinkhorn). Each trains the same MoELayer (4
 * linear experts) with Adam on a skewed piecewise-linear regression (70 % of the tokens from one
 * of 4 regions), and we log the training MSE and the load balance (Jain's index of the tokens per
 * expert; Soft MoE: of the combine mass). Seeded; ~10 s on one core. Compute differs by family:
 * k = 2 for the token-choice gates, c = 2 (two experts per token on average) for expert choice,
 * 8 slots for the 64 tokens of a batch in Soft MoE, one expert per token in BASE.
 *   npx tsx examples/routing-families.ts [--out docs] [--steps 240]
 * Writes <out>/routing-families.json, and with the optional plot packages (vega, vega-lite) the
 * figure <out>/routing-families.svg (+ .png when rsvg-convert is on the PATH).
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { Rng, Tensor, fromData, adam, adamInit, add, scale, mse, valueAndGrad, noGrad, type TensorTree } from '../engine/index.js';
import {
  MoELayer, jainIndex, updateBias, noisyTopKLosses, type MoELayerConfig, type MoELayerParams, type NoisyTopKOutput,
} from '../moe/index.js';

const D = 4, R = 4, E = 4, BATCH = 64;
const args = process.argv.slice(2);
const argOf = (name: string, fallback: string) => { const i = args.indexOf(name); return i >= 0 && args[i + 1] ? args[i + 1]! : fallback; };
const OUT = argOf('--out', 'docs');
const STEPS = Number(argOf('--steps', '240'));
const REGION_WEIGHTS = [0.7, 0.1, 0.1, 0.1];

/** Piecewise-linear task: y = A_r x + c_r for the region r of x (nearest centroid). */
const taskRng = new Rng(2026);
const centroids = Float64Array.from({ length: R * D }, () => 2 * taskRng.normal());
const maps = Float64Array.from({ length: R * D * D }, () => taskRng.normal() / Math.sqrt(D));
const offsets = Float64Array.from({ length: R * D }, () => taskRng.normal());

function sample(rng: Rng, T: number): { x: Tensor; y: Tensor } {
  const x = new Float64Array(T * D), y = new Float64Array(T * D);
  for (let t = 0; t < T; t++) {
    let u = rng.uniform(), r = 0;
    while (r < R - 1 && u >= REGION_WEIGHTS[r]!) { u -= REGION_WEIGHTS[r]!; r++; }
    for (let d = 0; d < D; d++) x[t * D + d] = centroids[r * D + d]! + 0.6 * rng.normal();
    let best = 0, bd = Infinity;
    for (let q = 0; q < R; q++) {
      let s = 0;
      for (let d = 0; d < D; d++) s += (x[t * D + d]! - centroids[q * D + d]!) ** 2;
      if (s < bd) { bd = s; best = q; }
    }
    for (let i = 0; i < D; i++) {
      let s = offsets[best * D + i]!;
      for (let j = 0; j < D; j++) s += maps[(best * D + i) * D + j]! * x[t * D + j]!;
      y[t * D + i] = s;
    }
  }
  return { x: fromData(x, [T, D]), y: fromData(y, [T, D]) };
}

interface Family {
  readonly name: string;
  readonly config: MoELayerConfig;
  /** The family's own balancing term (differentiable), if any. */
  readonly aux?: (out: ReturnType<typeof MoELayer.apply>) => Tensor;
  /** DeepSeek-V3 loss-free balancing: bias update speed γ. */
  readonly biasGamma?: number;
  /** Noisy top-k: train with gating noise. */
  readonly noisy?: boolean;
}

const layer = (topK: number, gate: MoELayerConfig['gate']): MoELayerConfig => ({ dModel: D, dHidden: 8, numExperts: E, topK, expert: 'linear', gate });
const FAMILIES: readonly Family[] = [
  { name: 'top-k softmax + Switch loss', config: layer(2, { kind: 'topKSoftmax', numExperts: E, topK: 2 }), aux: (o) => scale(o.aux.switchLoss, 0.01) },
  { name: 'normalized sigmoid + bias', config: layer(2, { kind: 'normalizedSigmoid', numExperts: E, topK: 2 }), biasGamma: 0.01 },
  { name: 'noisy top-k + CV² losses', config: layer(2, { kind: 'noisyTopK', numExperts: E, topK: 2 }), noisy: true, aux: (o) => noisyTopKLosses(o.gate as NoisyTopKOutput) },
  { name: 'expert choice (c = 2)', config: layer(E, { kind: 'expertChoice', numExperts: E, capacityFactor: 2 }) },
  { name: 'Soft MoE (2 slots/expert)', config: layer(E, { kind: 'softMoE', numExperts: E, slotsPerExpert: 2 }) },
  { name: 'BASE (Sinkhorn)', config: layer(1, { kind: 'balancedAssignment', numExperts: E }) },
];

interface Point { family: string; step: number; loss: number; jain: number }

function train(f: Family, seed: number): { points: Point[]; testLoss: number; testJain: number } {
  const rng = new Rng(seed);
  let params: MoELayerParams = MoELayer.init(rng.split(), f.config);
  let state = adamInit(params as unknown as TensorTree);
  let bias: Float64Array = new Float64Array(E);
  const dataRng = rng.split(), noiseRng = rng.split();
  const points: Point[] = [];
  let lossSum = 0, jainSum = 0, n = 0;
  for (let step = 1; step <= STEPS; step++) {
    const { x, y } = sample(dataRng, BATCH);
    let load: Float64Array = new Float64Array(E), fit = 0;
    const objective = (p: MoELayerParams) => {
      const out = MoELayer.apply(p, x, f.config, { ...(f.biasGamma ? { bias } : {}), ...(f.noisy ? { noiseRng } : {}) });
      load = out.aux.load;
      const l = mse(out.y, y);
      fit = l.item();
      return f.aux ? add(l, f.aux(out)) : l;
    };
    const { grad } = valueAndGrad(objective)(params);
    ({ params, state } = adam(params as unknown as TensorTree, grad as unknown as TensorTree, { lr: 0.03 }, state) as unknown as { params: MoELayerParams; state: typeof state });
    if (f.biasGamma) bias = updateBias(bias, load, f.biasGamma);
    lossSum += fit; jainSum += jainIndex(load); n++;
    if (step % 10 === 0) { points.push({ family: f.name, step, loss: lossSum / n, jain: jainSum / n }); lossSum = jainSum = n = 0; }
  }
  const probe = sample(new Rng(99), 512);
  const out = noGrad(() => MoELayer.apply(params, probe.x, f.config, f.biasGamma ? { bias } : {}));
  return { points, testLoss: mse(out.y, probe.y).item(), testJain: jainIndex(out.aux.load) };
}

/** Two panels (training MSE on a log axis, Jain's index of the load), one line per family. */
function plotSpec(points: readonly Point[]): Record<string, unknown> {
  const domain = FAMILIES.map((f) => f.name);
  const legend = { orient: 'bottom', columns: 3, title: null, labelLimit: 400, symbolStrokeWidth: 3 };
  const color = { field: 'family', type: 'nominal', scale: { domain }, legend };
  // Dashes tell apart the lines that coincide (expert choice, dashed, and BASE, dotted, both sit at Jain = 1).
  const strokeDash = { field: 'family', type: 'nominal', scale: { domain, range: [[1, 0], [1, 0], [1, 0], [8, 4], [1, 0], [2, 3]] }, legend };
  const x = { field: 'step', type: 'quantitative', title: 'training step' };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    data: { values: points }, config: { font: 'DejaVu Sans' },
    title: { text: `Routing families on one task (E = ${E} linear experts, batch ${BATCH}, 70 % of tokens in one region)`, fontSize: 13 },
    vconcat: [
      { width: 560, height: 200, title: 'training MSE (10-step means)', mark: { type: 'line', strokeWidth: 2 }, encoding: { x, y: { field: 'loss', type: 'quantitative', scale: { type: 'log' }, title: 'MSE' }, color, strokeDash } },
      {
        width: 560, height: 160, mark: { type: 'line', strokeWidth: 2 },
        title: { text: "load balance: Jain's index of tokens per expert (1 = equal)", subtitle: 'expert choice and BASE are balanced by construction (both at 1); Soft MoE: of the combine mass (its slots are equal)' },
        encoding: { x, y: { field: 'jain', type: 'quantitative', scale: { domain: [0.25, 1.02] }, title: 'Jain index' }, color, strokeDash },
      },
    ],
  };
}

const t0 = performance.now();
const results = FAMILIES.map((f, i) => ({ family: f.name, ...train(f, 10 + i) }));
const points = results.flatMap((r) => r.points);
console.log('family                          final train MSE   test MSE   test Jain');
for (const r of results) {
  console.log(`${r.family.padEnd(32)}${r.points.at(-1)!.loss.toFixed(4).padStart(15)}${r.testLoss.toFixed(4).padStart(11)}${r.testJain.toFixed(3).padStart(12)}`);
}
console.log(`(${((performance.now() - t0) / 1000).toFixed(1)} s)`);
mkdirSync(OUT, { recursive: true });
writeFileSync(join(OUT, 'routing-families.json'), JSON.stringify({ steps: STEPS, batch: BATCH, experts: E, results: results.map(({ points: _, ...r }) => r), points }, null, 1) + '\n');
try {
  const { renderSvg } = await import('../cli/render.js');
  const svg = await renderSvg(plotSpec(points));
  const svgPath = join(OUT, 'routing-families.svg');
  writeFileSync(svgPath, svg);
  const png = spawnSync('rsvg-convert', ['-b', 'white', '-o', join(OUT, 'routing-families.png'), svgPath]);
  console.log(`wrote ${svgPath}${png.status === 0 ? ' and routing-families.png' : ' (no rsvg-convert: no PNG)'}`);
} catch (e) {
  console.log(`no figure: ${(e as Error).message}`);
}

/**
 * Experiment 5: router saturation, change rate and Jain's index while a toy sparse MoE trains.
 *   npx tsx examples/experiment-router-behaviour.ts
 * Full version: npx tsx cli/moegrad.ts reproduce router-behaviour [--quick]
 */
import { Rng } from '../engine/index.js';
import { makeTask, sampleTask, trainToy } from '../moe/stats/experiments/toy-moe.js';
import { routerCurves, variantConfig } from '../moe/stats/experiments/router-behaviour.js';

const rng = new Rng(1);
const task = makeTask(rng.split(), 8, 8);            // piecewise-linear regression in R^8, 8 regions
const probe = sampleTask(task, 512, rng.split());     // fixed probe set for the routing snapshots
for (const variant of ['SMoE (softmax)', 'SMoE-SG (norm. sigmoid)'] as const) {
  const { checkpoints } = trainToy(variantConfig(variant), task, probe,
    { steps: 400, batch: 128, lr: 5e-3, switchAlpha: 0.01, biasGamma: 0, checkpoints: 20 }, new Rng(2));
  const c = routerCurves(checkpoints, 2);
  const pct = (v: number) => `${(100 * v).toFixed(0)}%`;
  console.log(`${variant}\n  saturation: ${c.saturation.map(pct).join(' ')}\n  change:     ${c.changeRate.slice(1).map(pct).join(' ')}\n  Jain ${c.jain[c.jain.length - 1]!.toFixed(3)}, probe MSE ${c.loss[c.loss.length - 1]!.toFixed(3)}`);
}

/**
 * Experiment 4: over-fitting a top-K sparse softmax MoE needs enough active experts K̄.
 *   npx tsx examples/experiment-topk-overfit.ts
 * Full version: npx tsx cli/moegrad.ts reproduce topk-overfit [--quick]
 */
import { Rng } from '../engine/index.js';
import { sampleRegression, splitInit, fitRegression, l2Distance, gateUsage } from '../moe/stats/experiments/regression-moe.js';
import { topkOverfit, TOPK_TRUTH } from '../moe/stats/experiments/topk-overfit.js';
import { runReduced } from './experiment-runner.js';

const data = sampleRegression(TOPK_TRUTH, 8000, 0.1, new Rng(5), [-2, 2]);
for (const kBar of [2, 3]) {
  // Four fitted atoms, true atom 1 split in two; only K̄ of them are active per input.
  const { model } = fitRegression(splitInit(TOPK_TRUTH, [0, 0, 1, 2], 0.1, new Rng(6), 'topk', kBar), data);
  const usage = Array.from(gateUsage(model, [-2, 2]), (u) => u.toFixed(2)).join(', ');
  console.log(`K̄ = ${kBar}: ‖f̂−f*‖ = ${l2Distance(model, TOPK_TRUTH, [-2, 2]).toExponential(2)}, mean gate per atom [${usage}]`);
}
runReduced(topkOverfit);

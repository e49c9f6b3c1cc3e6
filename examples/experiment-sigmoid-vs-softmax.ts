/**
 * Experiment 3: sigmoid vs softmax gating fitted to the same data, under both ground truths.
 *   npx tsx examples/experiment-sigmoid-vs-softmax.ts
 * Full version: npx tsx cli/moegrad.ts reproduce sigmoid-vs-softmax [--quick]
 */
import { Rng } from '../engine/index.js';
import { sampleRegression, splitInit, fitRegression, l2Distance } from '../moe/stats/experiments/regression-moe.js';
import { sigmoidVsSoftmax, SIGMOID_VS_SOFTMAX_TRUTHS, expertLoss } from '../moe/stats/experiments/sigmoid-vs-softmax.js';
import { runReduced } from './experiment-runner.js';

for (const truth of ['softmax', 'sigmoid'] as const) {
  const spec = SIGMOID_VS_SOFTMAX_TRUTHS[truth];
  const data = sampleRegression(spec.data, 8000, 0.1, new Rng(11), [-2, 2]); // one data set, two fits
  for (const gate of ['softmax', 'sigmoid'] as const) {
    const { model } = fitRegression(splitInit(spec.start[gate], [0, 0, 1], 0.2, new Rng(12), gate), data);
    console.log(`truth ${truth}, fit ${gate}: expert loss ${expertLoss(model, spec.data).toFixed(3)}, ‖f̂−f*‖ ${l2Distance(model, spec.data, [-2, 2]).toExponential(2)}`);
  }
}
runReduced(sigmoidVsSoftmax);

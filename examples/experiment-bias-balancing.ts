/**
 * Experiment 6: DeepSeek-V3 auxiliary-loss-free balancing. First the bare mechanism: a *fixed*
 * random normalized-sigmoid router on skewed tokens, where only the selection bias moves
 * (b ← b + γ·sign(mean load − load)); the combine weights still come from the unbiased scores.
 * Then a reduced run of the training comparison (bias vs Switch loss vs none).
 *   npx tsx examples/experiment-bias-balancing.ts
 * Full version: npx tsx cli/moegrad.ts reproduce bias-balancing [--quick]
 */
import { Rng, randn, matmul } from '../engine/index.js';
import { normalizedSigmoidGate, updateBias, expertLoad, jainIndex } from '../moe/index.js';
import { makeTask, sampleTask } from '../moe/stats/experiments/toy-moe.js';
import { biasBalancing, maxOverMean, SKEWED_WEIGHTS } from '../moe/stats/experiments/bias-balancing.js';
import { runReduced } from './experiment-runner.js';

const rng = new Rng(3);
const task = makeTask(rng.split(), 8, 8);
const W = randn(rng.split(), [8, 16], 1 / Math.sqrt(8));          // frozen router, 16 experts
let bias: Float64Array = new Float64Array(16);
const dataRng = rng.split();
for (let step = 0; step <= 400; step++) {
  const { x } = sampleTask(task, 256, dataRng, SKEWED_WEIGHTS);      // 70% of tokens from one region
  const gate = normalizedSigmoidGate(matmul(x, W), { k: 2, bias });   // bias only picks the experts
  const load = expertLoad(gate);
  if (step % 50 === 0) console.log(`step ${String(step).padStart(3)}: max/mean load ${maxOverMean(load).toFixed(2)}, Jain ${jainIndex(load).toFixed(3)}`);
  bias = updateBias(bias, load, 0.01);
}
runReduced(biasBalancing, 2);

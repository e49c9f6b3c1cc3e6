/**
 * Experiment 2: exact- vs over-specified experts in a softmax-gated regression MoE.
 * One least-squares fit per setting at n = 8000, then a reduced rate sweep.
 *   npx tsx examples/experiment-ffn-exact-vs-over.ts
 * Full version: npx tsx cli/moegrad.ts reproduce ffn-exact-vs-over [--quick]
 */
import { Rng } from '../engine/index.js';
import { sampleRegression, splitInit, fitRegression, l2Distance } from '../moe/stats/experiments/regression-moe.js';
import { ffnExactVsOver, cellErrors, FFN_TRUTH, LINEAR_TRUTH } from '../moe/stats/experiments/ffn-exact-vs-over.js';
import { runReduced } from './experiment-runner.js';

for (const [label, truth, from] of [['GELU FFN, exact (k=2)', FFN_TRUTH, [0, 1]], ['GELU FFN, over (k=3)', FFN_TRUTH, [0, 0, 1]], ['linear, over (k=3)', LINEAR_TRUTH, [0, 0, 1]]] as const) {
  const rng = new Rng(7);
  const data = sampleRegression(truth, 8000, 0.1, rng, [-2, 2]);                 // Y = f*(X) + N(0, 0.1²)
  const { model, result } = fitRegression(splitInit(truth, from, 0.2, rng), data); // L-BFGS on the LSE
  const e = cellErrors(model, truth, [-2, 2]);                                         // Voronoi cells on (β1, η)
  console.log(`${label}: cells ${JSON.stringify(e.sizes)}, exact-cell error ${e.exact.toFixed(3)}, over-cell error ${e.over.toFixed(3)}, ‖f̂−f*‖ ${l2Distance(model, truth, [-2, 2]).toExponential(2)} (${result.iterations} L-BFGS iterations)`);
}
runReduced(ffnExactVsOver);

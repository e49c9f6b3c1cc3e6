/**
 * End-to-end demo (`npm start`): trains a small model with moegrad's tape and prints the loss,
 * then gradchecks it. Later issues grow this into the MoE demo.
 */
import { Rng, randn, tensor, matmul, add, tanh, mse, valueAndGrad, adam, gradcheck, type Tensor, type AdamState } from '../engine/index.js';

type Params = { w1: Tensor; b1: Tensor; w2: Tensor; b2: Tensor };
const rng = new Rng(42);
const x = randn(rng, [64, 2]);
// Target: y = sin(2·x0)·x1, a smooth non-linear function.
const xs = x.toArray();
const y = tensor(Array.from({ length: 64 }, (_, i) => [Math.sin(2 * xs[2 * i]!) * xs[2 * i + 1]!]));

let params: Params = { w1: randn(rng, [2, 16], 0.5), b1: randn(rng, [16], 0.1), w2: randn(rng, [16, 1], 0.5), b2: randn(rng, [1], 0.1) };
const model = (p: Params) => add(matmul(tanh(add(matmul(x, p.w1), p.b1)), p.w2), p.b2);
const loss = (p: Params) => mse(model(p), y);

let state: AdamState<Params> | undefined;
const step = valueAndGrad(loss);
for (let i = 0; i <= 300; i++) {
  const { value, grad } = step(params);
  ({ params, state } = adam(params, grad, { lr: 0.02 }, state));
  if (i % 50 === 0) console.log(`step ${String(i).padStart(3)}  loss ${value.item().toFixed(5)}`);
}
const report = gradcheck(loss, params, { mode: 'directional', samples: 8, seed: 1 });
console.log(report.summary);
if (!report.ok) process.exit(1);

/**
 * Fused vs composed causal attention (engine/ops/attention.ts): median wall time of the forward alone
 * and of forward + backward (grad of Σ y ⊙ r), at the LM example's shapes. The fused op runs one kernel
 * forward and recomputes P with engine ops in its VJP; the composed one records matmul, scale, where,
 * softmax, matmul. Run: `npx tsx bench/lm-attention.ts` (prints a markdown table).
 */
import { Rng, randn, grad, sum, mul, type Tensor } from '../engine/index.js';
import { scaledDotProductAttention, attentionComposed } from '../engine/ops/attention.js';
import { median } from './timing.js';

const shapes: [number, number, number, number][] = [[16, 4, 32, 16], [16, 4, 64, 16]];
const rows: string[] = ['| shape [B, H, T, d] | op | forward ms | forward + backward ms |', '| --- | --- | ---: | ---: |'];
for (const shape of shapes) {
  const rng = new Rng(0);
  const [q, k, v, r] = [0, 1, 2, 3].map(() => randn(rng, shape, 1, 'float32')) as [Tensor, Tensor, Tensor, Tensor];
  for (const [label, f] of [['fused', scaledDotProductAttention], ['composed', attentionComposed]] as const) {
    const fwd: number[] = [], both: number[] = [];
    const loss = (xs: Tensor[]) => sum(mul(f(xs[0]!, xs[1]!, xs[2]!, { causal: true }), r));
    for (let i = 0; i < 12; i++) {
      let t0 = performance.now(); f(q, k, v, { causal: true }); fwd.push(performance.now() - t0);
      t0 = performance.now(); grad(loss)([q, k, v]); both.push(performance.now() - t0);
    }
    rows.push(`| ${shape.join(', ')} | ${label} | ${median(fwd.slice(2)).toFixed(1)} | ${median(both.slice(2)).toFixed(1)} |`);
  }
}
console.log(rows.join('\n'));

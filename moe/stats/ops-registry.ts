/**
 * Differentiable ops of moe/stats for the op registry (gradient certificate, registry property tests,
 * buffer-reuse tests): the fused Gaussian log-density of the Gaussian-MoE likelihood.
 */
import { randn, type Rng } from '../../engine/index.js';
import type { OpSpec } from '../../engine/ops/registry.js';
import { gaussianLogPdf } from './gaussian-logpdf.js';

export const STATS_OPS: readonly OpSpec[] = [
  {
    name: 'gaussianLogPdf', family: 'moe-stats',
    sample: (rng: Rng, size: number) => {
      const n = 1 + rng.int(Math.max(1, Math.min(size, 4))), k = 1 + rng.int(3);
      return { inputs: [randn(rng, [n, 1]), randn(rng, [n, k]), randn(rng, [k], 0.5)], run: ([y, m, lv]) => gaussianLogPdf(y!, m!, lv!), label: `n=${n} k=${k}` };
    },
  },
];

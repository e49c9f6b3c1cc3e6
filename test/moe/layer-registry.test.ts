import { describe, it, expect } from 'vitest';
import { Rng, gradcheck, type Tensor } from '../../engine/index.js';
import { LAYER_OPS } from '../../moe/layer/registry.js';

// The project-wide registry test certifies every MOE_OPS entry too; this one keeps the layer's own
// entries honest while it is developed (same criterion as `npm run certify`: max rel error ≤ 1e-6).
describe('LAYER_OPS registry entries gradcheck (full, float64)', () => {
  it('has the dispatch, grouped-matmul, expert and loss entries', () => {
    const names = LAYER_OPS.map((s) => s.name);
    for (const n of ['dispatch', 'undispatch', 'combine', 'segmentMatmul', 'segmentOuter', 'experts:swiglu', 'switchAuxLoss', 'routerZLoss', 'expertBalanceLoss', 'sequenceBalanceLoss']) {
      expect(names).toContain(n);
    }
  });
  for (const spec of LAYER_OPS) {
    it(spec.name, () => {
      for (let seed = 0; seed < 4; seed++) {
        const c = spec.sample(new Rng(1000 + seed), 4);
        const report = gradcheck((xs: Tensor[]) => c.run(xs), [...c.inputs], { ...spec.tolerance, seed });
        expect(report.ok, `${spec.name} (${c.label}): ${report.summary}`).toBe(true);
        expect(report.maxRelError, `${spec.name} (${c.label})`).toBeLessThanOrEqual(1e-6);
      }
    });
  }
});

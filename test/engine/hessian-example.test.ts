/** examples/hessian-gate-curvature.ts: the softmax gate's translation direction is exactly flat, and the only flat one. */
import { describe, it, expect } from 'vitest';
import { gateCurvature, symmetricEigenvalues } from '../../examples/hessian-gate-curvature.js';

describe('examples/hessian-gate-curvature.ts', () => {
  it('curvature along the gate translation is 0, elsewhere not; exactly d + 1 = 2 flat gate directions, none after pinning', () => {
    const r = gateCurvature(300, 1);
    expect(r.lossChangeAlongTranslation).toBeLessThan(1e-13);
    expect(Math.abs(r.translation.curvature)).toBeLessThan(1e-13);
    expect(r.translation.hvNorm).toBeLessThan(1e-13);
    expect(r.randomGate.curvature).toBeGreaterThan(1e-3);
    expect(r.randomFull.curvature).toBeGreaterThan(1e-3);
    const top = Math.max(...r.gateEigenvalues);
    expect(r.gateEigenvalues.filter((v) => Math.abs(v) < 1e-12 * top)).toHaveLength(2);
    expect(Math.min(...r.pinnedEigenvalues)).toBeGreaterThan(1e-4 * top);
  });

  it('the Jacobi eigenvalue helper is right on a known matrix', () => {
    expect(symmetricEigenvalues(Float64Array.from([2, 1, 1, 2]), 2).map((v) => +v.toFixed(12))).toEqual([1, 3]);
  });
});

/**
 * Hand-derived JVP rules of the fused MoE ops (gates, dispatch/combine, segment matmuls) and of the
 * MoE ops composed from them (experts, losses, the layer): for every such entry of moe/registry.ts,
 * the JVP in a random direction equals central differences (Richardson, as checkJvpCase), the
 * transpose identity ⟨u, J v⟩ = ⟨Jᵀu, v⟩ holds to ≤ 1e-10 relative (float64), and no op used the
 * transposed-VJP fallback. The routing families of issue 16 (own file, own rules) are not listed here.
 */
import { describe, it, expect } from 'vitest';
import { Rng } from '../../engine/index.js';
import { checkJvpCase, TRANSPOSE_MAX_REL_ERROR } from '../../engine/certify.js';
import { GATE_OPS } from '../../moe/gates/registry.js';
import { LAYER_OPS } from '../../moe/layer/registry.js';

/** JVP vs central differences: the FD scheme's own error (h = 1e-4, one Richardson step) stays far below this. */
const FD_TOL = 1e-6;
const CASES = 3;

describe('MoE JVP rules (hand-derived, beside each VJP)', () => {
  for (const spec of [...GATE_OPS, ...LAYER_OPS]) {
    it(`${spec.name}: JVP = central differences, ⟨u, Jv⟩ = ⟨Jᵀu, v⟩, no fallback`, () => {
      for (let c = 0; c < CASES; c++) {
        const seed = 7919 * (c + 1) + spec.name.length;
        const opCase = spec.sample(new Rng(seed), 2 + c);
        const r = checkJvpCase(spec, opCase, seed);
        const where = `${spec.name} [${r.label}]`;
        expect(r.fallbackOps, `${where}: ops without a JVP rule`).toEqual([]);
        expect(r.rule, where).toBe('hand');
        expect(r.transposeRelError, `${where}: transpose identity`).toBeLessThanOrEqual(TRANSPOSE_MAX_REL_ERROR);
        expect(r.fdMaxRelError, `${where}: JVP vs central differences`).toBeLessThanOrEqual(FD_TOL);
      }
    });
  }
});

/**
 * The registry's forward-mode property: for every registered op (ENGINE_OPS and MOE_OPS), one case
 * drawn from its domain (size 3, the certificate's seed scheme), float64:
 *  - the JVP in a random unit direction equals Richardson central differences (max rel error ≤ 1e-6,
 *    the certificate's criterion, element by element);
 *  - forward and reverse mode agree through the transpose identity ⟨u, J v⟩ = ⟨Jᵀu, v⟩ (≤ 1e-10,
 *    relative to the dot products' rounding scale);
 *  - every engine op has a hand-written JVP rule (none uses the transposed-VJP fallback). MoE ops may
 *    still use the fallback; the test checks their values all the same and lists them.
 */
import { describe, it, expect, afterAll } from 'vitest';
import { Rng } from '../../engine/rng.js';
import { ENGINE_OPS } from '../../engine/ops/registry.js';
import { MOE_OPS } from '../../moe/registry.js';
import { caseSeed, checkJvpCase, CERTIFICATE_MAX_REL_ERROR, TRANSPOSE_MAX_REL_ERROR } from '../../engine/certify.js';

const fallbacks = new Map<string, readonly string[]>();

function check(engine: boolean) {
  return (name: string) => {
    const spec = [...ENGINE_OPS, ...MOE_OPS].find((s) => s.name === name)!;
    for (const c of [0, 1]) {
      const seed = caseSeed(spec.name, 0, c);
      const opCase = spec.sample(new Rng(seed), 3);
      const r = checkJvpCase(spec, opCase, seed);
      const where = `${spec.name} on ${opCase.label}`;
      expect(r.fdMaxRelError, `JVP vs central differences, ${where}`).toBeLessThanOrEqual(CERTIFICATE_MAX_REL_ERROR);
      expect(r.transposeRelError, `⟨u, Jv⟩ vs ⟨Jᵀu, v⟩, ${where}`).toBeLessThanOrEqual(TRANSPOSE_MAX_REL_ERROR);
      if (engine) expect(r.fallbackOps, `ops without a hand JVP rule in ${where}`).toEqual([]);
      else if (r.fallbackOps.length > 0) fallbacks.set(spec.name, r.fallbackOps);
    }
  };
}

describe('JVP of every engine op (hand rule)', () => {
  it.each(ENGINE_OPS.map((s) => s.name))('%s', check(true));
});

describe('JVP of every MoE op (hand rule or fallback)', () => {
  it.each(MOE_OPS.map((s) => s.name))('%s', check(false));
  afterAll(() => {
    if (fallbacks.size > 0) {
      console.log(`MoE ops using the transposed-VJP fallback (no hand JVP rule yet): ${[...fallbacks].map(([op, used]) => `${op} [${used.join(', ')}]`).join('; ')}`);
    }
  });
});

describe('certificate forward-mode columns', () => {
  it('pass a fallback op, fail a wrong JVP rule (values and transpose identity), report hand rules', async () => {
    const { certify, record, mul, scale, rand, fromData, ENGINE_OPS: ops } = await import('../../engine/index.js');
    type T = import('../../engine/index.js').Tensor;
    const squareWith = (name: string, jvpRule?: (x: T, t: T) => T) => {
      const op = (x: T) => record(name, [x], fromData(x.data.map((v) => v * v), x.shape), (dy) => [mul(dy, scale(x, 2))], jvpRule && ((t) => jvpRule(x, t[0]!)));
      return { name, family: 'test', sample: (rng: Rng, size: number) => { const x = rand(rng, [size + 1], 0.5, 2); return { inputs: [x], run: ([a]: readonly T[]) => op(a!), label: `[${size + 1}]` }; } };
    };
    const cert = certify([squareWith('noRule'), squareWith('wrongRule', (x, t) => mul(t, x)), ops.find((o) => o.name === 'exp')!], { casesPerOp: 2, secondOrder: false });
    const [none, wrong, exp] = cert.entries;
    expect([none!.pass, none!.jvpRule, none!.jvpFallbackOps]).toEqual([true, 'fallback', ['noRule']]);
    expect(wrong!.pass).toBe(false);
    expect(wrong!.jvpMaxRelError).toBeGreaterThan(0.3);
    expect(wrong!.transposeMaxRelError).toBeGreaterThan(0.3);
    expect([exp!.pass, exp!.jvpRule]).toEqual([true, 'hand']);
    expect(cert.transposeThreshold).toBe(TRANSPOSE_MAX_REL_ERROR);
  });
});

/** The certificate catches wrong first-order VJPs and VJPs that are not themselves differentiable. */
import { describe, it, expect } from 'vitest';
import {
  certify, ENGINE_OPS, record, mul, rand, fromData, gradcheck, tanh, matmul, randn, exp, Rng, type OpSpec, type Tensor,
} from '../../engine/index.js';

/** x² with a chosen VJP, registered like a real op. */
function squareWith(name: string, vjp: (x: Tensor, dy: Tensor) => Tensor): OpSpec {
  const op = (x: Tensor) => record(name, [x], fromData(x.data.map((v) => v * v), x.shape), (dy) => [vjp(x, dy)]);
  return { name, family: 'test', sample: (rng, size) => { const x = rand(rng, [size + 1], 0.5, 2); return { inputs: [x], run: ([a]) => op(a!), label: `[${size + 1}]` }; } };
}

describe('certify', () => {
  it('passes a correct op, fails a wrong VJP (first order) and an off-tape VJP (second order)', () => {
    const good = squareWith('good', (x, dy) => mul(dy, mul(x, 2)));
    const wrong = squareWith('wrong', (x, dy) => mul(dy, x)); // missing the 2
    // right values, but computed from raw data: nothing on the tape, so grad of grad is zero
    const offTape = squareWith('offTape', (x, dy) => fromData(dy.data.map((d, i) => 2 * d * x.data[i]!), x.shape));
    const cert = certify([good, wrong, offTape], { casesPerOp: 3 });
    const [g, w, o] = cert.entries as [typeof cert.entries[0], typeof cert.entries[0], typeof cert.entries[0]];
    expect(g.pass).toBe(true);
    expect(g.maxRelError).toBeLessThan(1e-8);
    expect(w.pass).toBe(false);
    expect(w.maxRelError).toBeGreaterThan(0.3);
    expect(o.pass).toBe(false);
    expect(o.maxRelError).toBeLessThan(1e-8);
    expect(o.secondOrderMaxRel).toBeGreaterThan(0.5);
    expect(cert.ok).toBe(false);
  });

  it('is deterministic in its seed and defaults to the engine registry', () => {
    const a = certify(ENGINE_OPS.slice(0, 3), { casesPerOp: 2, seed: 4 });
    const b = certify(ENGINE_OPS.slice(0, 3), { casesPerOp: 2, seed: 4 });
    expect(a).toEqual(b);
    expect(certify(undefined, { casesPerOp: 1, secondOrder: false }).entries.map((e) => e.op)).toEqual(ENGINE_OPS.map((o) => o.name));
  });

  it('reports an op whose sample or run throws as failed, with the message', () => {
    const broken: OpSpec = { name: 'broken', family: 'test', sample: () => { throw new Error('no domain'); } };
    const row = certify([broken], { casesPerOp: 1 }).entries[0]!;
    expect(row.pass).toBe(false);
    expect(row.worst).toContain('no domain');
  });
});

describe('gradcheck modes', () => {
  it("'directional' passes a correct gradient and catches a wrong one; richardson tightens the estimate", () => {
    const rng = new Rng(2);
    const p = { a: randn(rng, [4, 3]), b: randn(rng, [3, 2]) };
    const f = (q: typeof p) => tanh(matmul(q.a, q.b));
    const rep = gradcheck(f, p, { mode: 'directional', samples: 6, seed: 1 });
    expect(rep.ok).toBe(true);
    expect(rep.checked).toBe(6);
    expect(rep.maxRelError).toBeLessThan(1e-7);
    const wrong = squareWith('wrongDir', (x, dy) => mul(dy, x));
    const c = wrong.sample(rng, 3);
    const bad = gradcheck((xs: Tensor[]) => c.run(xs), c.inputs.slice(), { mode: 'directional' });
    expect(bad.ok).toBe(false);
    expect(bad.summary).toContain('FAILED');
    // a coarse step: plain central differences show O(ε²) truncation, one Richardson step removes it
    const x = rand(rng, [3], -1, 1);
    const plain = gradcheck((t: Tensor) => exp(t), x, { eps: 1e-2 });
    const rich = gradcheck((t: Tensor) => exp(t), x, { eps: 1e-2, richardson: true });
    expect(plain.maxRelError).toBeGreaterThan(1e-6);
    expect(rich.maxRelError).toBeLessThan(plain.maxRelError / 100);
  });
});

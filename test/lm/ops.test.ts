/**
 * The LM ops (engine/ops/norm.ts, attention.ts, embedding.ts) beyond the registry gradcheck (which
 * checks their VJPs first and second order): each hand JVP rule against central differences of the
 * forward through `jvp` (and none of them falls back to the transpose trick), the fused attention
 * against the composed reference and PyTorch-convention values, dropout's statistics and modes.
 */
import { describe, it, expect } from 'vitest';
import { Rng } from '../../engine/rng.js';
import { Tensor, fromData, tensor, randn, ones, zeros } from '../../engine/tensor.js';
import { add, mul } from '../../engine/ops/arithmetic.js';
import { sum } from '../../engine/ops/reduce.js';
import { grad, jvp, jvpFallbackOps, clearJvpFallbackOps } from '../../engine/index.js';
import { LM_OP_ENTRIES } from '../../engine/ops/registry-entries-lm.js';
import { scaledDotProductAttention, attentionComposed } from '../../engine/ops/attention.js';
import { layerNorm, rmsNorm } from '../../engine/ops/norm.js';
import { embedding, dropout } from '../../engine/ops/embedding.js';
import { MoegradError } from '../../engine/errors.js';

const maxAbs = (t: Tensor) => Array.from(t.data).reduce((m, v) => Math.max(m, Math.abs(v)), 0);
const diff = (a: Tensor, b: Tensor) => maxAbs(add(a, mul(b, -1)));

describe('hand JVP rules vs central differences', () => {
  it.each(LM_OP_ENTRIES.map((s) => [s.name, s] as const))('%s', (name, spec) => {
    clearJvpFallbackOps();
    for (let seed = 0; seed < 12; seed++) {
      const c = spec.sample(new Rng(seed), 3);
      const rng = new Rng(1000 + seed);
      const ts = c.inputs.map((x) => randn(rng, x.shape));
      const { tangent } = jvp((...xs: Tensor[]) => c.run(xs), [...c.inputs], ts);
      const eps = 1e-6;
      const at = (h: number) => c.run(c.inputs.map((x, i) => add(x, mul(ts[i]!, h))));
      const fd = mul(add(at(eps), mul(at(-eps), -1)), 1 / (2 * eps));
      const err = diff(tangent as Tensor, fd);
      expect(err, `${name} on ${c.label}`).toBeLessThan(1e-7 * Math.max(1, maxAbs(fd)));
    }
    expect(jvpFallbackOps()).not.toContain(name);
  });

  it.each(LM_OP_ENTRIES.map((s) => [s.name, s] as const))('%s: forward-over-reverse (jvp of the VJP) vs central differences', (name, spec) => {
    for (let seed = 0; seed < 6; seed++) {
      const c = spec.sample(new Rng(50 + seed), 3);
      const rng = new Rng(2000 + seed);
      const out = c.run(c.inputs);
      const r = randn(rng, out.shape);
      const ts = c.inputs.map((x) => randn(rng, x.shape));
      const g = (...xs: Tensor[]) => { const gs = grad((ys: Tensor[]) => sum(mul(c.run(ys), r)))(xs); return gs.reduce((acc, t, i) => add(acc, sum(mul(t, ts[i]!))), tensor(0)); };
      const { tangent } = jvp(g, [...c.inputs], ts);
      const eps = 1e-5;
      const at = (h: number) => g(...c.inputs.map((x, i) => add(x, mul(ts[i]!, h))));
      const fd = (at(eps).item() - at(-eps).item()) / (2 * eps);
      expect(Math.abs((tangent as Tensor).item() - fd), `${name} on ${c.label}`).toBeLessThan(1e-6 * Math.max(1, Math.abs(fd)));
    }
  });
});

describe('scaledDotProductAttention', () => {
  const rng = new Rng(3);
  const [B, H, T, d] = [2, 3, 5, 4];
  const q = randn(rng, [B, H, T, d]), k = randn(rng, [B, H, T, d]), v = randn(rng, [B, H, T, d]);
  it('fused forward and gradients equal the composed reference', () => {
    const mask = fromData(Float64Array.from({ length: B * T * T }, (_, i) => (i % T === 0 || i % 3 !== 1 ? 1 : 0)), [B, 1, T, T]);
    for (const opts of [{}, { causal: true }, { causal: true, mask }, { mask, scale: 0.7 }]) {
      expect(diff(scaledDotProductAttention(q, k, v, opts), attentionComposed(q, k, v, opts))).toBeLessThan(1e-13);
      const loss = (f: typeof attentionComposed) => (xs: Tensor[]) => sum(mul(f(xs[0]!, xs[1]!, xs[2]!, opts), v));
      const g1 = grad(loss(scaledDotProductAttention))([q, k, v]), g2 = grad(loss(attentionComposed))([q, k, v]);
      for (let i = 0; i < 3; i++) expect(diff(g1[i]!, g2[i]!)).toBeLessThan(1e-12);
    }
  });
  it('causal: the first query sees only the first key; outputs do not depend on later keys', () => {
    const y = scaledDotProductAttention(q, k, v, { causal: true });
    expect(y.get(1, 2, 0, 3)).toBeCloseTo(v.get(1, 2, 0, 3), 14);
    const v2 = fromData(v.data.map((x, i) => (Math.floor(i / d) % T === T - 1 ? x + 5 : x)), v.shape);
    const y2 = scaledDotProductAttention(q, k, v2, { causal: true });
    for (let i = 0; i < y.size; i++) if (Math.floor(i / d) % T < T - 1) expect(y2.data[i]).toBe(y.data[i]);
  });
  it('huge scores do not overflow (max-shifted) and float32 works', () => {
    const big = mul(q, 1e3);
    expect(scaledDotProductAttention(big, k, v).data.every(Number.isFinite)).toBe(true);
    const f32 = (t: Tensor) => fromData(Float32Array.from(t.data), t.shape);
    const y32 = scaledDotProductAttention(f32(q), f32(k), f32(v));
    expect(y32.dtype).toBe('float32');
    expect(diff(fromData(Float64Array.from(y32.data), y32.shape), scaledDotProductAttention(q, k, v))).toBeLessThan(1e-5);
  });
  it('bad input names the op, expected and actual', () => {
    expect(() => scaledDotProductAttention(q, randn(rng, [B, H, T, d + 1]), v)).toThrow(/scaledDotProductAttention: q and k must have the same feature size.*\[2, 3, 5, 4\].*\[2, 3, 5, 5\]/);
    expect(() => scaledDotProductAttention(q, k, v, { mask: zeros([T, T]) })).toThrow(/every key masked/);
    expect(() => scaledDotProductAttention(q, k, v, { mask: ones([4, 4]) })).toThrow(MoegradError);
  });
});

describe('norms, embedding, dropout', () => {
  it('layerNorm/rmsNorm match their definitions', () => {
    const x = tensor([[1, 2, 4], [-1, 0, 3]]);
    const y = layerNorm(x, tensor([1, 2, 3]), tensor([0, 1, 0]), 0);
    const row = [1, 2, 4], mu = 7 / 3, sd = Math.sqrt(row.reduce((s, v) => s + (v - mu) ** 2, 0) / 3);
    expect(y.get(0, 1)).toBeCloseTo(2 * (2 - mu) / sd + 1, 12);
    const r = rmsNorm(x, null, 0);
    expect(r.get(1, 2)).toBeCloseTo(3 / Math.sqrt(10 / 3), 12);
    expect(() => layerNorm(x, tensor([1, 2]))).toThrow(/layerNorm: weight must be \[D\] = \[3\].*got \[2\]/);
    expect(() => layerNorm(tensor([[1, 1]]), null, null, 0)).toThrow(/constant/);
  });
  it('embedding gathers rows and names a bad id', () => {
    const t = tensor([[1, 2], [3, 4], [5, 6]]);
    expect(embedding(t, Int32Array.from([2, 0, 2])).toNested()).toEqual([[5, 6], [1, 2], [5, 6]]);
    expect(() => embedding(t, Int32Array.from([0, 3]))).toThrow(/embedding: token id 3 at position 1 is out of range \[0, 3\)/);
  });
  it('dropout: identity when not training, seeded mask, unbiased', () => {
    const x = ones([20000]);
    expect(dropout(x, 0.3, { rng: new Rng(1), training: false })).toBe(x);
    const a = dropout(x, 0.3, { rng: new Rng(1) }), b = dropout(x, 0.3, { rng: new Rng(1) });
    expect(a.toArray()).toEqual(b.toArray());
    const kept = a.data.filter((v) => v !== 0);
    expect(kept.length / x.size).toBeGreaterThan(0.68); expect(kept.length / x.size).toBeLessThan(0.72);
    expect(kept.every((v) => Math.abs(v - 1 / 0.7) < 1e-12)).toBe(true);
    expect(() => dropout(x, 1, { rng: new Rng(1) })).toThrow(/dropout: p \(drop probability\) must be a number in \[0, 1\); got 1/);
  });
});

describe('rotaryEmbedding', () => {
  it('rotates pairs by (p + offset)·base^(−2i/d); scores depend on relative position only', async () => {
    const { rotaryEmbedding } = await import('../../engine/ops/rotary.js');
    const x = tensor([[1, 0, 1, 0], [1, 0, 1, 0]]);
    const y = rotaryEmbedding(x, { base: 100 });
    expect(y.get(0, 0)).toBe(1);
    expect(y.get(1, 0)).toBeCloseTo(Math.cos(1), 14); expect(y.get(1, 1)).toBeCloseTo(Math.sin(1), 14);
    expect(y.get(1, 2)).toBeCloseTo(Math.cos(0.1), 14); expect(y.get(1, 3)).toBeCloseTo(Math.sin(0.1), 14);
    const rng = new Rng(4), q = randn(rng, [1, 6]), k = randn(rng, [1, 6]);
    const score = (m: number, n: number) => sum(mul(rotaryEmbedding(q, { offset: m }), rotaryEmbedding(k, { offset: n }))).item();
    expect(score(5, 2)).toBeCloseTo(score(13, 10), 12);
    expect(() => rotaryEmbedding(zeros([2, 3]))).toThrow(/rotaryEmbedding: x must be \[\.\.\., T, d\] with an even feature size d; got \[2, 3\]/);
  });
});

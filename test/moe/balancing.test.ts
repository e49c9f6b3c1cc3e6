import { describe, it, expect } from 'vitest';
import { updateBias } from '../../moe/balancing.js';

describe('updateBias (DeepSeek-V3 sign rule)', () => {
  it('overloaded experts go down by γ, underloaded up by γ, at-the-mean unchanged', () => {
    // loads 6, 2, 4, 4 ⇒ mean 4
    const b = updateBias(Float64Array.from([0.1, 0, -0.2, 0]), [6, 2, 4, 4], 0.01);
    expect(Array.from(b)).toEqual([0.1 - 0.01, 0.01, -0.2, 0]);
  });

  it('returns a new array and leaves the input untouched; γ = 0 is the identity', () => {
    const bias = Float64Array.from([1, 2]);
    const out = updateBias(bias, [3, 1], 0.5);
    expect(Array.from(bias)).toEqual([1, 2]);
    expect(Array.from(out)).toEqual([0.5, 2.5]);
    expect(Array.from(updateBias(bias, [3, 1], 0))).toEqual([1, 2]);
  });

  it('repeated updates move a fixed imbalance by γ per step (no gradient involved)', () => {
    let b: Float64Array = new Float64Array(3);
    for (let i = 0; i < 5; i++) b = updateBias(b, [10, 1, 1], 0.001);
    expect(b[0]).toBeCloseTo(-0.005, 15);
    expect(b[1]).toBeCloseTo(0.005, 15);
  });

  it('rejects bias/load length mismatch, negative γ, NaN loads', () => {
    expect(() => updateBias(new Float64Array(3), [1, 2], 0.1)).toThrow(/updateBias: bias has 3 entries but load has 2/);
    expect(() => updateBias(new Float64Array(2), [1, 2], -1)).toThrow(/gamma .* must be finite and ≥ 0; got -1/);
    expect(() => updateBias(new Float64Array(2), [1, NaN], 0.1)).toThrow(/load\[1\] must be finite and ≥ 0; got NaN/);
  });
});

import { describe, it, expect } from 'vitest';
import { runMoeLayerDemo } from '../../examples/moe-layer.js';

describe('examples/moe-layer.ts (DeepSeek-style layer with loss-free balancing)', () => {
  it('trains: the loss falls, the bias rule evens the load out, and it is deterministic', () => {
    const lines: string[] = [];
    const a = runMoeLayerDemo({ steps: 50, seed: 7, log: (l) => lines.push(l) });
    expect(a.finalLoss).toBeLessThan(a.initialLoss / 5);
    expect(a.initialJain).toBeLessThan(0.6); // skewed inputs: the untrained router is unbalanced
    expect(a.jain).toBeGreaterThan(0.85);
    expect(a.load.reduce((s, v) => s + v, 0)).toBe(96 * 2);
    expect(lines.some((l) => /Jain/.test(l) && /drop/.test(l))).toBe(true);
    const b = runMoeLayerDemo({ steps: 50, seed: 7, log: () => {} });
    expect(b).toEqual(a);
  });
});

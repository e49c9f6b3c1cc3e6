import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cells, curvesSpec, summarize } from '../../examples/lm/compare.js';

/** A finished cell file as compare.ts writes it, with a hand-made history. */
function writeCell(dir: string, gate: string, shared: number, seed: number, bpcs: number[], sats: number[]): void {
  const cell = { id: `${gate}-shared${shared}-seed${seed}`, gate, shared, seed };
  const history = bpcs.map((bpc, i) => ({ step: i * 10, bpc, trainLoss: bpc, changeRate: i ? 0.5 / i : null, jain: 0.9, utilisation: 1, saturation: sats[i], seconds: i }));
  writeFileSync(join(dir, `${cell.id}.json`), JSON.stringify({ cell, steps: 20, unigram: 4.5, finalBpc: bpcs.at(-1), history, sample: '', seconds: 1 }));
}

describe('lm gating comparison outputs', () => {
  it('cells: every gate × {0, 1} shared × seed, ids unique', () => {
    const cs = cells(['topKSoftmax', 'normalizedSigmoid'], [0, 1, 2]);
    expect(cs).toHaveLength(12);
    expect(new Set(cs.map((c) => c.id)).size).toBe(12);
  });
  it('summary gives mean ± t-interval over seeds, curves average each variant per step and panel', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lm-compare-'));
    writeCell(dir, 'topKSoftmax', 1, 0, [7, 4, 3], [0.2, 0.5, 1]);
    writeCell(dir, 'topKSoftmax', 1, 1, [7, 4, 2], [0.4, 0.7, 1]);
    writeCell(dir, 'normalizedSigmoid', 0, 0, [7, 5, 4], [0.1, 0.3, 1]);
    const md = summarize(dir);
    expect(md).toContain('| topKSoftmax, 1 shared | 20 | 2.500 ± 6.353 (n = 2)'); // mean 2.5, sd 0.707, t(1) 12.706
    const values = (curvesSpec(dir) as { data: { values: { variant: string; step: number; panel: string; y: number }[] } }).data.values;
    const at = (variant: string, panel: string, step: number) => values.find((v) => v.variant === variant && v.panel === panel && v.step === step)?.y;
    expect(at('topKSoftmax, 1 shared', 'validation bits/char', 20)).toBe(2.5);
    expect(at('topKSoftmax, 1 shared', 'validation bits/char', 0)).toBeUndefined(); // the untrained model is left out of that panel
    expect(at('topKSoftmax, 1 shared', 'router saturation', 0)).toBeCloseTo(0.3, 12);
    expect(at('normalizedSigmoid, no shared', 'router change rate', 0)).toBeUndefined(); // no change rate at the first evaluation
    expect(at('normalizedSigmoid, no shared', 'router change rate', 20)).toBe(0.25);
    // Paired contrasts need both variants at the same seed.
    expect(md).not.toContain('| topKSoftmax: 1 shared − no shared |');
    writeCell(dir, 'topKSoftmax', 0, 0, [7, 4, 3.5], [0.2, 0.5, 1]);
    const paired = summarize(dir);
    expect(paired).toContain('| topKSoftmax: 1 shared − no shared | -0.500 (n = 1) |');
    expect(paired).toContain('| normalizedSigmoid − topKSoftmax, no shared | 0.500 (n = 1) |');
  });
});

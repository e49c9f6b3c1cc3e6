/** Token masks for the Switch, z and sequence-wise losses (issue 12): padding is left out of every mean. */
import { describe, it, expect } from 'vitest';
import { Rng, randn, gatherRows, grad, type Tensor } from '../../engine/index.js';
import { topKSoftmaxGate, switchAuxLoss, routerZLoss, sequenceBalanceLoss, ValueError } from '../../index.js';

const T = 8, E = 4, K = 2;
const z = randn(new Rng(3), [T, E]);
const mask = [true, true, false, true, true, false, false, true];
const keptRows = Int32Array.from(mask.flatMap((m, t) => (m ? [t] : [])));
const close = (a: number, b: number) => expect(Math.abs(a - b)).toBeLessThan(1e-14 * Math.max(1, Math.abs(b)));

describe('token masks', () => {
  it('a masked loss equals the loss over the kept tokens only', () => {
    const sub = gatherRows(z, keptRows);
    close(switchAuxLoss(topKSoftmaxGate(z, K), { mask }).item(), switchAuxLoss(topKSoftmaxGate(sub, K)).item());
    close(routerZLoss(z, { mask }).item(), routerZLoss(sub).item());
    close(sequenceBalanceLoss(topKSoftmaxGate(z, K), { mask }).item(), sequenceBalanceLoss(topKSoftmaxGate(sub, K)).item());
  });

  it('an all-true mask changes nothing; sequences are masked one by one', () => {
    const all = new Array<boolean>(T).fill(true);
    close(switchAuxLoss(topKSoftmaxGate(z, K), { mask: all }).item(), switchAuxLoss(topKSoftmaxGate(z, K)).item());
    close(routerZLoss(z, { mask: all.map(() => 1) }).item(), routerZLoss(z).item());
    close(sequenceBalanceLoss(topKSoftmaxGate(z, K), { seqLen: 4, mask: all }).item(), sequenceBalanceLoss(topKSoftmaxGate(z, K), { seqLen: 4 }).item());
    // two sequences of 4: the mean over sequences of each sequence's loss on its kept tokens
    const seq = (rows: number[]) => sequenceBalanceLoss(topKSoftmaxGate(gatherRows(z, Int32Array.from(rows)), K)).item();
    close(sequenceBalanceLoss(topKSoftmaxGate(z, K), { seqLen: 4, mask }).item(), (seq([0, 1, 3]) + seq([4, 7])) / 2);
  });

  it('padding tokens get exactly zero gradient', () => {
    for (const loss of [(x: Tensor) => switchAuxLoss(topKSoftmaxGate(x, K), { mask }), (x: Tensor) => routerZLoss(x, { mask }), (x: Tensor) => sequenceBalanceLoss(topKSoftmaxGate(x, K), { mask })]) {
      const g = grad(loss)(z).toArray();
      mask.forEach((m, t) => { if (!m) for (let e = 0; e < E; e++) expect(g[t * E + e]).toBe(0); });
    }
  });

  it('bad masks are rejected', () => {
    expect(() => switchAuxLoss(topKSoftmaxGate(z, K), { mask: [true] })).toThrow(/switchAuxLoss: mask must have one entry per token, \[8\]; got \[1\]/);
    expect(() => routerZLoss(z, { mask: new Array(T).fill(false) })).toThrow(ValueError);
    expect(() => sequenceBalanceLoss(topKSoftmaxGate(z, K), { mask: new Array(T).fill(2) })).toThrow(/mask\[0\] must be a boolean or 0\/1; got 2/);
  });
});

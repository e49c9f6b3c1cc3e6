/**
 * Registry entries for the routing families of issue 16: noisy top-k (and its smooth load
 * estimator), expert choice, Soft MoE dispatch/combine and the balanced (BASE) assignment. Samples
 * are small (the registry test runs 100 cases per entry, first and second order) and redrawn until
 * every discrete choice has a margin above SELECTION_MARGIN, so finite differences cannot flip it.
 */
import type { OpSpec } from '../../engine/ops/registry.js';
import { Rng, Tensor, randn, rand, concat, reshape, softplus, add, mul, softmax, transpose } from '../../engine/index.js';
import { topKGap } from './common.js';
import { flatGate, SELECTION_MARGIN } from './registry.js';
import { noisyTopKGate, noisyTopKLoadProbs } from './noisy-topk.js';
import { expertChoiceGate, expertChoiceCapacity } from './expert-choice.js';
import { softMoEDispatch, softMoECombine } from './soft-moe.js';
import { balancedAssignmentGate } from './balanced-assignment.js';

const TOLERANCE = { eps: 1e-5 } as const;
const dim = (rng: Rng, size: number, lo: number, hi: number) => lo + rng.int(Math.max(1, Math.min(size, hi) - lo + 1));
const flat = (x: Tensor) => reshape(x, [x.size]);

/** Redraws until `gap(draw)` > SELECTION_MARGIN. */
function withMargin<T>(draw: () => T, gap: (v: T) => number): T {
  for (let i = 0; i < 500; i++) {
    const v = draw();
    if (gap(v) > SELECTION_MARGIN) return v;
  }
  throw new Error('routing-families registry: no draw with a selection margin > 1e-3 in 500 tries');
}

/**
 * Margin of the BASE assignment: Infinity when 24 random perturbations of the logits by up to
 * ±2·SELECTION_MARGIN (200× the finite-difference step) leave the assignment unchanged, else 0.
 */
export function balancedAssignmentGap(z: Tensor, iterations: number): number {
  const a = balancedAssignmentGate(z, { iterations }).indices;
  const rng = new Rng(12345);
  for (let i = 0; i < 24; i++) {
    const b = balancedAssignmentGate(add(z, rand(rng, z.shape, -2 * SELECTION_MARGIN, 2 * SELECTION_MARGIN)), { iterations }).indices;
    if (b.some((e, t) => e !== a[t])) return 0;
  }
  return Infinity;
}

/** Gap of expert choice's per-expert top-C over tokens: top-C of each column of S = softmax(z). */
export function expertChoiceGap(z: Tensor, C: number): number {
  const T = z.shape[0]!, E = z.shape[1]!;
  if (C >= T) return Infinity;
  const sT = transpose(softmax(z, 1)).data; // [E, T]
  return topKGap(sT, E, T, C);
}

export const ROUTING_FAMILY_OPS: OpSpec[] = [
  {
    name: 'noisyTopKGate', family: 'moe-routing', tolerance: TOLERANCE,
    // inputs [clean, noiseLogits], ε fixed; output: the weights and the smooth load [E] (the load
    // probabilities have their own entry; the CV² losses are engine ops, checked in the tests).
    sample: (rng, size) => {
      const T = 1, E = dim(rng, size, 2, 3), k = 1 + rng.int(E - 1);
      const [clean, noiseLogits, eps] = withMargin(() => [randn(rng, [T, E], 1.5), randn(rng, [T, E]), randn(rng, [T, E])] as const,
        ([c, n, e]) => topKGap(add(c, mul(e, softplus(n))).data, T, E, Math.min(k + 1, E)));
      return {
        inputs: [clean, noiseLogits],
        run: ([c, n]) => {
          const g = noisyTopKGate(c!, n!, k, { noise: eps });
          return concat([flat(g.weights), g.load], 0);
        },
        label: `T=${T} E=${E} k=${k}`,
      };
    },
  },
  {
    name: 'noisyTopKLoadProbs', family: 'moe-routing', tolerance: TOLERANCE,
    sample: (rng, size) => {
      const T = dim(rng, size, 1, 2), E = dim(rng, size, 2, 3), k = 1 + rng.int(E - 1);
      const noisy = withMargin(() => randn(rng, [T, E], 1.5), (h) => topKGap(h.data, T, E, k + 1));
      return {
        inputs: [randn(rng, [T, E]), noisy, rand(rng, [T, E], 0.5, 1.5)],
        run: ([c, h, s]) => noisyTopKLoadProbs(c!, h!, s!, k), label: `T=${T} E=${E} k=${k}`,
      };
    },
  },
  {
    name: 'expertChoiceGate', family: 'moe-routing', tolerance: TOLERANCE,
    sample: (rng, size) => {
      const T = dim(rng, size, 2, 3), E = dim(rng, size, 2, 3), f = [0.5, 1, 2][rng.int(3)]!;
      const C = expertChoiceCapacity('sample', T, E, { capacityFactor: f });
      const z = withMargin(() => randn(rng, [T, E], 1.5), (v) => expertChoiceGap(v, C));
      return { inputs: [z], run: ([x]) => flatGate(expertChoiceGate(x!, { capacityFactor: f })), label: `T=${T} E=${E} c=${f} C=${C}` };
    },
  },
  {
    name: 'softMoEDispatch', family: 'moe-routing', tolerance: TOLERANCE,
    sample: (rng, size) => {
      const T = dim(rng, size, 1, 3), S = dim(rng, size, 1, 2), d = dim(rng, size, 1, 2);
      return { inputs: [randn(rng, [T, S], 1.5), randn(rng, [T, d])], run: ([l, x]) => softMoEDispatch(l!, x!), label: `T=${T} S=${S} d=${d}` };
    },
  },
  {
    name: 'softMoECombine', family: 'moe-routing', tolerance: TOLERANCE,
    sample: (rng, size) => {
      const T = dim(rng, size, 1, 3), S = dim(rng, size, 1, 2), d = dim(rng, size, 1, 2);
      return { inputs: [randn(rng, [T, S], 1.5), randn(rng, [S, d])], run: ([l, y]) => softMoECombine(l!, y!), label: `T=${T} S=${S} d=${d}` };
    },
  },
  {
    name: 'balancedAssignmentGate', family: 'moe-routing', tolerance: TOLERANCE,
    // The assignment must not change within ±2e-3 of the logits (the rounding's order is global).
    sample: (rng, size) => {
      const T = dim(rng, size, 1, 4), E = dim(rng, size, 1, 3), iterations = 1 + rng.int(6);
      const z = withMargin(() => randn(rng, [T, E], 1.5), (v) => balancedAssignmentGap(v, iterations));
      return { inputs: [z], run: ([x]) => flatGate(balancedAssignmentGate(x!, { iterations })), label: `T=${T} E=${E} iterations=${iterations}` };
    },
  },
];

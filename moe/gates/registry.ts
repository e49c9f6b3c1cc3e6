/**
 * Registry entries for the gates (fused ops with hand-derived VJPs). Each sample draws float64
 * logits (or tokens and centroids) whose selection margins exceed 1e-3 — the gap between the k-th
 * and (k+1)-th selection score, group scores included — so the finite-difference steps cannot flip
 * a selection. `run` returns weights and scores flattened into one vector, so both are certified.
 */
import type { OpSpec, OpCase } from '../../engine/ops/registry.js';
import { Rng, Tensor, randn, rand, concat, reshape, stableSigmoid } from '../../engine/index.js';
import type { GateOutput } from '../types.js';
import { topKGap } from './common.js';
import { softmaxGate, topKSoftmaxGate } from './softmax.js';
import { softmaxTopKGate } from './softmax-topk.js';
import { temperatureSoftmaxGate } from './temperature.js';
import { hierarchicalSoftmaxGate } from './hierarchical.js';
import { sigmoidGate } from './sigmoid.js';
import { normalizedSigmoidGate } from './normalized-sigmoid.js';
import { laplaceGate, laplaceLogits } from './laplace.js';

/**
 * Finite-difference step for the gate entries: at the default 1e-6 the roundoff of F = Σ out ⊙ r
 * (≈ 1e-16·|F|/ε ≈ 1e-10 here, with ρ-scaled outputs) dominates the small gradients of saturating
 * gates; at 1e-5 the truncation error (≈ ε²·|f'''|/6 ≈ 1e-10) is smaller still.
 */
const TOLERANCE = { eps: 1e-5 } as const;

/** Smallest selection margin a sample may have. */
export const SELECTION_MARGIN = 1e-3;

/** A dimension in [lo, max(lo, min(size, hi))]. */
const dim = (rng: Rng, size: number, lo: number, hi: number) => lo + rng.int(Math.max(1, Math.min(size, hi) - lo + 1));

/** weights and scores as one vector (scores only once for dense gates, where they are the same tensor). */
export function flatGate(g: GateOutput): Tensor {
  const w = reshape(g.weights, [g.weights.size]);
  return g.weights === g.scores ? w : concat([w, reshape(g.scores, [g.scores.size])], 0);
}

/** Redraws until `gap(draw)` > SELECTION_MARGIN (a handful of tries suffice for these sizes). */
function drawWithMargin<T>(draw: () => T, gap: (v: T) => number): T {
  for (let i = 0; i < 200; i++) {
    const v = draw();
    if (gap(v) > SELECTION_MARGIN) return v;
  }
  throw new Error('gate registry: could not draw inputs with a selection margin > 1e-3 in 200 tries');
}

/** Top-k gap of DeepSeek-V3's selection (s + b, group-limited): group scores and the final top-k. */
export function normalizedSigmoidGap(z: Tensor, k: number, bias: Float64Array | null, groups: { numGroups: number; topGroups: number } | null): number {
  const T = z.shape[0]!, E = z.shape[1]!;
  const sel = Float64Array.from(z.data, (v, i) => stableSigmoid(v) + (bias ? bias[i % E]! : 0));
  if (!groups) return topKGap(sel, T, E, k);
  const G = groups.numGroups, M = E / G;
  const gScore = new Float64Array(T * G);
  for (let r = 0; r < T * G; r++) {
    const row = Array.from(sel.subarray(r * M, r * M + M)).sort((a, b) => b - a);
    gScore[r] = row[0]! + (M > 1 ? row[1]! : 0);
  }
  let gap = topKGap(gScore, T, G, groups.topGroups);
  // Inside the kept groups (masking the others) the top-k must be clear too.
  const masked = sel.slice();
  for (let t = 0; t < T; t++) {
    const order = Array.from({ length: G }, (_, a) => a).sort((a, b) => gScore[t * G + b]! - gScore[t * G + a]! || a - b);
    const kept = new Set(order.slice(0, groups.topGroups));
    for (let e = 0; e < E; e++) if (!kept.has(Math.floor(e / M))) masked[t * E + e] = -Infinity;
  }
  gap = Math.min(gap, topKGap(masked, T, E, k));
  return gap;
}

function logitsCase(rng: Rng, T: number, E: number, k: number, run: (z: Tensor) => GateOutput, text: string): OpCase {
  const z = drawWithMargin(() => randn(rng, [T, E], 1.5), (v) => topKGap(v.data, T, E, k));
  return { inputs: [z], run: ([x]) => flatGate(run(x!)), label: `T=${T} E=${E} ${text}` };
}

export const GATE_OPS: OpSpec[] = [
  {
    name: 'softmaxGate', family: 'moe-gate', tolerance: TOLERANCE,
    sample: (rng, size) => { const T = dim(rng, size, 1, 4), E = dim(rng, size, 1, 5); return logitsCase(rng, T, E, E, (z) => softmaxGate(z), 'dense'); },
  },
  {
    name: 'topKSoftmaxGate', family: 'moe-gate', tolerance: TOLERANCE,
    sample: (rng, size) => {
      const T = dim(rng, size, 1, 4), E = dim(rng, size, 2, 6), k = 1 + rng.int(E);
      return logitsCase(rng, T, E, k, (z) => topKSoftmaxGate(z, k), `k=${k}`);
    },
  },
  {
    name: 'softmaxTopKGate', family: 'moe-gate', tolerance: TOLERANCE,
    sample: (rng, size) => {
      const T = dim(rng, size, 1, 4), E = dim(rng, size, 2, 6), k = 1 + rng.int(E), rho = rng.uniform() < 0.5 ? 1 : 2.5;
      return logitsCase(rng, T, E, k, (z) => softmaxTopKGate(z, k, { routeScale: rho }), `k=${k} ρ=${rho}`);
    },
  },
  {
    name: 'temperatureSoftmaxGate', family: 'moe-gate', tolerance: TOLERANCE,
    // inputs [logits, τ]: τ learnable (gets a gradient); dense or top-k.
    sample: (rng, size) => {
      const T = dim(rng, size, 1, 4), E = dim(rng, size, 2, 5), k = rng.uniform() < 0.5 ? undefined : 1 + rng.int(E);
      const z = drawWithMargin(() => randn(rng, [T, E]), (v) => topKGap(v.data, T, E, k ?? E));
      const tau = rand(rng, [], 0.5, 2);
      return { inputs: [z, tau], run: ([x, t]) => flatGate(temperatureSoftmaxGate(x!, t!, k)), label: `T=${T} E=${E} k=${k ?? 'dense'} τ=${tau.item().toFixed(3)}` };
    },
  },
  {
    name: 'temperatureSoftmaxGate:scheduled', family: 'moe-gate', tolerance: TOLERANCE,
    sample: (rng, size) => {
      const T = dim(rng, size, 1, 4), E = dim(rng, size, 2, 5), k = 1 + rng.int(E), tau = 0.5 + 1.5 * rng.uniform();
      return logitsCase(rng, T, E, k, (z) => temperatureSoftmaxGate(z, tau, k), `k=${k} τ=${tau.toFixed(3)} (number)`);
    },
  },
  {
    name: 'hierarchicalSoftmaxGate', family: 'moe-gate', tolerance: TOLERANCE,
    // inputs [groupLogits [T,G], expertLogits [T,G,M]]; dense half of the time, else top-k at one or both levels.
    sample: (rng, size) => {
      const T = dim(rng, size, 1, 3), G = dim(rng, size, 1, 3), M = dim(rng, size, 1, 3);
      const dense = rng.uniform() < 0.5;
      const kG = dense ? G : 1 + rng.int(G), kE = dense ? M : 1 + rng.int(M);
      const z1 = drawWithMargin(() => randn(rng, [T, G], 1.5), (v) => topKGap(v.data, T, G, kG));
      const z2 = drawWithMargin(() => randn(rng, [T, G, M], 1.5), (v) => topKGap(v.data, T * G, M, kE));
      return {
        inputs: [z1, z2], run: ([a, b]) => flatGate(hierarchicalSoftmaxGate(a!, b!, { kGroups: kG, kExperts: kE })),
        label: `T=${T} G=${G} M=${M} kGroups=${kG} kExperts=${kE}`,
      };
    },
  },
  {
    name: 'sigmoidGate', family: 'moe-gate', tolerance: TOLERANCE,
    sample: (rng, size) => {
      const T = dim(rng, size, 1, 4), E = dim(rng, size, 1, 5), k = rng.uniform() < 0.5 ? undefined : 1 + rng.int(E);
      return logitsCase(rng, T, E, k ?? E, (z) => sigmoidGate(z, k), `k=${k ?? 'dense'}`);
    },
  },
  {
    name: 'normalizedSigmoidGate', family: 'moe-gate', tolerance: TOLERANCE,
    // dense theory version, ρ ∈ {1, 2.5}
    sample: (rng, size) => {
      const T = dim(rng, size, 1, 4), E = dim(rng, size, 1, 5), rho = rng.uniform() < 0.5 ? 1 : 2.5;
      return logitsCase(rng, T, E, E, (z) => normalizedSigmoidGate(z, { routeScale: rho }), `dense ρ=${rho}`);
    },
  },
  {
    name: 'normalizedSigmoidGate:topK', family: 'moe-gate', tolerance: TOLERANCE,
    // DeepSeek-V3: selection-only bias half of the time, group-limited routing half of the time.
    sample: (rng, size) => {
      const G = dim(rng, size, 1, 3), M = dim(rng, size, 1, 3), E = G * M < 2 ? 2 : G * M, T = dim(rng, size, 1, 4);
      const groups = G * M >= 2 && G > 1 && rng.uniform() < 0.5 ? { numGroups: G, topGroups: 1 + rng.int(G) } : null;
      const k = 1 + rng.int(groups ? groups.topGroups * (E / G) : E);
      const bias = rng.uniform() < 0.5 ? Float64Array.from({ length: E }, () => 0.2 * rng.normal()) : null;
      const rho = rng.uniform() < 0.5 ? 1 : 2.5;
      const z = drawWithMargin(() => randn(rng, [T, E], 1.5), (v) => normalizedSigmoidGap(v, k, bias, groups));
      const opts = { k, routeScale: rho, ...(bias ? { bias } : {}), ...(groups ?? {}) };
      return {
        inputs: [z], run: ([x]) => flatGate(normalizedSigmoidGate(x!, opts)),
        label: `T=${T} E=${E} k=${k} ρ=${rho}${bias ? ' bias' : ''}${groups ? ` groups=${groups.numGroups} keep=${groups.topGroups}` : ''}`,
      };
    },
  },
  {
    name: 'laplaceGate', family: 'moe-gate', tolerance: TOLERANCE,
    // inputs [x [T,D], centroids [E,D]]; dense or top-k nearest centroids.
    sample: (rng, size) => {
      const T = dim(rng, size, 1, 4), E = dim(rng, size, 2, 5), D = dim(rng, size, 1, 3), k = rng.uniform() < 0.5 ? undefined : 1 + rng.int(E);
      const [x, w] = drawWithMargin(() => [randn(rng, [T, D]), randn(rng, [E, D])] as const, ([a, b]) => {
        const z = laplaceLogits('sample', a, b);
        // Also away from the kink x = ω: every distance ≥ 50·margin = 0.05, since near a centroid the
        // logit's curvature (~1/‖x − ω‖) makes finite differences of the gradient unreliable.
        return Math.min(topKGap(z.data, T, E, k ?? E), -Math.max(...z.data) / 50);
      });
      return { inputs: [x, w], run: ([a, b]) => flatGate(laplaceGate(a!, b!, k)), label: `T=${T} E=${E} D=${D} k=${k ?? 'dense'}` };
    },
  },
];

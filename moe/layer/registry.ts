/**
 * Registry entries for dispatch/combine, the grouped matmul, the expert families and the MoE
 * losses. Each sample draws a random routing plan (integers, fixed during the gradcheck) and
 * float64 inputs; activations' kinks (relu at 0) have probability zero under continuous draws.
 */
import type { OpSpec, OpCase } from '../../engine/ops/registry.js';
import { Rng, Tensor, randn, softmax, sigmoid } from '../../engine/index.js';
import { buildRoutingPlan } from '../routing.js';
import { dispatch, undispatch, combine, dispatchScaled, combineWeightGrad, planIndex } from '../dispatch.js';
import { segmentMatmul, segmentOuter } from '../experts/segment-matmul.js';
import { initExperts, applyExperts, EXPERT_KINDS, type ExpertKind, type ExpertParams } from '../experts/families.js';
import { switchAuxLoss, routerZLoss, expertBalanceLoss, deviceBalanceLoss, sequenceBalanceLoss } from '../losses.js';
import type { RoutingPlan } from '../types.js';
import { MoELayer, type MoELayerConfig } from './layer.js';
import { topKMargin } from '../diagnostics.js';
import { treeLeaves, treeMap } from '../../engine/index.js';

/** A dimension in [lo, min(size, hi)]. */
const dim = (rng: Rng, size: number, lo: number, hi: number) => lo + rng.int(Math.max(1, Math.min(size, hi) - lo + 1));

/** K distinct experts per token; a capacity below the dropless need half of the time. */
function samplePlan(rng: Rng, size: number): { plan: RoutingPlan; T: number; E: number; K: number } {
  const T = dim(rng, size, 1, 5), E = dim(rng, size, 2, 4), K = 1 + rng.int(E);
  const expertOf = new Int32Array(T * K);
  for (let t = 0; t < T; t++) expertOf.set(rng.permutation(E).subarray(0, K), t * K);
  const capacity = rng.uniform() < 0.5 ? Infinity : Math.max(1, Math.floor((T * K) / E));
  return { plan: buildRoutingPlan(expertOf, T, E, K, capacity), T, E, K };
}

const label = (plan: RoutingPlan, extra = '') =>
  `T=${plan.numTokens} E=${plan.numExperts} K=${plan.topK} S=${plan.order.length}${plan.dropped.length ? ` dropped=${plan.dropped.length}` : ''}${extra}`;

/** One expert family as a registry case: inputs = [rows, ...param leaves]. */
function expertCase(kind: ExpertKind, rng: Rng, size: number): OpCase {
  const { plan } = samplePlan(rng, size);
  const D = dim(rng, size, 1, 3), H = dim(rng, size, 1, 3);
  const params = initExperts(rng, kind, { numExperts: plan.numExperts, dIn: D, dHidden: H });
  const keys = Object.keys(params);
  const leaves = keys.map((k) => randn(rng, (params as Record<string, Tensor>)[k]!.shape, 0.8));
  const { expertOfRow } = planIndex(plan);
  return {
    inputs: [randn(rng, [plan.order.length, D]), ...leaves],
    run: ([rows, ...ps]) => applyExperts(Object.fromEntries(keys.map((k, i) => [k, ps[i]!])) as ExpertParams, kind, rows!, plan.offsets, expertOfRow),
    label: label(plan, ` D=${D} H=${H}`),
  };
}

/** Random scores [T, E] (softmax or sigmoid of normal logits) with a random top-K selection. */
function lossCase(rng: Rng, size: number, positive: 'softmax' | 'sigmoid', seqs = 1, groups?: number) {
  const L = dim(rng, size, 1, 4), T = L * seqs, E = 2 * dim(rng, size, 1, 3), K = 1 + rng.int(E - 1);
  // Equal selection counts make Σ f·P a constant for softmax scores (zero gradient, where a relative
  // error is meaningless), so redraw until some expert is chosen more often than another.
  const indices = new Int32Array(T * K);
  const G = groups ?? E; // count per group of E/G contiguous experts (devices)
  const counts = new Int32Array(G);
  do {
    counts.fill(0);
    for (let t = 0; t < T; t++) indices.set(rng.permutation(E).subarray(0, K), t * K);
    for (const e of indices) counts[Math.floor((e * G) / E)]!++;
  } while (counts.every((c) => c === counts[0]));
  const z = randn(rng, [T, E]);
  const scores = (v: Tensor) => (positive === 'softmax' ? softmax(v) : sigmoid(v));
  return { z, indices, scores, L, T, E, K, text: `T=${T} E=${E} K=${K}` };
}

export const LAYER_OPS: OpSpec[] = [
  {
    name: 'dispatch', family: 'moe-dispatch',
    sample: (rng, size) => {
      const { plan, T } = samplePlan(rng, size);
      return { inputs: [randn(rng, [T, dim(rng, size, 1, 3)])], run: ([x]) => dispatch(x!, plan), label: label(plan) };
    },
  },
  {
    name: 'undispatch', family: 'moe-dispatch',
    sample: (rng, size) => {
      const { plan } = samplePlan(rng, size);
      return { inputs: [randn(rng, [plan.order.length, dim(rng, size, 1, 3)])], run: ([r]) => undispatch(r!, plan), label: label(plan) };
    },
  },
  {
    name: 'combine', family: 'moe-dispatch',
    sample: (rng, size) => {
      const { plan, T, K } = samplePlan(rng, size);
      return {
        inputs: [randn(rng, [plan.order.length, dim(rng, size, 1, 3)]), randn(rng, [T, K])],
        run: ([e, w]) => combine(e!, w!, plan), label: label(plan),
      };
    },
  },
  {
    name: 'dispatchScaled', family: 'moe-dispatch',
    sample: (rng, size) => {
      const { plan, T, K } = samplePlan(rng, size);
      return {
        inputs: [randn(rng, [T, dim(rng, size, 1, 3)]), randn(rng, [T, K])],
        run: ([dy, w]) => dispatchScaled(dy!, w!, plan), label: label(plan),
      };
    },
  },
  {
    name: 'combineWeightGrad', family: 'moe-dispatch',
    sample: (rng, size) => {
      const { plan, T } = samplePlan(rng, size);
      const D = dim(rng, size, 1, 3);
      return {
        inputs: [randn(rng, [T, D]), randn(rng, [plan.order.length, D])],
        run: ([dy, e]) => combineWeightGrad(dy!, e!, plan), label: label(plan),
      };
    },
  },
  {
    name: 'segmentMatmul', family: 'moe-expert',
    sample: (rng, size) => {
      const { plan } = samplePlan(rng, size);
      const D = dim(rng, size, 1, 3), H = dim(rng, size, 1, 3);
      return {
        inputs: [randn(rng, [plan.order.length, D]), randn(rng, [plan.numExperts, D, H])],
        run: ([x, w]) => segmentMatmul(x!, w!, plan.offsets), label: label(plan, ` D=${D} H=${H}`),
      };
    },
  },
  {
    name: 'segmentOuter', family: 'moe-expert',
    sample: (rng, size) => {
      const { plan } = samplePlan(rng, size);
      const S = plan.order.length, D = dim(rng, size, 1, 3), H = dim(rng, size, 1, 3);
      return { inputs: [randn(rng, [S, D]), randn(rng, [S, H])], run: ([x, y]) => segmentOuter(x!, y!, plan.offsets), label: label(plan, ` D=${D} H=${H}`) };
    },
  },
  // 30 cases per family, not 100: each case perturbs every weight of [E, D, H] experts at first and
  // second order (~50-60 ms a case, 6 families); the families' values and gradients are also checked
  // against per-expert loops in test/moe/experts.test.ts.
  ...EXPERT_KINDS.map((kind): OpSpec => ({ name: `experts:${kind}`, family: 'moe-expert', runs: 30, sample: (rng, size) => expertCase(kind, rng, size) })),
  {
    name: 'switchAuxLoss', family: 'moe-loss',
    sample: (rng, size) => {
      const c = lossCase(rng, size, 'softmax');
      return { inputs: [c.z], run: ([z]) => switchAuxLoss({ scores: c.scores(z!), indices: c.indices }, { coefficient: 0.5 }), label: `softmax scores, ${c.text}` };
    },
  },
  {
    name: 'routerZLoss', family: 'moe-loss',
    sample: (rng, size) => ({ inputs: [randn(rng, [dim(rng, size, 1, 5), dim(rng, size, 1, 5)], 2)], run: ([z]) => routerZLoss(z!), label: 'logits' }),
  },
  {
    name: 'expertBalanceLoss', family: 'moe-loss',
    sample: (rng, size) => {
      const c = lossCase(rng, size, 'softmax');
      return { inputs: [c.z], run: ([z]) => expertBalanceLoss({ scores: c.scores(z!), indices: c.indices }, { alpha: 0.1 }), label: `softmax scores, ${c.text}` };
    },
  },
  {
    name: 'deviceBalanceLoss', family: 'moe-loss',
    sample: (rng, size) => {
      const c = lossCase(rng, size, 'softmax', 1, 2);
      return { inputs: [c.z], run: ([z]) => deviceBalanceLoss({ scores: c.scores(z!), indices: c.indices }, { numDevices: 2 }), label: `softmax scores, 2 devices, ${c.text}` };
    },
  },
  {
    name: 'sequenceBalanceLoss', family: 'moe-loss',
    // eps 1e-5 (like the gate entries): at 1e-6 the finite difference's own roundoff reaches ~1e-6
    // relative on some draws (seed 1007916338, size 3), which is the checker's error, not the VJP's.
    tolerance: { eps: 1e-5 },
    sample: (rng, size) => {
      const seqs = 1 + rng.int(3);
      const c = lossCase(rng, size, 'sigmoid', seqs);
      return {
        inputs: [c.z],
        run: ([z]) => sequenceBalanceLoss({ scores: c.scores(z!), indices: c.indices }, { seqLen: c.L, alpha: 0.3 }),
        label: `sigmoid scores, ${seqs} sequences of ${c.L}, ${c.text}`,
      };
    },
  },
  {
    // The whole layer: normalized-sigmoid router + routed SwiGLU experts + one shared expert.
    // Redrawn until every token's top-K margin exceeds 1e-3, so finite differences never flip a selection.
    // 20 cases, not 100: one case perturbs each of up to ~100 parameters at first and second order
    // (≈ 0.4 s a case); every op inside the layer has its own 100-case entry.
    name: 'MoELayer', family: 'moe-layer', runs: 20,
    sample: (rng, size) => {
      const E = dim(rng, size, 2, 4), K = 1 + rng.int(E - 1), T = dim(rng, size, 1, 4), D = dim(rng, size, 1, 3);
      const config: MoELayerConfig = {
        dModel: D, dHidden: 2, numExperts: E, topK: K, expert: 'swiglu', numShared: 1,
        gate: { kind: 'normalizedSigmoid', numExperts: E, topK: K },
      };
      for (;;) {
        const params = treeMap(MoELayer.init(rng, config), (p) => randn(rng, p.shape, 0.8));
        const x = randn(rng, [T, D]);
        const margins = topKMargin(MoELayer.apply(params, x, config).gate.scores, K);
        if (margins.some((m) => m < 1e-3)) continue;
        const leaves = treeLeaves(params);
        return {
          inputs: [x, ...leaves],
          run: ([xi, ...ps]) => { let i = 0; return MoELayer.apply(treeMap(params, () => ps[i++]!), xi!, config).y; },
          label: `T=${T} D=${D} E=${E} K=${K} swiglu + 1 shared, normalizedSigmoid`,
        };
      }
    },
  },
];

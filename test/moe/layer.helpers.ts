/**
 * Test helpers for the MoE layer tests.
 * `checkGradOfGrad`: the engine's gradcheck evaluates f under noGrad, where a `grad` taken inside f
 * records nothing and returns zeros, so second derivatives are checked here by hand: for
 * h(p) = Σ ⟨∇inner(p), s⟩ (s a random cotangent), compare ⟨∇h(p), v⟩ (grad of grad) with the central
 * difference (h(p + εv) − h(p − εv)) / 2ε along a few random directions v.
 */
import { buildRoutingPlan } from '../../moe/routing.js';
import type { Gate, RoutingPlan } from '../../moe/types.js';
import { Rng, grad, fromData, randn, sum, mul, add, matmul, softmax, topk, treeLeaves, treeMap, type Tensor, type TensorTree } from '../../engine/index.js';

export function checkGradOfGrad<T extends TensorTree>(inner: (p: T) => Tensor, inputs: T, seed = 0, directions = 3): { maxRelError: number } {
  const rng = new Rng(seed);
  const s = treeMap(inputs, (leaf) => randn(rng, leaf.shape));
  const sLeaves = treeLeaves(s);
  const h = (p: T): Tensor => {
    const g = treeLeaves(grad(inner)(p));
    return g.map((gi, i) => sum(mul(gi, sLeaves[i]!))).reduce((a, b) => add(a, b));
  };
  const analytic = treeLeaves(grad(h)(inputs));
  let maxRel = 0;
  const eps = 1e-6;
  for (let k = 0; k < directions; k++) {
    const v = treeLeaves(inputs).map((leaf) => Float64Array.from(leaf.data, () => rng.normal()));
    const shifted = (sign: number) => treeMap(inputs, (leaf, i) => fromData(Float64Array.from(leaf.data, (x, j) => x + sign * eps * v[i]![j]!), leaf.shape));
    const numeric = (h(shifted(1)).item() - h(shifted(-1)).item()) / (2 * eps);
    let a = 0;
    analytic.forEach((g, i) => g.data.forEach((x, j) => { a += x * v[i]![j]!; }));
    maxRel = Math.max(maxRel, Math.abs(a - numeric) / Math.max(Math.abs(a), Math.abs(numeric), 1e-8));
  }
  return { maxRelError: maxRel };
}

/** K distinct experts per token, drawn with `rng`; optional per-expert capacity. */
export function randomPlan(rng: Rng, T: number, E: number, K: number, capacity = Infinity): RoutingPlan {
  const expertOf = new Int32Array(T * K);
  for (let t = 0; t < T; t++) expertOf.set(rng.permutation(E).subarray(0, K), t * K);
  return buildRoutingPlan(expertOf, T, E, K, capacity);
}

/**
 * A reference gate composed from engine ops (so its gradient needs no fused VJP): linear router
 * logits = x·W + b, softmax over all E, keep the top-K probabilities without renormalizing
 * (DeepSeekMoE). Lets the layer tests run independently of moe/gates.
 */
export function composedSoftmaxTopKGate(numExperts: number, topK: number): Gate<{ w: Tensor; b: Tensor }> {
  return {
    name: 'composedSoftmaxTopK', numExperts, topK,
    init: (rng, dModel) => ({ w: randn(rng, [dModel, numExperts], 1 / Math.sqrt(dModel)), b: randn(rng, [numExperts], 0.1) }),
    route: (params, x, options) => {
      const logits = add(matmul(x, params.w), params.b);
      const scores = softmax(logits);
      const { values, indices } = topk(scores, topK);
      const plan = buildRoutingPlan(indices, x.shape[0]!, numExperts, topK, options?.capacity ?? Infinity);
      return { weights: values, indices, scores, logits, plan };
    },
  };
}

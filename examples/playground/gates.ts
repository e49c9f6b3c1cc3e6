/**
 * The gates the playground offers. Until moe/gates exports `makeGate`, a stand-in linear router with
 * a dense softmax and a Mixtral top-k softmax (engine ops only) implements the Gate interface.
 */
import {
  Rng, Tensor, randn, zeros, add, matmul, softmax, topk, buildRoutingPlan, type GateOutput,
} from '../../index.js';
import type { Gate, RouteOptions } from '../../moe/types.js';

export type GateKind = 'softmax' | 'topKSoftmax';

export const GATE_KINDS: readonly { kind: GateKind; label: string; sparse: boolean }[] = [
  { kind: 'softmax', label: 'softmax (dense)', sparse: false },
  { kind: 'topKSoftmax', label: 'top-k softmax (Mixtral)', sparse: true },
];

type LinearRouter = { readonly w: Tensor; readonly b: Tensor };

/** A Gate for the playground: `k` is ignored by dense gates (they route to all E). */
export function playgroundGate(kind: GateKind, numExperts: number, k: number): Gate<LinearRouter> {
  const E = numExperts, K = kind === 'softmax' ? E : k;
  return {
    name: kind, numExperts: E, topK: K,
    init: (rng: Rng, dModel: number) => ({ w: randn(rng, [dModel, E], 1), b: zeros([E]) }),
    route(params: LinearRouter, x: Tensor, options?: RouteOptions): GateOutput {
      const T = x.shape[0]!;
      const logits = add(matmul(x, params.w), params.b);
      const scores = softmax(logits, 1);
      if (kind === 'softmax') {
        const indices = new Int32Array(T * E).map((_, i) => i % E);
        return { weights: scores, indices, scores, logits, plan: buildRoutingPlan(indices, T, E, E, options?.capacity) };
      }
      const top = topk(logits, K, 1);
      return { weights: softmax(top.values, 1), indices: top.indices, scores, logits, plan: buildRoutingPlan(top.indices, T, E, K, options?.capacity) };
    },
  };
}

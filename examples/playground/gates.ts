/**
 * The gates the playground offers: every kind of moegrad's `makeGate` (issue #3), with the
 * page's single "k" control mapped onto each kind's own settings.
 */
import { makeGate, type Gate, type GateConfig, type GateKind, type RouterParams } from '../../index.js';

export type { GateKind };

export interface GateChoice {
  readonly kind: GateKind;
  readonly label: string;
  /** Whether k applies (false: the gate is dense, every expert gets every point). */
  readonly sparse: boolean;
  /** One line for the learner: the formula and what to look for. */
  readonly note: string;
}

export const GATE_KINDS: readonly GateChoice[] = [
  { kind: 'softmax', label: 'softmax (dense)', sparse: false, note: 'w = softmax(xW + b) over all E experts: every expert runs on every point.' },
  { kind: 'topKSoftmax', label: 'top-k softmax (Mixtral)', sparse: true, note: 'Keep the k largest logits, softmax over those k only: unselected experts get zero gradient.' },
  { kind: 'softmaxTopK', label: 'softmax → top-k (DeepSeekMoE)', sparse: true, note: 'Softmax over all E, then keep the k largest probabilities without renormalizing: unselected logits still get gradient through the normalizer.' },
  { kind: 'temperature', label: 'temperature (learnable τ)', sparse: true, note: 'softmax(z/τ) with τ = exp(logTau) learned; ∂o/∂logTau is shown too. k = E makes it dense.' },
  { kind: 'hierarchical', label: 'hierarchical (2 groups)', sparse: true, note: 'w = p(group)·p(expert | group): both groups are kept and k experts inside each (K = 2k). Keeping one group would give it weight 1 and its router no gradient. Needs an even E.' },
  { kind: 'sigmoid', label: 'sigmoid (unnormalized)', sparse: true, note: 'w = σ(z) for the k largest logits, no normalization: weights need not sum to 1. k = E makes it dense.' },
  { kind: 'normalizedSigmoid', label: 'norm. sigmoid (DeepSeek-V3)', sparse: true, note: 'σ(z) for the top k, renormalized to sum to 1 (no router bias, as in DeepSeek-V3).' },
  { kind: 'laplace', label: 'Laplace (centroid distance)', sparse: true, note: 'softmax(−‖x − ω_e‖) over the top k: each expert owns the points nearest its centroid ω_e.' },
];

/** Groups of the hierarchical gate. */
export const HIERARCHICAL_GROUPS = 2;

/** The makeGate config for a page setting (E experts, k chosen). */
export function gateConfig(kind: GateKind, numExperts: number, k: number): GateConfig {
  const E = numExperts, K = Math.min(Math.max(1, k), E);
  switch (kind) {
    case 'softmax': return { kind, numExperts: E };
    case 'hierarchical': {
      const perGroup = E / HIERARCHICAL_GROUPS;
      return { kind, numExperts: E, numGroups: HIERARCHICAL_GROUPS, kGroups: HIERARCHICAL_GROUPS, kExperts: Math.min(K, perGroup) };
    }
    case 'laplace': return { kind, numExperts: E, topK: K, initStd: 0.6 };
    default: return { kind, numExperts: E, topK: K };
  }
}

/** A Gate for the playground (`k` is ignored by dense gates; hierarchical keeps k of E/2 in each group). */
export function playgroundGate(kind: GateKind, numExperts: number, k: number): Gate<RouterParams> {
  return makeGate(gateConfig(kind, numExperts, k));
}

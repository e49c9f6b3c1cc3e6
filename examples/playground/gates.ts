/**
 * The gates the playground offers: every kind of moegrad's `makeGate` (issue #3) and the routing
 * families of issue 16 (noisy top-k, expert choice, BASE, Soft MoE), with the page's single "k"
 * control mapped onto each kind's own settings.
 */
import {
  makeGate, makeRoutingGate, type Gate, type GateConfig, type GateKind as MakeGateKind, type RouterParams, type RoutingGateKind,
  type LayerGateSpec,
} from '../../index.js';

/** A gate the page offers: a makeGate kind, a routing family, or Soft MoE. */
export type GateKind = MakeGateKind | RoutingGateKind | 'softMoE';

export interface GateChoice {
  readonly kind: GateKind;
  readonly label: string;
  /** Whether k applies (false: the gate is dense, every expert gets every point). */
  readonly sparse: boolean;
  /** One line for the learner: the formula and what to look for. */
  readonly note: string;
  /** What the disabled k control shows (default: 'dense (all E)'). */
  readonly kLabel?: string;
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
  { kind: 'noisyTopK', label: 'noisy top-k (Shazeer 2017)', sparse: true, note: 'H = z + ε·softplus(z_noise), top k of H, softmax over those: training draws ε (seeded per step), the view shows ε = 0. The noise spreads points over experts.' },
  { kind: 'expertChoice', label: 'expert choice (Zhou 2022)', sparse: false, kLabel: 'C = ⌈T/E⌉ per expert', note: 'Experts pick points: each expert takes the C = ⌈T/E⌉ points with the largest softmax score. A point may get 0 or several experts; every expert is exactly full.' },
  { kind: 'balancedAssignment', label: 'BASE (balanced, Sinkhorn)', sparse: false, kLabel: '1, balanced', note: 'Each point gets one expert and every expert the same number of points (Sinkhorn, then exact rounding); weight σ(z) of the assigned expert.' },
  { kind: 'softMoE', label: 'Soft MoE (Puigcerver 2023)', sparse: false, kLabel: 'all E, via slots', note: 'Each expert sees one slot: a softmax-over-points mixture of all points; each point\'s output mixes all slots. The view shows each point\'s largest combine mass.' },
];

/** Groups of the hierarchical gate. */
export const HIERARCHICAL_GROUPS = 2;

/** The makeGate config for a page setting (E experts, k chosen). */
export function gateConfig(kind: MakeGateKind, numExperts: number, k: number): GateConfig {
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
export function playgroundGate(kind: Exclude<GateKind, 'softMoE'>, numExperts: number, k: number): Gate<RouterParams> {
  const K = Math.min(Math.max(1, k), numExperts);
  if (kind === 'noisyTopK') return makeRoutingGate({ kind, numExperts, topK: K });
  if (kind === 'expertChoice' || kind === 'balancedAssignment') return makeRoutingGate({ kind, numExperts });
  return makeGate(gateConfig(kind, numExperts, k));
}

/** The layer's gate spec and top-K for a page setting (Soft MoE: one slot per expert, K = E). */
export function playgroundLayerGate(kind: GateKind, numExperts: number, k: number): { gate: LayerGateSpec; topK: number } {
  if (kind === 'softMoE') return { gate: { kind, numExperts, slotsPerExpert: 1 }, topK: numExperts };
  const gate = playgroundGate(kind, numExperts, k);
  return { gate, topK: gate.topK };
}

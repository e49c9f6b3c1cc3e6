/**
 * The shared ↔ routed exchange: a discrete symmetry of the deviated mixture of arXiv 2505.10860
 * Eq. (1)/(8) that the gauge group of `gauge.ts` does not contain.
 *
 * With both parts present the density is ½·Σ_i ω_i N(y | h1(x; κ_i), τ_i) + ½·Σ_j g_j(x) N(y | h2(x; η_j), ν_j).
 * When the routed gate g_j(x) = p_j does not depend on x (softmax with equal slopes β1j), both halves
 * are fixed-weight mixtures, and exchanging them — the routed atoms become shared atoms with weights
 * p_j, the shared atoms become routed atoms with gates β0 = log ω_i + log Σ_j e^{β0j}, β1 = the common
 * slope — gives the same density whenever each part's experts can be written in the other's family.
 * The printed truths of Thm 1 and Thm 2 (App. G.1.2, β11* = β12* = 5) are such models, so a fit may
 * converge to the exchanged truth: its Voronoi loss against the printed truth is large although it
 * is as close to the true density. Losses are therefore measured against both (`measure`).
 *
 * Only the softmax gate is handled: for the normalized sigmoid (Thm 3, β1* = 0) the exchange also
 * holds for the density, but a single exchanged routed atom's sigmoid mass σ(β0) is not determined.
 */
import type { ExpertShape, GaussianMoE } from './gaussian-moe.js';

/** Maps an expert vector of family `from` into family `to`, or null when `to` cannot express it exactly. */
function mapExpert(from: ExpertShape, to: ExpertShape, e: readonly number[], d: number): number[] | null {
  if (from.family !== to.family) return null;
  if (from.family === 'linear') return [...e];
  const fromBias = from.bias !== false, toBias = to.bias !== false;
  if (fromBias === toBias) return [...e];
  if (!fromBias) return [...e.slice(0, d), 0, ...e.slice(d)]; // [w, a] → [w, b = 0, a]
  return e[d] === 0 ? [...e.slice(0, d), ...e.slice(d + 1)] : null; // [w, 0, a] → [w, a]; a bias ≠ 0 has no image
}

/**
 * The exchanged model (see the module comment), or null when the exchange is not an exact symmetry:
 * not a softmax gate, routed slopes not all equal, a missing part, or experts the other family cannot express.
 */
export function sharedRoutedSwap(m: GaussianMoE): GaussianMoE | null {
  if (m.gate !== 'softmax' || m.shared.length === 0 || m.routed.length === 0) return null;
  const slope = m.routed[0]!.beta1;
  if (!m.routed.every((a) => a.beta1.every((b, t) => b === slope[t]))) return null;
  const mx = Math.max(...m.routed.map((a) => a.beta0));
  const z = m.routed.reduce((s, a) => s + Math.exp(a.beta0 - mx), 0), logMass = mx + Math.log(z);
  const shared = m.routed.map((a) => ({ weight: Math.exp(a.beta0 - logMass), expert: mapExpert(m.routedExpert, m.sharedExpert, a.expert, m.d), variance: a.variance }));
  const wSum = m.shared.reduce((s, a) => s + a.weight, 0);
  const routed = m.shared.map((a) => ({ beta0: Math.log(a.weight / wSum) + logMass, beta1: [...slope], expert: mapExpert(m.sharedExpert, m.routedExpert, a.expert, m.d), variance: a.variance }));
  if (shared.some((a) => a.expert === null) || routed.some((a) => a.expert === null)) return null;
  return { ...m, shared: shared.map((a) => ({ ...a, expert: a.expert! })), routed: routed.map((a) => ({ ...a, expert: a.expert! })) };
}

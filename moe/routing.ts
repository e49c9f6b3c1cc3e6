/** Builds the integer dispatch plan from chosen experts: pure integer code, no tape. */
import { ValueError } from '../engine/index.js';
import type { RoutingPlan } from './types.js';
import { checkIndexArray, checkCountIn, describeValue, MAX_COUNT } from '../engine/validate.js';

/**
 * Which slots keep their place when an expert is over capacity: `'token'` (default) in token order —
 * token 0's choices, then token 1's, … — so a later token can lose its first choice while an earlier
 * token keeps its second; `'choice'` (GShard, Lepikhin et al. 2020) all first choices before any
 * second choice, then all second choices, ….
 */
export type CapacityPriority = 'token' | 'choice';

/**
 * Counting sort of the T·K slots by expert (stable, so lower tokens come first within an expert).
 * With a `capacity`, each expert keeps its first `capacity` slots in `priority` order (default
 * 'token') and the rest are reported dropped (ascending slot order).
 */
export function buildRoutingPlan(expertOf: Int32Array, numTokens: number, numExperts: number, topK: number, capacity = Infinity, priority: CapacityPriority = 'token'): RoutingPlan {
  const op = 'buildRoutingPlan';
  checkIndexArray(op, expertOf, 'expertOf');
  checkCountIn(op, 'numTokens', numTokens, 0, MAX_COUNT);
  checkCountIn(op, 'numExperts', numExperts, 1, 1 << 24);
  checkCountIn(op, 'topK', topK, 1, numExperts);
  if (!(typeof capacity === 'number' && capacity >= 1 && (Number.isInteger(capacity) || capacity === Infinity))) {
    throw new ValueError(op, `capacity must be an integer ≥ 1 token (or Infinity); got ${describeValue(capacity)}`);
  }
  if (priority !== 'token' && priority !== 'choice') throw new ValueError(op, `priority must be 'token' or 'choice'; got ${describeValue(priority)}`);
  if (expertOf.length !== numTokens * topK) throw new ValueError(op, `expected ${numTokens}·${topK} = ${numTokens * topK} choices; got ${expertOf.length}`);
  if (!(capacity >= 1)) throw new ValueError(op, `capacity must be ≥ 1 token; got ${capacity}`);
  const counts = new Int32Array(numExperts);
  for (let s = 0; s < expertOf.length; s++) {
    const e = expertOf[s]!;
    if (e < 0 || e >= numExperts) throw new ValueError(op, `expert index ${e} at slot ${s} is out of range [0, ${numExperts})`);
    counts[e]!++;
  }
  const kept = counts.map((c) => Math.min(c, capacity));
  const offsets = new Int32Array(numExperts + 1);
  for (let e = 0; e < numExperts; e++) offsets[e + 1] = offsets[e]! + kept[e]!;
  const order = new Int32Array(offsets[numExperts]!);
  const fill = offsets.slice(0, numExperts);
  const dropped: number[] = [];
  // Slots claim capacity in priority order: 'token' = slot order t·K + k (token 0's choices, then
  // token 1's, …); 'choice' = GShard's: every token's first choice, then every second choice, ….
  const visit = (s: number): void => {
    const e = expertOf[s]!;
    if (fill[e]! < offsets[e + 1]!) order[fill[e]!++] = s;
    else dropped.push(s);
  };
  if (priority === 'token' || capacity === Infinity) for (let s = 0; s < expertOf.length; s++) visit(s);
  else for (let k = 0; k < topK; k++) for (let t = 0; t < numTokens; t++) visit(t * topK + k);
  dropped.sort((a, b) => a - b);
  return { numTokens, numExperts, topK, expertOf, order, offsets, dropped: Int32Array.from(dropped), capacity };
}

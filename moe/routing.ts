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
  const bad = countExperts(expertOf, numExperts, counts);
  if (bad >= 0) throw new ValueError(op, `expert index ${expertOf[bad]} at slot ${bad} is out of range [0, ${numExperts})`);
  const offsets = new Int32Array(numExperts + 1);
  for (let e = 0; e < numExperts; e++) offsets[e + 1] = offsets[e]! + Math.min(counts[e]!, capacity);
  const order = new Int32Array(offsets[numExperts]!);
  // Slots claim capacity in priority order: 'token' = slot order t·K + k (token 0's choices, then
  // token 1's, …); 'choice' = GShard's: every token's first choice, then every second choice, ….
  const dropped = placeSlots(expertOf, offsets, order, priority === 'token' || capacity === Infinity ? 0 : topK, numTokens);
  dropped.sort((a, b) => a - b);
  return { numTokens, numExperts, topK, expertOf, order, offsets, dropped: Int32Array.from(dropped), capacity };
}

// The slot loops, each alone in its function: run once per call, a loop is optimized on the stack,
// and code after it without type feedback deoptimized that code every call (V8 --trace-deopt: 80
// deopts in 80 calls of a dense gate), so every call ran mostly in the interpreter.

/** counts[e] = number of slots choosing e; returns the first slot with an out-of-range expert, or −1. */
function countExperts(expertOf: Int32Array, numExperts: number, counts: Int32Array): number {
  for (let s = 0; s < expertOf.length; s++) {
    const e = expertOf[s]!;
    if (e < 0 || e >= numExperts) return s;
    counts[e]!++;
  }
  return -1;
}

/**
 * Fills `order` (expert-grouped, offsets[e] .. offsets[e+1] for expert e) with the slots in priority
 * order — slot order when `choiceK` is 0, else every token's first choice, then every second, … for
 * K = choiceK — and returns the slots that found their expert full.
 */
function placeSlots(expertOf: Int32Array, offsets: Int32Array, order: Int32Array, choiceK: number, numTokens: number): number[] {
  const fill = offsets.slice(0, offsets.length - 1);
  const dropped: number[] = [];
  const n = expertOf.length;
  for (let i = 0; i < n; i++) {
    const s = choiceK === 0 ? i : (i % numTokens) * choiceK + Math.floor(i / numTokens);
    const e = expertOf[s]!;
    if (fill[e]! < offsets[e + 1]!) order[fill[e]!++] = s;
    else dropped.push(s);
  }
  return dropped;
}

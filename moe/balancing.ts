/**
 * DeepSeek-V3 auxiliary-loss-free load balancing (Wang et al. 2024, arXiv:2408.15664;
 * DeepSeek-V3, arXiv:2412.19437 §2.1.2). A per-expert bias b is added to the
 * scores for *selection only*; after each step it moves by a fixed γ towards balance:
 *   `b_i ← b_i + γ · sign(mean_j load_j − load_i)`
 * (overloaded experts go down, underloaded up, an expert exactly at the mean stays). Pure numbers:
 * the bias never enters the tape, so it gets no gradient.
 */
import { ValueError } from '../engine/index.js';
import { checkNumbers, describeValue } from '../engine/validate.js';

/**
 * One sign-rule update of the selection bias. `load[i]` is the number (or fraction) of tokens routed
 * to expert i in the step (e.g. `expertLoad(gate.plan)`); returns a new Float64Array, the input is
 * untouched. The comparison uses Σload − E·load_i, so integer loads at the mean are exactly unchanged.
 */
export function updateBias(bias: ArrayLike<number>, load: ArrayLike<number>, gamma: number): Float64Array {
  const op = 'updateBias';
  checkNumbers(op, bias, 'bias');
  checkNumbers(op, load, 'load');
  if (typeof gamma !== 'number') throw new ValueError(op, `gamma (bias update speed) must be a finite number ≥ 0; got ${describeValue(gamma)}`);
  const E = bias.length;
  if (load.length !== E) throw new ValueError(op, `bias has ${E} entries but load has ${load.length}; both need one per routed expert`);
  if (!Number.isFinite(gamma) || gamma < 0) throw new ValueError(op, `gamma (bias update speed) must be finite and ≥ 0; got ${gamma}`);
  let total = 0;
  for (let i = 0; i < E; i++) {
    const l = load[i]!;
    if (!Number.isFinite(l) || l < 0) throw new ValueError(op, `load[${i}] must be finite and ≥ 0; got ${l}`);
    if (!Number.isFinite(bias[i]!)) throw new ValueError(op, `bias[${i}] must be finite; got ${bias[i]}`);
    total += l;
  }
  const out = new Float64Array(E);
  for (let i = 0; i < E; i++) out[i] = bias[i]! + gamma * Math.sign(total - E * load[i]!);
  return out;
}

/**
 * The softmax translation group of a regression MoE, and losses measured as infima over it.
 *
 * A softmax is unchanged when every logit gets the same affine shift: adding (c1, c0) to every atom's
 * (β1, β0) leaves softmax(β1 x + β0) — and so f_G — exactly as it was (arXiv 2505.10860 A.2 pins one
 * atom at 0 to remove this). Pinning leaves a discrete ambiguity: a fit can reach the same function
 * with another atom in the pinned slot (for k = 2 the label swap (β, η1; 0, η2) ↔ (−β, η2; 0, η1)),
 * which truth-agnostic random starts find. A Voronoi loss on the pinned coordinates would then report
 * a distant "root" that is the truth itself, so the losses of the arXiv 2503.03213 experiments are
 * taken as the infimum over the group: one shift for a flat softmax or temperature gate (on the
 * invariant β/τ), and for the hierarchical gate one shift of the group gates plus one per group.
 * The infimum is found numerically: the shifts that put some fitted atom onto some true atom (and 0)
 * as starts, block by block, then Nelder–Mead on all blocks from the best point.
 */
import { ValueError } from '../../../engine/index.js';
import { nelderMead } from '../optimize.js';
import { type RegressionMoE, checkModel, groupIndex, isPinned } from './regression-moe.js';

/**
 * A model need not be in the pinned gauge here (a translated model is a valid input): its structure
 * and finiteness are checked as `checkModel` does, with the pinned gates set to 0.
 */
function checkStructure(op: string, m: RegressionMoE): void {
  try {
    if (m === null || typeof m !== 'object' || !Array.isArray(m.atoms)) throw new ValueError(op, `expected a regression MoE; got ${JSON.stringify(m)?.slice(0, 80)}`);
    checkModel({ ...m, atoms: m.atoms.map((a, i) => (isPinned(m, i) ? { ...a, b1: 0, b0: 0 } : a)), ...(m.groupGates ? { groupGates: m.groupGates.map((g, q, all) => (q === all.length - 1 ? { b1: 0, b0: 0 } : g)) } : {}) });
  } catch (e) {
    if (e instanceof ValueError) throw new ValueError(op, e.message);
    throw e;
  }
}

/** Number of shift coordinates of `m`'s translation group: 2 (softmax, temperature), 2 + 2·groups (hierarchical), 0 otherwise. */
export function translationDim(m: RegressionMoE): number {
  if (m.gate === 'softmax' || m.gate === 'temperature') return 2;
  if (m.gate === 'hierarchical') return 2 + 2 * m.groupGates!.length;
  return 0;
}

/**
 * `m` with its logits shifted: shift = (c1, c0) added to every atom's (β1, β0) (temperature: to β/τ,
 * i.e. (c1, c0)·τ to β); hierarchical: (c1, c0) to every group gate, then (d1_a, d0_a) to the atoms of
 * group a. The function f_G is unchanged; the pinned atoms are pinned no more.
 */
export function translate(m: RegressionMoE, shift: ArrayLike<number>): RegressionMoE {
  checkStructure('translate', m);
  const dim = translationDim(m);
  if (!(Array.isArray(shift) || shift instanceof Float64Array)) throw new ValueError('translate', `shift must be an array of ${dim} numbers; got ${JSON.stringify(shift)}`);
  for (let i = 0; i < shift.length; i++) if (!Number.isFinite(shift[i])) throw new ValueError('translate', `shift must hold finite numbers; got ${shift[i]} at index ${i}`);
  if (shift.length !== dim) throw new ValueError('translate', `shift must hold ${dim} numbers for a ${m.gate} gate; got ${shift.length}`);
  if (dim === 0) return m;
  if (m.gate !== 'hierarchical') {
    const s = m.gate === 'temperature' ? m.tau! : 1;
    return { ...m, atoms: m.atoms.map((a) => ({ ...a, b1: a.b1 + shift[0]! * s, b0: a.b0 + shift[1]! * s })) };
  }
  const g = groupIndex(m);
  return {
    ...m,
    groupGates: m.groupGates!.map((q) => ({ b1: q.b1 + shift[0]!, b0: q.b0 + shift[1]! })),
    atoms: m.atoms.map((a, i) => ({ ...a, b1: a.b1 + shift[2 + 2 * g[i]!]!, b0: a.b0 + shift[3 + 2 * g[i]!]! })),
  };
}

/** Candidate values of each 2-coordinate block: 0 and the shifts that move a fitted atom (gate) onto a true one. */
function blockCandidates(fit: RegressionMoE, truth: RegressionMoE): number[][][] {
  const s = (m: RegressionMoE) => (m.gate === 'temperature' ? 1 / m.tau! : 1);
  const pairs = (f: { b1: number; b0: number }[], t: { b1: number; b0: number }[], sf: number, st: number) =>
    [[0, 0], ...f.flatMap((a) => t.map((b) => [b.b1 * st - a.b1 * sf, b.b0 * st - a.b0 * sf]))];
  if (fit.gate !== 'hierarchical') return [pairs([...fit.atoms], [...truth.atoms], s(fit), s(truth))];
  const gf = groupIndex(fit), gt = groupIndex(truth);
  return [pairs([...fit.groupGates!], [...truth.groupGates!], 1, 1),
    ...fit.groupGates!.map((_, a) => pairs(fit.atoms.filter((_, i) => gf[i] === a), [...truth.atoms.filter((_, j) => gt[j] === (a < truth.groupGates!.length ? a : 0))], 1, 1))];
}

/**
 * inf over the translation group of `loss(translate(fit, shift))` (see the module comment), with the
 * minimising shift. `loss` must be a function of the fitted model only (the truth is captured).
 * Deterministic. Returns loss(fit) with an empty shift for gates without a translation group.
 */
export function translationInfimum(fit: RegressionMoE, truth: RegressionMoE, loss: (m: RegressionMoE) => number): { value: number; shift: Float64Array; atZero: number } {
  checkStructure('translationInfimum', fit);
  checkModel(truth);
  if (typeof loss !== 'function') throw new ValueError('translationInfimum', `loss must be a function of the fitted model; got ${JSON.stringify(loss)}`);
  if (fit.gate !== truth.gate) throw new ValueError('translationInfimum', `fit and truth must have the same gate; got ${fit.gate} and ${truth.gate}`);
  const dim = translationDim(fit), atZero = loss(fit);
  if (dim === 0) return { value: atZero, shift: new Float64Array(0), atZero };
  const f = (c: ArrayLike<number>) => { const v = loss(translate(fit, c)); return Number.isFinite(v) ? v : Infinity; };
  // Block-wise candidate search (each block at its best candidate given the others), two sweeps.
  const best = new Float64Array(dim), blocks = blockCandidates(fit, truth);
  let value = f(best);
  for (let sweep = 0; sweep < 2; sweep++) {
    blocks.forEach((cands, b) => {
      for (const c of cands) {
        const trial = Float64Array.from(best); trial[2 * b] = c[0]!; trial[2 * b + 1] = c[1]!;
        const v = f(trial);
        if (v < value) { value = v; best.set(trial); }
      }
    });
  }
  const nm = nelderMead((x) => f(x), best, { step: 0.25, maxEval: 100 * dim, tol: 1e-10, restarts: 1 });
  if (nm.value < value) { value = nm.value; best.set(nm.x); }
  return { value: Math.min(value, atZero), shift: value <= atZero ? best : new Float64Array(dim), atZero };
}

import { describe, expect, it } from 'vitest';
import { type GaussianMoE, lossD1, lossD2, lossD3, lossD4, perAtomErrors, rOrder, regressionVoronoiLoss, voronoiCells, voronoiLoss } from '../../moe/stats/index.js';

const lin = { family: 'linear' } as const;
/** Truth: one shared atom, two routed atoms with opposite gate slopes; linear experts [slope, intercept]. */
const truth = (gate: 'softmax' | 'normalizedSigmoid'): GaussianMoE => ({ d: 1, gate, sharedExpert: lin, routedExpert: lin,
  shared: [{ weight: 1, expert: [1, 0], variance: 1 }],
  routed: [{ beta0: 0, beta1: [1], expert: [2, 0], variance: 1 }, { beta0: 0, beta1: [-1], expert: [-2, 0], variance: 1 }] });
const logit = (p: number) => Math.log(p / (1 - p));

describe('voronoiCells', () => {
  it('assigns each fitted atom to its nearest true atom; ties go to the lower index; cells may be empty', () => {
    expect(voronoiCells([[0.1], [0.9], [1.1], [0.5]], [[0], [1], [5]])).toEqual([[0, 3], [1, 2], []]);
  });
});

describe('Voronoi losses on hand-computed cases', () => {
  it('D1: shared 2-atom cell (squared), routed exact cell (first power) and a mass error', () => {
    const fit: GaussianMoE = { ...truth('softmax'),
      shared: [{ weight: 0.5, expert: [1.1, 0], variance: 1 }, { weight: 0.5, expert: [0.9, 0], variance: 1 }],
      routed: [{ beta0: 0, beta1: [1], expert: [2, 0.1], variance: 1.2 }, { beta0: Math.log(2), beta1: [-1], expert: [-2, 0], variance: 1 }] };
    // shared: .5·0.1² + .5·0.1² = 0.01; routed atom 1: e^0·(0 + 0.1 + 0.2) = 0.3; routed mass |2 − 1| = 1.
    expect(lossD1(fit, truth('softmax'))).toBeCloseTo(1.31, 12);
  });
  it('D2: over cells use r(2) = 4 on κ0, β1, η0 and r/2 on τ, η1, ν', () => {
    const fit: GaussianMoE = { ...truth('softmax'),
      shared: [{ weight: 0.5, expert: [1.1, 0.1], variance: 1 }, { weight: 0.5, expert: [1, 0], variance: 1.1 }],
      routed: [{ beta0: 0, beta1: [1], expert: [2, 0.1], variance: 1.2 },
        { beta0: Math.log(0.5), beta1: [-1.1], expert: [-2, 0.2], variance: 1 }, { beta0: Math.log(0.5), beta1: [-1], expert: [-2.1, 0], variance: 1.1 }] };
    // shared .5(0.1² + 0.1⁴) + .5(0.1²) = 0.01005; routed exact 0.3; over .5(0.1⁴ + 0.2⁴) + .5(0.1² + 0.1²) = 0.01085.
    expect(lossD2(fit, truth('softmax'))).toBeCloseTo(0.01005 + 0.3 + 0.01085, 12);
    expect([rOrder(1), rOrder(2), rOrder(3), rOrder(4)]).toEqual([1, 4, 6, 7]);
  });
  const nsFit: GaussianMoE = { ...truth('normalizedSigmoid'),
    shared: [{ weight: 0.5, expert: [1.1, 0.1], variance: 1 }, { weight: 0.5, expert: [1, 0], variance: 1.1 }],
    routed: [{ beta0: 0, beta1: [1], expert: [2, 0.1], variance: 1.2 },
      { beta0: logit(0.25), beta1: [-1.1], expert: [-2, 0.2], variance: 1 }, { beta0: logit(0.25), beta1: [-1], expert: [-2.1, 0], variance: 1.1 }] };
  it('D3: unweighted routed terms, Δβ0 in exact cells, mass term only for over cells', () => {
    // shared .5·0.02 + .5·0.01 = 0.015; exact 0.1 + 0.2 = 0.3; over mass |.25 + .25 − .5| = 0, terms 0.05 + 0.02.
    expect(lossD3(nsFit, truth('normalizedSigmoid'))).toBeCloseTo(0.015 + 0.3 + 0.07, 12);
  });
  it('D4: routed atoms against the reference limit, all first powers including |Δβ0|', () => {
    // shared 0.015; atom 1: 0.3; 2a: 0.1 + ln 3 + 0.2; 2b: ln 3 + 0.1 + 0.1.
    expect(lossD4(nsFit, truth('normalizedSigmoid'), truth('normalizedSigmoid'))).toBeCloseTo(0.015 + 0.3 + 0.3 + 0.2 + 2 * Math.log(3), 12);
  });
  it('is zero at the truth and for an exact split of an atom into two identical halves only the mass is checked', () => {
    const t = truth('softmax');
    expect(lossD1(t, t)).toBe(0);
    const split: GaussianMoE = { ...t, routed: [t.routed[0]!, { ...t.routed[1]!, beta0: Math.log(0.5) }, { ...t.routed[1]!, beta0: Math.log(0.5) }] };
    expect(lossD1(split, t)).toBeCloseTo(0, 14);
  });
  it('regression-form loss and per-atom errors', () => {
    const tr = [{ beta0: 0, beta1: [1], expert: [1, 0] }, { beta0: 0, beta1: [0], expert: [-1, 0] }];
    const fit = [{ beta0: 0, beta1: [1.2], expert: [1, 0] }, { beta0: Math.log(0.5), beta1: [0], expert: [-1, 0.1] }, { beta0: Math.log(0.5), beta1: [0], expert: [-1, -0.1] }];
    // exact: 1·0.2; over: .5·0.01 + .5·0.01; masses exact.
    expect(regressionVoronoiLoss(fit, tr)).toBeCloseTo(0.21, 12);
    const atoms = (as: typeof fit) => as.map((a) => ({ mass: Math.exp(a.beta0), loc: [...a.beta1, ...a.expert], parts: [[...a.beta1], [...a.expert]] }));
    const errs = perAtomErrors(atoms(fit), atoms(tr));
    expect(errs.map((e) => e.cellSize)).toEqual([1, 2, 2]);
    expect(errs[0]!.errors[0]).toBeCloseTo(0.2, 12);
    expect(errs[2]!.errors[1]).toBeCloseTo(0.1, 12);
    expect(voronoiLoss(atoms(fit), atoms(tr), { massTerm: 'none', weightByMass: false, exponent: () => 1 })).toBeCloseTo(0.4, 12);
  });
});

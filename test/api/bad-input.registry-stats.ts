/**
 * Bad-input registry entries for the moe/stats exports (statistics toolkit), joined into ENTRIES and
 * NO_INPUT by bad-input.registry.ts. Same contract as the rest of the registry: a valid call that
 * succeeds, and per argument the bad values that must be refused with a MoegradError naming the
 * function and showing the value.
 *
 * The expensive functions (multiStartFit, klProjection, runThmCell, measure, gaugeInfimum) get tiny
 * valid arguments (a valid call takes ≪ 1 s) and are fuzzed only through their entry checks.
 */
import * as api from '../../index.js';
import { Rng, tensor, zeros, randn, type Tensor } from '../../index.js';
import type { GaussianMoE } from '../../moe/stats/index.js';
import type { ApiEntry, At, Fuzz, Kind, NoInputEntry } from './bad-input.registry.js';

const f = (at: At, bad: Kind | readonly unknown[]): Fuzz => ({ at, bad });
const rng = () => new Rng(0);
const v3 = () => tensor([1, 2, 3]);
const F64 = (n: number | number[]) => (typeof n === 'number' ? new Float64Array(n) : Float64Array.from(n));
const clone = <T>(m: T): T => JSON.parse(JSON.stringify(m)) as T;

/** Thm 2's truth (softmax, linear experts, d = 1): 1 shared + 2 routed atoms. */
const T2 = (): GaussianMoE => clone(api.THM_TRUTHS.thm2);
/** Thm 4's truth (normalized sigmoid, ReLU shared, linear routed). */
const T4 = (): GaussianMoE => clone(api.THM_TRUTHS.thm4);
/** Normalized sigmoid with linear experts everywhere: no gauge symmetry, so gaugeInfimum returns at once. */
const LIN = (): GaussianMoE => ({ ...T4(), sharedExpert: { family: 'linear' }, shared: [{ weight: 1, expert: [1, 0], variance: 1 }] });
const data = () => api.sampleGaussianMoE(api.THM_TRUTHS.thm2, 20, new Rng(3));
const quad = (t: Float64Array, g: Float64Array) => { g[0] = 2 * t[0]!; g[1] = 2 * t[1]!; return t[0]! ** 2 + t[1]! ** 2; };
const group = () => ({ softmaxTranslation: true, reluScale: false, sigmoidScale: false });
const results4 = () => [100, 100, 1000, 1000].map((n, i) => ({ id: `c${i}`, n, rep: i % 2, seed: i, metrics: { L: (1 + (i % 2) * 0.1) / n } }));
const atoms = () => [{ mass: 1, loc: [0], parts: [[0]] }];

/** Models that are wrong in structure or in a number's type (every function taking a model refuses them). */
const SHAPE_MODEL = (): unknown[] => {
  const t = T2();
  return [null, 3, 'x', {}, { ...t, d: 1.5 }, { ...t, gate: 'relu' }, { ...t, sharedExpert: { family: 'nope' } }, { ...t, shared: 'x' },
    { ...t, routed: [{ beta0: 0, beta1: [1, 2], expert: [1, 1], variance: 1 }] }, { ...t, routed: [{ beta0: '0', beta1: [1], expert: [1, 1], variance: 1 }] },
    { ...t, shared: [{ weight: 1, expert: [1], variance: 1 }] }];
};
/** Also refused where parameters must be usable (sampling, likelihoods, fits): non-finite or non-positive values, no experts. */
const MODEL = (): unknown[] => {
  const t = T2();
  return [...SHAPE_MODEL(), { ...t, shared: [{ weight: NaN, expert: [2, 0], variance: 0.2 }] }, { ...t, shared: [{ weight: 1, expert: [2, 0], variance: -1 }] },
    { ...t, routed: [{ ...t.routed[0]!, beta1: [Infinity] }] }, { ...t, shared: [], routed: [] }];
};
/** Data sets for d = 1. */
const DATA = (): unknown[] => [null, 3, {}, { x: [1, 2], y: F64(2) }, { x: F64(3), y: F64(2) }, { x: F64([NaN, 0]), y: F64(2) }, { x: F64(0), y: F64(0) },
  { x: F64(2), y: F64(2), w: F64(3) }, { x: F64(2), y: F64(2), w: F64([-1, 1]) }];
const SPACE: unknown[] = [null, 3, { ...api.DEFAULT_SPACE, gateBox: 0 }, { ...api.DEFAULT_SPACE, varianceCeil: 0.001 }, { ...api.DEFAULT_SPACE, expertBox: NaN },
  { ...api.DEFAULT_SPACE, weightBox: Infinity }, { gateBox: 1 }];
const RESULTS: unknown[] = [null, 3, 'x', [null], [{ n: 'a', metrics: {} }], [{ n: 100 }]];
const NUMS: unknown[] = [null, 'abc', 3, {}, [1, 'a']];
const ATOMS: unknown[] = [null, 3, [null], [{ mass: 'a', loc: [0], parts: [[0]] }], [{ mass: 1, loc: 'x', parts: [] }], [{ mass: 1, loc: [0], parts: [['a']] }],
  [{ mass: 1, loc: [0, 1], parts: [[0]] }], [{ mass: 1, loc: [0], parts: [[0], [1]] }]];
const REG_ATOMS: unknown[] = [null, 3, [null], [{ beta0: 'a', beta1: [1], expert: [1, 2] }], [{ beta0: 0, beta1: 'x', expert: [1, 2] }], [{ beta0: 0, beta1: [1, 2], expert: [1, 2] }]];
/** Iteration caps: huge ones are harmless (a cap, not a loop count), so only these are bad. */
const CAP = [-1, 2.5, NaN, Infinity, '3'];
const THM_NAME = ['thm9', 3, null];
const fit2 = () => api.initNearTruth(api.THM_TRUTHS.thm2, new Rng(1), 0.1);

export const STATS_ENTRIES: readonly ApiEntry[] = [
  // ---------- experiment results ----------
  {
    name: 'reviveCellResult', valid: () => [{ id: 'c', n: 10, rep: 0, seed: 1, metrics: { L: null, M: 0.5 } }],
    fuzz: [f(0, [null, 3, 'x', [1], { id: 3, n: 1, rep: 0, seed: 0, metrics: {} }, { id: 'c', n: '1', rep: 0, seed: 0, metrics: {} },
      { id: 'c', n: 1, rep: 0, seed: 0, metrics: null }, { id: 'c', n: 1, rep: 0, seed: 0, metrics: { L: 'x' } }])],
  },
  // ---------- rates ----------
  { name: 'linearFit', valid: () => [[1, 2, 3], [2, 4, 6]], fuzz: [f(0, NUMS), f(1, NUMS), f(1, [[1]])] },
  { name: 'axisValue', valid: () => [100, 'n'], fuzz: [f(0, [1, 0.5, NaN, Infinity, '100', null]), f(1, ['x', null, 3])] },
  { name: 'powerLawSlope', valid: () => [[100, 1000], 0.5, 'n'], fuzz: [f(0, [null, 'x', [1, 100], [100, NaN], ['100']]), f(1, 'finite'), f(2, ['x', null])] },
  {
    name: 'fitRate', valid: () => [[{ n: 100, values: [1, 1.2] }, { n: 1000, values: [0.3, 0.35] }], { resamples: 10 }],
    fuzz: [f(0, [null, 3, [null], [{ n: 100, values: 'x' }], [{ n: 100, values: [1, 'a'] }]]), f(1, 'options'), f([1, 'resamples'], [1, 2.5, NaN, Infinity, 2 ** 40, '3']),
      f([1, 'level'], [0, 1, NaN, '0.9']), f([1, 'seed'], 'finite'), f([1, 'axis'], ['x', 3]), f([1, 'statistic'], ['mode', 3])],
  },
  {
    name: 'fitRates', valid: () => [results4(), [{ series: 'L' }], { resamples: 10 }],
    fuzz: [f(0, RESULTS), f(1, [null, 3, [null], [{ series: 3 }], [{ series: 'L', axis: 'x' }], [{ series: 'L', theoryExponent: 'a' }]]), f(2, 'options'),
      f([2, 'resamples'], [1, 2.5, NaN, '3']), f([2, 'seed'], 'finite')],
  },
  { name: 'groupByN', valid: () => [results4(), 'L'], fuzz: [f(0, RESULTS), f(1, 'string')] },
  { name: 'summaryRows', valid: () => [results4()], fuzz: [f(0, RESULTS), f(1, [3, 'L', [3]])] },
  { name: 'logSpaced', valid: () => [10, 1000, 3], fuzz: [f(0, 'positive'), f(1, 'positive'), f(1, [5]), f(2, 'posCount')] },
  // ---------- optimizers ----------
  {
    name: 'lbfgs', valid: () => [quad, [1, 2], { maxIter: 5 }],
    fuzz: [f(0, 'fn'), f(1, NUMS), f(2, 'options'), f([2, 'maxIter'], CAP), f([2, 'memory'], [0, 2.5, NaN, 2 ** 40]), f([2, 'tol'], 'nonneg'), f([2, 'gtol'], 'nonneg'),
      f([2, 'patience'], [0, 1.5, '3']), f([2, 'maxStep'], [0, -1, NaN, '1']), f([2, 'lineSearch'], ['fast', 3])],
  },
  {
    name: 'adamMinimize', valid: () => [quad, [1, 2], { maxIter: 5 }],
    fuzz: [f(0, 'fn'), f(1, NUMS), f(2, 'options'), f([2, 'maxIter'], 'posCount'), f([2, 'lr'], 'nonneg'), f([2, 'eps'], 'nonneg'), f([2, 'tol'], 'nonneg'),
      f([2, 'beta1'], [1, -0.1, NaN, '0.9']), f([2, 'beta2'], [1, -0.1, NaN])],
  },
  {
    name: 'nelderMead', valid: () => [(x: Float64Array) => x[0]! ** 2, [1], { maxEval: 50 }],
    fuzz: [f(0, 'fn'), f(1, NUMS), f(2, 'options'), f([2, 'maxEval'], [0, 2.5, NaN, Infinity, '3']), f([2, 'restarts'], [-1, 2.5, NaN, Infinity]), f([2, 'tol'], 'nonneg'),
      f([2, 'step'], [NaN, Infinity, '1', [1, 2], [NaN]])],
  },
  { name: 'tapeObjective', valid: () => [(p: { w: Tensor }) => api.sum(api.square(p.w)), { w: v3() }, {}], fuzz: [f(0, 'fn'), f(1, [null, 3, 'x']), f(2, 'options'), f([2, 'reuseIntermediates'], [1, 'yes', null])] },
  { name: 'flattenTree', valid: () => [{ w: v3() }], fuzz: [f(0, [null, 3, 'x', new Float64Array(2)])] },
  { name: 'unflattenTree', valid: () => [{ w: v3() }, [1, 2, 3]], fuzz: [f(0, [null, 3]), f(1, [null, 'x', [1, 2], [1, 2, 'a']])] },
  { name: 'maxAbs', valid: () => [[1, -2]], fuzz: [f(0, NUMS)] },
  { name: 'checkCount', op: ['test', 'checkCount'], valid: () => ['test', 'x', 3, 0], fuzz: [f(2, CAP), f(0, [3, null]), f(3, ['0', NaN])] },
  // ---------- Gaussian MoE model ----------
  { name: 'expertParamCount', valid: () => [{ family: 'relu' }, 2], fuzz: [f(0, [null, 3, { family: 'nope' }, { family: 'relu', bias: 'no' }]), f(1, 'posCount')] },
  {
    name: 'expertMean', valid: () => [{ family: 'relu' }, 1, [1, 0, 2], 0, [0.5], 0, new Float64Array(3), 0],
    fuzz: [f(0, [null, 3, { family: 'nope' }, { family: 'relu', bias: 1 }]), f(1, 'posCount'), f(2, [...NUMS, [1]]), f(3, [-1, 1.5, NaN, 5]), f(4, NUMS),
      f(5, [-1, 1.5, NaN, 5]), f(6, [[1, 2, 3], new Float32Array(3), new Float64Array(1)]), f(7, [-1, 2.5, NaN, 5])],
  },
  { name: 'layoutOf', valid: () => [T2()], fuzz: [f(0, [null, 3, {}, { ...T2(), d: 0 }, { ...T2(), sharedExpert: { family: 'x' } }, { ...T2(), routed: 'x' }])] },
  { name: 'packModel', valid: () => [T2()], fuzz: [f(0, MODEL())] },
  { name: 'unpackModel', valid: () => [T2(), api.packModel(T2())], fuzz: [f(0, SHAPE_MODEL()), f(1, [null, 'x', [1, 2]])] },
  { name: 'componentWeights', valid: () => [T2(), [0.3], 0], fuzz: [f(0, MODEL()), f(1, NUMS), f(2, [-1, 1.5, NaN, 5]), f(3, [3, [1, 2], new Float64Array(1)])] },
  { name: 'sampleGaussianMoE', valid: () => [T2(), 5, rng()], fuzz: [f(0, MODEL()), f(1, 'posCount'), f(2, 'rng'), f(3, [null, [1], [NaN, 1], [2, 1], 'x'])] },
  {
    name: 'gaussianMoENll', valid: () => { const d = data(); return [T2(), d.x, d.y]; },
    fuzz: [f(0, MODEL()), f(1, [null, [0.1, 0.2], new Float64Array(3), new Float64Array(20).fill(NaN)]), f(2, [null, [1], new Float64Array(3), new Float64Array(20).fill(Infinity)]),
      f(3, [new Float64Array(3), [1], new Float64Array(20).fill(NaN)])],
  },
  // ---------- tape version ----------
  { name: 'routedLogGate', valid: () => ['softmax', randn(new Rng(1), [4, 3])], fuzz: [f(0, ['relu', null, 3]), f(1, 'tensor'), f(1, [zeros([3])]), f(2, ['yes', 1])] },
  { name: 'gaussianLogPdf', valid: () => [zeros([4, 1]), randn(new Rng(1), [4, 3]), tensor([0, 1, -1])], fuzz: [f(0, 'tensor'), f(0, [zeros([4]), zeros([3, 1]), zeros([4, 2])]), f(1, 'tensor'), f(1, [zeros([4]), zeros([4, 3, 1])]), f(2, 'tensor'), f(2, [zeros([2]), zeros([3, 1]), zeros([3], 'float32')])] },
  { name: 'expertMeans', valid: () => [{ family: 'linear' }, tensor([[1], [2]]), tensor([[1, 0], [2, 1]])], fuzz: [f(0, [null, { family: 'x' }]), f(1, 'tensor'), f(1, [zeros([2])]), f(2, 'tensor'), f(2, [zeros([2, 3])])] },
  {
    name: 'gaussianMoENllTape',
    valid: () => { const d = data(); return [T2(), api.tapeParamsFromFlat(T2(), api.packModel(T2())), api.fromData(d.x, [20, 1]), api.fromData(d.y, [20])]; },
    fuzz: [f(0, SHAPE_MODEL()), f(1, [null, 3, {}, { ...api.tapeParamsFromFlat(T2(), api.packModel(T2())), beta1: zeros([2, 2]) }]), f(2, 'tensor'), f(2, [zeros([20, 2])]), f(3, 'tensor'), f(3, [zeros([19])])],
  },
  { name: 'tapeParamsFromFlat', valid: () => [T2(), api.packModel(T2())], fuzz: [f(0, SHAPE_MODEL()), f(1, [null, 'x', [1, 2], [1, 'a']])] },
  // ---------- Voronoi losses ----------
  { name: 'voronoiCells', valid: () => [[[0], [1]], [[0]]], fuzz: [f(0, [null, 3, [3], [['a']]]), f(1, [null, 3, [], [[0, 1]]])] },
  { name: 'voronoiLoss', valid: () => [atoms(), atoms(), {}], fuzz: [f(0, ATOMS), f(1, [...ATOMS, []]), f(2, 'options'), f([2, 'massTerm'], ['some', 3]), f([2, 'weightByMass'], 'boolean'), f([2, 'exponent'], [3, 'x'])] },
  { name: 'perAtomErrors', valid: () => [atoms(), atoms()], fuzz: [f(0, ATOMS), f(1, [...ATOMS, []])] },
  { name: 'rOrder', valid: () => [2], fuzz: [f(0, 'count')] },
  ...(['lossD1', 'lossD2', 'lossD3'] as const).map((name): ApiEntry => ({ name, valid: () => [T2(), T2()], fuzz: [f(0, SHAPE_MODEL()), f(1, SHAPE_MODEL()), f(1, [clone(api.THM_TRUTHS.thm1)])] })),
  { name: 'lossD4', valid: () => [T4(), T4(), T4()], fuzz: [f(0, [null, 3, { ...T4(), gate: 'x' }]), f(1, [null, T2()]), f(2, [null, 3, { ...T4(), d: 2 }, T2()])] },
  { name: 'regressionVoronoiLoss', valid: () => [[{ beta0: 0, beta1: [1], expert: [1, 2] }], [{ beta0: 0, beta1: [1], expert: [1, 2] }]], fuzz: [f(0, REG_ATOMS), f(1, [...REG_ATOMS, []])] },
  // ---------- estimation ----------
  { name: 'describeSpace', valid: () => [api.DEFAULT_SPACE], fuzz: [f(0, SPACE)] },
  { name: 'constraintsOf', valid: () => [T2()], fuzz: [f(0, SHAPE_MODEL()), f(1, SPACE)] },
  { name: 'boxViolation', valid: () => [api.constraintsOf(T2()), api.packModel(T2())], fuzz: [f(0, [null, 3, {}, { lo: new Float64Array(2), hi: 3 }]), f(1, [null, 'x', [1, 2]])] },
  {
    name: 'constrainedObjective', valid: () => [quad, api.constraintsOf(T2())],
    fuzz: [f(0, 'fn'), f(1, [null, 3, {}, { lo: new Float64Array(2), hi: new Float64Array(2), fixed: [5], relu: [] }, { lo: new Float64Array(2), hi: new Float64Array(2), fixed: [], relu: [{ inner: [0], outer: 9 }] }])],
  },
  { name: 'toFittedGauge', valid: () => [T2()], fuzz: [f(0, MODEL())] },
  {
    name: 'fitFrom', valid: () => [T2(), data(), { maxIter: 3 }],
    fuzz: [f(0, MODEL()), f(1, DATA()), f(2, 'options'), f([2, 'maxIter'], CAP), f([2, 'gtol'], 'nonneg'), f([2, 'tol'], 'nonneg'), f([2, 'patience'], [0, 1.5, NaN, '3']),
      f([2, 'maxStep'], [0, -1, NaN, '1']), f([2, 'lineSearch'], ['fast', 3]), f([2, 'space'], SPACE)],
  },
  { name: 'meanNll', valid: () => [T2(), data()], fuzz: [f(0, MODEL()), f(1, DATA())] },
  { name: 'randomStart', valid: () => [T2(), data(), rng()], fuzz: [f(0, SHAPE_MODEL()), f(1, DATA()), f(2, 'rng'), f(3, SPACE)] },
  { name: 'subsample', valid: () => [data(), 5, rng()], fuzz: [f(0, DATA()), f(1, 'posCount'), f(2, 'rng')] },
  {
    name: 'multiStartFit', valid: () => [T2(), data(), { starts: 1, screenIter: 2, maxIter: 5, polish: 1 }],
    fuzz: [f(0, MODEL()), f(1, DATA()), f(2, 'options'), f([2, 'starts'], 'count'), f([2, 'screenIter'], [0, 2.5, NaN, Infinity, '3']), f([2, 'polish'], [-1, 2.5, NaN, '1']),
      f([2, 'screenPoints'], [0, 2.5, NaN, Infinity]), f([2, 'margin'], 'nonneg'), f([2, 'seed'], 'finite'), f([2, 'maxIter'], [-1, NaN]), f([2, 'space'], SPACE)],
  },
  // ---------- gauge ----------
  { name: 'symmetriesOf', valid: () => [T2()], fuzz: [f(0, SHAPE_MODEL()), f(1, 'options'), f([1, 'sigmoidScale'], 'boolean')] },
  { name: 'applyGauge', valid: () => [T2(), group(), [0.1, 0.2]], fuzz: [f(0, SHAPE_MODEL()), f(1, [null, 3, {}, { ...group(), reluScale: 1 }]), f(2, [null, 'ab', 3, [1, 'a'], [1]])] },
  { name: 'heuristicGauge', valid: () => [T2(), T2(), group()], fuzz: [f(0, SHAPE_MODEL()), f(1, SHAPE_MODEL()), f(2, [null, 3, {}])] },
  {
    name: 'gaugeInfimum', valid: () => [LIN(), LIN(), (m: GaussianMoE) => api.lossD1(m, LIN()), undefined, { starts: 0 }],
    fuzz: [f(0, SHAPE_MODEL()), f(1, [null, 3, T2()]), f(2, 'fn'), f(3, [null, 3, {}, { ...group(), sigmoidScale: 'yes' }]), f(4, 'options'), f([4, 'seed'], 'finite'), f([4, 'starts'], 'count')],
  },
  // ---------- KL projection, synthetic data ----------
  {
    name: 'klProjection', valid: () => [T4(), { shared: [0], routed: [[0, 1]] }, { xNodes: 5, yNodes: 2, seeds: [1], randomStarts: 0, maxIter: 5 }],
    fuzz: [f(0, [...MODEL(), { ...T2(), d: 2, routed: T2().routed.map((a) => ({ ...a, beta1: [1, 1] })), sharedExpert: { family: 'relu', bias: false }, routedExpert: { family: 'relu', bias: false } }]),
      f(1, [null, 3, { shared: [1], routed: [] }, { shared: [0], routed: [[0, 5]] }, { shared: [0], routed: 'x' }]), f(2, 'options'), f([2, 'xNodes'], 'posCount'),
      f([2, 'yNodes'], [0, 201, 2.5, NaN]), f([2, 'seeds'], [null, 'x', [NaN]]), f([2, 'randomStarts'], 'count'), f([2, 'tolerance'], 'nonneg'), f([2, 'artefact'], 'nonneg'),
      f([2, 'maxIter'], CAP), f([2, 'space'], SPACE)],
  },
  {
    name: 'sampleRegression', valid: () => [(_x: Float64Array, n: number) => new Float64Array(n), 5, rng()],
    fuzz: [f(0, 'fn'), f(0, [() => 3, () => [1]]), f(1, 'posCount'), f(2, 'rng'), f(3, 'options'), f([3, 'd'], 'posCount'), f([3, 'noiseStd'], 'nonneg'), f([3, 'xRange'], [null, [NaN, 1], [1, 0]])],
  },
  { name: 'l2Error', valid: () => [[1, 2], [1, 3]], fuzz: [f(0, NUMS), f(1, NUMS), f(1, [[1]])] },
  // ---------- arXiv 2505.10860 experiments ----------
  { name: 'initNearTruth', valid: () => [T2(), rng(), 0.1], fuzz: [f(0, MODEL()), f(1, 'rng'), f(2, 'nonneg'), f(3, [null, [0, 1], [0.5], 'x']), f(4, [[0, 2], [-1], null])] },
  { name: 'thm4Limits', valid: () => [10], fuzz: [f(0, [7, 0, NaN, '10', null])] },
  { name: 'rawLoss', valid: () => ['thm2', fit2()], fuzz: [f(0, THM_NAME), f(1, SHAPE_MODEL()), f(1, [clone(api.THM_TRUTHS.thm1)]), f(2, SPACE)] },
  { name: 'measure', valid: () => ['thm2', fit2()], fuzz: [f(0, THM_NAME), f(1, SHAPE_MODEL()), f(2, SPACE), f(3, 'finite')] },
  {
    name: 'runThmCell', valid: () => ['thm2', { id: 'c', n: 30, rep: 0, seed: 1, params: {} }, api.DEFAULT_SPACE, 0],
    fuzz: [f(0, THM_NAME), f(1, [null, 3, 'x']), f([1, 'n'], 'posCount'), f([1, 'seed'], 'finite'), f([1, 'id'], [3, null]), f(2, SPACE), f(3, 'count')],
  },
  {
    name: 'remeasureThmCell', valid: () => ['thm2', { id: 'c', n: 100, rep: 0, seed: 1, metrics: {}, info: { models: { local: fit2() } } }],
    fuzz: [f(0, ['thm9', null]), f(1, [null, 3, { id: 'c', n: 100, rep: 0, seed: 1, metrics: {} }, { id: 'c', n: 100, rep: 0, seed: 1, metrics: {}, info: { models: { local: { ...fit2(), d: 0 } } } }]), f(2, SPACE)],
  },
  { name: 'convergenceNotes', valid: () => [[]], fuzz: [f(0, RESULTS)] },
  { name: 'findExperiment', valid: () => ['thm1'], fuzz: [f(0, 'string')] },
];

export const STATS_NO_INPUT: readonly NoInputEntry[] = [
  ...['DEFAULT_SPACE', 'EXPERIMENTS', 'PAPER_2505_EXPERIMENTS', 'THM_DESIGN', 'THM_TRUTHS'].map((name) => ({ name, why: 'constant (moe/stats)' })),
];

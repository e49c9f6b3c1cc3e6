/**
 * The bad-input registry: one entry per public export (engine, MoE and, in
 * bad-input.registry-stats.ts, moe/stats), saying how to call it validly and which arguments to corrupt with
 * which kind of bad value. test/api/bad-input.test.ts walks it: every corrupted call must throw a
 * MoegradError subclass whose `op` is the function and whose message shows the offending value —
 * never a TypeError/RangeError, never a silent result, never a hang. An export without an entry
 * fails that test, so a new function has to say here how it rejects bad input.
 */
import * as api from '../../index.js';
import {
  Rng, Tensor, tensor, zeros, ones, randn, topKSoftmaxGate, softmaxGate, type GateOutput, type MatmulBackend,
} from '../../index.js';
import { STATS_ENTRIES, STATS_NO_INPUT } from './bad-input.registry-stats.js';

/** Kinds of bad argument, each with the values tried (the property test also draws random ones). */
export const BAD = {
  /** Where a Tensor is required. */
  tensor: [[1, 2], null, undefined, 'x', {}, new Float64Array(2), 3],
  /** Where a Tensor or a number is accepted (binary elementwise ops). */
  operand: [[1, 2], null, undefined, 'x', {}, new Float64Array(2)],
  dtype: ['float16', 'Float32', 'int32', '', null, 64],
  shape: [[-1], [1.5], [NaN], [Infinity], [2 ** 40], [2, -3], 'abc', null, 7],
  axis: [5, -9, 1.5, NaN, Infinity, '0'],
  /** top-k style counts bounded by a dimension. */
  k: [0, -1, 1.5, NaN, Infinity, 2 ** 40, '2'],
  /** Loop counts and sizes ≥ 0. */
  count: [-1, 2.5, NaN, Infinity, 2 ** 40, '3'],
  /** Loop counts and sizes ≥ 1. */
  posCount: [0, -1, 2.5, NaN, Infinity, 2 ** 40, '3'],
  /** Any finite number. */
  finite: [NaN, Infinity, -Infinity, '1', null],
  /** A finite number > 0. */
  positive: [0, -1, NaN, Infinity, '1'],
  /** A finite number ≥ 0. */
  nonneg: [-1, NaN, Infinity, '1'],
  fn: [null, 3, 'f', {}],
  backend: [{}, { name: 'b' }, { name: 'b', describe: () => 'b', matmul: 3 }, null, 42, 'no-such-backend'],
  options: ['x', 3, [1], null],
  indices: [[0, 1], new Float64Array([0, 1]), null, 'x'],
  rng: [null, 3, {}, 'seed'],
  string: [null, 3, {}],
  numberArray: [null, 'abc', 3, {}],
  boolean: ['yes', 1, null],
} as const;
export type Kind = keyof typeof BAD;

/** Where a bad value goes: argument i, or field `key` of the (object) argument i. */
export type At = number | readonly [number, string];
export interface Fuzz { readonly at: At; readonly bad: Kind | readonly unknown[] }

export interface ApiEntry {
  /** The export (or `Export.method`, `Export#method` for instance methods). */
  readonly name: string;
  /** The MoegradError `op` the errors must carry (default `name`). */
  readonly op?: string | readonly string[];
  /** Calls the function with the arguments (default: the export itself; `new` for classes). */
  readonly call?: (...args: any[]) => unknown;
  /** Fresh valid arguments; the valid call must succeed. */
  readonly valid: () => unknown[];
  readonly fuzz: readonly Fuzz[];
}

/** An export with no argument to corrupt (constants, zero-argument queries, error classes). */
export interface NoInputEntry { readonly name: string; readonly why: string }

/** Dispatch capacities: Infinity (dropless) and huge values are valid. */
const CAPACITY = [0, -1, 2.5, NaN, '3'];
/** Token masks for T = 4 tokens. */
const MASK = [[true], 'x', 3, [2, 1, 1, 1], new Array(4).fill(false)];
/** Thresholds and sizes that allocate nothing (huge values are harmless, so 2^40 is not bad here). */
const SIZE = [-1, 2.5, NaN, Infinity, '3'];
const f = (at: At, bad: Kind | readonly unknown[]): Fuzz => ({ at, bad });
const rng = () => new Rng(0);
const m22 = () => tensor([[1, 2], [3, 4]]);
const v3 = () => tensor([1, 2, 3]);
const logits = () => randn(new Rng(1), [4, 6]);
const gate = (): GateOutput => topKSoftmaxGate(logits(), 2);
const plan = () => gate().plan;
const okBackend = (): MatmulBackend => ({ name: 'bad-input-test', describe: () => 'test', matmul: api.cpuBackend.matmul });

/** Unary elementwise ops: one tensor argument. */
const unary = (name: string): ApiEntry => ({ name, valid: () => [v3()], fuzz: [f(0, 'operand')] });
/** Binary elementwise ops: tensors or numbers, broadcast. */
const binary = (name: string): ApiEntry => ({
  name, valid: () => [m22(), v3().shape.length === 1 ? tensor([1, 2]) : 0],
  fuzz: [f(0, 'operand'), f(1, 'operand'), f(1, [zeros([3]), zeros([2, 2], 'float32')])],
});
/** Gate functions on logits [T, E]. */
const logitsBad = (): unknown[] => [zeros([4]), zeros([2, 3, 4]), zeros([0, 4]), tensor([[1, NaN]]), tensor([[Infinity, 0]]), [[1, 2]], null];

export const ENTRIES: readonly ApiEntry[] = [
  // ---------- tensors ----------
  { name: 'Tensor', call: (d, s) => new Tensor(d, s), valid: () => [new Float64Array(4), [2, 2]], fuzz: [f(0, [[1, 2, 3, 4], null, new Int32Array(4), 'x']), f(1, 'shape'), f(1, [[3, 2]])] },
  { name: 'Tensor#item', op: 'item', call: (t: Tensor) => t.item(), valid: () => [tensor([1])], fuzz: [f(0, [v3(), m22()])] },
  { name: 'Tensor#get', op: 'get', call: (t: Tensor, i, j) => t.get(i, j), valid: () => [m22(), 1, 0], fuzz: [f(1, [2, -1, 1.5, NaN, '1']), f(2, [2, -1, 0.5, NaN, '1'])] },
  { name: 'tensor', valid: () => [[[1, 2], [3, 4]], undefined, 'float64'], fuzz: [f(0, [null, 'abc', {}, [[1, 2], [3]], [1, 'a'], [[1, [2]]]]), f(1, 'shape'), f(2, 'dtype')] },
  { name: 'zeros', valid: () => [[2, 3]], fuzz: [f(0, 'shape'), f(1, 'dtype')] },
  { name: 'ones', valid: () => [[2, 3]], fuzz: [f(0, 'shape'), f(1, 'dtype')] },
  { name: 'full', valid: () => [[2, 3], 7], fuzz: [f(0, 'shape'), f(1, ['7', null, {}]), f(2, 'dtype')] },
  { name: 'scalar', valid: () => [3], fuzz: [f(0, ['3', null, {}]), f(1, 'dtype')] },
  { name: 'arange', valid: () => [0, 5, 1], fuzz: [f(0, 'finite'), f(1, 'finite'), f(2, [0, NaN, Infinity, '1']), f(3, 'dtype'), f(1, [2 ** 40])] },
  { name: 'randn', valid: () => [rng(), [2, 2]], fuzz: [f(0, 'rng'), f(1, 'shape'), f(2, 'nonneg'), f(3, 'dtype')] },
  { name: 'rand', valid: () => [rng(), [2, 2]], fuzz: [f(0, 'rng'), f(1, 'shape'), f(2, 'finite'), f(3, [NaN, Infinity, -1]), f(4, 'dtype')] },
  { name: 'cast', valid: () => [m22(), 'float32'], fuzz: [f(0, 'tensor'), f(1, 'dtype')] },
  { name: 'fromData', valid: () => [new Float64Array(4), [2, 2]], fuzz: [f(0, [[1, 2, 3, 4], null, new Int32Array(4)]), f(1, 'shape'), f(1, [[5]])] },
  { name: 'formatTensor', valid: () => [m22()], fuzz: [f(0, 'tensor'), f(1, 'options'), f([1, 'precision'], SIZE), f([1, 'threshold'], SIZE), f([1, 'edgeItems'], SIZE), f([1, 'lineWidth'], SIZE)] },
  { name: 'fmtShape', valid: () => [[2, 3]], fuzz: [f(0, [null, 'abc', 3, {}])] },
  { name: 'sizeOf', valid: () => [[2, 3]], fuzz: [f(0, 'shape')] },
  { name: 'broadcastShapes', valid: () => [[2, 3], [3], 'test'], fuzz: [f(0, 'shape'), f(1, 'shape'), f(1, [[4]]), f(2, [null, 3])], op: ['test', 'broadcastShapes'] },
  // ---------- RNG ----------
  { name: 'Rng', call: (s) => new Rng(s), valid: () => [1], fuzz: [f(0, 'finite')] },
  { name: 'Rng#int', op: 'Rng.int', call: (r: Rng, n) => r.int(n), valid: () => [rng(), 5], fuzz: [f(1, [0, -1, 2.5, NaN, Infinity, 2 ** 60, '3'])] },
  { name: 'Rng#permutation', op: 'Rng.permutation', call: (r: Rng, n) => r.permutation(n), valid: () => [rng(), 5], fuzz: [f(1, 'count')] },
  // ---------- autodiff / tape ----------
  { name: 'grad', call: (fn, x, o) => api.grad(fn, o)(x), valid: () => [(x: Tensor) => api.sum(x), v3(), { reuseIntermediates: true }], fuzz: [f(0, 'fn'), f(1, [null, 3, 'x', {}]), f(0, [(x: Tensor) => x, () => 3]), f(2, 'options'), f([2, 'reuseIntermediates'], [1, 'yes', null])] },
  { name: 'valueAndGrad', call: (fn, x, o) => api.valueAndGrad(fn, o)(x), valid: () => [(x: Tensor) => api.sum(x), v3(), {}], fuzz: [f(0, 'fn'), f(1, [null, 3, {}]), f(2, 'options'), f([2, 'reuseIntermediates'], [1, 'yes', null])], op: 'valueAndGrad' },
  { name: 'vjp', valid: () => [(x: Tensor) => api.square(x), v3()], fuzz: [f(0, 'fn'), f(1, [null, 3, {}])] },
  { name: 'stopGradient', valid: () => [v3()], fuzz: [f(0, 'tensor')] },
  { name: 'vmap', call: (fn, o, x) => api.vmap(fn, o)(x), valid: () => [(x: Tensor) => api.sum(x), {}, m22()], fuzz: [f(0, 'fn'), f(1, 'options'), f([1, 'inAxes'], [5, -3, 1.5, 'x']), f([1, 'outAxes'], [2, 1.5, 'x']), f(2, [null, 3, 'x', {}])] },
  { name: 'noGrad', valid: () => [() => 1], fuzz: [f(0, 'fn')] },
  // ---------- forward mode, Jacobians, custom rules, debugNans (issue 10) ----------
  { name: 'jvp', valid: () => [(x: Tensor) => api.square(x), [v3()], [v3()]], fuzz: [f(0, 'fn'), f(1, [null, 3, v3(), {}]), f(2, [null, 3, v3(), [], [tensor([1, 2])], [zeros([3], 'float32')], [[v3()]]]), f(0, [() => 3])] },
  { name: 'linearize', call: (fn, p, t) => api.linearize(fn, p).jvp(t), valid: () => [(x: Tensor) => api.exp(x), [v3()], [v3()]], fuzz: [f(0, 'fn'), f(1, [null, 3, v3(), [3]]), f(2, [null, v3(), [tensor([1, 2])], [zeros([3], 'float32')]])] },
  ...(['jacfwd', 'jacrev'] as const).map((name): ApiEntry => ({
    name, call: (fn, x) => api[name](fn)(x), valid: () => [(x: Tensor) => api.square(x), v3()], fuzz: [f(0, 'fn'), f(1, [null, 3, {}, 'x']), f(0, [() => 3])],
  })),
  { name: 'jacobian', call: (fn, o, x) => api.jacobian(fn, o)(x), valid: () => [(x: Tensor) => api.square(x), {}, v3()], fuzz: [f(0, 'fn'), f(1, 'options'), f([1, 'mode'], ['forward', 3, null]), f(2, [null, 3, {}])] },
  { name: 'hessian', call: (fn, x) => api.hessian(fn)(x), valid: () => [(x: Tensor) => api.sum(api.square(x)), v3()], fuzz: [f(0, 'fn'), f(0, [(x: Tensor) => x, () => 3]), f(1, [null, 3, {}])] },
  { name: 'hvp', valid: () => [(x: Tensor) => api.sum(api.square(x)), v3(), v3()], fuzz: [f(0, 'fn'), f(0, [(x: Tensor) => x]), f(1, [null, 3, {}]), f(2, [null, 3, tensor([1, 2]), zeros([3], 'float32')])] },
  {
    name: 'customVjp', call: (fwd, bwd, o, x) => api.customVjp(fwd, bwd, o)(x),
    valid: () => [(x: Tensor) => [api.square(x), x], (x: Tensor, dy: Tensor) => [api.mul(dy, api.scale(x, 2))], {}, v3()],
    fuzz: [f(0, 'fn'), f(1, 'fn'), f(2, 'options'), f([2, 'name'], [3, '', null]), f(3, 'tensor'), f(0, [() => 3, () => [3, null]])],
  },
  {
    // through grad, so bwd runs (its bad returns are caught there)
    name: 'customVjp.bwd', op: 'customVjp', call: (fwd, bwd, x) => api.grad((z: Tensor) => api.sum(api.customVjp(fwd, bwd)(z)))(x),
    valid: () => [(x: Tensor) => [api.square(x), x], (x: Tensor, dy: Tensor) => [api.mul(dy, api.scale(x, 2))], v3()],
    fuzz: [f(1, [() => 3, () => [tensor([1])], () => [3], () => [zeros([3], 'float32')]])],
  },
  {
    name: 'customJvp', call: (fn, rule, o, x) => api.customJvp(fn, rule, o)(x),
    valid: () => [(x: Tensor) => api.square(x), ([x]: Tensor[], [t]: Tensor[]) => api.mul(t!, api.scale(x!, 2)), {}, v3()],
    fuzz: [f(0, 'fn'), f(1, 'fn'), f(2, 'options'), f([2, 'name'], [3, '']), f(3, 'tensor'), f(0, [() => 3])],
  },
  { name: 'withDebugNans', valid: () => [() => 1], fuzz: [f(0, 'fn'), f(1, 'options'), f([1, 'infs'], 'boolean')] },
  { name: 'setDebugNans', valid: () => [false], fuzz: [f(0, 'boolean'), f(1, 'options'), f([1, 'infs'], 'boolean')] },
  { name: 'setBufferPool', valid: () => [true], fuzz: [f(0, 'boolean')] },
  { name: 'record', op: ['record', 'op'], valid: () => [ 'op', [v3()], v3(), () => [null]], fuzz: [f(0, [null, 3]), f(1, [null, v3(), [3]]), f(2, 'tensor'), f(3, 'fn')] },
  { name: 'defineUnary', valid: () => ['u', Math.exp, () => v3()], fuzz: [f(0, [null, 3, '']), f(1, 'fn'), f(2, 'fn')] },
  { name: 'defineBinary', valid: () => ['b', (u: number, v: number) => u + v, () => [null, null]], fuzz: [f(0, [null, 3, '']), f(1, 'fn'), f(2, 'fn')] },
  // ---------- trees ----------
  { name: 'treeMap', valid: () => [{ w: v3() }, (t: Tensor) => t], fuzz: [f(1, 'fn'), f(1, [() => 3])] },
  { name: 'treeZip', valid: () => [[{ w: v3() }, { w: v3() }], (l: Tensor[]) => l[0]], fuzz: [f(0, [null, [], 3, [{ w: v3() }, { v: v3() }], [{ w: v3() }, { w: m22() }]]), f(1, 'fn')] },
  // ---------- gradcheck / certify ----------
  { name: 'gradcheck', valid: () => [(x: Tensor) => api.square(x), v3()], fuzz: [f(0, 'fn'), f(1, [null, 3, tensor([NaN])]), f(2, 'options'), f([2, 'eps'], 'positive'), f([2, 'atol'], 'nonneg'), f([2, 'rtol'], 'nonneg'), f([2, 'samples'], 'posCount'), f([2, 'seed'], 'finite'), f([2, 'mode'], ['fast', 3])] },
  { name: 'certify', valid: () => [[api.ENGINE_OPS.find((o) => o.name === 'exp')!], { casesPerOp: 1, secondOrder: false }], fuzz: [f(0, [null, 3, [{}], 'exp']), f(1, 'options'), f([1, 'casesPerOp'], 'posCount'), f([1, 'seed'], 'finite'), f([1, 'onRow'], ['x', 3]), f([1, 'secondOrder'], 'boolean'), f([1, 'forwardMode'], 'boolean')] },
  {
    name: 'checkCase',
    valid: () => { const spec = api.ENGINE_OPS.find((o) => o.name === 'exp')!; return [spec, spec.sample(new Rng(0), 2), 0, false]; },
    fuzz: [f(0, [null, 3, {}]), f(1, [null, 3, {}, { inputs: 3, run: 4 }]), f(2, 'finite'), f(3, 'boolean')],
  },
  {
    name: 'checkJvpCase',
    valid: () => { const spec = api.ENGINE_OPS.find((o) => o.name === 'exp')!; return [spec, spec.sample(new Rng(0), 2), 0]; },
    fuzz: [f(0, [null, 3, {}]), f(1, [null, 3, {}, { inputs: 3, run: 4 }]), f(2, 'finite')],
  },
  // ---------- optimizers ----------
  ...(['sgd', 'adam', 'adamw'] as const).map((name): ApiEntry => ({
    name,
    valid: () => [{ w: v3(), b: tensor([1]) }, { w: v3(), b: tensor([1]) }, { lr: 0.1 }],
    fuzz: [
      f(1, [{ b: tensor([1]) }, { w: v3(), b: tensor([1]), c: tensor([1]) }, { w: v3(), b: v3() }, { w: [v3()], b: tensor([1]) }, null, 3]),
      f(0, [3, 'p', null]),
      f(2, 'options'), f([2, 'lr'], 'positive'), f([2, 'weightDecay'], 'nonneg'),
      ...(name === 'sgd' ? [f([2, 'momentum'], 'nonneg'), f(3, ['x', 3, { velocity: { w: v3() } }])]
        : [f([2, 'eps'], 'nonneg'), f([2, 'beta1'], [1, -0.1, NaN, Infinity, '0.9']), f([2, 'beta2'], [1, -0.1, NaN]),
          f(3, ['x', 3, { step: Infinity, m: { w: v3(), b: tensor([1]) }, v: { w: v3(), b: tensor([1]) } }, { step: 0, m: { w: v3() }, v: { w: v3(), b: tensor([1]) } }])]),
    ],
  })),
  { name: 'adamInit', valid: () => [{ w: v3() }], fuzz: [f(0, [null, 3, {}, 'x'])] },
  // ---------- backends ----------
  { name: 'useBackend', call: (b) => { const prev = api.useBackend(b); api.useBackend(prev); }, valid: () => ['cpu'], fuzz: [f(0, 'backend')] },
  { name: 'withBackend', valid: () => ['cpu', () => 1], fuzz: [f(0, 'backend'), f(1, 'fn')] },
  { name: 'registerBackend', valid: () => [okBackend()], fuzz: [f(0, 'backend')] },
  { name: 'calibrateBackends', valid: () => [{ size: 8, reps: 1, candidates: ['cpu'] }], fuzz: [f(0, 'options'), f([0, 'size'], 'posCount'), f([0, 'reps'], 'posCount'), f([0, 'candidates'], ['cpu', 3, [3]])] },
  { name: 'createCpuBackend', valid: () => [{ mode: 'js', name: 'cpu-bad-input' }], fuzz: [f(0, 'options'), f([0, 'mode'], ['fast', 3]), f([0, 'threads'], 'posCount'), f([0, 'jsMaxMacs'], SIZE), f([0, 'threadMinMacs'], SIZE), f([0, 'name'], [3, ''])] },
  { name: 'cpuBackend.matmul', op: 'matmul', call: (...a: unknown[]) => (api.cpuBackend.matmul as (...x: unknown[]) => void)(...a), valid: () => [new Float64Array(4), new Float64Array(4), new Float64Array(4), 1, 2, 2, 2], fuzz: [f(0, [null, [1, 2, 3, 4], new Float64Array(1)]), f(2, [new Float64Array(1), new Float32Array(4)]), f(3, 'count'), f(4, 'count'), f(5, 'count'), f(6, 'count')] },
  { name: 'cpuJsBackend.matmul', op: 'matmul', call: (...a: unknown[]) => (api.cpuJsBackend.matmul as (...x: unknown[]) => void)(...a), valid: () => [new Float64Array(4), new Float64Array(4), new Float64Array(4), 1, 2, 2, 2], fuzz: [f(1, [null, new Float64Array(1)]), f(3, 'count')] },
  { name: 'createGpujsBackend', valid: () => [{ mode: 'cpu', name: 'gpujs-bad-input' }], fuzz: [f(0, 'options'), f([0, 'mode'], ['fast', 3]), f([0, 'maxTextureSize'], [0, ...SIZE]), f([0, 'name'], [3, '']), f([0, 'GPU'], [3, 'x'])] },
  { name: 'createGpujsWorkerBackend', valid: () => [{ mode: 'cpu', name: 'gpujs-worker-bad-input' }], fuzz: [f(0, 'options'), f([0, 'mode'], ['fast', 3]), f([0, 'timeoutMs'], [0, ...SIZE]), f([0, 'webgpuFlags'], ['x', [3]])] },
  { name: 'f32MatmulErrorBound', valid: () => [new Float32Array(4), new Float32Array(4), 1, 2, 2, 2], fuzz: [f(0, [null, [1, 2]]), f(1, [new Float32Array(1)]), f(2, 'count'), f(3, 'count'), f(4, 'count'), f(5, 'count')] },
  { name: 'installCommand', valid: () => ['gpu.js'], fuzz: [f(0, ['nope', 3, null])] },
  // ---------- elementwise ----------
  ...['add', 'sub', 'mul', 'div', 'maximum', 'minimum'].map(binary),
  ...['neg', 'exp', 'log', 'sqrt', 'square', 'abs', 'tanh', 'sigmoid', 'softplus', 'relu', 'silu', 'erf', 'geluTanh', 'geluErf'].map(unary),
  { name: 'gelu', valid: () => [v3(), 'tanh'], fuzz: [f(0, 'operand'), f(1, ['exact', 3, null])] },
  { name: 'pow', valid: () => [v3(), 2], fuzz: [f(0, 'operand'), f(1, 'finite')] },
  { name: 'scale', valid: () => [v3(), 2], fuzz: [f(0, 'operand'), f(1, ['2', null, {}])] },
  { name: 'where', valid: () => [tensor([1, 0, 1]), v3(), v3()], fuzz: [f(0, [null, 3, 'x', zeros([2])]), f(1, 'operand'), f(2, 'operand'), f(2, [zeros([2])])] },
  { name: 'erfScalar', valid: () => [0.5], fuzz: [f(0, ['1', null, {}])] },
  { name: 'erfcScalar', valid: () => [0.5], fuzz: [f(0, ['1', null, {}])] },
  { name: 'stableSigmoid', valid: () => [0.5], fuzz: [f(0, ['1', null, {}])] },
  // ---------- layout ----------
  { name: 'reshape', valid: () => [m22(), [4]], fuzz: [f(0, 'tensor'), f(1, [[1.5], [NaN], [2 ** 40], 'abc', null, [2, -3], [3], [-1, -1]])] },
  { name: 'broadcastTo', valid: () => [v3(), [2, 3]], fuzz: [f(0, 'tensor'), f(1, 'shape'), f(1, [[2, 4]])] },
  { name: 'sumTo', valid: () => [zeros([2, 3]), [3]], fuzz: [f(0, 'tensor'), f(1, 'shape'), f(1, [[4]])] },
  { name: 'permute', valid: () => [m22(), [1, 0]], fuzz: [f(0, 'tensor'), f(1, [[0, 0], [0], [0, 2], null, 'ab', [0, 1.5]])] },
  { name: 'transpose', valid: () => [m22()], fuzz: [f(0, 'tensor'), f(0, [v3()])] },
  { name: 'slice', valid: () => [m22(), [0, 0], [1, 2]], fuzz: [f(0, 'tensor'), f(1, [[0, 0, 3], null, 'ab', [0, NaN], [0, 1.5], [5, 0]]), f(2, [[1, 2, 3], [3, 2], 'x', [1, NaN]])] },
  { name: 'unslice', valid: () => [m22(), [0, 0], [3, 3]], fuzz: [f(0, 'tensor'), f(1, [[0], [2, 2], null, [NaN, 0]]), f(2, 'shape'), f(2, [[1, 1]])] },
  { name: 'concat', valid: () => [[m22(), m22()], 0], fuzz: [f(0, [[], null, m22(), [m22(), 3], [m22(), v3()], [m22(), zeros([2, 2], 'float32')]]), f(1, 'axis')] },
  { name: 'stack', valid: () => [[v3(), v3()], 0], fuzz: [f(0, [[], null, v3(), [v3(), 3], [v3(), m22()]]), f(1, 'axis')] },
  { name: 'expandDims', valid: () => [v3(), 0], fuzz: [f(0, 'tensor'), f(1, 'axis')] },
  { name: 'squeeze', valid: () => [zeros([1, 3]), 0], fuzz: [f(0, 'tensor'), f(1, 'axis'), f(1, [1])] },
  // ---------- reductions ----------
  ...['sum', 'mean', 'variance'].map((name): ApiEntry => ({ name, valid: () => [m22(), 1], fuzz: [f(0, 'tensor'), f(1, 'axis'), f(1, [[0, 0], [0, 7], 'x'])] })),
  ...['max', 'min'].map((name): ApiEntry => ({ name, valid: () => [m22(), 1], fuzz: [f(0, 'tensor'), f(1, 'axis'), f(0, [tensor([1, NaN])])] })),
  { name: 'logsumexp', valid: () => [m22(), 1], fuzz: [f(0, 'tensor'), f(1, 'axis'), f(0, [tensor([1, NaN])])] },
  { name: 'softmax', valid: () => [m22(), 1], fuzz: [f(0, 'tensor'), f(1, 'axis'), f(0, [tensor([1, NaN])])] },
  { name: 'logSoftmax', valid: () => [m22(), 1], fuzz: [f(0, 'tensor'), f(1, 'axis'), f(0, [tensor([1, NaN])])] },
  { name: 'weightedCenter', valid: () => [m22(), api.softmax(m22(), 1), 1], fuzz: [f(0, 'tensor'), f(1, 'tensor'), f(1, [v3()]), f(2, 'axis')] },
  { name: 'argExtreme', valid: () => [m22(), 1, 'argExtreme', 1], fuzz: [f(0, 'tensor'), f(1, 'axis'), f(3, [0, 2, '1', null])] },
  { name: 'lseLine', valid: () => [[1, 2, 3], 0, 1, 3], fuzz: [f(0, 'numberArray'), f(1, 'count'), f(2, 'count'), f(3, 'count'), f(3, [4]), f(0, [[1, NaN, 2]])] },
  { name: 'softmaxLine', valid: () => [[1, 2, 3], 0, 1, 3, new Float64Array(3), 0, 1], fuzz: [f(0, 'numberArray'), f(1, 'count'), f(2, 'count'), f(3, 'count'), f(3, [4]), f(4, [null, 3, new Float64Array(2)]), f(5, 'count'), f(6, 'count')] },
  // ---------- index ops ----------
  { name: 'gatherRows', valid: () => [m22(), Int32Array.from([1, 0])], fuzz: [f(0, 'tensor'), f(1, 'indices'), f(1, [Int32Array.from([2]), Int32Array.from([-1])])] },
  { name: 'scatterAddRows', valid: () => [m22(), Int32Array.from([1, 0]), 3], fuzz: [f(0, 'tensor'), f(1, 'indices'), f(1, [Int32Array.from([0])]), f(2, 'count')] },
  { name: 'takeAlongAxis', valid: () => [m22(), Int32Array.from([1, 0]), 1], fuzz: [f(0, 'tensor'), f(1, 'indices'), f(1, [Int32Array.from([2, 0]), Int32Array.from([0, 0, 0])]), f(2, 'axis')] },
  { name: 'scatterAlongAxis', valid: () => [m22(), Int32Array.from([1, 0, 0, 1]), 1, 3], fuzz: [f(0, 'tensor'), f(1, 'indices'), f(1, [Int32Array.from([5, 0, 0, 1])]), f(2, 'axis'), f(3, 'count')] },
  { name: 'oneHot', valid: () => [Int32Array.from([1, 0]), 3], fuzz: [f(0, 'indices'), f(0, [Int32Array.from([3])]), f(1, 'posCount'), f(2, 'dtype')] },
  { name: 'topk', valid: () => [m22(), 1, 1], fuzz: [f(0, 'tensor'), f(1, 'k'), f(2, 'axis'), f(0, [tensor([1, NaN])])] },
  { name: 'argmax', valid: () => [m22(), 1], fuzz: [f(0, 'tensor'), f(1, 'axis'), f(0, [tensor([1, NaN])])] },
  { name: 'selectTopK', valid: () => [Int32Array.from([0, 1, 2]), 2, (j: number) => j], fuzz: [f(0, 'indices'), f(1, [-1, 1.5, NaN, 4, '2']), f(2, 'fn')] },
  // ---------- matmul, losses ----------
  { name: 'matmul', valid: () => [m22(), m22()], fuzz: [f(0, 'tensor'), f(1, 'tensor'), f(1, [zeros([3, 2]), v3(), zeros([2, 2], 'float32'), zeros([2, 2, 2])])] },
  { name: 'mse', valid: () => [v3(), v3()], fuzz: [f(0, 'tensor'), f(1, 'tensor'), f(1, [m22()])] },
  { name: 'nll', valid: () => [m22(), Int32Array.from([0, 1])], fuzz: [f(0, 'tensor'), f(0, [v3()]), f(1, 'indices'), f(1, [Int32Array.from([0, 2]), Int32Array.from([0])])] },
  { name: 'crossEntropy', valid: () => [m22(), Int32Array.from([0, 1])], fuzz: [f(0, 'tensor'), f(0, [v3()]), f(1, 'indices'), f(1, [Int32Array.from([0, 2]), Int32Array.from([0])])] },
  // ---------- LM ops, safetensors (engine/ops/norm.ts, attention.ts, embedding.ts, engine/safetensors.ts) ----------
  { name: 'embedding', valid: () => [m22(), Int32Array.from([1, 0, 1])], fuzz: [f(0, 'tensor'), f(0, [v3()]), f(1, 'indices'), f(1, [Int32Array.from([2]), Int32Array.from([-1])])] },
  { name: 'layerNorm', valid: () => [m22(), tensor([1, 2]), tensor([0, 1]), 1e-5], fuzz: [f(0, 'tensor'), f(0, [tensor(1), tensor([[1, NaN]])]), f(1, [v3(), zeros([2], 'float32'), 3, 'w']), f(2, [v3(), 3]), f(3, 'nonneg')] },
  { name: 'rmsNorm', valid: () => [m22(), tensor([1, 2]), 1e-6], fuzz: [f(0, 'tensor'), f(0, [tensor(1), tensor([[Infinity, 1]])]), f(1, [v3(), zeros([2], 'float32'), 3]), f(2, 'nonneg')] },
  {
    name: 'scaledDotProductAttention', valid: () => [randn(new Rng(2), [2, 3, 2]), randn(new Rng(3), [2, 3, 2]), randn(new Rng(4), [2, 3, 2]), { causal: true }],
    fuzz: [f(0, 'tensor'), f(1, 'tensor'), f(2, 'tensor'), f(1, [zeros([2, 3, 3]), zeros([1, 3, 2]), zeros([2, 3, 2], 'float32')]), f(2, [zeros([2, 4, 2])]), f(0, [tensor([[[NaN, 0]]])]),
      f(3, 'options'), f([3, 'causal'], ['yes', 1, null]), f([3, 'mask'], [zeros([3, 3]), ones([4, 4]), 3]), f([3, 'scale'], [NaN, Infinity, '1'])],
  },
  { name: 'rotaryEmbedding', valid: () => [zeros([3, 4]), { base: 100, offset: 2 }], fuzz: [f(0, 'tensor'), f(0, [zeros([3, 3]), v3()]), f(1, 'options'), f([1, 'base'], [1, 0, NaN, Infinity, '10']), f([1, 'offset'], [-1, 1.5, NaN, '2'])] },
  { name: 'dropout', valid: () => [v3(), 0.5, { rng: rng() }], fuzz: [f(0, 'tensor'), f(1, [1, -0.1, NaN, '0.5', null]), f(2, 'options'), f([2, 'rng'], 'rng'), f([2, 'training'], 'boolean')] },
  { name: 'encodeSafetensors', valid: () => [{ w: m22() }, { metadata: { a: 'b' } }], fuzz: [f(0, [null, 3, 'x', [m22()], m22(), { w: [1, 2] }, { '': m22() }]), f(1, 'options'), f([1, 'metadata'], [3, 'x', { a: 3 }]), f([1, 'dtype'], ['F16', 3, 'float32'])] },
  { name: 'decodeSafetensors', valid: () => [api.encodeSafetensors({ w: m22() })], fuzz: [f(0, [null, 3, 'x', [1, 2], new Uint8Array(3), new Uint8Array(16).fill(255)])] },
  // ---------- MoE: gates ----------
  { name: 'softmaxGate', valid: () => [logits()], fuzz: [f(0, logitsBad()), f(1, 'options'), f([1, 'capacity'], CAPACITY)] },
  { name: 'topKSoftmaxGate', valid: () => [logits(), 2], fuzz: [f(0, logitsBad()), f(1, 'k'), f(1, [7]), f(2, 'options'), f([2, 'capacity'], CAPACITY), f([2, 'capacityPriority'], ['gshard', 3, null])] },
  { name: 'softmaxTopKGate', valid: () => [logits(), 2], fuzz: [f(0, logitsBad()), f(1, 'k'), f(2, 'options'), f([2, 'routeScale'], 'positive'), f([2, 'capacity'], CAPACITY)] },
  { name: 'temperatureSoftmaxGate', valid: () => [logits(), 0.5, 2], fuzz: [f(0, logitsBad()), f(1, 'positive'), f(1, [zeros([2]), tensor(0), tensor(1, undefined, 'float32')]), f(2, 'k'), f(3, 'options')] },
  { name: 'sigmoidGate', valid: () => [logits(), 2], fuzz: [f(0, logitsBad()), f(1, 'k'), f(2, 'options'), f([2, 'capacity'], CAPACITY)] },
  { name: 'normalizedSigmoidGate', valid: () => [logits(), { k: 2 }], fuzz: [f(0, logitsBad()), f(1, 'options'), f([1, 'k'], 'k'), f([1, 'routeScale'], 'positive'), f([1, 'bias'], [[1, 2], new Float64Array(2), 3]), f([1, 'numGroups'], [4, 0, NaN]), f([1, 'capacity'], CAPACITY)] },
  { name: 'hierarchicalSoftmaxGate', valid: () => [randn(new Rng(2), [4, 2]), randn(new Rng(3), [4, 2, 3]), { kGroups: 1, kExperts: 2 }], fuzz: [f(0, logitsBad()), f(1, [zeros([4, 6]), zeros([3, 2, 3]), null, tensor([[[NaN]]])]), f(2, 'options'), f([2, 'kGroups'], 'k'), f([2, 'kExperts'], 'k')] },
  { name: 'laplaceGate', valid: () => [randn(new Rng(2), [4, 3]), randn(new Rng(3), [5, 3]), 2], fuzz: [f(0, logitsBad()), f(1, [zeros([5, 2]), zeros([5]), null, tensor([[NaN, 0, 0]])]), f(2, 'k'), f(3, 'options')] },
  { name: 'laplaceLogits', valid: () => ['laplaceLogits', randn(new Rng(2), [4, 3]), randn(new Rng(3), [5, 3])], fuzz: [f(1, logitsBad()), f(2, [zeros([5, 2]), null])] },
  { name: 'subsetSoftmax', valid: () => ['subsetSoftmax', logits(), null, null], fuzz: [f(1, logitsBad()), f(2, [[0, 1], Int32Array.from([9]), Int32Array.from([0, 1, 2])]), f(3, [3, zeros([2]), tensor(-1)])] },
  { name: 'selectNormalizedSigmoid', valid: () => ['selectNormalizedSigmoid', logits(), 2, null, null], fuzz: [f(1, logitsBad()), f(2, 'k'), f(3, [[1, 2], new Float64Array(2), 3]), f(4, [3, { numGroups: 4, topGroups: 1, groupScore: 'max' }, { numGroups: 2, topGroups: 3, groupScore: 'max' }])] },
  { name: 'topKGap', valid: () => [[3, 1, 2, 5, 4, 0], 2, 3, 1], fuzz: [f(0, 'numberArray'), f(1, 'count'), f(2, 'posCount'), f(3, 'k'), f(1, [3])] },
  { name: 'makeGate', valid: () => [{ kind: 'topKSoftmax', numExperts: 4, topK: 2 }], fuzz: [f(0, 'options'), f([0, 'kind'], ['nope', 3]), f([0, 'numExperts'], 'posCount'), f([0, 'topK'], 'k'), f([0, 'initStd'], 'positive')] },
  { name: 'makeGate().init', op: 'topKSoftmax(E=4, k=2).init', call: (r, d) => api.makeGate({ kind: 'topKSoftmax', numExperts: 4, topK: 2 }).init(r, d), valid: () => [rng(), 3], fuzz: [f(0, 'rng'), f(1, 'posCount')] },
  ...(['softmaxOver', 'sigmoidOver'] as const).map((name): ApiEntry => ({ name: `composedGates.${name}`, op: name, call: (...a: unknown[]) => (api.composedGates[name] as (...x: unknown[]) => unknown)(...a), valid: () => [logits(), null], fuzz: [f(0, logitsBad()), f(1, [[0, 1], Int32Array.from([9])])] })),
  ...(['softmaxThenTake', 'normalizedSigmoidOver'] as const).map((name): ApiEntry => ({ name: `composedGates.${name}`, op: name, call: (...a: unknown[]) => (api.composedGates[name] as (...x: unknown[]) => unknown)(...a), valid: () => [logits(), gate().indices, 1], fuzz: [f(0, logitsBad()), f(1, [[0, 1], Int32Array.from([9]), null].slice(name === 'softmaxThenTake' ? 0 : 0, name === 'softmaxThenTake' ? 3 : 2)), f(2, 'positive')] })),
  { name: 'composedGates.twoLevelOver', op: 'twoLevelOver', call: (...a: unknown[]) => (api.composedGates.twoLevelOver as (...x: unknown[]) => unknown)(...a), valid: () => [randn(new Rng(2), [4, 2]), randn(new Rng(3), [4, 2, 3]), null, null, null], fuzz: [f(0, logitsBad()), f(1, [zeros([4, 6]), null]), f(2, [[0], Int32Array.from([9])])] },
  { name: 'composedGates.negDistance', op: 'negDistance', call: (...a: unknown[]) => (api.composedGates.negDistance as (...x: unknown[]) => unknown)(...a), valid: () => [randn(new Rng(2), [4, 3]), randn(new Rng(3), [5, 3])], fuzz: [f(0, logitsBad()), f(1, [zeros([5, 2]), null])] },
  // ---------- MoE: routing families (issue 16) ----------
  { name: 'noisyTopKGate', valid: () => [logits(), randn(new Rng(2), [4, 6]), 2, { rng: rng() }], fuzz: [f(0, logitsBad()), f(1, [zeros([4, 5]), null, tensor([[NaN]])]), f(2, 'k'), f(2, [7]), f(3, 'options'), f([3, 'capacity'], CAPACITY), f([3, 'rng'], 'rng'), f([3, 'noise'], [zeros([2, 6]), 3, tensor([[NaN, 0, 0, 0, 0, 0]])])] },
  { name: 'noisyTopKLoadProbs', valid: () => [logits(), randn(new Rng(2), [4, 6]), api.softplus(randn(new Rng(3), [4, 6])), 2], fuzz: [f(0, logitsBad()), f(1, [zeros([4, 5]), null]), f(2, [zeros([4, 6]), null, zeros([4, 5])]), f(3, 'k'), f(3, [6])] },
  { name: 'noisyTopKLosses', valid: () => [api.noisyTopKGate(logits(), randn(new Rng(2), [4, 6]), 2)], fuzz: [f(0, [null, 3, {}, gate()]), f(1, 'options'), f([1, 'importance'], 'nonneg'), f([1, 'load'], 'nonneg')] },
  { name: 'cvSquared', valid: () => [v3()], fuzz: [f(0, 'tensor'), f(0, [m22(), tensor([0, 0]), tensor([NaN, 1])])] },
  { name: 'expertChoiceGate', valid: () => [logits(), { capacityFactor: 2 }], fuzz: [f(0, logitsBad()), f(1, 'options'), f([1, 'capacityFactor'], 'positive'), f([1, 'capacity'], [0, 5, 2.5, NaN, '3'])] },
  { name: 'softMoEDispatch', valid: () => [logits(), randn(new Rng(2), [4, 3])], fuzz: [f(0, logitsBad()), f(1, 'tensor'), f(1, [zeros([6, 3]), zeros([4]), tensor([[NaN]])])] },
  { name: 'softMoECombine', valid: () => [logits(), randn(new Rng(2), [6, 3])], fuzz: [f(0, logitsBad()), f(1, 'tensor'), f(1, [zeros([4, 3]), zeros([6]), tensor([[NaN]])])] },
  { name: 'balancedAssignmentGate', valid: () => [logits(), { iterations: 4 }], fuzz: [f(0, logitsBad()), f(1, 'options'), f([1, 'iterations'], 'count'), f([1, 'temperature'], 'positive')] },
  { name: 'sinkhornLogPlan', valid: () => [logits(), { iterations: 4 }], fuzz: [f(0, logitsBad()), f(1, 'options'), f([1, 'iterations'], 'count'), f([1, 'temperature'], 'positive')] },
  { name: 'makeRoutingGate', valid: () => [{ kind: 'noisyTopK', numExperts: 4, topK: 2 }], fuzz: [f(0, 'options'), f([0, 'kind'], ['nope', 3]), f([0, 'numExperts'], 'posCount'), f([0, 'topK'], 'k'), f([0, 'initStd'], 'positive')] },
  { name: 'makeRoutingGate().init', op: 'noisyTopK(E=4, k=2).init', call: (r, d) => api.makeRoutingGate({ kind: 'noisyTopK', numExperts: 4, topK: 2 }).init(r, d), valid: () => [rng(), 3], fuzz: [f(0, 'rng'), f(1, 'posCount')] },
  // ---------- MoE: routing, dispatch ----------
  { name: 'buildRoutingPlan', valid: () => [Int32Array.from([0, 1, 1, 0]), 2, 2, 2], fuzz: [f(0, 'indices'), f(0, [Int32Array.from([0, 2, 1, 0]), Int32Array.from([0])]), f(1, 'posCount'), f(2, 'posCount'), f(3, 'k'), f(4, [0, -1, 1.5, NaN, '2']), f(5, ['first', 3, null])] },
  { name: 'planIndex', valid: () => [plan()], fuzz: [f(0, [null, 3, {}, 'x'])] },
  { name: 'dispatch', valid: () => [randn(new Rng(2), [4, 3]), plan()], fuzz: [f(0, 'tensor'), f(0, [zeros([5, 3]), zeros([4])]), f(1, [null, 3, {}])] },
  { name: 'undispatch', valid: () => [randn(new Rng(2), [8, 3]), plan()], fuzz: [f(0, 'tensor'), f(0, [zeros([5, 3])]), f(1, [null, 3, {}])] },
  { name: 'rowWeights', valid: () => { const g = gate(); return [g.weights, g.plan]; }, fuzz: [f(0, 'tensor'), f(0, [zeros([3, 2])]), f(1, [null, 3, {}])] },
  { name: 'combine', valid: () => { const g = gate(); return [randn(new Rng(2), [8, 3]), g.weights, g.plan]; }, fuzz: [f(0, 'tensor'), f(0, [zeros([5, 3])]), f(1, 'tensor'), f(1, [zeros([3, 2])]), f(2, [null, 3, {}])] },
  { name: 'segmentMatmul', valid: () => [randn(new Rng(2), [4, 3]), randn(new Rng(3), [2, 3, 2]), Int32Array.from([0, 1, 4])], fuzz: [f(0, 'tensor'), f(1, 'tensor'), f(1, [zeros([2, 4, 2]), zeros([3, 2])]), f(2, 'indices'), f(2, [Int32Array.from([0, 5, 4]), Int32Array.from([0, 4])])] },
  { name: 'segmentOuter', valid: () => [randn(new Rng(2), [4, 3]), randn(new Rng(3), [4, 2]), Int32Array.from([0, 1, 4])], fuzz: [f(0, 'tensor'), f(1, 'tensor'), f(1, [zeros([3, 2])]), f(2, 'indices'), f(2, [Int32Array.from([0, 5, 4])])] },
  // ---------- MoE: experts, layer ----------
  { name: 'initExperts', valid: () => [rng(), 'relu', { numExperts: 2, dIn: 3, dHidden: 4 }], fuzz: [f(0, 'rng'), f(1, ['nope', 3]), f(2, 'options'), f([2, 'numExperts'], 'posCount'), f([2, 'dIn'], 'posCount'), f([2, 'dHidden'], 'posCount'), f([2, 'dOut'], 'posCount')] },
  { name: 'checkExpertParams', valid: () => ['checkExpertParams', api.initExperts(rng(), 'relu', { numExperts: 2, dIn: 3, dHidden: 4 }), 'relu', 3], fuzz: [f(1, [null, 3, {}]), f(2, ['nope', 3]), f(3, [4, 'x'])] },
  { name: 'applyExpert', valid: () => [api.initExperts(rng(), 'relu', { numExperts: 2, dIn: 3, dHidden: 4 }), 'relu', 1, randn(new Rng(2), [4, 3])], fuzz: [f(0, [null, 3, {}]), f(1, ['nope', 3]), f(2, [2, -1, 0.5, NaN, '1']), f(3, 'tensor'), f(3, [zeros([4, 2])])] },
  { name: 'applyExperts', valid: () => [api.initExperts(rng(), 'relu', { numExperts: 2, dIn: 3, dHidden: 4 }), 'relu', randn(new Rng(2), [4, 3]), Int32Array.from([0, 1, 4]), Int32Array.from([0, 1, 1, 1])], fuzz: [f(0, [null, 3, {}]), f(1, ['nope', 3]), f(2, 'tensor'), f(3, 'indices'), f(4, 'indices'), f(4, [Int32Array.from([0, 5, 1, 1])])] },
  {
    name: 'MoELayer.init', op: 'MoELayer.init', call: (r, c) => api.MoELayer.init(r, c),
    valid: () => [rng(), { dModel: 4, dHidden: 8, numExperts: 4, topK: 2, expert: 'relu', gate: { kind: 'topKSoftmax', numExperts: 4, topK: 2 } }],
    fuzz: [f(0, 'rng'), f(1, 'options'), f([1, 'dModel'], 'posCount'), f([1, 'dHidden'], 'posCount'), f([1, 'numExperts'], 'posCount'), f([1, 'topK'], 'k'), f([1, 'expert'], ['nope', 3]), f([1, 'dtype'], 'dtype'), f([1, 'numShared'], 'count'), f([1, 'capacityFactor'], 'positive'), f([1, 'capacityPriority'], ['gshard', 3]), f([1, 'gate'], [null, 3, { kind: 'nope' }])],
  },
  {
    name: 'MoELayer.apply', op: 'MoELayer.apply', call: (p, x, c, o) => api.MoELayer.apply(p, x, c, o),
    valid: () => { const c = { dModel: 4, dHidden: 8, numExperts: 4, topK: 2, expert: 'relu', gate: { kind: 'topKSoftmax', numExperts: 4, topK: 2 } } as const; return [api.MoELayer.init(rng(), c), randn(new Rng(2), [5, 4]), c, {}]; },
    fuzz: [f(0, [null, 3, {}]), f(1, 'tensor'), f(1, [zeros([5, 3]), zeros([5]), tensor([[NaN, 0, 0, 0]])]), f(2, [null, 3, {}]), f(3, 'options'), f([3, 'bias'], [[1, 2], new Float64Array(2), 3])],
  },
  // ---------- MoE: losses, balancing, diagnostics ----------
  { name: 'switchAuxLoss', valid: () => [gate()], fuzz: [f(0, [null, 3, {}, { scores: 3, indices: 4 }]), f(1, 'options'), f([1, 'coefficient'], 'finite'), f([1, 'mask'], MASK)] },
  { name: 'routerZLoss', valid: () => [logits()], fuzz: [f(0, [null, 3, {}, v3(), zeros([0, 3])]), f(1, 'options'), f([1, 'mask'], MASK)] },
  { name: 'expertBalanceLoss', valid: () => [gate()], fuzz: [f(0, [null, 3, {}]), f(1, 'options'), f([1, 'alpha'], 'finite')] },
  { name: 'deviceBalanceLoss', valid: () => [gate(), { numDevices: 2 }], fuzz: [f(0, [null, 3, {}]), f(1, 'options'), f([1, 'numDevices'], 'posCount'), f([1, 'numDevices'], [4]), f([1, 'alpha'], 'finite')] },
  { name: 'sequenceBalanceLoss', valid: () => [gate(), { seqLen: 2 }], fuzz: [f(0, [null, 3, {}]), f(1, 'options'), f([1, 'seqLen'], 'posCount'), f([1, 'seqLen'], [3]), f([1, 'alpha'], 'finite'), f([1, 'mask'], MASK)] },
  { name: 'updateBias', valid: () => [new Float64Array(4), new Float64Array([1, 2, 3, 4]), 0.1], fuzz: [f(0, 'numberArray'), f(1, 'numberArray'), f(1, [new Float64Array(3)]), f(2, 'nonneg')] },
  { name: 'expertLoad', valid: () => [plan()], fuzz: [f(0, [null, 3, {}]), f(1, 'options'), f([1, 'kept'], 'boolean')] },
  { name: 'expertImportance', valid: () => [gate()], fuzz: [f(0, [null, 3, {}, v3()])] },
  { name: 'jainIndex', valid: () => [[1, 2, 3]], fuzz: [f(0, 'numberArray'), f(0, [[], [1, NaN], [-1, 2]])] },
  { name: 'gateEntropy', valid: () => [gate()], fuzz: [f(0, [null, 3, {}, v3()])] },
  { name: 'topKMargin', valid: () => [gate(), 2], fuzz: [f(0, [null, 3, {}, v3()]), f(1, 'k'), f(1, [6])] },
  { name: 'dropRate', valid: () => [plan()], fuzz: [f(0, [null, 3, {}])] },
  { name: 'unusedExperts', valid: () => [[1, 0, 2]], fuzz: [f(0, 'numberArray'), f(0, [[1, NaN], [-1]])] },
  { name: 'routerSaturation', valid: () => [gate(), gate()], fuzz: [f(0, [null, 3, {}]), f(1, [null, 3, {}, softmaxGate(logits()).plan]), f(2, 'k')] },
  { name: 'routerChangeRate', valid: () => [gate(), gate()], fuzz: [f(0, [null, 3, {}]), f(1, [null, 3, {}]), f(2, 'k')] },
  { name: 'expertSetsByTokenType', valid: () => [Int32Array.from([0, 1, 0, 1]), gate().indices, 6, 2], fuzz: [f(0, 'indices'), f(1, 'indices'), f(1, [Int32Array.from([0, 9, 0, 1, 0, 1, 0, 1])]), f(2, 'posCount'), f(3, 'k'), f(4, [[0], null])] },
  { name: 'routerDiagnostics', valid: () => [gate()], fuzz: [f(0, [null, 3, {}, { weights: v3() }])] },
  { name: 'expertsPerToken', valid: () => [plan()], fuzz: [f(0, [null, 3, {}])] },
  { name: 'tokensWithoutExpert', valid: () => [plan()], fuzz: [f(0, [null, 3, {}])] },
  // ---------- moe/stats (statistics toolkit): bad-input.registry-stats.ts ----------
  ...STATS_ENTRIES,
];

/** Exports with nothing to corrupt. */
export const NO_INPUT: readonly NoInputEntry[] = [
  ...['CERTIFICATE_MAX_REL_ERROR', 'TRANSPOSE_MAX_REL_ERROR', 'DEFAULT_PRINT_OPTIONS', 'ENGINE_OPS', 'EXPERT_KINDS', 'GATE_KINDS', 'ROUTING_GATE_KINDS', 'GPUJS_MODES', 'JS_MAX_MACS', 'THREAD_MIN_MACS', 'OPTIONAL_DEPENDENCIES']
    .map((name) => ({ name, why: 'constant' })),
  ...['cpuBackend', 'cpuJsBackend'].map((name) => ({ name, why: 'backend object (its matmul has an entry)' })),
  ...['MoELayer', 'composedGates'].map((name) => ({ name, why: 'namespace (its functions have entries)' })),
  ...['treeLeaves', 'treePaths'].map((name) => ({ name, why: 'any value is a tree (non-Tensor leaves pass through by contract)' })),
  ...['MoegradError', 'ShapeError', 'DTypeError', 'ValueError', 'OptionalDependencyError'].map((name) => ({ name, why: 'error class' })),
  ...['vmapFallbackOps', 'clearVmapFallbackOps', 'jvpFallbackOps', 'clearJvpFallbackOps', 'debugNansEnabled'].map((name) => ({ name, why: 'no parameters' })),
  { name: 'NonFiniteError', why: 'error class (thrown by debugNans mode)' },
  { name: 'rawOps', why: 'namespace (the same ops without vmap dispatch; the top-level ops have entries)' },
  ...['getBackend', 'getCalibration', 'listBackends', 'gpujsAvailable', 'gpujsWorkerSupported', 'isRecording', 'preloadGpujs', 'bufferPoolStats']
    .map((name) => ({ name, why: 'no parameters' })),
  ...STATS_NO_INPUT,
];

/** Placeholders that make TS keep the imports used by entries built lazily. */
export const _keep = [ones];

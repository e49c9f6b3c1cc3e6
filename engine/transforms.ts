/**
 * Function transforms beyond `grad` (JAX's names and semantics): `jvp`, `linearize`, `jacfwd`,
 * `jacrev`, `jacobian`, `hessian`, `hvp`. Forward mode is engine/forward.ts (a JVP rule beside every
 * op); reverse mode is the tape. Jacobians have shape `output.shape ++ input.shape`, and for trees
 * the structure "output tree of input trees", as `jax.jacfwd`/`jax.jacrev`.
 */
import { Tensor, allocate, fromData, zeros } from './tensor.js';
import { Tape, backward, withTape } from './tape.js';
import { JvpTrace, withJvpTrace, computeTangent } from './forward.js';
import { alias, grad } from './autodiff.js';
import { type TensorTree, treeLeaves, treeMap, treePaths, alignTrees, mapLeavesToTrees } from './tree.js';
import { DTypeError, ShapeError, ValueError, fmtShape } from './errors.js';
import { checkFunction, checkOptions, describeValue } from './validate.js';
import { concat, reshape, stack } from './ops/shape-ops.js';

/** What {@link jvp} returns. */
export interface JvpResult<R extends TensorTree> {
  /** f(...primals), any tree of tensors. */
  readonly value: R;
  /** The directional derivative J·tangents, in the structure, shapes and dtypes of `value`. */
  readonly tangent: R;
}

const showPath = (p: string) => (p === '' ? '(root)' : `'${p}'`);

/** Checks that `args` is an array of argument trees; the JAX-style `jvp(f, [x], [v])` calling convention. */
function checkArgs(op: string, name: string, args: unknown): readonly TensorTree[] {
  if (!Array.isArray(args)) {
    throw new ValueError(op, `${name} must be an array with one entry per argument of f (e.g. ${op}(f, [x], [v])); got ${describeValue(args)}`);
  }
  return args as readonly TensorTree[];
}

/**
 * Pairs each Tensor leaf of `primals` with the tangent at the same path, checking structure, shape and
 * dtype; errors name the path, e.g. `jvp: tangent and primal differ at '[0].w': float32 vs float64`.
 */
function pairTangents(op: string, primals: readonly TensorTree[], tangents: readonly TensorTree[]): { primal: Tensor; tangent: Tensor }[] {
  if (tangents.length !== primals.length) {
    throw new ValueError(op, `tangents must have one entry per primal (${primals.length}); got ${describeValue(tangents)}`);
  }
  const aligned = alignTrees(op, primals as TensorTree, [tangents as TensorTree], ['tangents'], 'primals');
  const leaves = treeLeaves(primals as TensorTree);
  const paths = treePaths(primals as TensorTree);
  return leaves.map((primal, i) => {
    const tangent = aligned[i]![0]!;
    if (tangent.dtype !== primal.dtype) {
      throw new DTypeError(op, `tangent and primal differ in dtype at ${showPath(paths[i]!)}: tangent ${tangent.dtype} vs primal ${primal.dtype}`);
    }
    return { primal, tangent };
  });
}

/**
 * Forward-mode derivative (`jax.jvp`): `jvp(f, primals, tangents)` → `{ value: f(...primals),
 * tangent: J·tangents }`. `primals` is the array of f's arguments (each a Tensor or a tree of
 * Tensors; non-Tensor leaves are constants) and `tangents` mirrors it leaf for leaf (same structure,
 * shapes and dtypes). The tangent is computed alongside the value, one JVP rule per op — about one
 * extra forward pass — and is itself differentiable (jvp of grad, grad of jvp, jvp of jvp).
 *
 * @example
 * const { value, tangent } = jvp((x: Tensor) => sum(square(x)), [tensor([1, 2])], [tensor([1, 0])]);
 * tangent.item(); // 2 = ∂/∂x₀ Σx² at x₀ = 1
 * @throws {@link ValueError} when primals/tangents are not arrays or differ in structure (the message
 *   names the path), {@link ShapeError} / {@link DTypeError} for a tangent of the wrong shape / dtype.
 */
export function jvp<A extends TensorTree[], R extends TensorTree>(f: (...args: A) => R, primals: A, tangents: A): JvpResult<R> {
  const op = 'jvp';
  checkFunction(op, f, 'f');
  const ps = checkArgs(op, 'primals', primals), ts = checkArgs(op, 'tangents', tangents);
  const pairs = pairTangents(op, ps, ts);
  const trace = new JvpTrace();
  return withJvpTrace(trace, () => {
    // Aliases (made with the trace active but carrying no tangent in it yet) are what this trace
    // perturbs; outer traces and tapes see the alias op and carry their own tangents through it.
    let k = 0;
    const args = treeMap(ps as TensorTree, (x) => {
      const a = alias(x);
      trace.tangents.set(a, pairs[k++]!.tangent);
      return a;
    }) as unknown as A;
    const value = f(...args);
    return { value, tangent: tangentTree(op, value, (leaf) => trace.tangents.get(leaf)) };
  });
}

/** `value` with each Tensor leaf replaced by its tangent (zeros where it has none). */
function tangentTree<R extends TensorTree>(op: string, value: R, get: (leaf: Tensor) => Tensor | undefined): R {
  if (!isTensorTree(value)) throw new ValueError(op, `f must return a Tensor or a tree of Tensors; got ${describeValue(value)}`);
  return treeMap(value, (leaf) => get(leaf) ?? zeros(leaf.shape, leaf.dtype));
}

function isTensorTree(v: unknown): v is TensorTree {
  return v instanceof Tensor || Array.isArray(v) || (v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype);
}

// ---------- tape-based transforms: linearize, jacfwd, jacrev, jacobian ----------

/** f recorded once on a fresh tape, with every Tensor leaf of `args` replaced by a tracked alias. */
interface Recorded<A extends TensorTree[], R extends TensorTree> {
  readonly tape: Tape;
  /** The aliased arguments f was called with. */
  readonly args: A;
  /** Their Tensor leaves (what is differentiated), in treeLeaves order. */
  readonly inLeaves: Tensor[];
  readonly value: R;
  readonly outLeaves: Tensor[];
}

function recordCall<A extends TensorTree[], R extends TensorTree>(op: string, f: (...args: A) => R, primals: A): Recorded<A, R> {
  const tape = new Tape();
  const args = treeMap(primals as TensorTree, alias) as unknown as A;
  const inLeaves = treeLeaves(args as TensorTree);
  if (inLeaves.length === 0) throw new DTypeError(op, `the argument to differentiate contains no Tensor; got ${describeValue(primals[0])}`);
  for (const leaf of inLeaves) tape.tracked.add(leaf);
  const value = withTape(tape, () => f(...args));
  if (!isTensorTree(value)) throw new ValueError(op, `f must return a Tensor or a tree of Tensors; got ${describeValue(value)}`);
  return { tape, args, inLeaves, value, outLeaves: treeLeaves(value) };
}

/**
 * Replays a recorded tape forward with tangents for its input leaves (each node's JVP rule, or the
 * fallback): the tangents of `outLeaves`, zeros where an output does not depend on the inputs.
 */
function pushForward(rec: Recorded<TensorTree[], TensorTree>, tangents: readonly Tensor[]): Tensor[] {
  const map = new Map<Tensor, Tensor>();
  rec.inLeaves.forEach((leaf, i) => map.set(leaf, tangents[i]!));
  for (const node of rec.tape.nodes) {
    let ts: (Tensor | null)[] | null = null;
    for (let j = 0; j < node.inputs.length; j++) {
      const t = map.get(node.inputs[j]!);
      if (t !== undefined) (ts ??= new Array<Tensor | null>(node.inputs.length).fill(null))[j] = t;
    }
    if (ts !== null) map.set(node.output, computeTangent(node.op, node.inputs, node.output, node.vjp, node.jvp, ts));
  }
  return rec.outLeaves.map((o) => map.get(o) ?? zeros(o.shape, o.dtype));
}

/** What {@link linearize} returns. */
export interface Linearized<A extends TensorTree[], R extends TensorTree> {
  /** f(...primals). */
  readonly value: R;
  /** tangents ↦ J·tangents at the primals (tangents mirror the primals, as in {@link jvp}); callable many times. */
  readonly jvp: (tangents: A) => R;
}

/**
 * `jax.linearize`: evaluates f once, recording it, and returns the value with a function that
 * pushes any number of tangents through the recorded ops (their JVP rules) without re-running f —
 * cheaper than calling {@link jvp} repeatedly at the same point.
 *
 * @example
 * const lin = linearize((x: Tensor) => exp(x), [tensor([0, 1])]);
 * lin.jvp([tensor([1, 1])]).toArray(); // [1, e]
 */
export function linearize<A extends TensorTree[], R extends TensorTree>(f: (...args: A) => R, primals: A): Linearized<A, R> {
  const op = 'linearize';
  checkFunction(op, f, 'f');
  const ps = checkArgs(op, 'primals', primals);
  const rec = recordCall(op, f, ps as A);
  return {
    value: rec.value,
    jvp: (tangents: A) => {
      const pairs = pairTangents(op, ps, checkArgs(op, 'tangents', tangents));
      const outs = pushForward(rec as unknown as Recorded<TensorTree[], TensorTree>, pairs.map((p) => p.tangent));
      let k = 0;
      return treeMap(rec.value, () => outs[k++]!);
    },
  };
}

/** The Jacobian's type: a Tensor for a Tensor → Tensor function, otherwise a tree (output tree of input trees). */
export type JacobianOf<O, T> = O extends Tensor ? (T extends Tensor ? Tensor : TensorTree) : TensorTree;


/** A constant one-hot tensor of `shape` with 1 at flat index `k`. */
function basis(shape: readonly number[], dtype: Tensor['dtype'], k: number): Tensor {
  const d = allocate(dtype, shape.reduce((a, b) => a * b, 1));
  d[k] = 1;
  return fromData(d, shape.slice());
}

/**
 * Assembles the blocks J[o][i] (shape o.shape ++ i.shape) into the output tree of input trees.
 * `block(o, i)` gets leaf indices.
 */
function assemble(rec: Recorded<TensorTree[], TensorTree>, block: (o: number, i: number) => Tensor): TensorTree {
  return mapLeavesToTrees(rec.value, (_o, oi) => mapLeavesToTrees(rec.args[0]!, (_x, ii) => block(oi, ii)));
}

type Mode = 'fwd' | 'rev';

/** The Jacobian of f at x (first argument; `rest` are constants) by forward (one replay per input element) or reverse mode (one backward pass per output element). */
function jacobianAt(op: string, f: (x: TensorTree, ...rest: unknown[]) => TensorTree, x: TensorTree, rest: unknown[], mode: Mode | 'auto'): TensorTree {
  if (x === undefined) throw new ValueError(op, 'the function to differentiate needs an argument x (a Tensor or a tree of Tensors)');
  const rec = recordCall(op, (xa: TensorTree) => f(xa, ...rest), [x]) as unknown as Recorded<TensorTree[], TensorTree>;
  const { inLeaves, outLeaves } = rec;
  const n = inLeaves.reduce((a, l) => a + l.size, 0), m = outLeaves.reduce((a, l) => a + l.size, 0);
  const chosen: Mode = mode === 'auto' ? (n <= m ? 'fwd' : 'rev') : mode;
  const zerosBlock = (o: Tensor, i: Tensor) => zeros([...o.shape, ...i.shape], o.dtype);
  for (const o of outLeaves) {
    if (o.dtype !== inLeaves[0]!.dtype) throw new DTypeError(op, `f's output is ${o.dtype} but its input is ${inLeaves[0]!.dtype}; a Jacobian needs one dtype`);
  }
  if (chosen === 'fwd') {
    // columns: cols[i][e][o] = ∂out_o/∂in_i[e], one tape replay per input element
    const cols = inLeaves.map((leaf, i) => Array.from({ length: leaf.size }, (_, e) =>
      pushForward(rec, inLeaves.map((l, j) => (j === i ? basis(l.shape, l.dtype, e) : zeros(l.shape, l.dtype))))));
    return assemble(rec, (oi, ii) => {
      const o = outLeaves[oi]!, x0 = inLeaves[ii]!;
      if (x0.size === 0 || o.size === 0) return zerosBlock(o, x0);
      return reshape(stack(cols[ii]!.map((c) => c[oi]!), o.rank), [...o.shape, ...x0.shape]);
    });
  }
  // rows: rows[o][r][i] = ∂out_o[r]/∂in_i, one backward pass per output element
  const flat = withTape(rec.tape, () => (outLeaves.length === 1 ? reshape(outLeaves[0]!, [m]) : concat(outLeaves.map((o) => reshape(o, [o.size])), 0)));
  let at = 0;
  const rows = outLeaves.map((o) => Array.from({ length: o.size }, () => backward(rec.tape, flat, basis([m], flat.dtype, at++), inLeaves)));
  return assemble(rec, (oi, ii) => {
    const o = outLeaves[oi]!, x0 = inLeaves[ii]!;
    if (x0.size === 0 || o.size === 0) return zerosBlock(o, x0);
    return reshape(stack(rows[oi]!.map((r) => r[ii]!), 0), [...o.shape, ...x0.shape]);
  });
}

function jacobianTransform<T extends TensorTree, O extends TensorTree, R extends unknown[]>(op: string, f: (x: T, ...rest: R) => O, mode: Mode | 'auto'): (x: T, ...rest: R) => JacobianOf<O, T> {
  checkFunction(op, f, 'f');
  return (x: T, ...rest: R) => jacobianAt(op, f as never, x, rest, mode) as JacobianOf<O, T>;
}

/**
 * Forward-mode Jacobian (`jax.jacfwd`): `jacfwd(f)(x, ...rest)` = ∂f/∂x with shape
 * `f(x).shape ++ x.shape` (for trees: the output tree with, at each output leaf, the input tree of
 * blocks `out.shape ++ in.shape`). f is recorded once, then one tangent replay per input element —
 * the cheaper mode when x is smaller than f(x). Extra arguments are constants.
 *
 * @example
 * jacfwd((x: Tensor) => mul(x, x))(tensor([1, 2])).toNested(); // [[2, 0], [0, 4]]
 */
export function jacfwd<T extends TensorTree, O extends TensorTree, R extends unknown[] = []>(f: (x: T, ...rest: R) => O): (x: T, ...rest: R) => JacobianOf<O, T> {
  return jacobianTransform('jacfwd', f, 'fwd');
}

/**
 * Reverse-mode Jacobian (`jax.jacrev`): same result and shapes as {@link jacfwd}, by one backward
 * pass per output element — the cheaper mode when f(x) is smaller than x.
 *
 * @example
 * jacrev((x: Tensor) => softmax(x))(tensor([0, 0])).toNested(); // [[0.25, -0.25], [-0.25, 0.25]]
 */
export function jacrev<T extends TensorTree, O extends TensorTree, R extends unknown[] = []>(f: (x: T, ...rest: R) => O): (x: T, ...rest: R) => JacobianOf<O, T> {
  return jacobianTransform('jacrev', f, 'rev');
}

/** Options of {@link jacobian}. */
export interface JacobianOptions {
  /** 'auto' (default: forward when x has no more elements than f(x), else reverse), 'fwd' or 'rev'. */
  readonly mode?: 'auto' | 'fwd' | 'rev';
}

/**
 * The Jacobian ∂f/∂x (shape `f(x).shape ++ x.shape`, as {@link jacfwd}), in the cheaper mode for the
 * shapes: f is recorded once, then forward mode (one replay per input element) when x has no more
 * elements than f(x), else reverse mode (one backward pass per output element).
 *
 * @example
 * jacobian((w: Tensor) => softmax(matmul(x, w)))(w); // [T, E] ++ [D, E]
 */
export function jacobian<T extends TensorTree, O extends TensorTree, R extends unknown[] = []>(f: (x: T, ...rest: R) => O, options: JacobianOptions = {}): (x: T, ...rest: R) => JacobianOf<O, T> {
  const op = 'jacobian';
  checkOptions(op, options);
  const { mode = 'auto' } = options;
  if (mode !== 'auto' && mode !== 'fwd' && mode !== 'rev') throw new ValueError(op, `mode must be 'auto', 'fwd' or 'rev'; got ${describeValue(mode)}`);
  return jacobianTransform(op, f, mode);
}

/** f, checked to return a one-element Tensor (the message names `op`). */
function scalarValued<T extends TensorTree, R extends unknown[]>(op: string, f: (x: T, ...rest: R) => Tensor): (x: T, ...rest: R) => Tensor {
  checkFunction(op, f, 'f');
  return (x: T, ...rest: R) => {
    const y = f(x, ...rest);
    if (!(y instanceof Tensor)) throw new ShapeError(op, `f must return a scalar Tensor; got ${describeValue(y)}`);
    if (y.size !== 1) throw new ShapeError(op, `f must return a scalar (one element); got shape ${fmtShape(y.shape)}`);
    return y;
  };
}

/**
 * The Hessian of a scalar f (`jax.hessian`): `hessian(f)(x, ...rest)` = ∂²f/∂x², shape
 * `f(x).shape ++ x.shape ++ x.shape` (x.shape ++ x.shape for a 0-d f; for a tree x, a tree of trees
 * of blocks). Forward-over-reverse: jacfwd of jacrev, so one gradient recording and one tangent
 * replay of it per element of x. For a Hessian-vector product use {@link hvp}.
 *
 * @example
 * hessian((x: Tensor) => sum(mul(x, mul(x, x))))(tensor([1, 2])).toNested(); // [[6, 0], [0, 12]]
 * @throws {@link ShapeError} when f does not return a one-element Tensor.
 */
export function hessian<T extends TensorTree, R extends unknown[] = []>(f: (x: T, ...rest: R) => Tensor): (x: T, ...rest: R) => JacobianOf<Tensor, T> {
  const fs = scalarValued('hessian', f);
  const g = jacobianTransform('hessian', fs, 'rev');
  return jacobianTransform('hessian', g as (x: T, ...rest: R) => TensorTree, 'fwd') as (x: T, ...rest: R) => JacobianOf<Tensor, T>;
}

/**
 * Hessian-vector product H·v of a scalar f at x, without forming H: the JVP of the gradient
 * (forward-over-reverse), about the cost of two gradient evaluations. `v` mirrors `x` (a Tensor or a
 * tree of Tensors); the result does too. Extra arguments of f are constants (`hvp(f, x, v, ...rest)`).
 *
 * @example
 * hvp((x: Tensor) => sum(mul(x, mul(x, x))), tensor([1, 2]), tensor([1, 0])).toArray(); // [6, 0]
 * @throws {@link ShapeError} when f is not scalar or v's shapes differ from x's; {@link ValueError}
 *   when v's structure differs (the message names the path).
 */
export function hvp<T extends TensorTree, R extends unknown[] = []>(f: (x: T, ...rest: R) => Tensor, x: T, v: T, ...rest: R): T {
  const op = 'hvp';
  const fs = scalarValued(op, f);
  if (treeLeaves(x).length === 0) throw new DTypeError(op, `x must be a Tensor or a tree of Tensors; got ${describeValue(x)}`);
  pairTangents(op, [x], [v]);
  return jvp((xx: T) => grad((z: T) => fs(z, ...rest))(xx), [x] as [T], [v] as [T]).tangent;
}

/**
 * Function transforms beyond `grad` (JAX's names and semantics): `jvp`, `linearize`, `jacfwd`,
 * `jacrev`, `jacobian`, `hessian`, `hvp`. Forward mode is engine/forward.ts (a JVP rule beside every
 * op); reverse mode is the tape. Jacobians have shape `output.shape ++ input.shape`, and for trees
 * the structure "output tree of input trees", as `jax.jacfwd`/`jax.jacrev`.
 */
import { Tensor, zeros } from './tensor.js';
import { JvpTrace, withJvpTrace } from './forward.js';
import { alias } from './autodiff.js';
import { type TensorTree, treeLeaves, treeMap, treePaths, alignTrees } from './tree.js';
import { DTypeError, ValueError } from './errors.js';
import { checkFunction, describeValue } from './validate.js';

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
    throw new ValueError(op, `tangents must have one entry per primal (${primals.length}); got ${tangents.length}`);
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

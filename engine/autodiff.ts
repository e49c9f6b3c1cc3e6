/**
 * Functional autodiff API (JAX style): `grad`, `valueAndGrad`, `vjp`, plus `stopGradient`.
 * Gradients come back in the same tree structure as the argument.
 */
import { Tensor, fromData, full } from './tensor.js';
import { Tape, backward, record, unobserved, withTape } from './tape.js';
import { IntermediateReuse } from './intermediate-reuse.js';
import { bufferPoolEnabled } from './buffer-pool.js';
import { type TensorTree, treeLeaves, treeMap } from './tree.js';
import { ShapeError, DTypeError, fmtShape } from './errors.js';
import { sameShape } from './shape.js';
import { checkBoolean, checkFunction, checkOptions, checkTensor, describeValue } from './validate.js';

/**
 * A differentiable alias of `x` (same data). Tracking the alias, not `x` itself, keeps each
 * `grad` call's tape (and each `jvp` call's trace) separate even when the same tensor is
 * differentiated at several levels.  dx = dy;  ẏ = ẋ
 */
export function alias(x: Tensor): Tensor {
  return record('alias', [x], fromData(x.data, x.shape), (dy) => [dy], (t) => t[0]!);
}

function trace<T extends TensorTree>(x: T, f: (x: T) => Tensor, op: string): { tape: Tape; inputs: T; leaves: Tensor[]; out: Tensor } {
  const tape = new Tape();
  const inputs = treeMap(x, alias);
  const leaves = treeLeaves(inputs);
  if (leaves.length === 0) throw new DTypeError(op, `the argument to differentiate contains no Tensor; got ${describeValue(x)}`);
  for (const leaf of leaves) tape.tracked.add(leaf);
  const out = withTape(tape, () => f(inputs));
  if (!(out instanceof Tensor)) throw new DTypeError(op, `the function must return a Tensor; got ${typeof out}`);
  return { tape, inputs, leaves, out };
}

/** Result of `valueAndGrad`: the function's value and the gradient tree. */
/** What the function returned by {@link valueAndGrad} returns. */
export interface ValueAndGrad<T extends TensorTree> {
  /** f(x), a one-element tensor. */
  readonly value: Tensor;
  /** ∂f/∂x, with the structure, shapes and dtypes of x. */
  readonly grad: T;
}

/** Options of {@link valueAndGrad} and {@link grad}. */
export interface GradOptions {
  /**
   * The caller promises that `f` keeps no tensor it makes beyond its call (default false). The
   * buffers of f's intermediates then go to the buffer pool after the backward walk and the next
   * call reuses them instead of fresh memory (a fresh large typed array costs more than the loop
   * that fills it; on the tape Gaussian-MoE NLL of issue 15 this is 1.3–1.4× per step). An
   * intermediate kept anyway throws a ValueError when read; a raw `t.data` array kept is not
   * protected. Tensors `f` makes from constants, `stopGradient` aliases, views made under `noGrad`
   * and the returned value keep their buffers; a buffer is reused only after the backward walk has
   * passed every op that refers to it. A user VJP that reads a tensor through its closure without
   * taking it as an input (one assigned later in `f`) counts as keeping it. No effect under an
   * outer tape, forward mode, debugNans or vmap. Like JAX, where an intermediate (a tracer) must
   * not leak out of a transformed function.
   */
  reuseIntermediates?: boolean;
}

/**
 * `valueAndGrad(f)(x, ...rest)` → `{ value: f(x), grad: ∂f/∂x }` for scalar-valued `f`.
 * `x` may be a Tensor or any tree of Tensors; `grad` mirrors it. Extra arguments are constants.
 * Works inside another `grad` (grad of grad). See {@link GradOptions} for `reuseIntermediates`.
 * @throws {@link ValueError} if `f` is not a function or an option is not a boolean.
 */
export function valueAndGrad<T extends TensorTree, R extends unknown[] = []>(
  f: (x: T, ...rest: R) => Tensor, options?: GradOptions,
): (x: T, ...rest: R) => ValueAndGrad<T> {
  return valueAndGradAs('valueAndGrad', f, options);
}

/** valueAndGrad whose errors name `op` (`grad` or `valueAndGrad`). */
function valueAndGradAs<T extends TensorTree, R extends unknown[]>(op: string, f: (x: T, ...rest: R) => Tensor, options: GradOptions | undefined): (x: T, ...rest: R) => ValueAndGrad<T> {
  checkFunction(op, f);
  const reuseIntermediates = checkBoolean(op, 'options.reuseIntermediates', checkOptions(op, options).reuseIntermediates, false);
  return (x: T, ...rest: R) => {
    const reuse = reuseIntermediates && bufferPoolEnabled() && unobserved() ? new IntermediateReuse(op) : null;
    reuse?.beginTrace();
    try {
      let traced: ReturnType<typeof trace<T>>;
      try {
        traced = trace(x, (xi) => f(xi, ...rest), op);
      } finally {
        reuse?.endTrace();
      }
      const { tape, inputs, leaves, out } = traced;
      if (out.size !== 1) {
        throw new ShapeError(op, `the function must return a scalar (one element) to take a gradient; got shape ${fmtShape(out.shape)} (use vjp for non-scalar outputs)`);
      }
      reuse?.countNodes(tape.nodes);
      const grads = backward(tape, out, full(out.shape, 1, out.dtype), leaves, true, reuse); // one walk: free the tape as it goes
      reuse?.finish([out, ...grads]);
      const byLeaf = new Map(leaves.map((leaf, i) => [leaf, grads[i]!]));
      return { value: out, grad: treeMap(inputs, (leaf) => byLeaf.get(leaf)!) };
    } finally {
      reuse?.close(); // the wrap count stays open through the walk (VJPs may alias intermediates)
    }
  };
}

/**
 * `grad(f)(x, ...rest)` → ∂f/∂x for scalar-valued `f`, in the structure of `x`.
 * See {@link GradOptions} for `reuseIntermediates`.
 * @throws {@link ValueError} if `f` is not a function or an option is not a boolean.
 */
export function grad<T extends TensorTree, R extends unknown[] = []>(f: (x: T, ...rest: R) => Tensor, options?: GradOptions): (x: T, ...rest: R) => T {
  const vg = valueAndGradAs('grad', f, options);
  return (x: T, ...rest: R) => vg(x, ...rest).grad;
}

/** Result of `vjp`: the value and a function pulling a cotangent `dy` back to `x`. */
/** What {@link vjp} returns: the primal value and its vector-Jacobian product. */
export interface VjpResult<T extends TensorTree> {
  /** f(x), any shape. */
  readonly value: Tensor;
  /** `dy` must have the shape and dtype of `value`. Can be called several times. */
  readonly vjp: (dy: Tensor) => T;
}

/** Vector–Jacobian product for any-shaped outputs: `vjp(f, x).vjp(dy) = (∂f/∂x)ᵀ dy`. */
export function vjp<T extends TensorTree>(f: (x: T) => Tensor, x: T): VjpResult<T> {
  checkFunction('vjp', f);
  const { tape, inputs, leaves, out } = trace(x, f, 'vjp');
  return {
    value: out,
    vjp: (dy: Tensor) => {
      if (!(dy instanceof Tensor) || !sameShape(dy.shape, out.shape)) {
        throw new ShapeError('vjp', `cotangent must have the output's shape ${fmtShape(out.shape)}; got ${dy instanceof Tensor ? fmtShape(dy.shape) : typeof dy}`);
      }
      if (dy.dtype !== out.dtype) throw new DTypeError('vjp', `cotangent is ${dy.dtype} but the output is ${out.dtype}`);
      const grads = backward(tape, out, dy, leaves);
      const byLeaf = new Map(leaves.map((leaf, i) => [leaf, grads[i]!]));
      return treeMap(inputs, (leaf) => byLeaf.get(leaf)!);
    },
  };
}

/** The same values with no gradient flowing back (`jax.lax.stop_gradient`, `tensor.detach()`). */
export function stopGradient(x: Tensor): Tensor {
  checkTensor('stopGradient', x, 'x');
  return fromData(x.data, x.shape);
}

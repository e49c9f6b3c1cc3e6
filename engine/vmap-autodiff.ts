/**
 * `grad`, `valueAndGrad`, `vjp`, `jvp` and `stopGradient` as exported by engine/index.ts: the ones of
 * engine/autodiff.ts and engine/transforms.ts, plus one branch for use inside `vmap`.
 *
 * Under vmap (per-example gradients): the argument is materialized at every active vmap level
 * (B copies of an unbatched parameter), the function runs batched on those copies, and the tape
 * differentiates the SUM of the per-example values. Example b's value depends only on copy b, so
 * ∂(Σ_b f_b)/∂x_b = ∂f_b/∂x_b: one batched backward pass gives every per-example gradient, which
 * comes back batched (a tracer). `jvp` and `vjp` likewise run once on the materialized batch (forward
 * mode is per example by construction). Outside vmap the raw transform runs unchanged.
 */
import { Tensor } from './tensor.js';
import { DTypeError, ShapeError, fmtShape } from './errors.js';
import { describeValue } from './validate.js';
import { type TensorTree, treeMap } from './tree.js';
import * as ad from './autodiff.js';
import type { GradOptions, ValueAndGrad, VjpResult } from './autodiff.js';
import * as tr from './transforms.js';
import type { JvpResult } from './transforms.js';
import { BatchTracer, currentLevels, materialize, vmapDepth, wrap } from './batch-tracer.js';
import { sum } from './ops/reduce.js';

/** Per-example value-and-gradient under vmap; `op` names the public transform in errors. */
function batchedValueAndGrad<T extends TensorTree, R extends unknown[]>(op: string, f: (x: T, ...rest: R) => Tensor, x: T, rest: R): ValueAndGrad<T> {
  const levels = currentLevels();
  const copies = treeMap(x, (leaf) => materialize(leaf, levels));
  let perExample: Tensor | null = null;
  const inner = ad.valueAndGrad((p: T) => {
    const out = f(treeMap(p, (leaf) => new BatchTracer(leaf, levels)), ...rest);
    if (!(out instanceof Tensor)) throw new DTypeError(op, `the function must return a Tensor; got ${describeValue(out)}`);
    if (out.size !== 1) throw new ShapeError(op, `the function must return a scalar (one element) per example to take a gradient; got shape ${fmtShape(out.shape)} (use vjp for non-scalar outputs)`);
    perExample = materialize(out, levels);
    return sum(perExample);
  });
  const { grad: g } = inner(copies);
  return { value: wrap(perExample!, levels), grad: treeMap(g, (leaf) => wrap(leaf, levels)) };
}

/**
 * `valueAndGrad(f)(x, ...rest)` → `{ value: f(x), grad: ∂f/∂x }` for scalar-valued `f` (one element).
 * `x` may be a Tensor or any tree of Tensors; `grad` mirrors it (same structure, shapes, dtypes).
 * Extra arguments are constants. Works inside another `grad` (grad of grad) and inside `vmap`
 * (per-example values and gradients, one batched pass). `options.reuseIntermediates`: see
 * {@link GradOptions} (f promises to keep none of its intermediates, whose buffers the next call reuses).
 * @throws {@link ShapeError} when f's output has more than one element; {@link DTypeError} when x has
 *   no Tensor or f does not return a Tensor; {@link ValueError} when f is not a function or an
 *   option is not a boolean.
 */
export function valueAndGrad<T extends TensorTree, R extends unknown[] = []>(f: (x: T, ...rest: R) => Tensor, options?: GradOptions): (x: T, ...rest: R) => ValueAndGrad<T> {
  const plain = ad.valueAndGrad(f, options);
  return (x: T, ...rest: R) => (vmapDepth === 0 ? plain(x, ...rest) : batchedValueAndGrad('valueAndGrad', f, x, rest));
}

/**
 * `grad(f)(x, ...rest)` → ∂f/∂x for scalar-valued `f`, in the structure of `x` (JAX's `jax.grad`).
 * Inside `vmap` it gives per-example gradients: `vmap(grad(loss), { inAxes: [null, 0] })(params, xs)`.
 * `options.reuseIntermediates`: see {@link GradOptions}.
 * @throws {@link ShapeError} when f's output has more than one element; {@link DTypeError} when x has
 *   no Tensor or f does not return a Tensor; {@link ValueError} when f is not a function or an
 *   option is not a boolean.
 */
export function grad<T extends TensorTree, R extends unknown[] = []>(f: (x: T, ...rest: R) => Tensor, options?: GradOptions): (x: T, ...rest: R) => T {
  const plain = ad.grad(f, options);
  return (x: T, ...rest: R) => (vmapDepth === 0 ? plain(x, ...rest) : batchedValueAndGrad('grad', f, x, rest).grad);
}

/**
 * Vector–Jacobian product for any-shaped outputs: `vjp(f, x).vjp(dy) = (∂f/∂x)ᵀ dy`, `dy` of f(x)'s
 * shape and dtype; `vjp` can be called several times. Inside `vmap`, value and pullback are per example.
 * @throws {@link ShapeError} / {@link DTypeError} for a cotangent of the wrong shape / dtype;
 *   {@link ValueError} when f is not a function.
 */
export function vjp<T extends TensorTree>(f: (x: T) => Tensor, x: T): VjpResult<T> {
  if (vmapDepth === 0 || typeof f !== 'function') return ad.vjp(f, x);
  const levels = currentLevels();
  let logical: Tensor | null = null;
  const r = ad.vjp((p: T) => {
    const out = f(treeMap(p, (leaf) => new BatchTracer(leaf, levels)));
    if (!(out instanceof Tensor)) throw new DTypeError('vjp', `the function must return a Tensor; got ${describeValue(out)}`);
    logical = out;
    return materialize(out, levels);
  }, treeMap(x, (leaf) => materialize(leaf, levels)));
  const out = logical as unknown as Tensor;
  return {
    value: wrap(r.value, levels),
    vjp: (dy: Tensor) => {
      if (!(dy instanceof Tensor) || dy.rank !== out.rank || dy.shape.some((d, i) => d !== out.shape[i])) {
        throw new ShapeError('vjp', `cotangent must have the output's shape ${fmtShape(out.shape)}; got ${dy instanceof Tensor ? fmtShape(dy.shape) : typeof dy}`);
      }
      if (dy.dtype !== out.dtype) throw new DTypeError('vjp', `cotangent is ${dy.dtype} but the output is ${out.dtype}`);
      return treeMap(r.vjp(materialize(dy, levels)), (leaf) => wrap(leaf, levels));
    },
  };
}

/**
 * The same values with no gradient flowing back (`jax.lax.stop_gradient`, `tensor.detach()`);
 * batched values stay batched.
 * @throws {@link DTypeError} when x is not a Tensor.
 */
export function stopGradient(x: Tensor): Tensor {
  return x instanceof BatchTracer ? new BatchTracer(ad.stopGradient(x.value), x.levels) : ad.stopGradient(x);
}

/**
 * Forward-mode derivative (`jax.jvp`): `jvp(f, primals, tangents)` → `{ value: f(...primals),
 * tangent: J·tangents }`. `primals` is the array of f's arguments (each a Tensor or a tree of
 * Tensors; non-Tensor leaves are constants) and `tangents` mirrors it leaf for leaf (same structure,
 * shapes and dtypes). The tangent is computed alongside the value, one JVP rule per op — about one
 * extra forward pass — and is itself differentiable (jvp of grad, grad of jvp, jvp of jvp). Inside
 * `vmap` it runs once on the whole batch (per-example values and tangents).
 *
 * @example
 * const { value, tangent } = jvp((x: Tensor) => sum(square(x)), [tensor([1, 2])], [tensor([1, 0])]);
 * tangent.item(); // 2 = ∂/∂x₀ Σx² at x₀ = 1
 * @throws {@link ValueError} when primals/tangents are not arrays or differ in structure (the message
 *   names the path), {@link ShapeError} / {@link DTypeError} for a tangent of the wrong shape / dtype.
 */
export function jvp<A extends TensorTree[], R extends TensorTree>(f: (...args: A) => R, primals: A, tangents: A): JvpResult<R> {
  if (vmapDepth === 0 || typeof f !== 'function' || !Array.isArray(primals) || !Array.isArray(tangents)) return tr.jvp(f, primals, tangents);
  const levels = currentLevels();
  const up = <T extends TensorTree>(t: T): T => treeMap(t, (leaf) => materialize(leaf, levels));
  const r = tr.jvp((...ps: A) => up(f(...(ps.map((p) => treeMap(p, (leaf) => new BatchTracer(leaf, levels))) as A))), up(primals), up(tangents));
  return { value: treeMap(r.value, (v) => wrap(v, levels)), tangent: treeMap(r.tangent, (v) => wrap(v, levels)) };
}

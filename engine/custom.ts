/**
 * User-defined differentiable functions with hand-written derivative rules (`jax.custom_vjp`,
 * `jax.custom_jvp`, `torch.autograd.Function`): the public face of `record`.
 *
 * - {@link customVjp}: a forward that returns its value and what the backward needs, and a backward
 *   from the output cotangent to one cotangent per input. Forward mode (jvp, jacfwd, hessian)
 *   transposes the backward (the transposed-VJP fallback), so the backward must be built from
 *   differentiable engine ops and be linear in dy.
 * - {@link customJvp}: the function and its JVP rule. Reverse mode (grad, vjp) transposes the rule,
 *   which must be linear in the tangents (as JAX requires).
 *
 * The forward runs invisible to the tapes and JVP traces (only the user's rule differentiates it).
 * Check a rule with `gradcheck`; a wrong one fails it.
 */
import { Tensor, fromData, full, zeros } from './tensor.js';
import { Tape, backward, recordForeign as record, withTape } from './tape.js';
import { withoutTracing } from './forward.js';
import { DTypeError, ShapeError, ValueError, fmtShape } from './errors.js';
import { sameShape } from './shape.js';
import { checkFunction, checkOptions, checkTensor, describeValue } from './validate.js';
import { mul } from './ops/arithmetic.js';
import { sum } from './ops/reduce.js';

/** Options of {@link customVjp} and {@link customJvp}. */
export interface CustomRuleOptions {
  /** The op name in error messages, debugNans reports and jvpFallbackOps (default: the function's name). */
  readonly name?: string;
}

function opName(kind: string, fn: (...args: never[]) => unknown, options: CustomRuleOptions): string {
  checkOptions(kind, options);
  const { name } = options;
  if (name !== undefined && (typeof name !== 'string' || name === '')) throw new ValueError(kind, `name must be a non-empty string; got ${describeValue(name)}`);
  return name ?? (fn.name && fn.name !== 'fwd' ? fn.name : kind);
}

function checkInputs(op: string, xs: readonly unknown[]): Tensor[] {
  xs.forEach((x, i) => checkTensor(op, x, `argument ${i}`));
  return xs as Tensor[];
}

/** A fresh tensor sharing `y`'s data, so the recorded output is never one of the inputs. */
function fresh(op: string, y: unknown, what: string): Tensor {
  if (!(y instanceof Tensor)) throw new ValueError(op, `${what} must return a Tensor; got ${describeValue(y)}`);
  return fromData(y.data, y.shape.slice());
}

/**
 * A differentiable function with a hand-written VJP (`jax.custom_vjp`). `fwd(...xs)` returns
 * `[value, saved]`: the output and anything the backward needs; `bwd(saved, dy)` returns one
 * cotangent per input (`null` for zero), each of its input's shape and dtype. The result works with
 * every transform: grad, vjp, grad of grad (when bwd uses engine ops), and forward mode (jvp,
 * jacfwd, hessian, by transposing bwd — linear in dy, engine ops).
 *
 * @example
 * // a clipped-gradient identity: forward x, backward dy clipped to [-1, 1]
 * const clipGrad = customVjp((x: Tensor) => [x, null], (_s, dy) => [minimum(maximum(dy, -1), 1)]);
 * @throws {@link ValueError} when fwd/bwd return the wrong things; {@link ShapeError} /
 *   {@link DTypeError} for a cotangent of the wrong shape / dtype.
 */
export function customVjp<A extends Tensor[], S>(
  fwd: (...xs: A) => readonly [Tensor, S],
  bwd: (saved: S, dy: Tensor) => readonly (Tensor | null)[],
  options: CustomRuleOptions = {},
): (...xs: A) => Tensor {
  checkFunction('customVjp', fwd, 'fwd');
  checkFunction('customVjp', bwd, 'bwd');
  const op = opName('customVjp', fwd, options);
  return (...xs: A): Tensor => {
    checkInputs(op, xs);
    const res = withoutTracing(() => fwd(...xs));
    if (!Array.isArray(res) || res.length !== 2) throw new ValueError(op, `fwd must return [value, saved]; got ${describeValue(res)}`);
    const [value, saved] = res as readonly [Tensor, S];
    const y = fresh(op, value, 'fwd (first element)');
    return record(op, xs, y, (dy) => {
      const dxs = bwd(saved, dy);
      if (!Array.isArray(dxs) || dxs.length !== xs.length) {
        throw new ValueError(op, `bwd must return one cotangent per input (${xs.length}, null for zero); got ${describeValue(dxs)}`);
      }
      dxs.forEach((dx, i) => checkCotangent(op, dx, xs[i]!, i));
      return dxs;
    });
  };
}

function checkCotangent(op: string, dx: unknown, x: Tensor, i: number): void {
  if (dx === null || dx === undefined) return;
  if (!(dx instanceof Tensor)) throw new ValueError(op, `bwd returned ${describeValue(dx)} as cotangent ${i}; expected a Tensor or null`);
  if (!sameShape(dx.shape, x.shape)) throw new ShapeError(op, `bwd returned cotangent ${i} of shape ${fmtShape(dx.shape)} but input ${i} has ${fmtShape(x.shape)}`);
  if (dx.dtype !== x.dtype) throw new DTypeError(op, `bwd returned a ${dx.dtype} cotangent ${i} but input ${i} is ${x.dtype}`);
}

/**
 * A differentiable function with a hand-written JVP rule (`jax.custom_jvp`). `f(...xs)` computes the
 * value; `rule(xs, ts)` returns the output tangent J·ts for input tangents `ts` (zeros where an input
 * is not perturbed), built from engine ops and linear in `ts`. Forward mode uses the rule directly;
 * reverse mode (grad, vjp) transposes it.
 *
 * @example
 * // log(1 + eˣ) with the tangent σ(x)·ẋ
 * const softplus2 = customJvp((x: Tensor) => log(add(exp(x), 1)), ([x], [t]) => mul(sigmoid(x!), t!));
 * @throws {@link ValueError} when f or rule return something other than a Tensor of the output's shape.
 */
export function customJvp<A extends Tensor[]>(
  f: (...xs: A) => Tensor,
  rule: (primals: A, tangents: A) => Tensor,
  options: CustomRuleOptions = {},
): (...xs: A) => Tensor {
  checkFunction('customJvp', f, 'f');
  checkFunction('customJvp', rule, 'rule');
  const op = opName('customJvp', f, options);
  const applyRule = (xs: A, ts: readonly Tensor[], like: Tensor): Tensor => {
    const t = rule(xs, ts as A);
    if (!(t instanceof Tensor)) throw new ValueError(op, `rule must return a Tensor; got ${describeValue(t)}`);
    if (!sameShape(t.shape, like.shape)) throw new ShapeError(op, `rule returned a tangent of shape ${fmtShape(t.shape)} for an output of shape ${fmtShape(like.shape)}`);
    if (t.dtype !== like.dtype) throw new DTypeError(op, `rule returned a ${t.dtype} tangent for a ${like.dtype} output`);
    return t;
  };
  return (...xs: A): Tensor => {
    checkInputs(op, xs);
    const y = fresh(op, withoutTracing(() => f(...xs)), 'f');
    // Reverse mode: Jᵀdy = ∇_t ⟨dy, rule(xs, t)⟩ — the rule on tracked zero tangents, one backward pass.
    const vjp = (dy: Tensor) => {
      const tape = new Tape();
      const ts = xs.map((x) => zeros(x.shape, x.dtype));
      ts.forEach((t) => tape.tracked.add(t));
      const s = withTape(tape, () => sum(mul(applyRule(xs, ts, y), dy)));
      return backward(tape, s, full([], 1, s.dtype), ts);
    };
    return record(op, xs, y, vjp, (tangents) => applyRule(xs, tangents.map((t, i) => t ?? zeros(xs[i]!.shape, xs[i]!.dtype)), y));
  };
}

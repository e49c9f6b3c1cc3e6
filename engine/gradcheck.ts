/**
 * Public finite-difference gradient checker (researchers rely on it).
 *
 * Any-shaped f is reduced to the scalar F(x) = Σ f(x) ⊙ r with a seeded random cotangent r (never
 * all-ones, so a missing transpose or a wrong broadcast cannot hide). The analytic gradient
 * vjp(f, x)(r) is compared with central differences Σ r ⊙ (f(x + εe) − f(x − εe)) / 2ε in float64:
 *  - mode 'full': every element of every input (PyTorch gradcheck);
 *  - mode 'directional': a few random unit directions v, comparing ⟨∇F, v⟩ (JAX check_grads).
 */
import { Tensor, fromData, allocate } from './tensor.js';
import { type TensorTree, treeLeaves, treeMap, treePaths } from './tree.js';
import { vjp } from './autodiff.js';
import { noGrad } from './tape.js';
import { Rng } from './rng.js';
import { DTypeError, ValueError } from './errors.js';
import { checkFunction, checkOptions, checkNumber, checkCountIn, checkBoolean, describeValue } from './validate.js';

/** Options of {@link gradcheck}; every field is optional. */
export interface GradcheckOptions {
  /** Finite-difference step (default 1e-6). */
  readonly eps?: number;
  /** Pass if |analytic − numeric| ≤ atol + rtol·|numeric| everywhere (defaults 1e-6, 1e-5). */
  readonly atol?: number;
  /** Relative tolerance of the pass test (default 1e-5); see {@link GradcheckOptions.atol}. */
  readonly rtol?: number;
  /** 'full' (every element, default) or 'directional' (random directions; for big inputs). */
  readonly mode?: 'full' | 'directional';
  /** Number of directions in 'directional' mode (default 4). */
  readonly samples?: number;
  /** Seed for the cotangent and directions (default 0). */
  readonly seed?: number;
  /**
   * One Richardson extrapolation step, (4·D(ε/2) − D(ε))/3: truncation error O(ε⁴) instead of O(ε²),
   * for twice the evaluations (default false). Useful for second-order checks, where the function
   * differenced is itself a gradient with sizeable third derivatives.
   */
  readonly richardson?: boolean;
  /** float32 inputs make finite differences meaningless; set true to check them anyway. */
  readonly allowFloat32?: boolean;
}

/** The comparison with the largest relative error in a {@link GradcheckReport}. */
export interface GradcheckWorst {
  /** Path of the input leaf (e.g. `w1`, `[1]`), or `direction` in directional mode. */
  readonly input: string;
  /** Flat element index (or direction number). */
  readonly index: number;
  /** The analytic (VJP) value, ⟨r, J e⟩ for element e (or ⟨∇F, v⟩ for direction v). */
  readonly analytic: number;
  /** The central-difference value it was compared with. */
  readonly numeric: number;
}

/** What {@link gradcheck} found. */
export interface GradcheckReport {
  /** True when every comparison passed |analytic − numeric| ≤ atol + rtol·|numeric|. */
  readonly ok: boolean;
  /** max |analytic − numeric| */
  readonly maxAbsError: number;
  /**
   * max |analytic − numeric| / max(|analytic|, |numeric|, 1e-3·scale, 1e6·res): scale = largest |numeric|
   * seen, res = ε_mach·Σ|rᵢfᵢ(x)|/ε the finite-difference resolution (see the comment in the code).
   */
  readonly maxRelError: number;
  /** Number of scalar comparisons made. */
  readonly checked: number;
  /** The comparison with the largest relative error (null when nothing was compared). */
  readonly worst: GradcheckWorst | null;
  /** One line for logs and error messages. */
  readonly summary: string;
}

/**
 * Checks the analytic gradient of `f` at `inputs` (a Tensor or tree of Tensors) against central
 * differences, in float64: F(x) = Σ f(x) ⊙ r with a seeded random cotangent r, analytic vjp(f, x)(r)
 * vs Σ r ⊙ (f(x + εe) − f(x − εe)) / 2ε for every element (`mode: 'full'`, as PyTorch's
 * `torch.autograd.gradcheck`) or for a few random directions (`mode: 'directional'`, as JAX's
 * `check_grads`). It never throws on a wrong gradient: read `ok` and `summary`.
 *
 * @example
 * gradcheck((x: Tensor) => sum(tanh(x)), tensor([0.5, -1])).ok; // true
 * @param f - any-shaped differentiable function of the inputs.
 * @param inputs - a Tensor or a tree of Tensors (float64; float32 only with `allowFloat32`).
 * @throws {@link ValueError} on NaN/∞ inputs or bad options; {@link DTypeError} on float32 inputs
 *   unless `allowFloat32`.
 */
export function gradcheck<T extends TensorTree>(f: (x: T) => Tensor, inputs: T, options: GradcheckOptions = {}): GradcheckReport {
  const op = 'gradcheck';
  checkFunction(op, f, 'f');
  checkOptions(op, options);
  const { eps = 1e-6, atol = 1e-6, rtol = 1e-5, mode = 'full', samples = 4, seed = 0, allowFloat32 = false, richardson = false } = options;
  checkNumber(op, 'eps', eps, { min: 0, minExclusive: true });
  checkNumber(op, 'atol', atol, { min: 0 });
  checkNumber(op, 'rtol', rtol, { min: 0 });
  if (mode !== 'full' && mode !== 'directional') throw new ValueError(op, `mode must be 'full' or 'directional'; got ${describeValue(mode)}`);
  checkCountIn(op, 'samples', samples, 1, 1e6);
  checkNumber(op, 'seed', seed);
  checkBoolean(op, 'allowFloat32', allowFloat32, false);
  checkBoolean(op, 'richardson', richardson, false);
  const leaves = treeLeaves(inputs);
  const paths = treePaths(inputs);
  if (leaves.length === 0) throw new ValueError(op, `inputs contain no Tensor; got ${describeValue(inputs)}`);
  leaves.forEach((leaf, i) => {
    if (leaf.dtype === 'float32' && !allowFloat32) {
      throw new DTypeError(op, `input '${paths[i]}' is float32; finite differences need float64 (cast it, or pass allowFloat32: true)`);
    }
    if (leaf.data.some((v) => !Number.isFinite(v))) throw new ValueError(op, `input '${paths[i]}' contains NaN or ±Infinity`);
  });

  const rng = new Rng(seed);
  // Working float64 copies, perturbed in place; each evaluation wraps them in fresh Tensors.
  const work = leaves.map((leaf) => Float64Array.from(leaf.data));
  const build = (): T => treeMap(inputs, (leaf, i) => fromData(leaf.dtype === 'float64' ? work[i]!.slice() : Float32Array.from(work[i]!), leaf.shape));

  const { value, vjp: pull } = vjp(f, inputs);
  const r = allocate(value.dtype, value.size);
  for (let i = 0; i < r.length; i++) r[i] = rng.normal();
  const cot = fromData(r, value.shape);
  const analyticTree = pull(cot);
  const analytic = treeLeaves(analyticTree).map((g) => g.data);

  // f at the current `work` values. The numeric derivative is Σᵢ rᵢ(f⁺ᵢ − f⁻ᵢ)/2ε, subtracting per
  // element before weighting: outputs the perturbation does not touch cancel exactly, so the roundoff
  // is that of the touched outputs only, not ulp(Σ f⊙r) (which is ~1e-9 relative at ε = 1e-6 for a
  // sum of a hundred terms, enough to hide a 1e-6 relative error or fake one).
  const F = (): Float64Array => noGrad(() => Float64Array.from(f(build()).data));
  const diff = (fp: Float64Array, fm: Float64Array, h: number): number => {
    let s = 0;
    for (let i = 0; i < fp.length; i++) s += (fp[i]! - fm[i]!) * r[i]!;
    return s / (2 * h);
  };
  /** The numeric derivative along `perturb(h)` (which sets the inputs to x + h·direction). */
  const derivative = (perturb: (h: number) => void, restore: () => void): number => {
    const central = (h: number) => { perturb(h); const fp = F(); perturb(-h); const fm = F(); restore(); return diff(fp, fm, h); };
    // Richardson: D(h) = f' + c·h² + O(h⁴), so (4·D(h/2) − D(h))/3 = f' + O(h⁴).
    return richardson ? (4 * central(eps / 2) - central(eps)) / 3 : central(eps);
  };

  const results: { input: string; index: number; a: number; n: number }[] = [];
  if (mode === 'full') {
    work.forEach((w, li) => {
      for (let j = 0; j < w.length; j++) {
        const orig = w[j]!;
        const n = derivative((h) => { w[j] = orig + h; }, () => { w[j] = orig; });
        results.push({ input: paths[li]!, index: j, a: analytic[li]![j]!, n });
      }
    });
  } else {
    for (let s = 0; s < samples; s++) {
      const dirs = work.map((w) => Float64Array.from(w, () => rng.normal()));
      const norm = Math.sqrt(dirs.reduce((acc, d) => acc + d.reduce((a2, v) => a2 + v * v, 0), 0)) || 1;
      const orig = work.map((w) => w.slice());
      const n = derivative(
        (h) => work.forEach((w, li) => { for (let j = 0; j < w.length; j++) w[j] = orig[li]![j]! + h * dirs[li]![j]! / norm; }),
        () => work.forEach((w, li) => w.set(orig[li]!)),
      );
      let a = 0;
      dirs.forEach((d, li) => { for (let j = 0; j < d.length; j++) a += analytic[li]![j]! * d[j]! / norm; });
      results.push({ input: 'direction', index: s, a, n });
    }
  }

  const scale = results.reduce((m, x) => Math.max(m, Math.abs(x.n)), 0);
  // Central differences cannot resolve derivatives below ~ulp(F)/ε: with F = Σ r ⊙ f, the numeric
  // derivative's roundoff is about res = ε_mach·Σ|rᵢfᵢ|/ε. The relative error's denominator is
  // floored at 1e6·res, so entries that are zero to within that resolution (e.g. the second
  // derivative of a piecewise-linear op) read as noise, not as a 100% error; a wrong gradient of
  // any measurable size still shows (the floor is 1e6 × the noise, ~2e-4·|F| at ε = 1e-6).
  let fScale = 0;
  for (let i = 0; i < r.length; i++) fScale += Math.abs(r[i]! * value.data[i]!);
  const resolution = (Number.EPSILON * fScale) / eps;
  let maxAbs = 0, maxRel = 0, ok = true, worst: GradcheckWorst | null = null, worstRel = -1;
  for (const x of results) {
    const err = Math.abs(x.a - x.n);
    const rel = err / Math.max(Math.abs(x.a), Math.abs(x.n), 1e-3 * scale, 1e6 * resolution, 1e-300);
    if (!(err <= atol + rtol * Math.abs(x.n))) ok = false;
    if (Number.isNaN(err)) { ok = false; maxAbs = NaN; maxRel = NaN; }
    else { maxAbs = Math.max(maxAbs, err); maxRel = Math.max(maxRel, rel); }
    if (Number.isNaN(err) || rel > worstRel) { worstRel = Number.isNaN(err) ? Infinity : rel; worst = { input: x.input, index: x.index, analytic: x.a, numeric: x.n }; }
  }
  const summary = `gradcheck ${ok ? 'passed' : 'FAILED'} (${mode}, ${results.length} checks): max abs error ${maxAbs.toExponential(2)}, max rel error ${maxRel.toExponential(2)}` +
    (worst ? `; worst at ${worst.input}[${worst.index}]: analytic ${worst.analytic} vs numeric ${worst.numeric}` : '');
  return { ok, maxAbsError: maxAbs, maxRelError: maxRel, checked: results.length, worst, summary };
}

/**
 * Seeded synthetic data for regression experiments: Y = f*(X) + N(0, σ²) with X ~ U[lo, hi]^d.
 * `f` can be any ground truth (a moegrad MoE forward pass, a closure over fixed parameters, ...);
 * for the conditional Gaussian-mixture MoE of 2505.10860 see `sampleGaussianMoE`.
 */
import { Rng, ValueError } from '../../engine/index.js';
import { MAX_COUNT, checkCountIn, checkFn, checkNumber, checkNumberArray, checkOptions, checkRng, describeValue } from './validate.js';

/** Options of `sampleRegression`. */
export interface RegressionSampleOptions {
  /** Input dimension (default 1). */
  readonly d?: number;
  /** Noise standard deviation σ (default 0.1). */
  readonly noiseStd?: number;
  /** Input range, each coordinate uniform (default [−1, 1]). */
  readonly xRange?: readonly [number, number];
}

/**
 * Draws n pairs (x_i, y_i = f(x_i) + σ ε_i). `f` gets all inputs at once as a row-major [n·d]
 * Float64Array and returns the n noiseless targets. Same seed → same data.
 * @throws ValueError when n or d is not a positive integer, noiseStd < 0, or f returns other than n values.
 */
export function sampleRegression(f: (x: Float64Array, n: number, d: number) => ArrayLike<number>, n: number, rng: Rng, opts: RegressionSampleOptions = {}): {
  /** Inputs, row-major [n·d]. */
  x: Float64Array;
  /** Noisy targets f(x_i) + σ ε_i, length n. */
  y: Float64Array;
  /** Noiseless targets f(x_i), length n. */
  fx: Float64Array;
} {
  const op = 'sampleRegression';
  checkFn(op, 'f', f);
  checkOptions(op, opts, 'opts');
  const { d = 1, noiseStd = 0.1, xRange = [-1, 1] } = opts;
  checkCountIn(op, 'd', d, 1, MAX_COUNT);
  checkCountIn(op, 'n', n, 1, Math.floor(MAX_COUNT / d));
  checkRng(op, rng);
  checkNumber(op, 'noiseStd', noiseStd, { min: 0 });
  const range = checkNumberArray(op, 'xRange', xRange, { length: 2, finite: true });
  if (!(range[0]! <= range[1]!)) throw new ValueError(op, `xRange must be [lo, hi] with lo ≤ hi; got [${range[0]}, ${range[1]}]`);
  const [lo, hi] = xRange;
  const x = new Float64Array(n * d);
  for (let i = 0; i < x.length; i++) x[i] = lo + (hi - lo) * rng.uniform();
  const mean = f(x, n, d);
  if (!(Array.isArray(mean) || (ArrayBuffer.isView(mean) && !(mean instanceof DataView)))) throw new ValueError(op, `f must return an array of n = ${n} numbers; got ${describeValue(mean)}`);
  if (mean.length !== n) throw new ValueError('sampleRegression', `f must return n = ${n} values; got ${mean.length}`);
  const fx = Float64Array.from(mean), y = new Float64Array(n);
  for (let i = 0; i < n; i++) y[i] = fx[i]! + noiseStd * rng.normal();
  return { x, y, fx };
}

/**
 * ‖f − g‖_{L2(μ)} estimated on a fixed evaluation set (root mean square difference of `a` and `b`).
 * @throws ValueError when the lengths differ.
 */
export function l2Error(a: ArrayLike<number>, b: ArrayLike<number>): number {
  checkNumberArray('l2Error', 'a', a);
  checkNumberArray('l2Error', 'b', b);
  if (a.length !== b.length) throw new ValueError('l2Error', `lengths differ: ${a.length} vs ${b.length}`);
  let s = 0; for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) ** 2;
  return Math.sqrt(s / Math.max(1, a.length));
}

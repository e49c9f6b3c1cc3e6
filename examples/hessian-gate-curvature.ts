/**
 * Curvature of a softmax-gated Gaussian-MoE likelihood along the gate's translation direction
 * (`npx tsx examples/hessian-gate-curvature.ts`).
 *
 * Research question. A softmax gate is invariant to translating every expert's gate parameters by
 * the same vector: softmax_e(β1_e·x + β0_e + c1·x + c0) = softmax_e(β1_e·x + β0_e). Nguyen et al.
 * (arXiv 2505.10860, the softmax-gated Gaussian MoE of Eq. 1, Thms 1–2) therefore identify the gate
 * only up to this translation (they pin one expert's gate to 0, and measure losses up to it). How flat
 * is the negative log-likelihood along it, and is it the *only* flat direction?
 *
 * With forward-over-reverse derivatives (`hvp`, `hessian`) we measure, at the true parameters of a
 * 3-expert model with 1-d inputs and n = 2000 samples:
 *   1. L(θ + t·v) − L(θ) along the translation v, for t up to 10: zero to rounding (exact invariance);
 *   2. the curvature vᵀHv/‖v‖² and ‖Hv‖ along v (0: H v = 0, since the gradient is invariant too) against
 *      random directions in the gate block and in the full parameter space (not flat);
 *   3. the eigenvalues of the 6 × 6 gate-block Hessian: exactly d + 1 = 2 vanish (the translations in
 *      β0 and β1), the other 4 are positive — and with the last expert's gate pinned to 0 (the paper's
 *      convention) the remaining 4 × 4 block is positive definite: the pinning removes exactly the
 *      flat directions and nothing else.
 * Public API only (`moegrad`).
 */
import {
  Rng, Tensor, tensor, fromData, zeros, sum, mul, add, sub, scale, square, log, exp, logsumexp, matmul, reshape, concat, slice,
  softmaxGate, hvp, hessian, treeLeaves, treeMap, type TensorTree,
} from '../index.js';

/** Model parameters: gate [2, E] (rows β0, β1), expert means a·x + b, log standard deviations. */
export type GaussianMoEParams = { readonly gate: Tensor; readonly a: Tensor; readonly b: Tensor; readonly logSigma: Tensor };

/** The 3-expert truth (well separated gates and means, as in 2505.10860's simulations). */
export const TRUTH: GaussianMoEParams = {
  gate: tensor([[0, 1, -0.5], [-2, 0.5, 2]]),
  a: tensor([-1, 0.5, 2]),
  b: tensor([1, 0, -1]),
  logSigma: tensor([Math.log(0.4), Math.log(0.3), Math.log(0.5)]),
};

/** n samples (x ~ U[−3, 3], expert e ~ gate(x), y ~ N(a_e x + b_e, σ_e²)) from `truth`. */
export function sample(truth: GaussianMoEParams, n: number, rng: Rng): { x: Tensor; y: Tensor } {
  const E = truth.a.size, xs = new Float64Array(n), ys = new Float64Array(n);
  const X = fromData(Float64Array.from({ length: 2 * n }, () => 0), [n, 2]);
  for (let i = 0; i < n; i++) { xs[i] = -3 + 6 * rng.uniform(); X.data[2 * i] = 1; X.data[2 * i + 1] = xs[i]!; }
  const w = softmaxGate(matmul(X, truth.gate)).weights.data;
  for (let i = 0; i < n; i++) {
    let u = rng.uniform(), e = 0;
    while (e < E - 1 && u >= w[i * E + e]!) { u -= w[i * E + e]!; e++; }
    ys[i] = truth.a.data[e]! * xs[i]! + truth.b.data[e]! + Math.exp(truth.logSigma.data[e]!) * rng.normal();
  }
  return { x: X, y: fromData(ys, [n, 1]) };
}

/** Mean negative log-likelihood −(1/n) Σ log Σ_e softmax_e(β0 + β1 x) N(y | a_e x + b_e, σ_e²). */
export function nll(p: GaussianMoEParams, data: { x: Tensor; y: Tensor }): Tensor {
  const n = data.y.size, E = p.a.size;
  const logW = log(softmaxGate(matmul(data.x, p.gate)).weights); // [n, E]
  const mean = add(matmul(slice(data.x, [0, 1], [n, 2]), reshape(p.a, [1, E])), reshape(p.b, [1, E]));
  const logN = sub(scale(square(mul(sub(data.y, mean), exp(scale(reshape(p.logSigma, [1, E]), -1)))), -0.5), add(reshape(p.logSigma, [1, E]), 0.5 * Math.log(2 * Math.PI)));
  return scale(sum(logsumexp(add(logW, logN), -1)), -1 / n);
}

/** Symmetric eigenvalues by cyclic Jacobi rotations (small matrices), ascending. */
export function symmetricEigenvalues(m: Float64Array, n: number): number[] {
  const a = Float64Array.from(m);
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) off += a[i * n + j]! ** 2;
    if (off < 1e-30) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q]!;
        if (Math.abs(apq) < 1e-300) continue;
        const theta = (a[q * n + q]! - a[p * n + p]!) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1), s = t * c;
        for (let k = 0; k < n; k++) { // columns p, q
          const akp = a[k * n + p]!, akq = a[k * n + q]!;
          a[k * n + p] = c * akp - s * akq; a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) { // rows p, q
          const apk = a[p * n + k]!, aqk = a[q * n + k]!;
          a[p * n + k] = c * apk - s * aqk; a[q * n + k] = s * apk + c * aqk;
        }
      }
    }
  }
  return Array.from({ length: n }, (_, i) => a[i * n + i]!).sort((u, v) => u - v);
}

const dot = (u: TensorTree, v: TensorTree) => treeLeaves(u).reduce((acc, t, i) => acc + sum(mul(t, treeLeaves(v)[i]!)).item(), 0);
const norm = (u: TensorTree) => Math.sqrt(dot(u, u));

/** What {@link gateCurvature} measures. */
export interface GateCurvature {
  /** max |L(θ + t·v) − L(θ)| over t ∈ {0.1, 1, 10} along the translation v. */
  readonly lossChangeAlongTranslation: number;
  /** vᵀHv/‖v‖² and ‖Hv‖/‖v‖ along the translation (full parameter tree). */
  readonly translation: { readonly curvature: number; readonly hvNorm: number };
  /** The same for random directions in the gate block and in the full parameter space. */
  readonly randomGate: { readonly curvature: number; readonly hvNorm: number };
  readonly randomFull: { readonly curvature: number; readonly hvNorm: number };
  /** Eigenvalues of the 6 × 6 gate-block Hessian, ascending. */
  readonly gateEigenvalues: readonly number[];
  /** Eigenvalues of the 4 × 4 block left after pinning the last expert's gate to 0, ascending. */
  readonly pinnedEigenvalues: readonly number[];
}

/** Runs the measurement (n samples from {@link TRUTH}, seeded). */
export function gateCurvature(n = 2000, seed = 0): GateCurvature {
  const rng = new Rng(seed);
  const data = sample(TRUTH, n, rng);
  const loss = (p: GaussianMoEParams) => nll(p, data);
  const E = TRUTH.a.size;
  // the translation: the same (c0, c1) added to every expert's gate column, nothing else moves
  const translation: GaussianMoEParams = { ...treeMap(TRUTH, (t) => zeros(t.shape)), gate: tensor([[0.6, 0.6, 0.6], [-0.8, -0.8, -0.8]]) };
  const shift = (t: number) => ({ ...TRUTH, gate: add(TRUTH.gate, scale(translation.gate, t)) });
  const L0 = loss(TRUTH).item();
  const lossChangeAlongTranslation = Math.max(...[0.1, 1, 10].map((t) => Math.abs(loss(shift(t)).item() - L0)));
  const along = (v: GaussianMoEParams) => {
    const Hv = hvp(loss, TRUTH, v);
    return { curvature: dot(v, Hv) / dot(v, v), hvNorm: norm(Hv) / norm(v) };
  };
  const randomFull = treeMap(TRUTH, (t) => fromData(Float64Array.from({ length: t.size }, () => rng.normal()), t.shape.slice()));
  const randomGate = { ...treeMap(TRUTH, (t) => zeros(t.shape)), gate: randomFull.gate };
  // the gate block: H = ∂²L/∂gate², 6 × 6 (forward-over-reverse: one gradient, 6 tangent replays)
  const Hg = hessian((g: Tensor) => loss({ ...TRUTH, gate: g }))(TRUTH.gate);
  const k = 2 * E, H = reshape(Hg, [k, k]);
  // pinned gauge: the last expert's gate column held fixed (the paper's β_E = 0 convention, up to a translation)
  const lastColumn = slice(TRUTH.gate, [0, E - 1], [2, E]);
  const Hp = hessian((g: Tensor) => loss({ ...TRUTH, gate: concat([g, lastColumn], 1) }))(slice(TRUTH.gate, [0, 0], [2, E - 1]));
  const kp = 2 * (E - 1);
  return {
    lossChangeAlongTranslation,
    translation: along(translation),
    randomGate: along(randomGate),
    randomFull: along(randomFull),
    gateEigenvalues: symmetricEigenvalues(Float64Array.from(H.data), k),
    pinnedEigenvalues: symmetricEigenvalues(Float64Array.from(reshape(Hp, [kp, kp]).data), kp),
  };
}

const entry = typeof process !== 'undefined' ? process.argv?.[1]?.replace(/\\/g, '/') : undefined;
if (entry && decodeURIComponent(import.meta.url).endsWith(entry)) {
  const r = gateCurvature();
  const e = (v: number) => v.toExponential(3);
  console.log('softmax-gated Gaussian MoE, E = 3, d = 1, n = 2000, at the true parameters (arXiv 2505.10860 Eq. 1)');
  console.log(`loss change along the gate translation (t ≤ 10):   ${e(r.lossChangeAlongTranslation)}`);
  console.log('direction                      vᵀHv/‖v‖²      ‖Hv‖/‖v‖');
  for (const [name, c] of [['gate translation', r.translation], ['random, gate block', r.randomGate], ['random, all parameters', r.randomFull]] as const) {
    console.log(`${name.padEnd(28)} ${e(c.curvature).padStart(11)}  ${e(c.hvNorm).padStart(11)}`);
  }
  console.log(`gate-block Hessian eigenvalues (6):            ${r.gateEigenvalues.map(e).join('  ')}`);
  console.log(`… with the last expert's gate pinned (4):      ${r.pinnedEigenvalues.map(e).join('  ')}`);
  const flat = r.gateEigenvalues.filter((v) => Math.abs(v) < 1e-10 * Math.max(...r.gateEigenvalues)).length;
  console.log(`→ ${flat} exactly flat directions (the d + 1 = 2 translations in β0, β1); pinning one expert's gate removes them and leaves a positive-definite block.`);
}

/**
 * The fused Gaussian log-density (moe/stats gaussianLogPdf) against the same formula composed from
 * engine ops: values bit for bit (float64 and float32, extreme log-variances, NaN/∞ propagating),
 * first derivatives to rounding, second derivatives through the tape (grad of grad and hessian take
 * the composed VJP), forward mode. The registry property test and the certificate gradcheck it too
 * (moe/stats/ops-registry.ts).
 */
import { describe, it, expect } from 'vitest';
import { Rng, randn, fromData, tensor, grad, valueAndGrad, jvp, hessian, hvp, sum, mul, cast, type Tensor } from '../../engine/index.js';
import { gaussianLogPdf, gaussianLogPdfComposed } from '../../moe/stats/gaussian-logpdf.js';

const bits = (a: Tensor, b: Tensor, what: string) => {
  expect(a.shape, what).toEqual(b.shape);
  for (let i = 0; i < a.size; i++) if (!Object.is(a.data[i], b.data[i])) throw new Error(`${what}: element ${i}: ${a.data[i]} vs ${b.data[i]}`);
};
const close = (a: Tensor, b: Tensor, tol: number, what: string) => {
  for (let i = 0; i < a.size; i++) {
    const x = a.data[i]!, y = b.data[i]!;
    if (!(Math.abs(x - y) <= tol * (1 + Math.abs(y)))) throw new Error(`${what}: element ${i}: ${x} vs ${y}`);
  }
};

describe('gaussianLogPdf', () => {
  it('values equal the composed formula bit for bit (float64, float32, extreme log-variances, NaN and ±∞)', () => {
    const rng = new Rng(4);
    for (const [n, k] of [[1, 1], [7, 3], [200, 5]] as const) {
      const y = randn(rng, [n, 1], 3), m = randn(rng, [n, k], 2);
      const lv = fromData(Float64Array.from({ length: k }, (_, j) => [-30, 0.3, 25, -700, 700][j % 5]!), [k]);
      bits(gaussianLogPdf(y, m, lv), gaussianLogPdfComposed(y, m, lv), `f64 [${n}, ${k}]`);
      bits(gaussianLogPdf(cast(y, 'float32'), cast(m, 'float32'), cast(lv, 'float32')), gaussianLogPdfComposed(cast(y, 'float32'), cast(m, 'float32'), cast(lv, 'float32')), `f32 [${n}, ${k}]`);
    }
    // float32: log 2π enters as a float32 scalar and e^{−lv} overflows to ∞ from lv ≈ −88.7, as in the composed ops
    const lv32 = fromData(Float64Array.from({ length: 400 }, (_, j) => -5 + j / 40), [400]);
    const lvEdge = tensor([-89, -88.8, -88.72, -88.7, 88.8, -2.7042548]);
    for (const l of [lv32, lvEdge]) {
      const yy = randn(rng, [9, 1]), mm = randn(rng, [9, l.size]);
      const c = (t: Tensor) => cast(t, 'float32');
      bits(gaussianLogPdf(c(yy), c(mm), c(l)), gaussianLogPdfComposed(c(yy), c(mm), c(l)), `f32 lv ${l.data[0]} …`);
    }
    const y = tensor([[Number.NaN], [Infinity], [1]]), m = tensor([[0, 1], [2, Infinity], [1, -Infinity]]), lv = tensor([0, -1]);
    bits(gaussianLogPdf(y, m, lv), gaussianLogPdfComposed(y, m, lv), 'NaN / ∞');
  });

  it('gradients match the composed formula (to rounding), with any subset of inputs tracked', () => {
    const rng = new Rng(5);
    const y = randn(rng, [50, 1]), m = randn(rng, [50, 4]), lv = randn(rng, [4], 0.5), w = randn(rng, [50, 4]);
    const loss = (f: typeof gaussianLogPdf) => (xs: Tensor[]) => sum(mul(f(xs[0]!, xs[1]!, xs[2]!), w));
    const got = grad(loss(gaussianLogPdf))([y, m, lv]), want = grad(loss(gaussianLogPdfComposed))([y, m, lv]);
    got.forEach((g, i) => close(g, want[i]!, 1e-14, `input ${i}`));
    const onlyLv = grad((t: Tensor) => sum(mul(gaussianLogPdf(y, m, t), w)))(lv);
    close(onlyLv, want[2]!, 1e-14, 'logVar alone');
  });

  it('second order through the tape and forward mode agree with the composed formula', () => {
    const rng = new Rng(6);
    const y = randn(rng, [6, 1]), m = randn(rng, [6, 2]), w = randn(rng, [6, 2]);
    const f = (g: typeof gaussianLogPdf) => (lv: Tensor) => sum(mul(g(y, m, lv), w));
    const lv = tensor([0.2, -0.4]);
    close(hessian(f(gaussianLogPdf))(lv), hessian(f(gaussianLogPdfComposed))(lv), 1e-13, 'hessian in logVar');
    const mixed = (g: typeof gaussianLogPdf) => (mm: Tensor) => sum(mul(grad((t: Tensor) => sum(mul(g(y, mm, t), w)))(lv), tensor([1, -2])));
    close(grad(mixed(gaussianLogPdf))(m), grad(mixed(gaussianLogPdfComposed))(m), 1e-13, 'grad of grad, mean');
    const t: [Tensor, Tensor, Tensor] = [randn(rng, [6, 1]), randn(rng, [6, 2]), randn(rng, [2])];
    const a = jvp((a0: Tensor, a1: Tensor, a2: Tensor) => gaussianLogPdf(a0, a1, a2), [y, m, lv], t);
    const b = jvp((a0: Tensor, a1: Tensor, a2: Tensor) => gaussianLogPdfComposed(a0, a1, a2), [y, m, lv], t);
    close(a.tangent, b.tangent, 1e-13, 'jvp');
    // forward-over-reverse: hvp runs the VJP under a forward-mode trace (not a tape)
    const v = tensor([1, -0.5]);
    close(hvp(f(gaussianLogPdf), lv, v), hvp(f(gaussianLogPdfComposed), lv, v), 1e-13, 'hvp');
    expect(Math.abs(hvp(f(gaussianLogPdf), lv, v).data[0]!)).toBeGreaterThan(1e-3);
    const vg = valueAndGrad(f(gaussianLogPdf), { reuseIntermediates: true });
    close(vg(lv).grad, grad(f(gaussianLogPdfComposed))(lv), 1e-14, 'reuseIntermediates');
  });

  it('rejects wrong shapes and mixed dtypes, naming the op', () => {
    expect(() => gaussianLogPdf(randn(new Rng(1), [3]), randn(new Rng(1), [3, 2]), tensor([0, 0]))).toThrow(/gaussianLogPdf: expects y \[n, 1\], mean \[n, k\] and logVar \[k\]; got \[3\], \[3, 2\] and \[2\]/);
    expect(() => gaussianLogPdf(randn(new Rng(1), [3, 1]), randn(new Rng(1), [3, 2]), cast(tensor([0, 0]), 'float32'))).toThrow(/gaussianLogPdf/);
  });
});

/**
 * vmap: for every op with a batching rule, vmap(f) equals stacking f over the batch (random inAxes:
 * leading, negative, null) with no per-example fallback; nested vmap; trees and outAxes; vmap of
 * grad equals a loop of grad (per-example gradients) and grad of vmap equals grad of the stacked
 * loop; ops without a rule (the MoE registry's fused ops) fall back, warn once and still match;
 * errors name vmap, the argument path and the sizes.
 */
import { describe, it, expect, vi } from 'vitest';
import {
  Tensor, Rng, randn, tensor, scalar, vmap, grad, valueAndGrad, vjp, jvp, stopGradient, vmapFallbackOps, clearVmapFallbackOps,
  add, sub, mul, div, maximum, minimum, where, neg, exp, log, sqrt, square, abs, tanh, sigmoid, softplus, relu, silu, erf,
  geluTanh, geluErf, gelu, pow, scale, sum, mean, variance, max, min, logsumexp, softmax, logSoftmax, weightedCenter, matmul,
  reshape, broadcastTo, sumTo, permute, transpose, slice, unslice, concat, stack, expandDims, squeeze, gatherRows,
  scatterAddRows, takeAlongAxis, scatterAlongAxis, topk, argmax, mse, nll, crossEntropy, ShapeError, ValueError,
} from '../../engine/index.js';
import { MOE_OPS } from '../../moe/registry.js';
import { ENGINE_OPS } from '../../engine/ops/registry.js';
import { BATCHED_OP_NAMES } from '../../engine/batched-ops.js';
import { perTokenRouterGrads } from '../../examples/per-token-router-grads.js';

const B = 3;
type Case = { shapes: number[][]; call: (...xs: Tensor[]) => Tensor; positive?: boolean };
const u = (f: (x: Tensor) => Tensor, shape = [2, 3], positive = false): Case => ({ shapes: [shape], call: f, positive });
const bi = (f: (a: Tensor, b: Tensor) => Tensor, sa = [2, 3], sb = [1, 3]): Case => ({ shapes: [sa, sb], call: f });
const idx = (...v: number[]) => Int32Array.from(v);

/** At least one case per op with a batching rule (checked below), calling the public (dispatching) op. */
const CASES: Record<string, Case[]> = {
  neg: [u(neg)], exp: [u(exp)], log: [u(log, [2, 3], true)], sqrt: [u(sqrt, [3], true)], square: [u(square, [])],
  abs: [u(abs)], tanh: [u(tanh)], sigmoid: [u(sigmoid)], softplus: [u(softplus)], relu: [u(relu)], silu: [u(silu)],
  erf: [u(erf)], geluTanh: [u(geluTanh)], geluErf: [u(geluErf)], gelu: [u((x) => gelu(x, 'tanh'))],
  pow: [u((x) => pow(x, 3))], scale: [u((x) => scale(x, -1.5))],
  add: [bi(add), bi(add, [3], [2, 1, 3]), { shapes: [[2, 3]], call: (x) => add(x, 2) }], sub: [bi(sub, [2, 1], [3])],
  mul: [bi(mul), { shapes: [[2]], call: (x) => mul(3, x) }], div: [{ shapes: [[2, 3], [3]], call: (a, b) => div(a, add(square(b), 1)) }],
  maximum: [bi(maximum)], minimum: [bi(minimum, [3], [2, 3])],
  where: [{ shapes: [[2, 3], [3]], call: (a, b) => where(idx(1, 0, 1), a, b) }],
  sum: [u((x) => sum(x)), u((x) => sum(x, [0, -1], true), [2, 3, 2]), u((x) => sum(x, 1))],
  mean: [u((x) => mean(x, -1, true))], variance: [u((x) => variance(x, 0, false, 1))],
  max: [u((x) => max(x)), u((x) => max(x, -1, true))], min: [u((x) => min(x, 0))],
  logsumexp: [u((x) => logsumexp(x, 0, true))], softmax: [u((x) => softmax(x, 0))], logSoftmax: [u((x) => logSoftmax(x))],
  weightedCenter: [{ shapes: [[2, 3], [2, 3]], call: (g, w) => weightedCenter(g, softmax(w), -1) }],
  matmul: [bi(matmul, [2, 3], [3, 4]), bi(matmul, [2, 2, 3], [2, 3, 4]), bi(matmul, [2, 2, 3], [3, 2])],
  reshape: [u((x) => reshape(x, [-1]), [2, 3]), u((x) => reshape(x, [3, 1, 2]))],
  broadcastTo: [u((x) => broadcastTo(x, [2, 2, 3]), [1, 3])], sumTo: [u((x) => sumTo(x, [1, 3]), [2, 2, 3])],
  permute: [u((x) => permute(x, [2, 0, -2]), [2, 3, 4])], transpose: [u(transpose, [2, 3])],
  slice: [u((x) => slice(x, [1, -2], [2]), [3, 3]), u((x) => slice(x, [0, 1], [-1, 3]), [3, 4])],
  unslice: [u((x) => unslice(x, [1, 0], [3, 3]), [2, 3])],
  concat: [bi((a, b) => concat([a, b], -1), [2, 3], [2, 1])], stack: [bi((a, b) => stack([a, b], 1), [2, 3], [2, 3])],
  expandDims: [u((x) => expandDims(x, -1))], squeeze: [u((x) => squeeze(x), [2, 1, 3]), u((x) => squeeze(x, 0), [1, 3])],
  gatherRows: [u((x) => gatherRows(x, idx(2, 0, 2)), [3, 2])], scatterAddRows: [u((x) => scatterAddRows(x, idx(1, 1, 0), 4), [3, 2])],
  takeAlongAxis: [u((x) => takeAlongAxis(x, idx(0, 2, 1, 1), 1), [2, 3])],
  scatterAlongAxis: [u((x) => scatterAlongAxis(x, idx(2, 0, 1, 1, 0, 2), 0, 4), [2, 3])],
  topk: [u((x) => { const t = topk(x, 2, -1); return add(t.values, mul(takeAlongAxis(x, t.indices, -1), 2)); }, [2, 4])],
  argmax: [u((x) => takeAlongAxis(x, argmax(x, 0), 0), [3, 2])],
  mse: [{ shapes: [[2, 3], [2, 3]], call: mse }], nll: [u((x) => nll(logSoftmax(x), idx(0, 2)), [2, 3])],
  crossEntropy: [u((x) => crossEntropy(x, idx(1, 0)), [2, 3])],
};

/** `n` per-example tensors of `shape` stacked at `axis` (or one shared tensor for axis null). */
function draw(rng: Rng, shape: number[], axis: number | null, positive: boolean): { arg: Tensor; per: Tensor[] } {
  const one = () => { const t = randn(rng, shape); return positive ? add(abs(t), 0.5) : t; };
  if (axis === null) { const t = one(); return { arg: t, per: Array.from({ length: B }, () => t) }; }
  const per = Array.from({ length: B }, one);
  return { arg: stack(per, axis), per };
}

const close = (a: Tensor, b: Tensor, tol = 1e-12) => {
  expect(a.shape).toEqual(b.shape);
  const d = Math.max(0, ...a.toArray().map((v, i) => Math.abs(v - b.data[i]!)));
  expect(d).toBeLessThanOrEqual(tol * (1 + Math.max(0, ...b.toArray().map(Math.abs))));
};

describe('vmap batching rules', () => {
  it('every op with a batching rule has a case here', () => {
    expect(BATCHED_OP_NAMES.filter((n) => !(n in CASES))).toEqual([]);
  });

  it('vmap(f) equals stacking f over the batch, for every rule, with random inAxes (0, negative, null), no fallback', () => {
    const rng = new Rng(2026);
    clearVmapFallbackOps();
    for (const [name, cases] of Object.entries(CASES)) {
      for (const c of cases) {
        // axis choices per argument: 0, the last (negative), or null — at least one batched
        let axes: (number | null)[];
        do axes = c.shapes.map((s) => [0, -1, null][rng.int(3)]!).map((a, i) => (a === -1 ? -1 - rng.int(c.shapes[i]!.length + 1) : a));
        while (axes.every((a) => a === null));
        const drawn = c.shapes.map((s, i) => draw(rng, s, axes[i] === null ? null : (axes[i]! < 0 ? axes[i]! + s.length + 1 : axes[i]!), c.positive ?? false));
        const expected = stack(Array.from({ length: B }, (_, b) => c.call(...drawn.map((d) => d.per[b]!))), 0);
        const got = vmap(c.call, { inAxes: axes })(...drawn.map((d) => d.arg));
        try { close(got, expected); } catch (e) { throw new Error(`${name} with inAxes ${JSON.stringify(axes)}: ${(e as Error).message}`); }
      }
    }
    expect(vmapFallbackOps()).toEqual([]);
  });
});

describe('vmap semantics', () => {
  const rng = new Rng(7);
  it('outAxes, trees and nested vmap', () => {
    const x = randn(rng, [4, 3]), y = randn(rng, [5, 3]);
    // pairwise dot products via nested vmap: [4, 5]
    const dots = vmap((a: Tensor) => vmap((b: Tensor) => sum(mul(a, b)))(y))(x);
    close(dots, matmul(x, transpose(y)));
    // outAxes 1 on the inner level gives the transpose
    const dotsT = vmap((a: Tensor) => vmap((b: Tensor) => sum(mul(a, b)), { outAxes: 0 })(y), { outAxes: 1 })(x);
    close(dotsT, transpose(matmul(x, transpose(y))));
    // tree in, tree out, inAxes as a tree prefix
    const f = (p: { w: Tensor; b: Tensor }, v: Tensor) => ({ y: add(matmul(reshape(v, [1, 3]), p.w), p.b), n: sum(square(v)) });
    const p = { w: randn(rng, [3, 2]), b: randn(rng, [1, 2]) };
    const out = vmap(f, { inAxes: [{ w: null, b: null }, 0], outAxes: { y: 0, n: 0 } })(p, x);
    close(out.y, stack(Array.from({ length: 4 }, (_, i) => f(p, slice(x, [i], [i + 1])).y)));
    close(out.n, sum(square(x), 1));
    // unbatched output with outAxes null; a batch-independent output is broadcast with outAxes 0
    const c = vmap((v: Tensor) => ({ a: sum(v), k: sum(p.w) }), { outAxes: { a: 0, k: null } })(x);
    close(c.k, sum(p.w));
    expect(() => vmap(() => sum(p.w), { inAxes: [] as never })()).toThrow(/no argument is batched/);
  });

  it('vmap of grad equals a loop of grad (per-example gradients), with inAxes null for the parameters', () => {
    const w = randn(rng, [3, 2]), xs = randn(rng, [5, 3]), ts = randn(rng, [5, 2]);
    const loss = (p: Tensor, x: Tensor, t: Tensor) => mean(square(sub(tanh(matmul(reshape(x, [1, 3]), p)), reshape(t, [1, 2]))));
    const per = vmap(grad(loss), { inAxes: [null, 0, 0] })(w, xs, ts);
    const loop = stack(Array.from({ length: 5 }, (_, i) => grad(loss)(w, reshape(slice(xs, [i], [i + 1]), [3]), reshape(slice(ts, [i], [i + 1]), [2]))));
    close(per, loop);
    const vg = vmap(valueAndGrad(loss), { inAxes: [null, 0, 0] })(w, xs, ts);
    close(vg.grad, loop);
    expect(vg.value.shape).toEqual([5]);
    // vjp inside vmap, and a closure over a batched value
    const pulled = vmap((x: Tensor) => vjp((p: Tensor) => matmul(reshape(x, [1, 3]), p), w).vjp(tensor([[1, -1]])))(xs);
    close(pulled, stack(Array.from({ length: 5 }, (_, i) => matmul(transpose(slice(xs, [i], [i + 1])), tensor([[1, -1]])))));
    // grad of vmap: d/dw Σ_b loss_b = Σ_b per-example gradients
    const g = grad((p: Tensor) => sum(vmap((x: Tensor, t: Tensor) => loss(p, x, t))(xs, ts)))(w);
    close(g, sum(loop, 0), 1e-12);
    // vmap of vmap of grad (nested per-example, per-column gradients)
    const nested = vmap(vmap((x: Tensor) => grad((v: Tensor) => sum(exp(mul(v, x))))(x)))(reshape(xs, [5, 3]));
    close(nested, mul(exp(square(xs)), xs)); // d/dv exp(v·x) at v = x
    expect(stopGradient(xs)).toBeInstanceOf(Tensor);
    // per-example classification gradients with batched Int32 labels (B equal runs), no fallback
    clearVmapFallbackOps();
    const X3 = randn(rng, [5, 2, 3]), labels = Int32Array.from([0, 1, 1, 1, 0, 0, 1, 0, 0, 1]);
    const ce = (p: Tensor, x: Tensor, y: Int32Array) => crossEntropy(matmul(x, p), y);
    close(vmap(grad(ce), { inAxes: [null, 0, 0] })(w, X3, labels),
      stack(Array.from({ length: 5 }, (_, b) => grad(ce)(w, reshape(slice(X3, [b], [b + 1]), [2, 3]), labels.slice(2 * b, 2 * b + 2)))));
    expect(vmapFallbackOps()).toEqual([]);
    expect(() => vmap(grad(ce), { inAxes: [null, 0, 0] })(w, X3, labels.slice(0, 9))).toThrow(/argument 2 is an index array of length 9.*not a multiple of 5/);
    // vmap of jvp: per-example directional derivatives in one batched forward pass, no fallback
    clearVmapFallbackOps();
    const dirs = randn(rng, [5, 3]);
    const f2 = (x: Tensor) => softmax(matmul(reshape(x, [1, 3]), w));
    const tang = vmap((x: Tensor, v: Tensor) => jvp(f2, [x], [v]).tangent)(xs, dirs);
    close(tang, stack(Array.from({ length: 5 }, (_, i) => jvp(f2, [reshape(slice(xs, [i], [i + 1]), [3])], [reshape(slice(dirs, [i], [i + 1]), [3])]).tangent)));
    expect(vmapFallbackOps()).toEqual([]);
  });

  it('every registry case (ENGINE_OPS + MOE_OPS) under vmap equals stacking it; code without a rule runs once per example, warned once', () => {
    // The registry's cases call the raw ops (engine/ops) and the fused MoE kernels, so this exercises the
    // per-example fallback (slicing, stacking, nesting-safe) on every op's domain; the rules are covered above.
    clearVmapFallbackOps();
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const rng2 = new Rng(11);
    for (const spec of [...ENGINE_OPS, ...MOE_OPS]) {
      const c = spec.sample(rng2, 3);
      const batch = c.inputs.map((x) => stack([x, add(x, mul(randn(rng2, x.shape), 1e-3)), x]));
      const expected = stack([0, 1, 2].map((b) => c.run(batch.map((t) => reshape(slice(t, [b], [b + 1]), t.shape.slice(1))))));
      try { close(vmap((...xs: Tensor[]) => c.run(xs))(...batch), expected); } catch (e) { throw new Error(`${spec.name} [${c.label}]: ${(e as Error).message}`); }
    }
    // reading a batched value (item, toArray, data) falls back too, never reads a placeholder
    expect(vmap((x: Tensor) => scalar(x.item() * 2))(tensor([1, 2, 3])).toArray()).toEqual([2, 4, 6]);
    expect(vmap((x: Tensor) => tensor(x.toArray().reverse()))(tensor([[1, 2], [3, 4]])).toNested()).toEqual([[2, 1], [4, 3]]);
    expect(vmapFallbackOps()).toContain('Tensor.item of a batched value');
    expect(vmapFallbackOps().length).toBeGreaterThan(0);
    const warnings = warn.mock.calls.map((a) => String(a[0])).filter((m) => m.startsWith('vmap:'));
    expect(new Set(warnings).size).toBe(warnings.length); // each name at most once
    warn.mockRestore();
  });

  it('examples/per-token-router-grads.ts: vmap(grad) through an MoE layer equals the loop; noise scale finite and positive', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const r = perTokenRouterGrads({ tokens: 6, seed: 3, log: () => {} });
    warn.mockRestore();
    expect(r.maxDiffVsLoop).toBeLessThanOrEqual(1e-12);
    expect(r.routerSize).toBeGreaterThan(0);
    expect(r.traceCov).toBeGreaterThan(0);
    expect(Number.isFinite(r.noiseScale) && r.noiseScale > 0).toBe(true);
  });

  it('errors name vmap, the argument path, and the expected and actual sizes', () => {
    const a = randn(rng, [3, 2]), b = randn(rng, [4, 2]);
    expect(() => vmap(add)(a, b)).toThrow(ShapeError);
    expect(() => vmap(add)(a, b)).toThrow(/vmap: argument 1 has size 4 .* but argument 0 has 3/);
    expect(() => vmap((p: { w: Tensor }) => p.w)({ w: a, v: b } as never)).toThrow(/argument 0\.v has size 4/);
    expect(() => vmap(neg, { inAxes: 2 })(a)).toThrow(/vmap: inAxes 2 is out of range for argument 0 of shape \[3, 2\]/);
    expect(() => vmap(neg, { inAxes: [null] })(a)).toThrow(ValueError);
    expect(() => vmap(neg, { inAxes: [0, 0] })(a)).toThrow(/inAxes has 2 entries but the function got 1/);
    expect(() => vmap(neg, { outAxes: null })(a)).toThrow(/depends on the batch, but outAxes is null/);
    expect(() => vmap((x: Tensor) => softmax(x, 2))(a)).toThrow(/softmax: axis 2 is out of range for shape \[2\]/);
    expect(() => vmap((x: Tensor) => matmul(x, b))(a)).toThrow(/matmul/);
  });
});

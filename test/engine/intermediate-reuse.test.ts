/**
 * `valueAndGrad(f, { reuseIntermediates: true })` (engine/intermediate-reuse.ts): after the walk the
 * buffers of f's intermediates go to the buffer pool. Nothing observable may change for a function
 * that keeps none of them: for every registered op the values and gradients of three calls in a row
 * (the later ones running on reused buffers) equal those with the pool off, bit for bit, and the
 * inputs are untouched. What f keeps outside the engine's knowledge — a tensor made from constants,
 * a stopGradient alias, a noGrad view, the returned value — keeps its numbers; a node output f keeps
 * anyway throws a ValueError when read instead of showing overwritten numbers. The pool threshold is
 * lowered so that small test tensors take part.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import {
  Rng, randn, grad, valueAndGrad, hessian, vmap, add, mul, exp, sum, tanh, reshape, noGrad, stopGradient,
  setBufferPool, bufferPoolStats, tensor, fromData, record, ValueError, type Tensor,
} from '../../engine/index.js';
import { setPoolMinBytes, POOL_MIN_BYTES } from '../../engine/buffer-pool.js';
import { sameBits, poolSmallTensorsInThisFile, forEachRegisteredCase } from '../helpers/engine.js';
import { inspect } from 'node:util';

const copyOf = (t: Tensor) => Float64Array.from(t.data);

poolSmallTensorsInThisFile(beforeAll, afterAll, { setPoolMinBytes, setBufferPool, POOL_MIN_BYTES });

describe('reuseIntermediates', () => {
  it('every registered op: values and gradients of repeated calls equal the pool-off ones, inputs untouched', () => {
    const rng = new Rng(33);
    const before = bufferPoolStats().reused;
    forEachRegisteredCase(rng, 3, (spec, kase, w) => {
      const f = (ys: Tensor[]) => sum(mul(tanh(kase.run(ys)), w));
      const inputsBefore = kase.inputs.map(copyOf);
      setBufferPool(false);
      const want = valueAndGrad(f)([...kase.inputs]);
      setBufferPool(true);
      const vg = valueAndGrad(f, { reuseIntermediates: true });
      for (let r = 0; r < 3; r++) {
        const got = vg([...kase.inputs]);
        sameBits(got.value, want.value, `${spec.name} ${kase.label} value, call ${r}`);
        want.grad.forEach((t, i) => sameBits(got.grad[i]!, t, `${spec.name} ${kase.label} input ${i}, call ${r}`));
      }
      kase.inputs.forEach((t, i) => expect(Array.from(t.data), `${spec.name} input ${i} after the calls`).toEqual(Array.from(inputsBefore[i]!)));
    });
    expect(bufferPoolStats().reused).toBeGreaterThan(before);
  });

  it('releases the intermediates: the next call is served from the pool', () => {
    const x = randn(new Rng(4), [50, 20]);
    const f = (t: Tensor) => sum(exp(tanh(mul(t, 0.5))));
    const vg = valueAndGrad(f, { reuseIntermediates: true });
    vg(x);
    const plain = valueAndGrad(f);
    const a = bufferPoolStats(); plain(x); const b = bufferPoolStats(); vg(x); const c = bufferPoolStats();
    // the forward values (mul, tanh, exp outputs) go back too, so the call with reuse releases more
    expect(c.released - b.released).toBeGreaterThan(b.released - a.released);
  });

  it('a kept intermediate throws a ValueError when read; what the engine cannot see keeps its numbers', () => {
    const rng = new Rng(5);
    const x = randn(rng, [30, 10]), c = randn(rng, [30, 10]);
    let kept: Tensor | null = null, alias: Tensor | null = null, view: Tensor | null = null, fromConst: Tensor | null = null;
    let keptCopy: number[] = [], fromConstCopy: number[] = [];
    const f = (t: Tensor) => {
      const h = tanh(mul(t, 2));
      kept = h; keptCopy = Array.from(h.data);
      alias = stopGradient(exp(h)); // a second handle on exp(h)'s buffer: it must stay
      view = noGrad(() => reshape(mul(h, 3), [300]));
      fromConst = exp(c); fromConstCopy = Array.from(fromConst.data); // untracked: not a node output
      return sum(mul(exp(h), add(h, 1)));
    };
    const vg = valueAndGrad(f, { reuseIntermediates: true });
    vg(x);
    const k = kept as unknown as Tensor, al = alias as unknown as Tensor, vw = view as unknown as Tensor, fc = fromConst as unknown as Tensor;
    const aliasCopy = Array.from(al.data), viewCopy = Array.from(vw.data);
    for (let r = 0; r < 3; r++) vg(randn(rng, [30, 10])); // later calls reuse what was released
    expect(() => k.data).toThrow(ValueError);
    expect(() => k.toArray()).toThrow(/reuseIntermediates/);
    expect(() => add(k, 1)).toThrow(ValueError);
    expect(inspect(k)).toMatch(/released/);
    expect(keptCopy.length).toBe(300);
    expect(Array.from(al.data)).toEqual(aliasCopy);
    expect(Array.from(vw.data)).toEqual(viewCopy);
    expect(Array.from(fc.data)).toEqual(fromConstCopy);
  });

  it('the returned value keeps its buffer, also when it is a view of an intermediate', () => {
    const x = randn(new Rng(6), [40, 10]);
    const oneHot = fromData(Float64Array.from({ length: 400 }, (_, i) => (i === 0 ? 1 : 0)), [40, 10]);
    // a user op whose output is a view into its input: the value shares exp(t)'s buffer
    const first = (big: Tensor) => record('first', [big], fromData(big.data.subarray(0, 1), [1]), (dy) => [mul(oneHot, dy)]);
    const vg = valueAndGrad((t: Tensor) => first(exp(tanh(t))), { reuseIntermediates: true });
    const v = vg(x).value, v0 = v.item();
    expect(v0).toBe(Math.exp(Math.tanh(x.data[0]!)));
    for (let r = 0; r < 3; r++) vg(mul(x, r + 2));
    expect(v.item()).toBe(v0);
  });

  it('a buffer a gradient slot still holds is not released when the walk passes its node', () => {
    // a user VJP returns an intermediate h itself as the input's gradient: h's node (tanh) comes later
    // in the walk, while the leaf's slot holds h's buffer; releasing it there would hand the returned
    // gradient to the pool (and mark it released)
    const x = randn(new Rng(8), [30, 20]);
    const f = (t: Tensor) => {
      const h = tanh(mul(t, 2));
      const u = record('gradIsH', [t], fromData(Float64Array.from(t.data), t.shape), () => [h]);
      return sum(mul(u, 0));
    };
    const want = Array.from(tanh(mul(x, 2)).data);
    const vg = valueAndGrad(f, { reuseIntermediates: true });
    const g = vg(x).grad;
    for (let r = 0; r < 2; r++) vg(mul(x, r + 3)); // later calls would overwrite a released buffer
    expect(Array.from(g.data)).toEqual(want);
  });

  it('aliases made where the engine counts them too: in a user VJP, in a nested reuse call; an op returning its input', () => {
    const rng = new Rng(9);
    const x = randn(rng, [60, 40]), c = randn(rng, [60, 40]);
    // a user VJP keeps a stopGradient alias of an intermediate (logging activations in backward)
    let kept: Tensor | null = null;
    const double = (h: Tensor) => record('double', [h], fromData(Float64Array.from(h.data, (v) => 2 * v), h.shape), (dy) => { kept ??= stopGradient(h); return [mul(dy, 2)]; });
    const vg1 = valueAndGrad((t: Tensor) => { const h = exp(t); return sum(mul(double(h), tanh(h))); }, { reuseIntermediates: true });
    vg1(x);
    const k1 = kept as unknown as Tensor, want1 = Array.from(k1.data);
    for (let r = 0; r < 3; r++) vg1(mul(x, r + 2));
    expect(Array.from(k1.data)).toEqual(want1);
    // a nested reuse grad under noGrad makes an alias of the outer call's intermediate
    let kept2: Tensor | null = null;
    const vg2 = valueAndGrad((t: Tensor) => {
      const h = exp(t);
      noGrad(() => grad((z: Tensor) => { kept2 ??= stopGradient(h); return sum(mul(z, kept2)); }, { reuseIntermediates: true })(c));
      return sum(tanh(h));
    }, { reuseIntermediates: true });
    vg2(x);
    const k2 = kept2 as unknown as Tensor, want2 = Array.from(k2.data);
    for (let r = 0; r < 3; r++) vg2(mul(x, r + 2));
    expect(Array.from(k2.data)).toEqual(want2);
    // a user op whose output is its input (gradient reversal): h is the output of two nodes
    const reverse = (h: Tensor) => record('gradReverse', [h], h, (dy) => [mul(dy, -1)]);
    const f3 = (t: Tensor) => sum(mul(reverse(exp(mul(t, 0.5))), tanh(t)));
    setBufferPool(false);
    const want3 = grad(f3)(x);
    setBufferPool(true);
    const g3 = grad(f3, { reuseIntermediates: true });
    for (let r = 0; r < 3; r++) sameBits(g3(x), want3, `gradReverse call ${r}`);
    // a straight-through op adopting as its output a tensor an earlier op read (no node made it)
    const f4 = (t: Tensor) => {
      const h = tanh(t);
      const q = noGrad(() => exp(h));
      const y = mul(h, q); // mul's VJP reads q
      const ste = record('ste', [h], q, (dy) => [dy]);
      return sum(add(mul(y, y), ste));
    };
    setBufferPool(false);
    const want4 = grad(f4)(x);
    setBufferPool(true);
    const g4 = grad(f4, { reuseIntermediates: true });
    for (let r = 0; r < 3; r++) sameBits(g4(x), want4, `straight-through call ${r}`);
  });

  it('grad of grad, hessian and vmap of grad agree with the pool off (reuse stands down under them)', () => {
    const x = randn(new Rng(7), [12]);
    const inner = (t: Tensor) => sum(mul(exp(mul(t, 0.3)), tanh(t)));
    const gg = (t: Tensor) => sum(mul(grad(inner, { reuseIntermediates: true })(t), t));
    setBufferPool(false);
    const want = [grad(gg)(x), hessian(inner)(x), vmap(grad(inner))(reshape(x, [3, 4]))];
    setBufferPool(true);
    for (let r = 0; r < 2; r++) {
      const got = [grad(gg, { reuseIntermediates: true })(x), hessian(inner)(x), vmap(grad(inner, { reuseIntermediates: true }))(reshape(x, [3, 4]))];
      got.forEach((t, i) => sameBits(t, want[i]!, `transform ${i}, call ${r}`));
    }
  });

  it('bad options: a clear ValueError naming the transform', () => {
    expect(() => valueAndGrad((t: Tensor) => sum(t), { reuseIntermediates: 'yes' as never })).toThrow(/valueAndGrad: options.reuseIntermediates must be a boolean/);
    expect(() => grad((t: Tensor) => sum(t), 3 as never)).toThrow(/grad: options must be an object/);
    expect(grad((t: Tensor) => sum(t), {})(tensor([1, 2])).toArray()).toEqual([1, 1]);
  });
});

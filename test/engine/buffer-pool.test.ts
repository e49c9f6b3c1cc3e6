/**
 * Reuse of dead gradient buffers in the backward walk (engine/buffer-pool.ts) changes nothing
 * observable: for every registered op the gradients with the pool on — twice in a row, so the second
 * walk runs on reused buffers — equal the pool-off gradients bit for bit; a user-written VJP may keep
 * the cotangent it is given; `vjp` pullbacks can be repeated; grad of grad and vmap (where the walk
 * must not release) still agree. The pool threshold is lowered so that small test tensors take part.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import {
  Rng, randn, grad, valueAndGrad, vjp, vmap, hessian, customVjp, defineUnary, add, mul, exp, sum, tanh, reshape, matmul,
  softmax, logsumexp, setBufferPool, bufferPoolStats, record, type Tensor,
} from '../../engine/index.js';
import { setPoolMinBytes, POOL_MIN_BYTES } from '../../engine/buffer-pool.js';
import { sameBits, poolSmallTensorsInThisFile, forEachRegisteredCase } from '../helpers/engine.js';


poolSmallTensorsInThisFile(beforeAll, afterAll, { setPoolMinBytes, setBufferPool, POOL_MIN_BYTES });

describe('buffer pool', () => {
  it('every registered op: gradients with reuse equal those without, bit for bit', () => {
    const rng = new Rng(21);
    const before = bufferPoolStats().reused;
    forEachRegisteredCase(rng, 4, (spec, kase, w) => {
      const f = (...xs: Tensor[]) => sum(mul(kase.run(xs), w));
      const g = (xs: readonly Tensor[]) => valueAndGrad((ys: Tensor[]) => f(...ys))([...xs]).grad;
      setBufferPool(false);
      const want = g(kase.inputs);
      setBufferPool(true);
      const first = g(kase.inputs), second = g(kase.inputs);
      want.forEach((t, i) => { sameBits(first[i]!, t, `${spec.name} ${kase.label} input ${i}`); sameBits(second[i]!, t, `${spec.name} (reused) input ${i}`); });
      // one tape pulled back again after another walk reused buffers: a VJP that kept something it
      // allocated (a cache in its closure) would now read a reused buffer
      const pb = vjp((ys: Tensor[]) => f(...ys), [...kase.inputs]);
      const dy = randn(rng, [], 1, w.dtype);
      const p1 = pb.vjp(dy);
      g(kase.inputs);
      const p2 = pb.vjp(dy);
      p1.forEach((t, i) => sameBits(p2[i]!, t, `${spec.name} repeated pullback input ${i}`));
    });
    expect(bufferPoolStats().reused).toBeGreaterThan(before); // the pool really served allocations
  });

  it('a user-written VJP may keep its cotangent: the walk never reuses it', () => {
    const kept: { t: Tensor; copy: number[] }[] = [];
    const spy = customVjp((x: Tensor) => [tanh(x), x] as const, (x, dy) => { kept.push({ t: dy, copy: [...dy.data] }); return [mul(dy, exp(x))]; });
    const userOp = defineUnary('userSquare', (v) => v * v, (x, _y, dy) => { kept.push({ t: dy, copy: [...dy.data] }); return mul(dy, mul(x, 2)); });
    const x = randn(new Rng(3), [40, 30]);
    const f = (t: Tensor) => sum(mul(spy(userOp(mul(t, 1.5))), add(t, 1)));
    for (let r = 0; r < 3; r++) grad(f)(x);
    for (let r = 0; r < 3; r++) grad((t: Tensor) => sum(exp(mul(t, 0.3))))(x); // more walks that could reuse buffers
    expect(kept.length).toBe(6);
    for (const k of kept) expect([...k.t.data]).toEqual(k.copy);
  });

  it('repeated vjp pullbacks, reshape views, a tensor used twice', () => {
    const rng = new Rng(4);
    const x = randn(rng, [32, 48]);
    const f = (t: Tensor) => {
      const v = reshape(t, [48, 32]);
      return add(mul(softmax(matmul(t, v), -1), 2), reshape(logsumexp(add(t, t), -1, true), [32, 1]));
    };
    setBufferPool(false);
    const want = vjp(f, x);
    const dy = randn(rng, [32, 32]);
    const w1 = want.vjp(dy);
    setBufferPool(true);
    const got = vjp(f, x);
    for (let r = 0; r < 3; r++) sameBits(got.vjp(dy), w1, `pullback ${r}`);
  });

  it('grad of grad and vmap of grad agree with the pool off', () => {
    const rng = new Rng(5);
    const x = randn(rng, [6]), xs = randn(rng, [5, 40]);
    const f = (t: Tensor) => sum(mul(tanh(t), exp(mul(t, 0.5))));
    setBufferPool(false);
    const h0 = hessian(f)(x), v0 = vmap(grad(f))(xs);
    setBufferPool(true);
    for (let r = 0; r < 2; r++) { sameBits(hessian(f)(x), h0, 'hessian'); sameBits(vmap(grad(f))(xs), v0, 'vmap(grad)'); }
  });
});

describe('buffer pool: user code returning its cotangents', () => {
  it('a public record VJP whose returned array runs user code (a getter) keeps what it made', () => {
    setPoolMinBytes(65);
    let kept: Tensor | null = null, copy: number[] = [];
    const op = (x: Tensor) => record('lazyDx', [x], tanh(x), (dy) => {
      const arr: (Tensor | null)[] = [];
      Object.defineProperty(arr, 0, { enumerable: true, get: () => { if (kept === null) { kept = mul(dy, 2); copy = [...kept.data]; } return kept; } });
      return arr;
    });
    const x = randn(new Rng(9), [30, 20]);
    grad((t: Tensor) => sum(exp(op(mul(t, 1.5)))))(x);
    for (let r = 0; r < 3; r++) grad((t: Tensor) => sum(mul(exp(mul(t, 0.7)), t)))(x);
    expect([...kept!.data]).toEqual(copy);
  });
});

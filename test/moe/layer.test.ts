import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import {
  Rng, randn, tensor, sum, mul, add, slice, cast, grad, gradcheck, scatterAlongAxis, treeLeaves, treeMap,
  ShapeError, ValueError, type Tensor,
} from '../../engine/index.js';
import { MoELayer, type MoELayerConfig, type MoELayerParams } from '../../moe/layer/layer.js';
import { applyExpert, EXPERT_KINDS, type ExpertKind } from '../../moe/experts/families.js';
import { composedSoftmaxTopKGate, checkGradOfGrad } from './layer.helpers.js';
import { makeGate, type GateConfig } from '../../moe/gates/make-gate.js';

function config(kind: ExpertKind, E: number, K: number, extra: Partial<MoELayerConfig> = {}): MoELayerConfig {
  return { dModel: 3, dHidden: 4, numExperts: E, topK: K, gate: composedSoftmaxTopKGate(E, K), expert: kind, ...extra };
}

/** Σ_e w[t,e]·expert_e(x[t]) + Σ_s shared_s(x[t]) with every expert run densely on every token. */
function denseReference(params: MoELayerParams, x: Tensor, cfg: MoELayerConfig, keep?: Float64Array, bias?: Float64Array): Tensor {
  const gate = 'route' in cfg.gate ? composedSoftmaxTopKGate(cfg.numExperts, cfg.topK) : makeGate(cfg.gate as GateConfig);
  const g = gate.route(params.router as never, x, bias ? { bias } : {});
  const w = keep ? mul(g.weights, tensor(Array.from(keep), g.weights.shape)) : g.weights;
  const dense = scatterAlongAxis(w, g.indices, 1, cfg.numExperts); // [T, E], zeros where unselected
  let y: Tensor | null = null;
  for (let e = 0; e < cfg.numExperts; e++) {
    const term = mul(slice(dense, [0, e], [x.shape[0]!, e + 1]), applyExpert(params.experts, cfg.expert, e, x));
    y = y ? add(y, term) : term;
  }
  for (let s = 0; s < (cfg.numShared ?? 0); s++) y = add(y!, applyExpert(params.shared!, cfg.expert, s, x));
  return y!;
}

/** Random non-zero biases so every parameter matters. */
const jitter = (rng: Rng, p: MoELayerParams): MoELayerParams => treeMap(p, (t) => add(t, randn(rng, t.shape, 0.3)));

describe('MoELayer equals the dense reference Σ_e w[t,e]·expert_e(x[t])', () => {
  it('in value and gradient (params and x), for every expert kind, with 0–2 shared experts', () => {
    fc.assert(fc.property(fc.constantFrom(...EXPERT_KINDS), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 2, max: 5 }), fc.integer({ min: 0, max: 2 }), fc.integer(),
      (kind, T, E, numShared, seed) => {
        const rng = new Rng(seed);
        const K = 1 + rng.int(E);
        const cfg = config(kind, E, K, { numShared });
        const params = jitter(rng, MoELayer.init(rng, cfg));
        const x = randn(rng, [T, 3]);
        const r = randn(rng, [T, 3]);
        const { y } = MoELayer.apply(params, x, cfg);
        const ref = denseReference(params, x, cfg);
        y.toArray().forEach((v, i) => expect(v).toBeCloseTo(ref.data[i]!, 12));
        const loss = (f: (p: MoELayerParams, v: Tensor) => Tensor) => (a: { p: MoELayerParams; x: Tensor }) => sum(mul(f(a.p, a.x), r));
        const gSparse = treeLeaves(grad(loss((p, v) => MoELayer.apply(p, v, cfg).y))({ p: params, x }));
        const gDense = treeLeaves(grad(loss((p, v) => denseReference(p, v, cfg)))({ p: params, x }));
        gSparse.forEach((g, i) => g.data.forEach((v, j) => expect(v).toBeCloseTo(gDense[i]!.data[j]!, 11)));
      }), { numRuns: 30, seed: 42 });
  });

  it('directional gradcheck of the whole layer (router, routed and shared experts, x)', () => {
    const rng = new Rng(5);
    const cfg = config('swiglu', 6, 2, { numShared: 1 });
    const params = jitter(rng, MoELayer.init(rng, cfg));
    const x = randn(rng, [7, 3]);
    const report = gradcheck((a: { p: MoELayerParams; x: Tensor }) => MoELayer.apply(a.p, a.x, cfg).y, { p: params, x }, { mode: 'directional', samples: 6, seed: 1 });
    expect(report.ok, report.summary).toBe(true);
  });

  it('grad of grad through the layer', () => {
    const rng = new Rng(6);
    const cfg = config('gelu', 4, 2, { numShared: 1 });
    const params = jitter(rng, MoELayer.init(rng, cfg));
    const r = randn(rng, [3, 3]);
    const inner = (a: { p: MoELayerParams; x: Tensor }) => sum(mul(MoELayer.apply(a.p, a.x, cfg).y, r));
    expect(checkGradOfGrad(inner, { p: params, x: randn(rng, [3, 3]) }, 2).maxRelError).toBeLessThan(1e-6);
  });
});

describe('MoELayer with the gates of moe/gates (makeGate configs)', () => {
  const gates: [string, GateConfig, number][] = [
    ['softmaxTopK', { kind: 'softmaxTopK', numExperts: 5, topK: 2 }, 2],
    ['topKSoftmax (Mixtral)', { kind: 'topKSoftmax', numExperts: 5, topK: 2 }, 2],
    ['normalizedSigmoid top-2 (DeepSeek-V3)', { kind: 'normalizedSigmoid', numExperts: 4, topK: 2, routeScale: 1.5 }, 2],
    ['normalizedSigmoid group-limited', { kind: 'normalizedSigmoid', numExperts: 6, topK: 2, numGroups: 3, topGroups: 2 }, 2],
    ['dense sigmoid', { kind: 'sigmoid', numExperts: 3 }, 3],
    ['laplace top-2', { kind: 'laplace', numExperts: 4, topK: 2 }, 2],
  ];
  for (const [name, gate, K] of gates) {
    it(`${name}: equals the dense reference in value and gradient`, () => {
      const rng = new Rng(name.length);
      const cfg: MoELayerConfig = { dModel: 3, dHidden: 4, numExperts: gate.numExperts, topK: K, gate, expert: 'gelu', numShared: 1 };
      const params = jitter(rng, MoELayer.init(rng, cfg));
      const x = randn(rng, [6, 3]), r = randn(rng, [6, 3]);
      const { y, gate: g } = MoELayer.apply(params, x, cfg);
      expect(g.weights.shape).toEqual([6, K]);
      const ref = denseReference(params, x, cfg);
      y.toArray().forEach((v, i) => expect(v).toBeCloseTo(ref.data[i]!, 12));
      const gs = treeLeaves(grad((p: MoELayerParams) => sum(mul(MoELayer.apply(p, x, cfg).y, r)))(params));
      const gd = treeLeaves(grad((p: MoELayerParams) => sum(mul(denseReference(p, x, cfg), r)))(params));
      gs.forEach((t, i) => t.data.forEach((v, j) => expect(v).toBeCloseTo(gd[i]!.data[j]!, 11)));
    });
  }

  it('normalizedSigmoid: the selection bias steers routing, gets no gradient, and the layer gradchecks', () => {
    const rng = new Rng(21);
    const cfg: MoELayerConfig = { dModel: 3, dHidden: 3, numExperts: 4, topK: 1, gate: { kind: 'normalizedSigmoid', numExperts: 4, topK: 1 }, expert: 'swiglu', numShared: 1 };
    const params = jitter(rng, MoELayer.init(rng, cfg));
    const x = randn(rng, [5, 3]);
    const bias = Float64Array.from([0, 0, 10, 0]);
    const out = MoELayer.apply(params, x, cfg, { bias });
    expect(Array.from(out.aux.load)).toEqual([0, 0, 5, 0]);
    const ref = denseReference(params, x, cfg, undefined, bias);
    out.y.toArray().forEach((v, i) => expect(v).toBeCloseTo(ref.data[i]!, 12));
    const report = gradcheck((a: { p: MoELayerParams; x: Tensor }) => MoELayer.apply(a.p, a.x, cfg, { bias }).y, { p: params, x }, { mode: 'directional', samples: 4, seed: 2 });
    expect(report.ok, report.summary).toBe(true);
  });

  it('a gate config that disagrees with the layer is rejected at init', () => {
    expect(() => MoELayer.init(new Rng(0), { dModel: 2, dHidden: 2, numExperts: 4, topK: 2, gate: { kind: 'softmaxTopK', numExperts: 4, topK: 1 }, expert: 'relu' }))
      .toThrow(/MoELayer.init: the gate routes to 1 of 4 experts but the layer has topK = 2/);
    expect(() => MoELayer.init(new Rng(0), { dModel: 2, dHidden: 2, numExperts: 4, topK: 2, gate: { kind: 'softmaxTopK', numExperts: 4, topK: 2 }, expert: 'relu' }))
      .not.toThrow();
  });
});

describe('capacity, fine-grained experts, float32', () => {
  it('drops over-capacity slots, reports them, and dropped slots contribute 0', () => {
    const rng = new Rng(8);
    const cfg = config('tanh', 4, 2, { capacityFactor: 0.5 }); // capacity = ceil(0.5·10·2/4) = 3
    const params = jitter(rng, MoELayer.init(rng, cfg));
    const x = randn(rng, [10, 3]);
    const { y, gate, aux } = MoELayer.apply(params, x, cfg);
    expect(aux.capacity).toBe(3);
    expect(aux.dropped).toBe(gate.plan.dropped.length);
    expect(aux.dropped).toBeGreaterThanOrEqual(20 - 12);
    expect(aux.dropRate).toBeCloseTo(aux.dropped / 20, 15);
    const keep = new Float64Array(20).fill(1);
    for (const s of gate.plan.dropped) keep[s] = 0;
    const ref = denseReference(params, x, cfg, keep);
    y.toArray().forEach((v, i) => expect(v).toBeCloseTo(ref.data[i]!, 12));
    // an explicit capacity overrides the factor
    expect(MoELayer.apply(params, x, cfg, { capacity: 10 }).aux.dropped).toBe(0);
  });

  it('fine-grained experts are just config: 16 small experts, top-4, plus a shared expert', () => {
    const rng = new Rng(9);
    const cfg: MoELayerConfig = { ...config('swiglu', 16, 4, { numShared: 1 }), dHidden: 2 };
    const params = MoELayer.init(rng, cfg);
    expect((params.experts as { wGate: Tensor }).wGate.shape).toEqual([16, 3, 2]);
    const { y, aux } = MoELayer.apply(params, randn(rng, [12, 3]), cfg);
    expect(y.shape).toEqual([12, 3]);
    expect(aux.load.reduce((a, b) => a + b, 0)).toBe(48);
    expect(aux.switchLoss.size).toBe(1);
    expect(aux.zLoss).not.toBeNull();
  });

  it('float32 layers run in float32 and agree with float64 to float32 precision', () => {
    const rng = new Rng(10);
    const cfg64 = config('relu', 4, 2, { numShared: 1 });
    const cfg32: MoELayerConfig = { ...cfg64, dtype: 'float32' };
    const p64 = jitter(rng, MoELayer.init(new Rng(1), cfg64));
    const p32 = treeMap(p64, (t) => cast(t, 'float32'));
    const x = randn(rng, [6, 3]);
    const y32 = MoELayer.apply(p32, cast(x, 'float32'), cfg32).y;
    expect(y32.dtype).toBe('float32');
    const y64 = MoELayer.apply(p64, x, cfg64).y;
    y32.toArray().forEach((v, i) => expect(v).toBeCloseTo(y64.data[i]!, 4));
    const g = grad((p: MoELayerParams) => sum(MoELayer.apply(p, cast(x, 'float32'), cfg32).y))(p32);
    expect(treeLeaves(g).every((t) => t.dtype === 'float32')).toBe(true);
    expect((MoELayer.init(new Rng(1), cfg32).experts as { w1: Tensor }).w1.dtype).toBe('float32');
    // with a gate from makeGate (its router params are cast to the layer dtype at init)
    const ns: MoELayerConfig = { ...cfg32, gate: { kind: 'normalizedSigmoid', numExperts: 4, topK: 2 } };
    const out = MoELayer.apply(MoELayer.init(new Rng(2), ns), cast(x, 'float32'), ns, { bias: new Float64Array(4) });
    expect(out.y.dtype).toBe('float32');
    expect(out.gate.weights.dtype).toBe('float32');
  });

  it('is deterministic per seed', () => {
    const cfg = config('gelu', 4, 2);
    const a = treeLeaves(MoELayer.init(new Rng(3), cfg)).map((t) => t.toArray());
    const b = treeLeaves(MoELayer.init(new Rng(3), cfg)).map((t) => t.toArray());
    expect(a).toEqual(b);
  });
});

describe('bad input', () => {
  const cfg = config('relu', 4, 2);
  const params = MoELayer.init(new Rng(0), cfg);
  const x = randn(new Rng(1), [5, 3]);

  it('names the op and shapes', () => {
    expect(() => MoELayer.apply(params, randn(new Rng(0), [5, 4]), cfg)).toThrow(ShapeError);
    expect(() => MoELayer.apply(params, randn(new Rng(0), [5, 4]), cfg)).toThrow(/MoELayer.apply: x must be \[T, dModel\] = \[T, 3\] with T ≥ 1; got \[5, 4\]/);
    expect(() => MoELayer.apply(params, tensor([[1, NaN, 0]]), cfg)).toThrow(/MoELayer.apply: x \[1, 3\] contains NaN/);
    expect(() => MoELayer.apply(params, x, cfg, { bias: new Float64Array(3) })).toThrow(/bias must have one entry per routed expert, \[4\]; got \[3\]/);
    expect(() => MoELayer.apply(params, x, cfg, { capacity: 0 })).toThrow(/capacity must be an integer ≥ 1 token .*; got 0/);
    expect(() => MoELayer.apply(params, x, cfg, { capacity: 0.5 })).toThrow(ValueError);
    expect(() => MoELayer.apply(params, cast(x, 'float32'), cfg)).toThrow(/x is float32 but the layer is float64/);
  });

  it('rejects inconsistent configs', () => {
    expect(() => MoELayer.init(new Rng(0), { ...cfg, topK: 3 })).toThrow(/the gate routes to 2 of 4 experts but the layer has topK = 3/);
    expect(() => MoELayer.init(new Rng(0), { ...cfg, topK: 5 })).toThrow(/topK must be in \[1, numExperts = 4\]; got 5/);
    expect(() => MoELayer.init(new Rng(0), { ...cfg, capacityFactor: 0 })).toThrow(/capacityFactor must be a finite number > 0; got 0/);
    expect(() => MoELayer.init(new Rng(0), { ...cfg, dModel: 0 })).toThrow(/dModel must be a positive integer; got 0/);
    expect(() => MoELayer.apply(params, x, { ...cfg, numShared: 1 })).toThrow(/numShared = 1 but params have no 'shared' experts/);
  });
});

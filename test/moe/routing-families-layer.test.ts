/**
 * The routing families as MoELayer options: each layer's output and gradients equal the family's
 * formula composed from engine primitives with every expert run densely (expert choice: Zhou et al.
 * 2022 with the one-hot dispatch tensor; Soft MoE: Puigcerver et al. 2023; noisy top-k
 * and BASE: Σ_k w·FFN_e(x)), plus the expert-choice diagnostics and config errors.
 */
import { describe, it, expect } from 'vitest';
import {
  Rng, Tensor, randn, tensor, cast, add, mul, matmul, transpose, softmax, slice, concat, sum, grad, scatterAlongAxis, treeLeaves, ValueError,
} from '../../engine/index.js';
import {
  MoELayer, applyExpert, expertsPerToken, tokensWithoutExpert, type MoELayerConfig, type MoELayerParams, type MoELayerApplyOptions,
} from '../../moe/layer/index.js';
import { makeRoutingGate, type ExpertChoiceOutput, type NoisyTopKOutput, noisyTopKLosses } from '../../moe/gates/index.js';
import type { GateOutput } from '../../moe/types.js';
import { maxDiff } from './gates-helpers.js';

const D = 3, H = 4, E = 4, T = 6;
const x = randn(new Rng(1), [T, D]);
const flatLeaves = (g: unknown) => treeLeaves(g as never).flatMap((l) => Array.from((l as Tensor).data));

/** Σ_e w_dense[t,e] · FFN_e(x[t]) with every expert run on every token (w_dense [T, E]). */
function denseMix(params: MoELayerParams, cfg: MoELayerConfig, xs: Tensor, wDense: Tensor): Tensor {
  let y: Tensor | null = null;
  for (let e = 0; e < cfg.numExperts; e++) {
    const term = mul(slice(wDense, [0, e], [xs.shape[0]!, e + 1]), applyExpert(params.experts, cfg.expert, e, xs));
    y = y ? add(y, term) : term;
  }
  return y!;
}

/** Layer output and the gradient of Σ y ⊙ r w.r.t. the params, for the layer and for a reference (fresh apply options per call: an Rng is consumed). */
function compare(cfg: MoELayerConfig, reference: (p: MoELayerParams, xs: Tensor) => Tensor, seed: number, options: () => MoELayerApplyOptions = () => ({})): void {
  const params = MoELayer.init(new Rng(seed), cfg);
  const y = MoELayer.apply(params, x, cfg, options()).y, yr = reference(params, x);
  expect(maxDiff(y.data, yr.data)).toBeLessThanOrEqual(1e-12);
  const r = randn(new Rng(seed + 1), y.shape);
  const g = grad((p: MoELayerParams) => sum(mul(MoELayer.apply(p, x, cfg, options()).y, r)))(params);
  const gr = grad((p: MoELayerParams) => sum(mul(reference(p, x), r)))(params);
  expect(maxDiff(flatLeaves(g), flatLeaves(gr))).toBeLessThanOrEqual(1e-12);
  expect(flatLeaves(g.router).some((v) => Math.abs(v) > 1e-8), 'the router gets a gradient').toBe(true);
}

const base = { dModel: D, dHidden: H, numExperts: E, expert: 'relu' } as const;

describe('MoELayer with each routing family equals the composed formula (values and parameter gradients)', () => {
  it('noisy top-k (seeded noise): Σ_k G·FFN; the noise draw is replayable and changes the routing', () => {
    const cfg: MoELayerConfig = { ...base, topK: 2, gate: { kind: 'noisyTopK', numExperts: E, topK: 2 } };
    const gate = makeRoutingGate({ kind: 'noisyTopK', numExperts: E, topK: 2 });
    const params = MoELayer.init(new Rng(3), cfg);
    // wNoise starts at 0 (Shazeer et al.): give it some weight so the noise scale varies by token
    const p2 = { ...params, router: { ...(params.router as Record<string, Tensor>), wNoise: randn(new Rng(4), [D, E]) } };
    const a = MoELayer.apply(p2, x, cfg, { noiseRng: new Rng(7) }), b = MoELayer.apply(p2, x, cfg, { noiseRng: new Rng(7) });
    expect(Array.from(a.y.data)).toEqual(Array.from(b.y.data));
    const quiet = MoELayer.apply(p2, x, cfg);
    expect(Array.from(a.gate.indices)).not.toEqual(Array.from(quiet.gate.indices));
    compare(cfg, (p, xs) => {
      const g = gate.route(p.router as never, xs, { noiseRng: new Rng(11) });
      return denseMix(p, cfg, xs, scatterAlongAxis(g.weights, g.indices, 1, E));
    }, 5, () => ({ noiseRng: new Rng(11) }));
    const loss = grad((p: MoELayerParams) => noisyTopKLosses(MoELayer.apply(p, x, cfg).gate as NoisyTopKOutput))(p2);
    expect(flatLeaves((loss.router as Record<string, Tensor>).wNoise).some((v) => Math.abs(v) > 1e-8), 'load loss reaches W_noise').toBe(true);
  });

  it('expert choice = Zhou et al. with one-hot dispatch P: X_in = P·X, X_out = Σ_{e,c} G[e,c] P[e,c,·]ᵀ FFN_e(X_in[e,c])', () => {
    const cfg: MoELayerConfig = { ...base, topK: E, gate: { kind: 'expertChoice', numExperts: E, capacityFactor: 2 } };
    compare(cfg, (p, xs) => {
      const { w, b } = p.router as Record<string, Tensor>;
      const S = softmax(add(matmul(xs, w!), b!), 1); // [T, E]
      const C = Math.ceil((T * 2) / E);
      let y: Tensor | null = null;
      for (let e = 0; e < E; e++) {
        const col = Array.from({ length: T }, (_, t) => t).sort((a, c) => S.get(c, e) - S.get(a, e) || a - c).slice(0, C);
        const P = tensor(col.flatMap((t) => Array.from({ length: T }, (_, j) => (j === t ? 1 : 0))), [C, T]); // one-hot I
        const G = matmul(P, slice(S, [0, e], [T, e + 1])); // [C, 1] = G[e, ·]
        const term = matmul(transpose(P), mul(G, applyExpert(p.experts, cfg.expert, e, matmul(P, xs))));
        y = y ? add(y, term) : term;
      }
      return y!;
    }, 6);
  });

  it('Soft MoE = Puigcerver et al. with softmax/matmul (p = 2 slots per expert)', () => {
    const cfg: MoELayerConfig = { ...base, topK: E, gate: { kind: 'softMoE', numExperts: E, slotsPerExpert: 2 } };
    compare(cfg, (p, xs) => {
      const L = matmul(xs, (p.router as { phi: Tensor }).phi); // [T, 2E]
      const slots = matmul(transpose(softmax(L, 0)), xs); // [2E, D]
      const outs = Array.from({ length: E }, (_, e) => applyExpert(p.experts, cfg.expert, e, slice(slots, [2 * e, 0], [2 * e + 2, D])));
      return matmul(softmax(L, 1), concat(outs, 0));
    }, 7);
    const out = MoELayer.apply(MoELayer.init(new Rng(7), cfg), x, cfg);
    for (let t = 0; t < T; t++) expect(Array.from({ length: E }, (_, e) => out.gate.weights.get(t, e)).reduce((a, b) => a + b)).toBeCloseTo(1, 14);
    expect(out.aux.load.reduce((a, b) => a + b)).toBeCloseTo(T, 12);
  });

  it('balanced assignment (BASE): each expert gets T/E tokens; y = σ(z[t,a(t)])·FFN_a(t)(x[t])', () => {
    const cfg: MoELayerConfig = { ...base, topK: 1, numExperts: 3, gate: { kind: 'balancedAssignment', numExperts: 3 } };
    const gate = makeRoutingGate({ kind: 'balancedAssignment', numExperts: 3 });
    const out = MoELayer.apply(MoELayer.init(new Rng(8), cfg), x, cfg);
    expect(Array.from(out.aux.load)).toEqual([2, 2, 2]);
    compare(cfg, (p, xs) => { const g = gate.route(p.router as never, xs); return denseMix(p, cfg, xs, scatterAlongAxis(g.weights, g.indices, 1, 3)); }, 8);
  });
});

describe('expert-choice diagnostics: tokens with no expert, experts per token', () => {
  it('count the chosen pairs per token (brute force from the weights); Σ = E·C', () => {
    const cfg: MoELayerConfig = { ...base, topK: E, gate: { kind: 'expertChoice', numExperts: E, capacityFactor: 0.5 } };
    const g = MoELayer.apply(MoELayer.init(new Rng(9), cfg), x, cfg).gate as ExpertChoiceOutput;
    const per = expertsPerToken(g);
    for (let t = 0; t < T; t++) expect(per[t]).toBe(Array.from({ length: E }, (_, e) => (g.weights.get(t, e) > 0 ? 1 : 0) as number).reduce((a, b) => a + b));
    expect(per.reduce((a, b) => a + b)).toBe(E * g.tokensPerExpert);
    expect(Array.from(tokensWithoutExpert(g))).toEqual(Array.from(per).flatMap((c, t) => (c === 0 ? [t] : [])));
    expect(tokensWithoutExpert(g).length).toBeGreaterThan(0); // C = 1 per expert, 4 experts, 6 tokens
  });
  it('top-K token choice: K per token, minus capacity drops', () => {
    const cfg: MoELayerConfig = { ...base, topK: 2, gate: { kind: 'topKSoftmax', numExperts: E, topK: 2 } };
    const g: GateOutput = MoELayer.apply(MoELayer.init(new Rng(9), cfg), x, cfg, { capacity: 1 }).gate;
    const per = expertsPerToken(g);
    expect(per.reduce((a, b) => a + b)).toBe(T * 2 - g.plan.dropped.length);
  });
});

describe('float32 layers', () => {
  it('every family runs and differentiates in float32 (output, weights and aux loss stay float32)', () => {
    const x32 = cast(x, 'float32');
    const f32 = { dModel: D, dHidden: H, numExperts: 3, expert: 'relu', dtype: 'float32' } as const;
    const cfgs: MoELayerConfig[] = [
      { ...f32, topK: 2, gate: { kind: 'noisyTopK', numExperts: 3, topK: 2 } },
      { ...f32, topK: 3, gate: { kind: 'expertChoice', numExperts: 3 } },
      { ...f32, topK: 3, gate: { kind: 'softMoE', numExperts: 3, slotsPerExpert: 2 } },
      { ...f32, topK: 1, gate: { kind: 'balancedAssignment', numExperts: 3 } },
    ];
    for (const c of cfgs) {
      const p = MoELayer.init(new Rng(2), c);
      const g = grad((q: MoELayerParams) => { const o = MoELayer.apply(q, x32, c, { noiseRng: new Rng(3) }); return add(sum(o.y), o.aux.switchLoss); })(p);
      expect(flatLeaves(g).every(Number.isFinite)).toBe(true);
      const o = MoELayer.apply(p, x32, c);
      expect([o.y.dtype, o.gate.weights.dtype, o.aux.switchLoss.dtype], JSON.stringify(c.gate)).toEqual(['float32', 'float32', 'float32']);
    }
  });
});

describe('config errors name the layer and the problem', () => {
  it('rejects a capacity for expert choice / Soft MoE, a topK that does not match, and routing a Soft MoE router directly', () => {
    const ec: MoELayerConfig = { ...base, topK: E, capacityFactor: 1, gate: { kind: 'expertChoice', numExperts: E } };
    expect(() => MoELayer.apply(MoELayer.init(new Rng(1), ec), x, ec)).toThrow(/expertChoice sets its own capacity/);
    const soft: MoELayerConfig = { ...base, topK: E, gate: { kind: 'softMoE', numExperts: E } };
    expect(() => MoELayer.apply(MoELayer.init(new Rng(1), soft), x, soft, { capacity: 2 })).toThrow(/Soft MoE has no capacity/);
    expect(() => MoELayer.init(new Rng(1), { ...base, topK: 2, gate: { kind: 'expertChoice', numExperts: E } })).toThrow(ValueError);
    expect(() => MoELayer.init(new Rng(1), { ...base, topK: 1, gate: { kind: 'balancedAssignment', numExperts: E, topK: 2 } })).toThrow(/config.gate: balancedAssignment: topK is 1/);
    expect(() => MoELayer.init(new Rng(1), { ...base, topK: E, gate: { kind: 'softMoE', numExperts: E, slotsPerExpert: 0 } })).toThrow(/MoELayer.init.*slotsPerExpert/);
  });
});

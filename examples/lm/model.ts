/**
 * A small decoder-only character-level transformer whose FFN is a DeepSeekMoE layer (Dai et al. 2024,
 * arXiv:2401.06066 §3: shared experts + fine-grained routed experts), pre-LayerNorm (GPT-2 layout):
 *   x₀ = E_tok[ids] + E_pos[t]                       (or RoPE on queries and keys: positions 'rotary')
 *   xₗ' = xₗ + Drop(W_o · Attn(LN₁(xₗ)))            (causal multi-head scaled dot-product attention)
 *   xₗ₊₁ = xₗ' + Drop(MoE(LN₂(xₗ')))                  (shared + routed experts, gate selectable)
 *   logits = LN_f(x_L) · W_head
 * The gate is one of: 'topKSoftmax' (Mixtral: softmax over the top-K logits), 'softmaxTopK'
 * (DeepSeekMoE: top-K of the full softmax, not renormalized), 'normalizedSigmoid' (DeepSeek-V3:
 * sigmoid scores normalized over the top-K, selection biased by loss-free balancing, arXiv:2408.15664),
 * 'dense' (softmax over all experts). Softmax gates add the Switch load-balancing loss (coefficient auxCoef).
 */
import {
  Tensor, Rng, randn, ones, zeros, add, matmul, reshape, permute, crossEntropy, scale,
  layerNorm, scaledDotProductAttention, embedding, dropout, rotaryEmbedding, treeLeaves, type DType,
} from '../../engine/index.js';
import { MoELayer, type MoELayerConfig, type MoELayerParams, type GateOutput } from '../../moe/index.js';

/** Gates the LM can use. */
export type LMGate = 'topKSoftmax' | 'softmaxTopK' | 'normalizedSigmoid' | 'dense';
export const LM_GATES: readonly LMGate[] = ['topKSoftmax', 'softmaxTopK', 'normalizedSigmoid', 'dense'];

/** Model shape. */
export interface LMConfig {
  readonly vocabSize: number;
  /** Context length T (positions are learned, T of them). */
  readonly contextLength: number;
  readonly dModel: number;
  readonly numHeads: number;
  readonly numLayers: number;
  /** Routed experts E (fine-grained: many small ones). */
  readonly numExperts: number;
  /** Routed experts per token K (ignored for 'dense', which uses all E). */
  readonly topK: number;
  /** Hidden width of each routed expert. */
  readonly expertHidden: number;
  /** Shared experts (weight 1, every token); 0 for none. */
  readonly numShared: number;
  /** Hidden width of each shared expert. */
  readonly sharedHidden: number;
  readonly gate: LMGate;
  /** Dropout probability on the residual branches (0 = none). */
  readonly dropout: number;
  /** Switch load-balancing loss coefficient for the softmax gates. */
  readonly auxCoef: number;
  /** Loss-free balancing bias speed γ for 'normalizedSigmoid'. */
  readonly biasGamma: number;
  readonly dtype: DType;
  /** Position encoding: a learned table added to the embeddings (default), or RoPE on queries and keys. */
  readonly positions?: 'learned' | 'rotary';
}

/** One transformer block's parameters (a type alias, so it is a TensorTree). */
export type BlockParams = {
  readonly ln1: { readonly g: Tensor; readonly b: Tensor };
  readonly attn: { readonly wq: Tensor; readonly wk: Tensor; readonly wv: Tensor; readonly wo: Tensor };
  readonly ln2: { readonly g: Tensor; readonly b: Tensor };
  readonly moe: MoELayerParams;
};

/** The model's parameter tree. */
export type LMParams = {
  readonly tok: Tensor;
  /** Learned positions [T, D] (absent with rotary positions). */
  readonly pos?: Tensor;
  readonly blocks: readonly BlockParams[];
  readonly lnF: { readonly g: Tensor; readonly b: Tensor };
  readonly head: Tensor;
};

/** Non-differentiable per-layer state: the selection biases of loss-free balancing. */
export interface LMState { readonly biases: Float64Array[] }

/** One MoELayerConfig per model config (MoELayer caches the gate per config object). */
const moeConfigs = new WeakMap<LMConfig, MoELayerConfig>();
export function moeConfigOf(c: LMConfig): MoELayerConfig {
  let m = moeConfigs.get(c);
  if (!m) {
    const K = c.gate === 'dense' ? c.numExperts : c.topK;
    const gate = c.gate === 'dense' ? { kind: 'softmax' as const, numExperts: c.numExperts } : { kind: c.gate, numExperts: c.numExperts, topK: K };
    m = { dModel: c.dModel, dHidden: c.expertHidden, numExperts: c.numExperts, topK: K, gate, expert: 'swiglu', numShared: c.numShared, sharedHidden: c.sharedHidden, dtype: c.dtype };
    moeConfigs.set(c, m);
  }
  return m;
}

/** Fresh parameters (GPT-2 style: N(0, 0.02²) embeddings, N(0, 1/D) projections, residual outputs scaled by 1/√(2L)). */
export function initLM(rng: Rng, c: LMConfig): LMParams {
  const D = c.dModel, dt = c.dtype;
  const lin = (r: Rng, i: number, o: number, s = 1) => randn(r, [i, o], s / Math.sqrt(i), dt);
  const ln = () => ({ g: ones([D], dt), b: zeros([D], dt) });
  const resid = 1 / Math.sqrt(2 * c.numLayers);
  const blocks = Array.from({ length: c.numLayers }, () => {
    const r = rng.split();
    return {
      ln1: ln(), attn: { wq: lin(r, D, D), wk: lin(r, D, D), wv: lin(r, D, D), wo: lin(r, D, D, resid) },
      ln2: ln(), moe: MoELayer.init(r.split(), moeConfigOf(c)),
    };
  });
  const tok = randn(rng.split(), [c.vocabSize, D], 0.02, dt), posRng = rng.split();
  const pos = c.positions === 'rotary' ? {} : { pos: randn(posRng, [c.contextLength, D], 0.02, dt) };
  return { tok, ...pos, blocks, lnF: ln(), head: lin(rng.split(), D, c.vocabSize) };
}

export function initState(c: LMConfig): LMState {
  return { biases: Array.from({ length: c.numLayers }, () => new Float64Array(c.numExperts)) };
}

export function parameterCount(p: LMParams): number {
  return treeLeaves(p as never).reduce((s, t) => s + t.size, 0);
}

/** What a forward pass returns besides the logits: each layer's gate output and aux losses. */
export interface LMForward {
  /** [B·T, V] next-character logits. */
  readonly logits: Tensor;
  /** Per layer: the gate output (weights, indices, scores, plan). */
  readonly gates: GateOutput[];
  /** Per layer: tokens routed to each expert (for loss-free balancing and utilisation). */
  readonly loads: Float64Array[];
  /** Sum over layers of the Switch aux loss (0 for the sigmoid gate). */
  readonly aux: Tensor;
}

/**
 * Forward pass on B sequences of T ids (row-major [B, T] in `ids`). With `training`, dropout draws
 * from `rng`; without it, dropout is the identity.
 */
export function forwardLM(p: LMParams, c: LMConfig, state: LMState, ids: Int32Array, B: number, T: number, opts: { training: boolean; rng?: Rng }): LMForward {
  const D = c.dModel, H = c.numHeads, dh = D / H;
  const posIds = Int32Array.from({ length: B * T }, (_, i) => i % T);
  let x = p.pos ? add(embedding(p.tok, ids), embedding(p.pos, posIds)) : embedding(p.tok, ids); // [B·T, D]
  const rope = (t: Tensor) => (c.positions === 'rotary' ? rotaryEmbedding(t) : t);
  const drop = (t: Tensor) => (c.dropout > 0 && opts.training ? dropout(t, c.dropout, { rng: opts.rng!, training: true }) : t);
  const gates: GateOutput[] = [], loads: Float64Array[] = [];
  let aux: Tensor | null = null;
  const moeConfig = moeConfigOf(c);
  p.blocks.forEach((blk, l) => {
    const h = layerNorm(x, blk.ln1.g, blk.ln1.b);
    const heads = (w: Tensor) => permute(reshape(matmul(h, w), [B, T, H, dh]), [0, 2, 1, 3]); // [B, H, T, dh]
    const a = scaledDotProductAttention(rope(heads(blk.attn.wq)), rope(heads(blk.attn.wk)), heads(blk.attn.wv), { causal: true });
    x = add(x, drop(matmul(reshape(permute(a, [0, 2, 1, 3]), [B * T, D]), blk.attn.wo)));
    const out = MoELayer.apply(blk.moe, layerNorm(x, blk.ln2.g, blk.ln2.b), moeConfig, c.gate === 'normalizedSigmoid' ? { bias: state.biases[l]! } : {});
    x = add(x, drop(out.y));
    gates.push(out.gate); loads.push(out.aux.load);
    if (c.gate !== 'normalizedSigmoid' && c.auxCoef > 0) aux = aux ? add(aux, out.aux.switchLoss) : out.aux.switchLoss;
  });
  const logits = matmul(layerNorm(x, p.lnF.g, p.lnF.b), p.head);
  return { logits, gates, loads, aux: aux ?? zeros([], c.dtype) };
}

/** Training objective: mean next-character cross-entropy (nats) + auxCoef · Σ_layers Switch loss. */
export function lossLM(p: LMParams, c: LMConfig, state: LMState, ids: Int32Array, targets: Int32Array, B: number, T: number, opts: { training: boolean; rng?: Rng }): { loss: Tensor; ce: Tensor; fwd: LMForward } {
  const fwd = forwardLM(p, c, state, ids, B, T, opts);
  const ce = crossEntropy(fwd.logits, targets);
  const loss = c.gate !== 'normalizedSigmoid' && c.auxCoef > 0 ? add(ce, scale(fwd.aux, c.auxCoef)) : ce;
  return { loss, ce, fwd };
}

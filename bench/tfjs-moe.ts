/**
 * The bench's MoE layer written in tfjs, as a tfjs user would: Mixtral-style top-k softmax router
 * (softmax renormalised over the k chosen logits), E routed FFN experts d→h→d with ReLU, one shared
 * expert, y = Σ_k w_k·expert_k(x) + shared(x). Routing indices are integers read back from `topk`
 * (not differentiated, as in moegrad); tokens are gathered per expert (sorted by expert), and the
 * weighted expert outputs are permuted back to token order and summed over the k choices.
 * Forward + backward by tf.variableGrads.
 */
import * as tf from '@tensorflow/tfjs-core';

export interface MoeBenchConfig { T: number; d: number; h: number; E: number; K: number; shared: number }

export interface TfMoe {
  /** One forward + backward step of loss = Σ y ⊙ gy; returns the loss value. */
  step(): number;
  dispose(): void;
}

/**
 * Row permutation with a hand-written gradient: y[r] = x[idx[r]], dx[j] = dy[inv[j]] (inv = idx⁻¹).
 * tfjs's own gather gradient needs UnsortedSegmentSum, which the wasm backend does not register;
 * a permutation's gradient is just the inverse permutation, a plain (forward) gather.
 */
export function permuteRows(x: tf.Tensor2D, idx: tf.Tensor1D, inv: tf.Tensor1D): tf.Tensor2D {
  const f = tf.customGrad(((src: tf.Tensor) => ({
    value: tf.gather(src, idx),
    gradFunc: (dy: tf.Tensor) => [tf.gather(dy, inv)],
  })) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(x) as tf.Tensor2D;
}

export function makeTfMoe(cfg: MoeBenchConfig, seed: number): TfMoe {
  const { T, d, h, E, K } = cfg;
  const init = (shape: number[], fanIn: number, s: number): tf.Variable =>
    tf.variable(tf.randomNormal(shape, 0, 1 / Math.sqrt(fanIn), 'float32', seed + s));
  const router = init([d, E], d, 1);
  const experts = Array.from({ length: E + cfg.shared }, (_, e) => ({
    w1: init([d, h], d, 10 + 4 * e), b1: tf.variable(tf.zeros([h])),
    w2: init([h, d], h, 11 + 4 * e), b2: tf.variable(tf.zeros([d])),
  }));
  const x = tf.randomNormal([T, d], 0, 1, 'float32', seed + 2);
  const gy = tf.randomNormal([T, d], 0, 1, 'float32', seed + 3);
  const ffn = (e: number, rows: tf.Tensor2D): tf.Tensor2D => {
    const p = experts[e]!;
    return tf.add(tf.matMul(tf.relu(tf.add(tf.matMul(rows, p.w1), p.b1)), p.w2), p.b2);
  };

  return {
    step() {
      return tf.tidy(() => {
        // routing decisions (integers, off the tape): top-k expert per token, sorted by expert
        const logitsNoGrad = tf.matMul(x, router);
        const chosen = tf.topk(logitsNoGrad, K).indices.dataSync() as Int32Array;
        const counts = new Int32Array(E);
        for (const e of chosen) counts[e]!++;
        const offsets = new Int32Array(E + 1);
        for (let e = 0; e < E; e++) offsets[e + 1] = offsets[e]! + counts[e]!;
        const fill = offsets.slice(0, E);
        const tokenOfSlot = new Int32Array(T * K), choiceOfSlot = new Int32Array(T * K);
        for (let i = 0; i < T * K; i++) {
          const s = fill[chosen[i]!]!++;
          tokenOfSlot[s] = (i / K) | 0;
          choiceOfSlot[s] = i; // flat index into the [T, K] weights
        }
        const slotOfChoice = new Int32Array(T * K);
        choiceOfSlot.forEach((i, sl) => { slotOfChoice[i] = sl; });
        const oneHot = new Float32Array(T * K * E);
        chosen.forEach((e, i) => { oneHot[i * E + e] = 1; });
        const tokenIdx = tf.tensor1d(tokenOfSlot, 'int32');
        const choiceIdx = tf.tensor1d(choiceOfSlot, 'int32'), slotIdx = tf.tensor1d(slotOfChoice, 'int32');
        const pick = tf.tensor3d(oneHot, [T, K, E]);

        const { grads, value } = tf.variableGrads(() => {
          const logits = tf.matMul(x, router);
          // the K chosen logits per token (one-hot contraction), softmax renormalised over them
          const weights = tf.softmax(tf.sum(tf.mul(tf.expandDims(logits, 1), pick), 2), 1);
          const xs = tf.gather(x, tokenIdx) as tf.Tensor2D; // x is data: no gradient through this gather
          // per-expert blocks with tf.split (its gradient is one concat, cheaper than a pad per slice)
          const used = Array.from({ length: E }, (_, e) => e).filter((e) => offsets[e + 1]! > offsets[e]!);
          const blocks = tf.split(xs, used.map((e) => offsets[e + 1]! - offsets[e]!), 0) as tf.Tensor2D[];
          const outs = used.map((e, i) => ffn(e, blocks[i]!));
          const wSlot = permuteRows(tf.reshape(weights, [T * K, 1]), choiceIdx, slotIdx);
          const weighted = tf.mul(tf.concat(outs, 0), wSlot) as tf.Tensor2D;
          let y = tf.sum(tf.reshape(permuteRows(weighted, slotIdx, choiceIdx), [T, K, d]), 1);
          for (let s = 0; s < cfg.shared; s++) y = tf.add(y, ffn(E + s, x as tf.Tensor2D));
          return tf.sum(tf.mul(y, gy)) as tf.Scalar;
        });
        for (const g of Object.values(grads)) g.dataSync(); // make sure the backward really ran
        return value.dataSync()[0]!;
      });
    },
    dispose() {
      tf.dispose([router, x, gy, ...experts.flatMap((p) => [p.w1, p.b1, p.w2, p.b2])]);
    },
  };
}

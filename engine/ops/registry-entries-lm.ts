/**
 * Registry entries for the language-model ops (engine/ops/norm.ts, attention.ts, embedding.ts, rotary.ts): how
 * to draw a valid float64 case. Domains:
 *  - layerNorm/rmsNorm: rows of D ≥ 2 values in [−2, 2] whose spread is ≥ 0.3 (so r = 1/σ ≤ ~7 and the
 *    second derivatives, ∝ r², stay where central differences are accurate); weight/bias present or not;
 *  - attention: scores are bounded (|q|, |k| ≤ 1.5), causal or not, with a random 0/1 mask that keeps
 *    at least key 0 for every query (a fully masked row is an error);
 *  - rotaryEmbedding: even feature sizes, offsets 0–4, base 10000 or 10 (large angles too);
 *  - dropout: the mask is drawn from a seed closed over in `run`, so every call sees the same mask.
 */
import { Tensor, rand, fromData } from '../tensor.js';
import { Rng } from '../rng.js';
import { sizeOf } from '../shape.js';
import type { OpSpec } from './registry.js';
import { layerNorm, rmsNorm } from './norm.js';
import { scaledDotProductAttention } from './attention.js';
import { embedding, dropout } from './embedding.js';
import { rotaryEmbedding } from './rotary.js';

const dim = (rng: Rng, size: number, lo = 1, hi = 5) => lo + rng.int(Math.max(1, Math.min(size, hi) - lo + 1));
const fmt = (s: readonly number[]) => `[${s.join(', ')}]`;
const bool = (rng: Rng) => rng.uniform() < 0.5;

/** x [..., D] (rank 1–3, D ≥ 2) with every row's max − min ≥ 0.3. */
function spreadRows(rng: Rng, size: number): Tensor {
  const D = dim(rng, size, 3, 6); // D = 2 is degenerate for layerNorm: x̂ = ±1 up to ε, a Jacobian of size ~ε
  const lead = Array.from({ length: rng.int(3) }, () => dim(rng, size, 1, 3));
  for (;;) {
    const x = rand(rng, [...lead, D], -2, 2);
    let ok = true;
    for (let o = 0; o < x.size; o += D) {
      const row = Array.from(x.data.subarray(o, o + D));
      if (Math.max(...row) - Math.min(...row) < 0.3) ok = false;
    }
    if (ok) return x;
  }
}

function normEntry(name: 'layerNorm' | 'rmsNorm'): OpSpec {
  return {
    name, family: 'normalization',
    sample: (rng, size) => {
      const x = spreadRows(rng, size);
      const D = x.shape[x.rank - 1]!;
      const withW = bool(rng), withB = name === 'layerNorm' && bool(rng);
      const inputs = [x, ...(withW ? [rand(rng, [D], 0.5, 1.5)] : []), ...(withB ? [rand(rng, [D], -1, 1)] : [])];
      const run = (ts: readonly Tensor[]) => {
        const w = withW ? ts[1]! : null, b = withB ? ts[withW ? 2 : 1]! : null;
        return name === 'layerNorm' ? layerNorm(ts[0]!, w, b) : rmsNorm(ts[0]!, w);
      };
      return { inputs, run, label: `x ${fmt(x.shape)}, weight ${withW}, bias ${withB}` };
    },
  };
}

/** Every differentiable LM op with its test domain (appended to ENGINE_OPS in engine/ops/registry.ts). */
export const LM_OP_ENTRIES: OpSpec[] = [
  {
    name: 'embedding', family: 'index',
    sample: (rng, size) => {
      const V = dim(rng, size, 1, 6), D = dim(rng, size, 1, 4);
      const ids = Int32Array.from({ length: 1 + rng.int(2 * size) }, () => rng.int(V)); // repeats accumulate
      const table = rand(rng, [V, D], -2, 2);
      return { inputs: [table], run: ([t]) => embedding(t!, ids), label: `table ${fmt(table.shape)}, ids ${fmt(Array.from(ids))}` };
    },
  },
  normEntry('layerNorm'),
  normEntry('rmsNorm'),
  {
    name: 'scaledDotProductAttention', family: 'attention',
    sample: (rng, size) => {
      const lead = Array.from({ length: rng.int(2) }, () => dim(rng, size, 1, 2)); // one batch·head axis at most: keeps the 100 cases fast
      const Tq = dim(rng, size, 1, 4), dk = dim(rng, size, 1, 3), dv = dim(rng, size, 1, 3);
      const causal = bool(rng);
      const Tk = causal ? Tq : dim(rng, size, 1, 4);
      const withMask = bool(rng);
      const maskShape = [Tq, Tk];
      const mask = withMask ? fromData(Float64Array.from({ length: sizeOf(maskShape) }, (_, at) => (at % Tk === 0 || bool(rng) ? 1 : 0)), maskShape) : null;
      const q = rand(rng, [...lead, Tq, dk], -1.5, 1.5), k = rand(rng, [...lead, Tk, dk], -1.5, 1.5), v = rand(rng, [...lead, Tk, dv], -2, 2);
      return {
        inputs: [q, k, v], run: ([a, b, c]) => scaledDotProductAttention(a!, b!, c!, { causal, mask }),
        label: `q ${fmt(q.shape)}, k ${fmt(k.shape)}, v ${fmt(v.shape)}, causal ${causal}${mask ? `, mask ${fmt(Array.from(mask.data))}` : ''}`,
      };
    },
  },
  {
    name: 'rotaryEmbedding', family: 'attention',
    sample: (rng, size) => {
      const shape = [...(bool(rng) ? [dim(rng, size, 1, 2)] : []), dim(rng, size, 1, 4), 2 * dim(rng, size, 1, 3)];
      const offset = rng.int(5), base = [10000, 10][rng.int(2)]!;
      const x = rand(rng, shape, -2, 2);
      return { inputs: [x], run: ([a]) => rotaryEmbedding(a!, { base, offset }), label: `x ${fmt(shape)}, base ${base}, offset ${offset}` };
    },
  },
  {
    name: 'dropout', family: 'elementwise',
    sample: (rng, size) => {
      const shape = Array.from({ length: 1 + rng.int(2) }, () => dim(rng, size));
      const p = [0.1, 0.5, 0.8][rng.int(3)]!, seed = rng.int(1 << 30);
      const x = rand(rng, shape, -2, 2);
      return { inputs: [x], run: ([a]) => dropout(a!, p, { rng: new Rng(seed) }), label: `x ${fmt(shape)}, p ${p}, seed ${seed}` };
    },
  },
];

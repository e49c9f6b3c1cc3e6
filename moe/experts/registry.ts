/**
 * Registry entries for the grouped-GEMM variants and the fused expert-FFN epilogue (listed in
 * MOE_OPS, so the registry gradcheck/JVP tests and `npm run certify` check them, first and second
 * order). Segments are drawn with empty experts allowed; relu's inputs keep |u| > 1e-3 away from
 * its kink so finite differences never cross it.
 */
import type { OpSpec } from '../../engine/ops/registry.js';
import { Rng, Tensor, randn, fromData } from '../../engine/index.js';
import { segmentMatmulT } from './segment-matmul.js';
import { swiglu, swigluDGate, swigluDUp } from './swiglu.js';
import { segmentBiasAct, segmentLinearAct, actGrad, segmentColumnSum, segmentRows, type FusedAct } from './fused-ffn.js';

/** A dimension in [lo, min(size, hi)]. */
const dim = (rng: Rng, size: number, lo: number, hi: number) => lo + rng.int(Math.max(1, Math.min(size, hi) - lo + 1));

/** E experts with 0..3 rows each (at least one row in all): offsets [E+1]. */
function sampleOffsets(rng: Rng, size: number): { offsets: Int32Array; E: number; S: number } {
  const E = dim(rng, size, 1, 4);
  const offsets = new Int32Array(E + 1);
  do { for (let e = 0; e < E; e++) offsets[e + 1] = offsets[e]! + rng.int(4); } while (offsets[E] === 0);
  return { offsets, E, S: offsets[E]! };
}

const text = (offsets: Int32Array, extra: string) => `offsets [${[...offsets].join(', ')}]${extra}`;

/** Normal draws pushed away from 0 by `gap` (relu's kink). */
function awayFromZero(rng: Rng, shape: number[], gap: number): Tensor {
  const t = randn(rng, shape);
  const d = Float64Array.from(t.data, (v) => (Math.abs(v) < gap ? Math.sign(v || 1) * (gap + Math.abs(v)) : v));
  return fromData(d, shape);
}

const ACTS: FusedAct[] = ['identity', 'relu', 'gelu', 'tanh', 'sigmoid'];

export const FUSED_FFN_OPS: OpSpec[] = [
  {
    name: 'segmentMatmulT', family: 'moe-expert',
    sample: (rng, size) => {
      const { offsets, E, S } = sampleOffsets(rng, size);
      const D = dim(rng, size, 1, 3), H = dim(rng, size, 1, 3);
      return { inputs: [randn(rng, [S, H]), randn(rng, [E, D, H])], run: ([x, w]) => segmentMatmulT(x!, w!, offsets), label: text(offsets, ` D=${D} H=${H}`) };
    },
  },
  ...ACTS.map((act): OpSpec => ({
    name: `segmentBiasAct:${act}`, family: 'moe-expert',
    sample: (rng, size) => {
      const { offsets, E, S } = sampleOffsets(rng, size);
      const H = dim(rng, size, 1, 3);
      // relu: b = 0 keeps u = z, drawn away from the kink; b is still a differentiated input
      const z = act === 'relu' ? awayFromZero(rng, [S, H], 0.05) : randn(rng, [S, H]);
      const b = act === 'relu' ? fromData(new Float64Array(E * H), [E, H]) : randn(rng, [E, H]);
      return { inputs: [z, b], run: ([zi, bi]) => segmentBiasAct(zi!, bi!, offsets, act), label: text(offsets, ` H=${H} ${act}`) };
    },
  })),
  ...ACTS.map((act): OpSpec => ({
    name: `segmentLinearAct:${act}`, family: 'moe-expert',
    sample: (rng, size) => {
      const { offsets, E, S } = sampleOffsets(rng, size);
      const D = dim(rng, size, 1, 3), H = dim(rng, size, 1, 3);
      const x = randn(rng, [S, D]), w = randn(rng, [E, D, H]);
      // relu: b drawn, then each pre-activation kept ≥ 0.05 from the kink by shifting b's column
      const b = randn(rng, [E, H]);
      if (act === 'relu') {
        const z = segmentLinearAct(x, w, fromData(new Float64Array(E * H), [E, H]), offsets, 'identity').data;
        for (let e = 0; e < E; e++) for (let j = 0; j < H; j++) {
          for (let guard = 0; guard < 50; guard++) {
            let ok = true;
            for (let r = offsets[e]!; r < offsets[e + 1]!; r++) if (Math.abs(z[r * H + j]! + b.data[e * H + j]!) < 0.05) ok = false;
            if (ok) break;
            b.data[e * H + j] = b.data[e * H + j]! + 0.11;
          }
        }
      }
      return { inputs: [x, w, b], run: ([xi, wi, bi]) => segmentLinearAct(xi!, wi!, bi!, offsets, act), label: text(offsets, ` D=${D} H=${H} ${act}`) };
    },
  })),
  ...ACTS.filter((a) => a !== 'identity').map((act): OpSpec => ({
    name: `actGrad:${act}`, family: 'moe-expert',
    sample: (rng, size) => {
      const shape = [dim(rng, size, 1, 4), dim(rng, size, 1, 3)];
      // s is y = φ(u): relu's y away from 0 (its φ' jumps there), sigmoid's y in (0, 1), tanh's in (−1, 1)
      const u = awayFromZero(rng, shape, 0.05);
      const s = act === 'sigmoid' ? fromData(u.data.map((v) => 1 / (1 + Math.exp(-v))), shape)
        : act === 'tanh' ? fromData(u.data.map(Math.tanh), shape) : u;
      return { inputs: [randn(rng, shape), s], run: ([dy, si]) => actGrad(dy!, si!, act), label: `[${shape.join(', ')}] ${act}` };
    },
  })),
  {
    name: 'swiglu', family: 'moe-expert',
    sample: (rng, size) => {
      const shape = [dim(rng, size, 1, 4), dim(rng, size, 1, 3)];
      return { inputs: [randn(rng, shape, 1.5), randn(rng, shape)], run: ([g, u]) => swiglu(g!, u!), label: `[${shape.join(', ')}]` };
    },
  },
  {
    name: 'swigluDGate', family: 'moe-expert',
    sample: (rng, size) => {
      const shape = [dim(rng, size, 1, 4), dim(rng, size, 1, 3)];
      return { inputs: [randn(rng, shape), randn(rng, shape, 1.5), randn(rng, shape)], run: ([a, g, b]) => swigluDGate(a!, g!, b!), label: `[${shape.join(', ')}]` };
    },
  },
  {
    name: 'swigluDUp', family: 'moe-expert',
    sample: (rng, size) => {
      const shape = [dim(rng, size, 1, 4), dim(rng, size, 1, 3)];
      return { inputs: [randn(rng, shape), randn(rng, shape, 1.5)], run: ([a, g]) => swigluDUp(a!, g!), label: `[${shape.join(', ')}]` };
    },
  },
  {
    name: 'segmentColumnSum', family: 'moe-expert',
    sample: (rng, size) => {
      const { offsets, S } = sampleOffsets(rng, size);
      const H = dim(rng, size, 1, 3);
      return { inputs: [randn(rng, [S, H])], run: ([x]) => segmentColumnSum(x!, offsets), label: text(offsets, ` H=${H}`) };
    },
  },
  {
    name: 'segmentRows', family: 'moe-expert',
    sample: (rng, size) => {
      const { offsets, E } = sampleOffsets(rng, size);
      const H = dim(rng, size, 1, 3);
      return { inputs: [randn(rng, [E, H])], run: ([b]) => segmentRows(b!, offsets), label: text(offsets, ` H=${H}`) };
    },
  },
];

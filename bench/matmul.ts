/**
 * Matmul GFLOP/s: every moegrad backend (listBackends(), plus the forced CPU paths) against
 * tfjs-core's cpu backend and tfjs-backend-wasm, same process, interleaved, medians.
 * Each timed call includes what a user pays: moegrad copies into wasm memory / packs B / copies C
 * out; tfjs creates two tensors, multiplies, reads back with dataSync and disposes.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { Rng, listBackends, useBackend, getBackend, registerBackend, type MatmulBackend } from '../engine/index.js';
import { createCpuBackend, wasmGemm } from '../engine/backend/cpu.js';
import { interleaved, type Contestant } from './timing.js';
import { registerTfGradients } from './tfjs-grads.js';

export interface MatmulRow { n: number; dtype: 'float32' | 'float64'; label: string; describe: string; gflops: number | null; note?: string }

let tfReady: Promise<void> | undefined;
/** Initialises both tfjs backends once (wasm needs an async instantiate). */
export function initTf(): Promise<void> {
  tfReady ??= (async () => {
    await registerTfGradients();
    await tf.setBackend('wasm'); await tf.ready();
    await tf.setBackend('cpu'); await tf.ready();
  })();
  return tfReady;
}

export async function tfBackend(name: 'cpu' | 'wasm'): Promise<void> {
  if (tf.getBackend() !== name) await tf.setBackend(name);
}

/** moegrad backends to time: registered ones, the forced CPU paths, and gpu.js (default mode) if it loads. */
function moegradBackends(log: (s: string) => void): MatmulBackend[] {
  registerBackend(createCpuBackend({ mode: 'js', name: 'cpu-js' }));
  registerBackend(createCpuBackend({ mode: 'wasm', name: 'cpu-wasm-1thread' }));
  const prev = getBackend();
  try { useBackend('gpujs'); } catch (e) { log(`  gpujs not available: ${(e as Error).message.split('\n')[0]}`); }
  useBackend(prev);
  const out: MatmulBackend[] = [];
  for (const name of listBackends()) {
    if (name === 'auto') continue; // `auto` is one of the others after calibration
    const prevB = useBackend(name);
    out.push(getBackend());
    useBackend(prevB);
  }
  return out;
}

export async function benchMatmul(sizes: number[], reps: number, log: (s: string) => void): Promise<MatmulRow[]> {
  await initTf();
  wasmGemm()?.threadsReady(10_000);
  const backends = moegradBackends(log);
  const rows: MatmulRow[] = [];
  for (const n of sizes) {
    for (const dtype of ['float32', 'float64'] as const) {
      log(`matmul ${n}×${n}×${n} ${dtype}: ${backends.length} moegrad backends${dtype === 'float32' ? ' + tfjs cpu + tfjs wasm' : ''}`);
      const rng = new Rng(n);
      const make = (): Float32Array | Float64Array => (dtype === 'float32' ? new Float32Array(n * n) : new Float64Array(n * n));
      const a = make(), b = make(), out = make();
      for (let i = 0; i < n * n; i++) { a[i] = rng.uniform() * 2 - 1; b[i] = rng.uniform() * 2 - 1; }
      const a32 = Float32Array.from(a), b32 = Float32Array.from(b);
      const contestants: Contestant[] = backends.map((be) => ({ label: be.name, run: () => be.matmul(a, b, out, 1, n, n, n) }));
      // tfjs has no float64: its float32 figures (timed in the float32 round) are the peer for both dtypes
      for (const name of dtype === 'float32' ? (['cpu', 'wasm'] as const) : []) {
        contestants.push({
          label: `tfjs-${name}`,
          prepare: () => tfBackend(name),
          run: () => {
            const x = tf.tensor2d(a32, [n, n]), y = tf.tensor2d(b32, [n, n]);
            const z = tf.matMul(x, y);
            z.dataSync();
            tf.dispose([x, y, z]);
          },
        });
      }
      const maxMs = n >= 1024 ? 6000 : 3000;
      const res = await interleaved(contestants, reps, 1, maxMs, log);
      res.forEach((r, i) => {
        const be = backends[i];
        rows.push({
          n, dtype, label: r.label,
          describe: be ? be.describe() : `${r.label} float32`,
          gflops: r.ms === null ? null : (2 * n ** 3) / (r.ms * 1e6),
          ...(r.note ? { note: r.note } : {}),
        });
      });
      for (const r of rows.filter((x) => x.n === n && x.dtype === dtype)) log(`    ${r.label.padEnd(20)} ${r.gflops === null ? r.note : `${r.gflops.toFixed(2)} GFLOP/s`}  [${r.describe}]`);
    }
  }
  return rows;
}

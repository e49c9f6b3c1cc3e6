/**
 * `moegrad bench [--quick]` from an installed package: the part of the benchmarks that needs no peer
 * library — moegrad's matmul GFLOP/s on the active backend and its MoE layer forward+backward tokens/s,
 * medians, with the machine and its load printed. The comparisons against tfjs, jax-js and PyTorch
 * (devDependencies) are bench/run.ts, `npm run bench` in a source checkout.
 */
import os from 'node:os';
import { Rng, randn, matmul, sum, mul, valueAndGrad, getBackend, type Tensor } from '../engine/index.js';
import { MoELayer, type MoELayerConfig, type MoELayerParams } from '../moe/layer/layer.js';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Median wall time in ms of `reps` runs after one untimed warm-up run. */
function timeMs(fn: () => unknown, reps: number): number {
  fn();
  const ts: number[] = [];
  for (let r = 0; r < reps; r++) { const t0 = performance.now(); fn(); ts.push(performance.now() - t0); }
  return median(ts);
}

function machineLine(): string {
  const cpus = os.cpus();
  return `${cpus[0]?.model ?? 'unknown CPU'}, ${cpus.length} logical cores (${os.availableParallelism()} available), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB RAM, `
    + `Node ${process.version}, ${os.type()} ${os.release()}; load average ${os.loadavg().map((l) => l.toFixed(2)).join(' / ')}`;
}

/** Runs the self-contained benchmarks; returns the exit code (2 on a usage error). */
export async function runBenchLite(argv: readonly string[]): Promise<number> {
  const unknown = argv.filter((a) => a !== '--quick');
  if (unknown.length > 0) {
    process.stderr.write(`bench: unknown argument(s) ${unknown.join(' ')}\nusage: moegrad bench [--quick]\n`);
    return 2;
  }
  const quick = argv.includes('--quick');
  const sizes = quick ? [128, 256] : [128, 256, 512];
  const reps = quick ? 3 : 7;
  console.log('moegrad bench (self-contained subset from the installed package)');
  console.log(`machine: ${machineLine()}`);
  console.log(`backend: ${getBackend().describe()}`);
  const rng = new Rng(1);
  for (const dtype of ['float32', 'float64'] as const) {
    for (const n of sizes) {
      const a = randn(rng, [n, n], 1, dtype), b = randn(rng, [n, n], 1, dtype);
      const ms = timeMs(() => matmul(a, b), reps);
      console.log(`matmul ${String(n).padStart(4)}×${n} ${dtype}: ${(2 * n ** 3 / (ms * 1e6)).toFixed(2).padStart(8)} GFLOP/s (${ms.toFixed(2)} ms, median of ${reps})`);
    }
  }
  const cfg = { T: quick ? 256 : 1024, d: 128, h: 256, E: 8, K: 2 };
  const config: MoELayerConfig = {
    dModel: cfg.d, dHidden: cfg.h, numExperts: cfg.E, topK: cfg.K, numShared: 1, expert: 'relu', dtype: 'float32',
    gate: { kind: 'softmaxTopK', numExperts: cfg.E, topK: cfg.K },
  };
  const params = MoELayer.init(rng, config);
  const x = randn(rng, [cfg.T, cfg.d], 1, 'float32'), gy = randn(rng, [cfg.T, cfg.d], 1, 'float32');
  const step = valueAndGrad((p: MoELayerParams): Tensor => sum(mul(MoELayer.apply(p, x, config).y, gy)));
  const ms = timeMs(() => step(params), reps);
  console.log(`MoE layer T=${cfg.T} d=${cfg.d} h=${cfg.h} E=${cfg.E} top-${cfg.K} +1 shared, relu experts, float32, forward+backward: `
    + `${(cfg.T / (ms / 1000)).toFixed(0)} tokens/s (${ms.toFixed(1)} ms/step, median of ${reps})`);
  console.log("peer comparisons (tfjs, jax-js, PyTorch) need a source checkout: 'npm run bench'");
  return 0;
}

/**
 * MoE layer forward + backward tokens/s, float32: moegrad's MoELayer against the same layer in
 * @jax-js/jax (bench/jax-moe.ts), PyTorch (bench/torch_moe.py, when importable) and tfjs-wasm
 * (bench/tfjs-moe.ts), interleaved round by round, medians. Run as thread groups, each in its own
 * process (jax-js sizes its worker pool once per process): group 1 = every contestant on one thread,
 * group 2 = two threads each (moegrad's GEMM workers, jax-js's 2-worker pool, torch's settings).
 * Also: peak RSS per token (separate processes, one contestant each) and the (T, E) scaling table.
 *   npx tsx bench/moe.ts --group 1|2 [--T 4096] [--reps 5]   → JSON on stdout
 *   npx tsx bench/moe.ts --rss [--T 4096] [--E 16]            → moegrad's peak RSS after 3 steps
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Rng, randn, sum, mul, valueAndGrad, withBackend, createCpuBackend, type Tensor } from '../engine/index.js';
import { MoELayer } from '../moe/index.js';
import type { MoeBenchConfig } from './tfjs-moe.js';
import { interleaved, loadAverage, type Contestant } from './timing.js';
import { TORCH_SETTINGS, TorchServer, torchMissing, torchDescribe, torchOneShot } from './torch.js';

export interface MoeRow { label: string; tokensPerSec: number | null; msPerStep: number | null; describe: string; note?: string }
export interface MoeGroup { threads: 1 | 2; config: MoeBenchConfig; rows: MoeRow[]; load: [number, number] }

const HERE = fileURLToPath(import.meta.url);

/**
 * One moegrad fwd+bwd step of loss = Σ y ⊙ gy on a CPU backend with `threads` threads;
 * `reuseIntermediates`: valueAndGrad's option (the loss keeps none of its intermediates).
 */
export function moegradStep(cfg: MoeBenchConfig, threads: number, reuseIntermediates = false): () => void {
  const config = {
    dModel: cfg.d, dHidden: cfg.h, numExperts: cfg.E, topK: cfg.K, numShared: cfg.shared,
    gate: { kind: 'topKSoftmax', numExperts: cfg.E, topK: cfg.K }, expert: 'relu', dtype: 'float32',
  } as const;
  const rng = new Rng(1);
  const params = MoELayer.init(rng, config);
  const x = randn(rng, [cfg.T, cfg.d], 1, 'float32'), gy = randn(rng, [cfg.T, cfg.d], 1, 'float32');
  const backend = createCpuBackend({ threads, name: `cpu-${threads}t` });
  const step = valueAndGrad((p: typeof params) => sum(mul(MoELayer.apply(p, x, config).y, gy)) as Tensor, { reuseIntermediates });
  return () => { withBackend(backend, () => step(params)); };
}

/** Runs one thread group in this process (contestants interleaved). */
async function runGroup(cfg: MoeBenchConfig, threads: 1 | 2, reps: number, log: (s: string) => void): Promise<MoeGroup> {
  const load0 = loadAverage();
  const contestants: Contestant[] = [], describes: string[] = [];
  contestants.push({ label: `moegrad (${threads} thr)`, run: moegradStep(cfg, threads) });
  describes.push(`MoELayer, topKSoftmax gate, relu experts, float32, cpu backend with ${threads} thread${threads > 1 ? 's' : ''}`);
  contestants.push({ label: `moegrad (${threads} thr, reuseIntermediates)`, run: moegradStep(cfg, threads, true) });
  describes.push('the same with `valueAndGrad(loss, { reuseIntermediates: true })` (the loss keeps none of its intermediates)');
  const jaxMoe = await import('./jax-moe.js');
  const { installWorkerShim, loadJax, makeJaxMoe } = jaxMoe;
  if (threads > 1) installWorkerShim(threads);
  const jax = await loadJax(log);
  if (jax) {
    const m = makeJaxMoe(jax, cfg, 7);
    contestants.push({ label: `jax-js (${threads} thr)`, run: () => m.step() });
    describes.push(`@jax-js/jax ${threads > 1 ? `wasm, ${threads}-worker pool (worker_threads shim)` : 'wasm, no worker pool'}, same layer (bench/jax-moe.ts), valueAndGrad`);
  }
  const servers: TorchServer[] = [];
  const missing = torchMissing();
  if (!missing) {
    const ver = torchDescribe();
    for (const s of TORCH_SETTINGS[threads]) {
      const srv = new TorchServer(cfg, s);
      await srv.ready();
      servers.push(srv);
      contestants.push({ label: s.label, run: () => srv.step() });
      describes.push(`PyTorch ${ver}, bench/torch_moe.py`);
    }
  } else log(`  torch: ${missing}`);
  if (threads === 1) {
    const { makeTfMoe } = await import('./tfjs-moe.js');
    const { initTf, tfBackend } = await import('./matmul.js');
    await initTf();
    const tfm = makeTfMoe(cfg, 7);
    contestants.push({ label: 'tfjs-wasm (1 thr)', prepare: () => tfBackend('wasm'), run: () => tfm.step() });
    describes.push('tfjs wasm backend (1 thread in Node), same layer (bench/tfjs-moe.ts)');
  }
  const res = await interleaved(contestants, reps, 1, 120_000, log);
  for (const s of servers) s.stop();
  if (threads > 1 && jax && jaxMoe.shimWorkers === 0) describes[1] += ' (the pool did not start: ran on the main thread)';
  return {
    threads, config: cfg, load: [load0, loadAverage()],
    rows: res.map((r, i) => ({ label: r.label, msPerStep: r.ms, tokensPerSec: r.ms === null ? null : cfg.T / (r.ms / 1000), describe: describes[i]!, ...(r.note ? { note: r.note } : {}) })),
  };
}

function child(argv: string[]): unknown {
  const r = spawnSync(process.execPath, ['--import', 'tsx', HERE, ...argv], { encoding: 'utf8', maxBuffer: 1 << 24 });
  const line = r.stdout.trim().split('\n').at(-1) ?? '';
  try { return JSON.parse(line); } catch { throw new Error(`bench/moe.ts ${argv.join(' ')} failed: ${r.stderr.split('\n').slice(-4).join(' ')}`); }
}

/** Both thread groups, each in a child process. */
export function benchMoeGroups(cfg: MoeBenchConfig, reps: number, log: (s: string) => void): MoeGroup[] {
  return ([1, 2] as const).map((t) => {
    log(`MoE layer, ${t}-thread group (child process), T=${cfg.T} E=${cfg.E}`);
    const g = child(['--group', String(t), '--T', String(cfg.T), '--E', String(cfg.E), '--reps', String(reps)]) as MoeGroup;
    for (const r of g.rows) log(`    ${r.label.padEnd(50)} ${r.tokensPerSec === null ? r.note : `${r.tokensPerSec.toFixed(0)} tokens/s`}`);
    return g;
  });
}

export interface ScalingRow { T: number; E: number; tokensPerSec: number; rssKbPerToken: number; torchTokensPerSec: number | null; torchRssKbPerToken: number | null; load: number }

/** moegrad (2 threads) and torch (best 2-thread setting given) over T × E, each in a fresh process. */
export function benchScaling(base: MoeBenchConfig, Ts: number[], Es: number[], torchSetting: (typeof TORCH_SETTINGS)[2][number] | null, log: (s: string) => void): ScalingRow[] {
  const rows: ScalingRow[] = [];
  for (const T of Ts) {
    for (const E of Es) {
      const r = child(['--rss', '--T', String(T), '--E', String(E)]) as { ms: number; maxRssKb: number };
      const cfg = { ...base, T, E };
      const t = torchSetting && !torchMissing() ? torchOneShot(cfg, torchSetting, 3) : null;
      const tt = t && typeof t !== 'string' ? t : null;
      rows.push({ T, E, tokensPerSec: T / (r.ms / 1000), rssKbPerToken: r.maxRssKb / T, torchTokensPerSec: tt ? T / (tt.ms / 1000) : null, torchRssKbPerToken: tt ? tt.maxRssKb / T : null, load: loadAverage() });
      log(`  scaling T=${T} E=${E}: moegrad ${(T / (r.ms / 1000)).toFixed(0)} tokens/s, ${(r.maxRssKb / T).toFixed(1)} KB/token${tt ? `; torch ${(T / (tt.ms / 1000)).toFixed(0)} tokens/s, ${(tt.maxRssKb / T).toFixed(1)} KB/token` : ''}`);
    }
  }
  return rows;
}

if (process.argv[1] === HERE) {
  const arg = (k: string, d: number): number => { const i = process.argv.indexOf(k); return i >= 0 ? Number(process.argv[i + 1]) : d; };
  const cfg: MoeBenchConfig = { T: arg('--T', 4096), d: 256, h: 512, E: arg('--E', 16), K: 2, shared: 1 };
  const log = (s: string): void => { process.stderr.write(`${s}\n`); };
  if (process.argv.includes('--rss')) {
    const step = moegradStep(cfg, 2);
    const times: number[] = [];
    for (let i = 0; i < 4; i++) { const t = performance.now(); step(); if (i > 0) times.push(performance.now() - t); }
    times.sort((a, b) => a - b);
    process.stdout.write(`${JSON.stringify({ ms: times[1], maxRssKb: process.resourceUsage().maxRSS })}\n`);
  } else {
    const g = await runGroup(cfg, arg('--group', 1) === 2 ? 2 : 1, arg('--reps', 5), log);
    process.stdout.write(`${JSON.stringify(g)}\n`);
  }
  process.exit(0);
}

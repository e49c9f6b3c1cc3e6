/**
 * `npx tsx bench/elementwise.ts [--quick] [--rss-only]`: elementwise kernels, small-tensor overhead and
 * backward memory (issue 15). Prints a plain-text table to stdout (load average included; the machine
 * may be shared, so compare the ratios within one run, not absolute figures across runs).
 *
 *  1. ns/element for add / mul / exp on [8192, 512] float32 and float64, contiguous and row-broadcast
 *     ([8192, 512] op [512]). Contestants, interleaved: the engine op, the pre-issue-15 path (one
 *     shared loop calling a closure per element, after materialising the broadcast — kept here as
 *     the reference), and a plain typed loop (the floor).
 *  2. A chain of 1000 elementwise ops on a [16] float64 tensor, forward alone and value + gradient.
 *  3. The Gaussian-MoE NLL through the tape (moe/stats gaussianMoENllTape, n = 1e4, float64,
 *     3 routed relu experts + 2 shared, softmax gate), value + gradient.
 *  4. Peak RSS (a fresh child process each, so one measurement cannot inherit another's heap) of
 *     3 MoE layer fwd+bwd steps, float32, T=4096 d=256 h=512 E=16 top-2 + 1 shared (the bench config).
 */
import os from 'node:os';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  Rng, randn, add, mul, exp, sum, valueAndGrad, fromData, noGrad, type Tensor, type TypedArray,
} from '../engine/index.js';
import { interleaved, type Contestant } from './timing.js';

const quick = process.argv.includes('--quick');
const REPS = quick ? 5 : 9;
const log = (s: string): void => { process.stderr.write(`${s}\n`); };

// ---------- 1. kernels ----------

/** The pre-issue-15 elementwise path: broadcast materialised, then one closure call per element. */
function closureBinary(a: TypedArray, b: TypedArray, rowLen: number | null, f: (u: number, v: number) => number): TypedArray {
  let bb = b;
  if (rowLen !== null) { // materialise the row broadcast, as broadcastTo did
    bb = new (a.constructor as Float64ArrayConstructor)(a.length);
    for (let i = 0; i < a.length; i++) bb[i] = b[i % rowLen]!;
  }
  const out = new (a.constructor as Float64ArrayConstructor)(a.length);
  for (let i = 0; i < a.length; i++) out[i] = f(a[i]!, bb[i]!);
  return out;
}
function closureUnary(a: TypedArray, f: (v: number) => number): TypedArray {
  const out = new (a.constructor as Float64ArrayConstructor)(a.length);
  for (let i = 0; i < a.length; i++) out[i] = f(a[i]!);
  return out;
}
/** Plain typed loops, one per op (the floor V8 can reach without SIMD). */
function plainAdd(a: TypedArray, b: TypedArray, out: TypedArray): void { for (let i = 0; i < out.length; i++) out[i] = a[i]! + b[i]!; }
function plainMul(a: TypedArray, b: TypedArray, out: TypedArray): void { for (let i = 0; i < out.length; i++) out[i] = a[i]! * b[i]!; }
function plainExp(a: TypedArray, out: TypedArray): void { for (let i = 0; i < out.length; i++) out[i] = Math.exp(a[i]!); }

interface Row { what: string; cells: { label: string; value: string }[] }
const rows: Row[] = [];

async function benchKernels(): Promise<void> {
  const M = 8192, N = 512, n = M * N;
  const fAdd = (u: number, v: number) => u + v, fMul = (u: number, v: number) => u * v;
  // Make the reference loop's call site megamorphic, as it is in a real program using many ops.
  for (const f of [fAdd, fMul, (u: number, v: number) => u - v, (u: number, v: number) => u / v]) closureBinary(new Float64Array(8), new Float64Array(8), null, f);
  for (const dtype of ['float32', 'float64'] as const) {
    const rng = new Rng(1);
    const A = randn(rng, [M, N], 1, dtype), B = randn(rng, [M, N], 1, dtype), R = randn(rng, [N], 1, dtype);
    const Ctor = dtype === 'float32' ? Float32Array : Float64Array;
    const cases: { what: string; engine: () => unknown; ref: () => unknown; plain: () => unknown }[] = [
      { what: `add ${dtype} [8192,512]+[8192,512]`, engine: () => add(A, B), ref: () => closureBinary(A.data, B.data, null, fAdd), plain: () => plainAdd(A.data, B.data, new Ctor(n)) },
      { what: `add ${dtype} [8192,512]+[512]`, engine: () => add(A, R), ref: () => closureBinary(A.data, R.data, N, fAdd), plain: () => plainAdd(A.data, B.data, new Ctor(n)) },
      { what: `mul ${dtype} [8192,512]*[8192,512]`, engine: () => mul(A, B), ref: () => closureBinary(A.data, B.data, null, fMul), plain: () => plainMul(A.data, B.data, new Ctor(n)) },
      { what: `mul ${dtype} [8192,512]*[512]`, engine: () => mul(A, R), ref: () => closureBinary(A.data, R.data, N, fMul), plain: () => plainMul(A.data, B.data, new Ctor(n)) },
      { what: `exp ${dtype} [8192,512]`, engine: () => exp(A), ref: () => closureUnary(A.data, Math.exp), plain: () => plainExp(A.data, new Ctor(n)) },
    ];
    for (const c of cases) {
      const res = await interleaved([
        { label: 'engine', run: c.engine }, { label: 'old closure path', run: c.ref }, { label: 'plain loop', run: c.plain },
      ], REPS, 2, 60_000);
      const ns = res.map((r) => (r.ms === null ? NaN : (r.ms * 1e6) / n));
      rows.push({ what: c.what, cells: res.map((r, i) => ({ label: r.label, value: `${ns[i]!.toFixed(2)} ns/el` })).concat([{ label: 'speed-up vs old', value: `${(ns[1]! / ns[0]!).toFixed(2)}×` }]) });
      log(`${c.what}: ${res.map((r, i) => `${r.label} ${ns[i]!.toFixed(2)}`).join(', ')} ns/el`);
    }
  }
}

// ---------- 2. small tensors ----------

/** 1000 elementwise ops on a small tensor: (x·c + d), then exp/log-free mixing so values stay finite. */
function chain(x: Tensor, c: Tensor): Tensor {
  let y = x;
  for (let i = 0; i < 250; i++) y = add(mul(y, c), mul(exp(mul(y, -0.001)), 0.001));
  return y;
}

async function benchSmall(): Promise<void> {
  const rng = new Rng(2);
  const x = randn(rng, [16]), c = fromData(new Float64Array(16).fill(0.999), [16]);
  const vg = valueAndGrad((t: Tensor) => sum(chain(t, c)));
  const res = await interleaved([
    { label: 'forward (no tape)', run: () => noGrad(() => chain(x, c)) },
    { label: 'value+grad', run: () => vg(x) },
  ], REPS * 3, 60, 60_000);
  for (const r of res) {
    rows.push({ what: `1000-op chain [16] f64, ${r.label}`, cells: [{ label: 'ms', value: r.ms!.toFixed(3) }, { label: 'µs/op', value: ((r.ms! * 1000) / 1000).toFixed(2) }] });
    log(`chain ${r.label}: ${r.ms!.toFixed(3)} ms`);
  }
}

// ---------- 3. tape NLL ----------

async function benchNll(): Promise<void> {
  const stats = await import('../moe/stats/index.js');
  const d = 2;
  const ex = (k: number, bias: boolean) => Array.from({ length: d + (bias ? 2 : 1) }, (_, t) => Math.sin(3 * k + t + 1));
  const m = {
    d, gate: 'softmax' as const, sharedExpert: { family: 'relu' as const, bias: true }, routedExpert: { family: 'relu' as const, bias: false },
    shared: [{ weight: 0.3, expert: ex(0, true), variance: 0.3 }, { weight: 0.7, expert: ex(1, true), variance: 0.5 }],
    routed: [0, 1, 2].map((j) => ({ beta0: 0.3 * j - 0.2, beta1: Array.from({ length: d }, (_, t) => Math.cos(j + 2 * t)), expert: ex(j + 2, false), variance: 0.2 + 0.1 * j })),
  };
  const n = 10_000;
  const { x, y } = stats.sampleGaussianMoE(m, n, new Rng(3));
  const X = fromData(x, [n, d]), Y = fromData(y, [n]);
  const p = stats.tapeParamsFromFlat(m, stats.packModel(m));
  const vg = valueAndGrad((q: typeof p) => stats.gaussianMoENllTape(m, q, X, Y));
  const res = await interleaved([{ label: 'value+grad', run: () => vg(p) }], REPS * 2, 3, 60_000);
  rows.push({ what: 'Gaussian-MoE NLL tape n=1e4 f64, value+grad', cells: [{ label: 'ms', value: res[0]!.ms!.toFixed(2) }] });
  log(`tape NLL: ${res[0]!.ms!.toFixed(2)} ms`);
}

// ---------- 4. peak RSS ----------

/** In a child: 3 MoE layer steps, then prints the process's peak RSS (KiB). */
async function rssChild(): Promise<void> {
  const moe = (await import('../moe/index.js')) as unknown as {
    MoELayer: { init(rng: Rng, c: object): unknown; apply(p: unknown, x: Tensor, c: object): { y: Tensor } };
    makeGate?: (c: object) => unknown;
  };
  const T = 4096, dm = 256, h = 512, E = 16;
  const gateConfig = { kind: 'topKSoftmax', numExperts: E, topK: 2 };
  const config = { dModel: dm, dHidden: h, numExperts: E, topK: 2, numShared: 1, gate: moe.makeGate ? moe.makeGate(gateConfig) : gateConfig, expert: 'relu', dtype: 'float32' };
  const rng = new Rng(1);
  const params = moe.MoELayer.init(rng, config);
  const x = randn(rng, [T, dm], 1, 'float32'), gy = randn(rng, [T, dm], 1, 'float32');
  const step = valueAndGrad((q: never) => sum(mul(moe.MoELayer.apply(q, x, config).y, gy)));
  const before = process.resourceUsage().maxRSS; // Node + modules + parameters + inputs
  for (let i = 0; i < 3; i++) step(params as never);
  process.stdout.write(`${before} ${process.resourceUsage().maxRSS}\n`);
}

function benchRss(): void {
  const self = fileURLToPath(import.meta.url);
  const runs: [number, number][] = [];
  for (let r = 0; r < (quick ? 1 : 3); r++) {
    const res = spawnSync(process.execPath, [...process.execArgv, self, '--rss-child'], { encoding: 'utf8' });
    const v = res.stdout.trim().split('\n').pop()!.split(' ').map(Number);
    if (v.length !== 2 || !v.every(Number.isFinite)) { log(`rss child failed: ${res.stderr.split('\n').slice(0, 3).join(' ')}`); return; }
    runs.push([v[0]!, v[1]!]);
  }
  runs.sort((a, b) => a[1] - b[1]);
  const [init, peak] = runs[runs.length >> 1]!;
  rows.push({ what: 'peak RSS, 3 MoE layer steps f32 T=4096 (fresh process)', cells: [
    { label: 'MiB', value: (peak / 1024).toFixed(0) }, { label: 'KB/token', value: ((peak * 1.024) / 4096).toFixed(1) },
    { label: 'before the steps MiB', value: (init / 1024).toFixed(0) }, { label: 'step increment KB/token', value: (((peak - init) * 1.024) / 4096).toFixed(1) },
  ] });
  log(`peak RSS: ${(peak / 1024).toFixed(0)} MiB, ${(init / 1024).toFixed(0)} MiB before the steps (${runs.map((k) => (k[1] / 1024).toFixed(0)).join(', ')})`);
}

if (process.argv.includes('--rss-child')) {
  await rssChild();
} else {
  const load0 = os.loadavg().map((l) => l.toFixed(2)).join(' / ');
  const only = process.argv.find((a) => a.startsWith('--only='))?.slice(7);
  if (!only || only === 'kernels') await benchKernels();
  if (!only || only === 'small') await benchSmall();
  if (!only || only === 'nll') await benchNll();
  if (!only || only === 'rss') benchRss();
  const load1 = os.loadavg().map((l) => l.toFixed(2)).join(' / ');
  console.log(`elementwise bench, Node ${process.version}, ${os.cpus()[0]?.model ?? '?'}, load ${load0} at start, ${load1} at end`);
  for (const r of rows) console.log(`${r.what.padEnd(52)} ${r.cells.map((c) => `${c.label}: ${c.value}`).join(' | ')}`);
}

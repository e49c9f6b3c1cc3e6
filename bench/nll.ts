/**
 * The tape Gaussian-MoE NLL + gradient against PyTorch autograd (issue 15's "tape NLL" goal), side by
 * side: moe/stats gaussianMoENllTape at n = 1e4, float64 (d = 2, 2 shared ReLU experts with bias,
 * 3 routed ReLU experts, softmax gate — the model of bench/elementwise.ts), `valueAndGrad` on
 * moegrad's tape, and the same formula in bench/torch_nll.py (`loss.backward()`), on the same data and
 * parameters (written to a temporary JSON file). PyTorch runs as persistent processes (one per thread
 * setting) that do one step per request, interleaved round by round with moegrad (the 2-thread one in
 * a second phase); its time is the one it measures itself (perf_counter around the step), so the pipe
 * round trip is not charged to it.
 * Before timing, the values and gradients of both are compared.
 *   npx tsx bench/nll.ts [--reps 15]   → Markdown on stdout
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng, fromData, valueAndGrad } from '../engine/index.js';
import { interleaved, loadAverage, median, type Contestant } from './timing.js';
import { torchMissing, torchDescribe } from './torch.js';

const HERE = fileURLToPath(import.meta.url);
const SCRIPT = join(dirname(HERE), 'torch_nll.py');
const NAMES = ['sharedLogits', 'sharedExpert', 'sharedLogVar', 'beta0', 'beta1', 'routedExpert', 'routedLogVar'] as const;

/** A torch_nll.py process: one value+grad step per call, timed by torch itself. */
class TorchNll {
  private readonly proc: ChildProcessWithoutNullStreams;
  private readonly lines: AsyncIterator<string>;
  readonly times: number[] = [];
  constructor(file: string, readonly threads: number) {
    const env = { ...process.env };
    for (const k of ['OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'MKL_NUM_THREADS']) env[k] = String(threads);
    this.proc = spawn('/usr/bin/python3', [SCRIPT, file, 'serve', String(threads)], { env });
    this.lines = createInterface({ input: this.proc.stdout })[Symbol.asyncIterator]();
  }
  private async next(): Promise<string> {
    const r = await this.lines.next();
    if (r.done) throw new Error(`torch_nll.py (${this.threads} thr) ended`);
    return r.value;
  }
  /** The first step's value and flat gradient. */
  async ready(): Promise<{ value: number; grad: number[] }> {
    const line = await this.next();
    const m = /^ready value=(\S+) grad=(\S*)$/.exec(line);
    if (!m) throw new Error(`torch_nll.py: unexpected first line ${line.slice(0, 80)}`);
    return { value: Number(m[1]), grad: m[2]!.split(',').map(Number) };
  }
  async step(): Promise<void> {
    this.proc.stdin.write('step\n');
    this.times.push(Number(/ms=([\d.]+)/.exec(await this.next())?.[1]));
  }
  stop(): void { this.proc.stdin.end(); this.proc.kill(); }
}

/** Runs the comparison; returns the section's Markdown (table and notes). */
export async function benchNllVsTorch(reps: number, log: (s: string) => void = () => {}): Promise<string> {
  const stats = await import('../moe/stats/index.js');
  const d = 2, n = 10_000;
  const ex = (k: number, bias: boolean) => Array.from({ length: d + (bias ? 2 : 1) }, (_, t) => Math.sin(3 * k + t + 1));
  const m = {
    d, gate: 'softmax' as const, sharedExpert: { family: 'relu' as const, bias: true }, routedExpert: { family: 'relu' as const, bias: false },
    shared: [{ weight: 0.3, expert: ex(0, true), variance: 0.3 }, { weight: 0.7, expert: ex(1, true), variance: 0.5 }],
    routed: [0, 1, 2].map((j) => ({ beta0: 0.3 * j - 0.2, beta1: Array.from({ length: d }, (_, t) => Math.cos(j + 2 * t)), expert: ex(j + 2, false), variance: 0.2 + 0.1 * j })),
  };
  const { x, y } = stats.sampleGaussianMoE(m, n, new Rng(3));
  const X = fromData(x, [n, d]), Y = fromData(y, [n]);
  const p = stats.tapeParamsFromFlat(m, stats.packModel(m));
  const vg = valueAndGrad((q: typeof p) => stats.gaussianMoENllTape(m, q, X, Y));
  // the same with the caller's promise that the loss keeps none of its intermediates (GradOptions)
  const vgReuse = valueAndGrad((q: typeof p) => stats.gaussianMoENllTape(m, q, X, Y), { reuseIntermediates: true });
  const { value, grad: g } = vg(p);
  const mine = NAMES.flatMap((k) => [...g[k].data]);
  const again = NAMES.flatMap((k) => [...vgReuse(p).grad[k].data]);
  if (again.some((v, i) => !Object.is(v, mine[i]))) throw new Error('bench/nll.ts: reuseIntermediates changed the gradient bits');

  const load0 = loadAverage();
  const contestants: Contestant[] = [
    { label: 'moegrad tape (valueAndGrad)', run: () => vg(p) },
    { label: 'moegrad tape (valueAndGrad, reuseIntermediates)', run: () => vgReuse(p) },
  ];
  const describe = ['gaussianMoENllTape + valueAndGrad, float64, JS (no GEMM threading at these sizes)',
    'the same with `{ reuseIntermediates: true }`: the buffers of the loss\'s intermediates go to the buffer pool after each walk (bits equal)'];
  const servers: TorchNll[] = [];
  const notes: string[] = [];
  const missing = torchMissing();
  const dir = mkdtempSync(join(tmpdir(), 'moegrad-nll-'));
  try {
    if (!missing) {
      const file = join(dir, 'nll.json');
      const params = Object.fromEntries(NAMES.map((k) => [k, { shape: p[k].shape, data: [...p[k].data] }]));
      writeFileSync(file, JSON.stringify({ d, n, x: [...x], y: [...y], params }));
      const ver = torchDescribe();
      for (const threads of [1, 2]) {
        const srv = new TorchNll(file, threads);
        const ref = await srv.ready();
        servers.push(srv);
        let maxAbs = 0, scaleG = 0;
        ref.grad.forEach((v, i) => { maxAbs = Math.max(maxAbs, Math.abs(v - mine[i]!)); scaleG = Math.max(scaleG, Math.abs(v)); });
        if (threads === 1) notes.push(`Agreement: NLL ${value.item().toFixed(12)} (moegrad) vs ${ref.value.toFixed(12)} (PyTorch), |Δ| = ${Math.abs(value.item() - ref.value).toExponential(1)}; gradient (${mine.length} entries) max |Δ| = ${maxAbs.toExponential(1)} (max |grad| ${scaleG.toFixed(3)}).`);
        contestants.push({ label: `PyTorch autograd, ${threads} thread${threads > 1 ? 's' : ''}`, run: () => srv.step() });
        describe.push(`torch ${ver}, set_num_threads(${threads}), BLAS ${threads}, bench/torch_nll.py (loss.backward(); its own step time)`);
      }
    } else notes.push(`PyTorch not run: ${missing}.`);
    // Phase 1: both moegrad settings and the 1-thread torch, interleaved (10 warm-ups: with 3,
    // moegrad's median still carried JIT warm-up). Phase 2: the 2-thread torch, interleaved with
    // moegrad (reuse) again but reported apart, so that its OpenMP threads, which keep spinning
    // after each step on 2 cores, cannot touch the 1-thread comparison.
    const res = await interleaved(contestants.slice(0, 3), reps, 10, 60_000, log);
    const torchMs = (i: number) => (servers[i]!.times.length ? median(servers[i]!.times.slice(-reps)) : null);
    const ms: (number | null)[] = res.map((r, i) => (i < 2 ? r.ms : torchMs(i - 2)));
    if (contestants.length > 3) {
      const res2 = await interleaved([contestants[1]!, contestants[3]!], reps, 3, 60_000, log);
      ms.push(torchMs(1));
      res.push(res2[1]!);
      notes.push(`The 2-thread torch row comes from a second interleaved phase (kept apart from the 1-thread comparison: its OpenMP threads keep spinning after each step); moegrad's median (reuseIntermediates) in that phase was ${res2[0]!.ms!.toFixed(2)} ms.`);
    }
    const load1 = loadAverage();
    const mineMs = ms[0]!;
    const rows = res.map((r, i) => `| ${r.label} | ${ms[i] === null ? (r.note ?? '—') : ms[i]!.toFixed(2)} | ${ms[i] && mineMs ? (ms[i]! / mineMs).toFixed(2) + '×' : '—'} | ${describe[i]} |`);
    const torchBest = ms.slice(2).filter((v): v is number => v !== null && v > 0);
    const ratio = (v: number | null) => (torchBest.length && v ? (Math.min(...torchBest) / v).toFixed(2) + '×' : '—');
    const goal = torchBest.length ? `moegrad ÷ PyTorch's best setting = **${ratio(ms[1]!)}** with reuseIntermediates, ${ratio(mineMs)} without (goal ≥ 0.5×, i.e. within 2× of PyTorch).` : '';
    return [`_1-minute load average ${load0.toFixed(2)} → ${load1.toFixed(2)}; medians of ${reps} interleaved rounds after 10 warm-ups._`, '',
      '| implementation | ms / value+grad | moegrad (default) speed ÷ this | what ran |', '|---|---:|---:|---|', ...rows, '', goal, '', ...notes.flatMap((x) => [x, ''])].join('\n').trimEnd();
  } finally {
    for (const s of servers) s.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === HERE) {
  const i = process.argv.indexOf('--reps');
  process.stdout.write(`${await benchNllVsTorch(i >= 0 ? Number(process.argv[i + 1]) : 15, (s) => process.stderr.write(`${s}\n`))}\n`);
  process.exit(0);
}

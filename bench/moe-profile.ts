/**
 * Where one MoE step's time goes: the bench layer (f32, fwd+bwd, moegrad backend on 1 thread, so
 * all work is on the profiled main thread) under V8's sampling profiler (`--cpu-prof`), self time
 * summed by where the sampled function lives:
 *   GEMM kernel      — the generated wasm micro-kernel and its task loop
 *   GEMM wasm extras — the module's other functions: B packing, operand transposes, bias epilogue
 *   GEMM host        — engine/backend/** JS: copies into and out of wasm memory, packing tails
 *   fused FFN        — moe/experts/fused-ffn.ts (bias + activation and its backward)
 *   elementwise      — engine/ops/** other than matmul (arithmetic, broadcasting, reductions,
 *                      layout), and eval'd functions without a URL (the generated elementwise kernels)
 *   MoE glue         — moe/** else (gates, routing plan, dispatch / combine, losses)
 *   autodiff / tensor — engine/*.ts (tape, autodiff, tensor allocation and checks)
 *   GC               — (garbage collector); other — the rest (runtime, builtins, program)
 *   npx tsx bench/moe-profile.ts [--T 4096] [--steps 8] [--reuse] [--top 30]   → Markdown table on stdout
 *   (--reuse: valueAndGrad with reuseIntermediates; --top: also the functions with the most self time, `name file`)
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = fileURLToPath(import.meta.url);
interface Node { id: number; callFrame: { functionName: string; url: string }; children?: number[] }
interface Profile { nodes: Node[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number }

export const CATEGORIES = ['GEMM kernel (wasm)', 'GEMM packing, transposes, epilogue (wasm)', 'GEMM host (JS copies in and out)', 'fused FFN epilogue', 'elementwise / layout (engine/ops)', 'MoE glue (gate, dispatch, combine)', 'autodiff / tensor (engine/*.ts)', 'GC', 'other (runtime, builtins)'] as const;

function category(fn: string, url: string): (typeof CATEGORIES)[number] {
  if (fn === '(garbage collector)') return 'GC';
  // the wasm module's functions carry names (its "name" section): gemm_* and run are the micro-kernels
  // and their task loop; pack_*, bias_act_* and transpose_* pack B, add the bias epilogue and transpose
  // operands; relu_grad_* and col_sum_* are the ReLU backward and the bias gradient (not GEMM work:
  // counted with the fused FFN epilogue, as are their host copies, reluGrad and segmentColumnSum in
  // engine/backend)
  if (url.startsWith('wasm://')) {
    if (/^(relu_grad|col_sum)/.test(fn)) return 'fused FFN epilogue';
    return /^(gemm_|run$)/.test(fn) ? 'GEMM kernel (wasm)' : 'GEMM packing, transposes, epilogue (wasm)';
  }
  if (fn === 'reluGrad' || fn === 'segmentColumnSum') return 'fused FFN epilogue';
  // eval'd code has no URL: the engine's generated elementwise kernels (e.g. binaryBlock)
  if (url === '' && !fn.startsWith('(') && fn !== '') return 'elementwise / layout (engine/ops)';
  if (url.includes('/engine/backend/')) return 'GEMM host (JS copies in and out)';
  if (url.includes('/moe/experts/fused-ffn')) return 'fused FFN epilogue';
  if (url.includes('/engine/ops/matmul')) return 'GEMM host (JS copies in and out)';
  if (url.includes('/engine/ops/')) return 'elementwise / layout (engine/ops)';
  if (url.includes('/moe/')) return 'MoE glue (gate, dispatch, combine)';
  if (/\/engine\/[^/]+\.ts/.test(url)) return 'autodiff / tensor (engine/*.ts)';
  return 'other (runtime, builtins)';
}

export interface StepProfile {
  msPerStep: number; shares: Record<string, number>; load: number;
  /** self-time share per sampled function (`name file`), largest first */
  functions: { fn: string; category: string; share: number }[];
}

/**
 * Profiles `steps` steps (after 2 warm-ups) in a child process; returns per-category shares.
 * `reuse`: the step's valueAndGrad gets `{ reuseIntermediates: true }`.
 */
export function profileMoeStep(T: number, steps: number, reuse = false): StepProfile {
  const dir = mkdtempSync(join(tmpdir(), 'moegrad-prof-'));
  try {
    const r = spawnSync(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${dir}`, '--import', 'tsx', HERE, '--child', String(T), String(steps), reuse ? 'reuse' : 'default'], { encoding: 'utf8' });
    const ms = Number(/ms=([\d.]+)/.exec(r.stdout)?.[1]);
    const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
    if (!file || !Number.isFinite(ms)) throw new Error(`profile child failed: ${r.stderr.split('\n').slice(-4).join(' ')}`);
    const p = JSON.parse(readFileSync(join(dir, file), 'utf8')) as Profile;
    const byId = new Map(p.nodes.map((n) => [n.id, n]));
    // only the samples inside the timed steps: the child prints the window as profile-relative µs
    const [w0, w1] = (/window=(\d+),(\d+)/.exec(r.stdout) ?? []).slice(1).map(Number) as [number, number];
    const totals = new Map<string, number>();
    const perFn = new Map<string, { category: string; t: number }>();
    let t = p.startTime, all = 0;
    p.samples.forEach((id, i) => {
      t += p.timeDeltas[i]!;
      const dt = p.timeDeltas[i + 1] ?? 0;
      if (t < w0 || t > w1) return;
      const n = byId.get(id)!;
      if (n.callFrame.functionName === '(idle)') return;
      const c = category(n.callFrame.functionName, n.callFrame.url);
      totals.set(c, (totals.get(c) ?? 0) + dt); all += dt;
      const cf = n.callFrame, key = `${cf.functionName || '(anonymous)'} ${cf.url.replace(/^.*\/(engine|moe|bench)\//, '$1/')}`;
      const e = perFn.get(key) ?? { category: c, t: 0 };
      e.t += dt; perFn.set(key, e);
    });
    const shares: Record<string, number> = {};
    for (const c of CATEGORIES) shares[c] = (totals.get(c) ?? 0) / all;
    const functions = [...perFn].map(([fn, e]) => ({ fn, category: e.category, share: e.t / all })).sort((a, b) => b.share - a.share);
    return { msPerStep: ms, shares, load: Number(/load=([\d.]+)/.exec(r.stdout)?.[1]), functions };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Steps profiled by default (after 2 warm-ups): with 3, the shares moved by ±3 points from run to run. */
export const PROFILE_STEPS = 8;

/** GEMM kernel + wasm extras + host copies: the share of the step the GEMM accounts for. */
export function gemmShare(p: StepProfile): number {
  return p.shares[CATEGORIES[0]]! + p.shares[CATEGORIES[1]]! + p.shares[CATEGORIES[2]]!;
}

/** One column of shares per profile (`labels` head the columns), then the GEMM and non-GEMM totals and ms/step. */
export function profileTable(ps: readonly StepProfile[], labels: readonly string[] = ['share of sampled CPU time']): string {
  const pct = (v: number) => `${(100 * v).toFixed(1)} %`;
  return [
    `| part of the step | ${labels.join(' | ')} |`, `|---|${labels.map(() => '---:').join('|')}|`,
    ...CATEGORIES.map((c) => `| ${c} | ${ps.map((p) => pct(p.shares[c]!)).join(' | ')} |`),
    `| **GEMM total** | ${ps.map((p) => `**${pct(gemmShare(p))}**`).join(' | ')} |`,
    `| **non-GEMM** | ${ps.map((p) => `**${pct(1 - gemmShare(p))}**`).join(' | ')} |`,
    `| ms / step under the profiler | ${ps.map((p) => p.msPerStep.toFixed(0)).join(' | ')} |`,
  ].join('\n');
}

if (process.argv[1] === HERE && process.argv[2] === '--child') {
  const { moegradStep } = await import('./moe.js');
  const { hrtime } = await import('node:process');
  const T = Number(process.argv[3]), steps = Number(process.argv[4]);
  const step = moegradStep({ T, d: 256, h: 512, E: 16, K: 2, shared: 1 }, 1, process.argv[5] === 'reuse');
  step(); step();
  // the profile's timestamps are µs on the same monotonic clock as hrtime
  const w0 = Number(hrtime.bigint() / 1000n), t0 = performance.now();
  for (let i = 0; i < steps; i++) step();
  const ms = (performance.now() - t0) / steps, w1 = Number(hrtime.bigint() / 1000n);
  const os = await import('node:os');
  process.stdout.write(`ms=${ms.toFixed(1)} window=${w0},${w1} load=${os.loadavg()[0]!.toFixed(2)}\n`);
  process.exit(0);
} else if (process.argv[1] === HERE) {
  const i = process.argv.indexOf('--T'), j = process.argv.indexOf('--top'), k = process.argv.indexOf('--steps');
  const p = profileMoeStep(i >= 0 ? Number(process.argv[i + 1]) : 4096, k >= 0 ? Number(process.argv[k + 1]) : PROFILE_STEPS, process.argv.includes('--reuse'));
  process.stdout.write(`${profileTable([p])}\n\n1 thread, under the profiler${process.argv.includes('--reuse') ? ', reuseIntermediates' : ''}, load ${p.load}\n`);
  if (j >= 0) {
    process.stdout.write('\n| function (self time) | part | share |\n|---|---|---:|\n');
    for (const f of p.functions.slice(0, Number(process.argv[j + 1]) || 30)) process.stdout.write(`| \`${f.fn}\` | ${f.category} | ${(100 * f.share).toFixed(1)} % |\n`);
  }
  process.exit(0);
}

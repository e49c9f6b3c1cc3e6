/**
 * `npm run bench [-- --quick] [-- --only moe,profile,...]`: matmul GFLOP/s (every moegrad backend vs
 * tfjs cpu and tfjs wasm), the wasm SIMD ceiling and the GEMM's share of it, the MoE layer
 * forward+backward against @jax-js/jax, PyTorch (when importable) and tfjs-wasm in 1- and 2-thread
 * groups, the (T, E) scaling table with peak RSS per token, the step profile, the tape Gaussian-MoE NLL +
 * gradient vs PyTorch autograd, the char-LM training step vs PyTorch, gradient-certificate
 * time, and the function transforms vs jax-js. Progress goes to stderr; the results are written to
 * bench/RESULTS.md. `--only` regenerates the named sections (matmul, ceiling, moe, scaling, profile,
 * nll, lm, cert, transforms) and keeps the others as they are; every section records its own date and load.
 */
import { writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { benchMatmul, type MatmulRow } from './matmul.js';
import { benchMoeGroups, benchScaling, type MoeGroup, type ScalingRow } from './moe.js';
import { machineLine, loadAverage } from './timing.js';
import { benchCeiling, ceilingTable } from './ceiling.js';
import { PROFILE_STEPS, profileMoeStep, profileTable } from './moe-profile.js';
import { readFileSync, existsSync } from 'node:fs';
import { TORCH_SETTINGS, torchMissing } from './torch.js';
import { benchTransforms } from './transforms.js';

const quick = process.argv.includes('--quick');
const here = dirname(fileURLToPath(import.meta.url));
const t0 = performance.now();
const log = (s: string): void => { process.stderr.write(`[${((performance.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${s}\n`); };

const SIZES = quick ? [128, 256, 512] : [128, 256, 512, 1024];
const REPS = quick ? 5 : 7;
const MOE = { T: quick ? 1024 : 4096, d: 256, h: 512, E: 16, K: 2, shared: 1 };
const MOE_REPS = 5;
const SECTIONS = ['matmul', 'ceiling', 'moe', 'scaling', 'profile', 'nll', 'lm', 'cert', 'transforms'] as const;
type Section = (typeof SECTIONS)[number];
const onlyArg = process.argv.indexOf('--only');
const only = onlyArg >= 0 ? new Set((process.argv[onlyArg + 1] ?? '').split(',')) : null;
if (only) for (const x of only) if (!(SECTIONS as readonly string[]).includes(x)) throw new Error(`--only: unknown section '${x}'; expected some of ${SECTIONS.join(', ')}`);
const wants = (x: Section): boolean => only === null || only.has(x);

interface CertRow { op: string; pass: boolean }
interface Cert { ok: boolean; maxRelError: number; secondOrderMaxRel: number; casesPerOp: number; entries: readonly CertRow[] }
type CertifyFn = (ops: readonly unknown[], options: { onRow?: (row: CertRow) => void }) => Cert;

/** Times the gradient certificate over every registered op (engine + MoE), in process. */
async function certifyTime(): Promise<string> {
  let certify: CertifyFn, ops: unknown[];
  try {
    certify = ((await import('../engine/certify.js')) as unknown as { certify: CertifyFn }).certify;
    ops = [...((await import('../engine/ops/registry.js')) as { ENGINE_OPS: readonly unknown[] }).ENGINE_OPS];
  } catch (e) {
    return `not run: engine/certify.ts is not loadable yet (${(e as Error).message.split('\n')[0]})`;
  }
  let moeNote = ' (engine ops only: moe/registry.ts did not load)';
  try {
    ops.push(...((await import('../moe/registry.js')) as { MOE_OPS: readonly unknown[] }).MOE_OPS);
    moeNote = '';
  } catch { /* engine ops only */ }
  let done = 0;
  const t = performance.now();
  const cert = certify(ops, { onRow: (row) => { done++; if (done % 10 === 0 || !row.pass) log(`  ${done}/${ops.length} ${row.op}${row.pass ? '' : ' FAILED'}`); } });
  const secs = (performance.now() - t) / 1000;
  const failed = cert.entries.filter((r) => !r.pass).map((r) => r.op);
  return `${secs.toFixed(2)} s for ${cert.entries.length} ops × ${cert.casesPerOp} cases, first and second order${moeNote}; `
    + `max relative error ${cert.maxRelError.toExponential(2)} (second order ${cert.secondOrderMaxRel.toExponential(2)}), `
    + (cert.ok ? 'all pass' : `FAILED: ${failed.join(', ')}`);
}

const fmt = (x: number | null | undefined, d = 2): string => (x === null || x === undefined ? '—' : x.toFixed(d));

function matmulTables(rows: MatmulRow[]): string {
  const out: string[] = [];
  const peer = (n: number, label: string): number | null => rows.find((r) => r.n === n && r.dtype === 'float32' && r.label === label)?.gflops ?? null;
  for (const dtype of ['float32', 'float64'] as const) {
    const labels = [...new Set(rows.filter((r) => r.dtype === dtype).map((r) => r.label))];
    out.push(`### ${dtype}: GFLOP/s (2n³ / median time)${dtype === 'float64' ? ' — tfjs has no float64, so ratios are against its float32 figures' : ''}\n`);
    out.push(`| backend | ${SIZES.map((n) => `n = ${n}`).join(' | ')} | what ran at the largest n (describe()) |`);
    out.push(`|---|${SIZES.map(() => '---:').join('|')}|---|`);
    for (const label of labels) {
      const cells = SIZES.map((n) => { const r = rows.find((x) => x.n === n && x.dtype === dtype && x.label === label); return r?.gflops != null ? fmt(r.gflops) : r?.note ?? '—'; });
      const desc = rows.filter((x) => x.dtype === dtype && x.label === label).at(-1)?.describe ?? '';
      out.push(`| ${label} | ${cells.join(' | ')} | \`${desc}\` |`);
    }
    out.push('');
    out.push(`Ratios (moegrad ${dtype} ÷ tfjs float32, > 1 = moegrad faster):\n`);
    out.push(`| backend | ${SIZES.map((n) => `vs tfjs-wasm n = ${n}`).join(' | ')} | ${SIZES.map((n) => `vs tfjs-cpu n = ${n}`).join(' | ')} |`);
    out.push(`|---|${SIZES.map(() => '---:').join('|')}|${SIZES.map(() => '---:').join('|')}|`);
    for (const label of labels.filter((l) => !l.startsWith('tfjs'))) {
      const ratio = (n: number, p: string): string => {
        const g = rows.find((x) => x.n === n && x.dtype === dtype && x.label === label)?.gflops, q = peer(n, p);
        return g != null && q ? `${(g / q).toFixed(2)}×` : '—';
      };
      out.push(`| ${label} | ${SIZES.map((n) => ratio(n, 'tfjs-wasm')).join(' | ')} | ${SIZES.map((n) => ratio(n, 'tfjs-cpu')).join(' | ')} |`);
    }
    out.push('');
  }
  return out.join('\n');
}

function moeTables(groups: MoeGroup[]): string {
  const out: string[] = [];
  for (const g of groups) {
    const mine = g.rows.find((r) => r.label.startsWith('moegrad') && !r.label.includes('reuse'))?.msPerStep ?? null;
    out.push(`### ${g.threads} thread${g.threads > 1 ? 's' : ''} each (1-minute load ${g.load[0].toFixed(2)} → ${g.load[1].toFixed(2)})`, '');
    out.push('| implementation | tokens/s | ms / step | moegrad speed ÷ this | what ran |', '|---|---:|---:|---:|---|');
    for (const r of g.rows) {
      const ratio = r.msPerStep && mine ? `${(r.msPerStep / mine).toFixed(2)}×` : '—';
      out.push(`| ${r.label} | ${r.tokensPerSec === null ? (r.note ?? '—') : r.tokensPerSec.toFixed(0)} | ${fmt(r.msPerStep, 0)} | ${ratio} | ${r.describe} |`);
    }
    out.push('');
  }
  // the goals of issue 15, from the 2-thread group (and the 1-thread one)
  for (const g of groups) {
    const ms = (p: (l: string) => boolean): number | null => { const xs = g.rows.filter((r) => p(r.label) && r.msPerStep !== null).map((r) => r.msPerStep!); return xs.length ? Math.min(...xs) : null; };
    const jax = ms((l) => l.startsWith('jax-js')), torch = ms((l) => l.startsWith('torch'));
    const goals = (mine: number | null) => `÷ jax-js = **${mine && jax ? (jax / mine).toFixed(2) : '—'}×** (goal ≥ 2×), ÷ PyTorch's best setting = **${mine && torch ? (torch / mine).toFixed(2) : '—'}×** (goal ≥ 0.3×)`;
    const mine = ms((l) => l.startsWith('moegrad') && !l.includes('reuse')), reuse = ms((l) => l.startsWith('moegrad') && l.includes('reuse'));
    out.push(`${g.threads}-thread group: moegrad ${goals(mine)}; with reuseIntermediates ${goals(reuse)}.`, '');
  }
  return out.join('\n');
}

function scalingTable(rows: ScalingRow[]): string {
  const f = (x: number | null, d: number): string => (x === null ? '—' : x.toFixed(d));
  // marginal memory per token: (peak RSS at T − at the next smaller T, same E) / ΔT — without the
  // runtime's fixed footprint (Node + V8 + wasm memory, or Python + torch), which dominates small T
  const marginal = (r: ScalingRow, pick: (x: ScalingRow) => number | null): number | null => {
    const prev = rows.filter((x) => x.E === r.E && x.T < r.T).sort((a, b) => b.T - a.T)[0];
    const a = pick(r), b = prev ? pick(prev) : null;
    return prev && a !== null && b !== null ? (a * r.T - b * prev.T) / (r.T - prev.T) : null;
  };
  return ['| T | E | moegrad tokens/s | PyTorch tokens/s | moegrad ÷ PyTorch speed | moegrad peak RSS / token (KB) | PyTorch peak RSS / token (KB) | moegrad marginal KB / token | PyTorch marginal KB / token | load |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map((r) => `| ${r.T} | ${r.E} | ${r.tokensPerSec.toFixed(0)} | ${f(r.torchTokensPerSec, 0)} | ${r.torchTokensPerSec ? (r.tokensPerSec / r.torchTokensPerSec).toFixed(2) + '×' : '—'} | ${r.rssKbPerToken.toFixed(1)} | ${f(r.torchRssKbPerToken, 1)} | ${f(marginal(r, (x) => x.rssKbPerToken), 1)} | ${f(marginal(r, (x) => x.torchRssKbPerToken), 1)} | ${r.load.toFixed(2)} |`)].join('\n');
}

/** "## heading" → section text, from an existing RESULTS.md (to keep sections not regenerated). */
function readSections(file: string): { head: string; sections: Map<string, string> } {
  const sections = new Map<string, string>();
  if (!existsSync(file)) return { head: '', sections };
  const parts = readFileSync(file, 'utf8').split(/\n(?=## )/);
  for (const p of parts.slice(1)) sections.set(p.split('\n')[0]!, p.trimEnd());
  return { head: parts[0]!.trimEnd(), sections };
}

const stamp = (l0: number): string => `_Measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC; 1-minute load average ${l0.toFixed(2)} at the start of this section, ${loadAverage().toFixed(2)} at its end._`;

async function main(): Promise<void> {
  const machine = machineLine();
  const loadStart = loadAverage();
  log(`moegrad bench${quick ? ' (--quick)' : ''}${only ? ` --only ${[...only].join(',')}` : ''} on ${machine}`);
  const file = join(here, 'RESULTS.md');
  const old = readSections(file);
  const fresh = new Map<string, string>();
  const H = {
    matmul: '## Matmul (n×n @ n×n)', ceiling: '## WebAssembly SIMD ceiling and the GEMM', moe: '## MoE layer, forward + backward',
    scaling: '## MoE scaling (T, E) and peak RSS per token', profile: '## Step profile', nll: '## Tape Gaussian-MoE NLL + gradient vs PyTorch autograd',
    lm: '## MoE char LM training step vs PyTorch',
    cert: '## Gradient certificate', transforms: '## Function transforms vs @jax-js/jax',
  } as const;
  if (wants('matmul')) {
    const l0 = loadAverage();
    const matmul = await benchMatmul(SIZES, REPS, log);
    fresh.set(H.matmul, [H.matmul, '', stamp(l0), '',
      'Rows: `cpu` is the default backend (size-dispatched; threaded from 2²² multiply-adds), `cpu-wasm-1thread` the same '
        + 'WebAssembly SIMD kernel on one thread, `cpu-js` the pure-JS fallback, `gpujs` gpu.js in its default mode. '
        + 'tfjs-backend-wasm runs on one thread in Node: its threaded build starts Workers from `blob:` URLs, which Node\'s '
        + 'worker_threads rejects (ERR_WORKER_PATH, checked with WASM_HAS_MULTITHREAD_SUPPORT forced on), so '
        + '`cpu-wasm-1thread` vs `tfjs-wasm` is the like-for-like single-core comparison and `cpu` vs `tfjs-wasm` what a user gets.',
      '', matmulTables(matmul)].join('\n'));
  }
  if (wants('ceiling')) {
    const n = 512;
    log('wasm SIMD ceiling and GEMM (1 thread, with and without FMA)');
    const c = await benchCeiling(n, 15, log);
    fresh.set(H.ceiling, [H.ceiling, '', `_1-minute load average ${c.load[0].toFixed(2)} → ${c.load[1].toFixed(2)}._`, '',
      'bench/ceiling.ts: GFLOP/s on one thread, best of 15 interleaved rounds (on a shared machine the least disturbed run, for ceiling and GEMM alike). The ceiling is a register-only wasm loop '
        + '(10 independent v128 accumulators, acc += a·b as mul + add or as relaxed fused multiply-add): the most this '
        + 'machine\'s V8 lets wasm SIMD do. The GEMM is `WasmGemm.matmul` on n×n×n, copies and packing included. '
        + 'moegrad uses FMA for float32 by '
        + 'default and keeps float64 on mul + add (bit-identical to the JS reference; `MOEGRAD_FMA=all` opts in, '
        + '`MOEGRAD_NO_FMA=1` turns FMA off).', '', ceilingTable(c.rows, n)].join('\n'));
  }
  let groups: MoeGroup[] | null = null;
  if (wants('moe')) {
    const l0 = loadAverage();
    groups = benchMoeGroups(MOE, MOE_REPS, log);
    fresh.set(H.moe, [H.moe, '', stamp(l0), '',
      `T = ${MOE.T} tokens, d = ${MOE.d}, h = ${MOE.h}, E = ${MOE.E} experts, top-${MOE.K}, ${MOE.shared} shared expert, ReLU FFN experts, float32, `
        + `loss = Σ y ⊙ g, forward + backward; medians of ${MOE_REPS} rounds after 1 warm-up, contestants interleaved round by round. `
        + 'Each thread group runs in its own process (jax-js sizes its worker pool once per process; in Node it gets '
        + '`globalThis.navigator` and a worker_threads shim for its Web Workers, bench/jax-moe.ts). PyTorch runs as persistent '
        + 'processes (bench/torch_moe.py serve), one per thread setting: torch\'s intra-op threads and the BLAS pool under it '
        + 'are separate, and `set_num_threads(2)` with a default 2-thread BLAS puts 4 busy threads on 2 cores. PyTorch here is '
        + 'Debian\'s python3-torch 1.13 (built with BLAS_INFO=generic, i.e. whatever libblas.so.3 is: OpenBLAS (pthread) '
        + 'through Debian\'s alternatives; with the reference BLAS it was ~20× slower).', '', moeTables(groups)].join('\n'));
  }
  if (wants('scaling')) {
    const l0 = loadAverage();
    log('MoE scaling over T and E (fresh processes)');
    const best = TORCH_SETTINGS[2][1]!;
    const rows = benchScaling(MOE, quick ? [1024, 2048] : [1024, 4096, 8192], quick ? [8, 16] : [8, 16, 32], torchMissing() ? null : best, log);
    fresh.set(H.scaling, [H.scaling, '', stamp(l0), '',
      `moegrad on 2 threads (default backend), median of 3 steps after 1 warm-up, each (T, E) in a fresh process; peak RSS is the process's `
        + `maxRSS after the steps (runtime included) divided by T. PyTorch: \`${best.label}\` (the best 2-thread setting in the MoE section), `
        + 'also a fresh process per cell (its maxRSS includes the Python interpreter and torch). Same layer as above otherwise.', '', scalingTable(rows)].join('\n'));
  }
  if (wants('profile')) {
    const l0 = loadAverage();
    log('step profile (--cpu-prof, 1 thread)');
    const ps = [profileMoeStep(MOE.T, PROFILE_STEPS), profileMoeStep(MOE.T, PROFILE_STEPS, true)];
    fresh.set(H.profile, [H.profile, '', stamp(l0), '',
      `bench/moe-profile.ts: the MoE section's layer (T = ${MOE.T}), moegrad backend on 1 thread so all the work is on the profiled `
        + `thread, ${PROFILE_STEPS} steps after 2 warm-ups under \`node --cpu-prof\`, each column in its own process: the step as in the MoE section, and the same with `
        + `\`valueAndGrad(loss, { reuseIntermediates: true })\` (the loss keeps none of its intermediates, so their buffers serve the next step); self time of the sampled functions by where they live (GEMM kernel = the `
        + `generated wasm micro-kernel; its packing, operand transposes and bias epilogue are wasm too; GEMM host = engine/backend JS copying into and out of wasm memory). `
        + `Page faults on fresh memory are charged to the function that first writes it.`,
      '', profileTable(ps, ['default', 'reuseIntermediates'])].join('\n'));
  }
  if (wants('nll')) {
    log('tape Gaussian-MoE NLL + gradient vs PyTorch autograd (bench/nll.ts)');
    const { benchNllVsTorch } = await import('./nll.js');
    fresh.set(H.nll, [H.nll, '', stamp(loadAverage()).replace(/; 1-minute load.*$/, '._'), '',
      'bench/nll.ts: moe/stats `gaussianMoENllTape` (the 2505.10860 Gaussian-MoE negative log-likelihood written with engine ops: '
        + 'd = 2, 2 shared ReLU experts with bias, 3 routed ReLU experts, softmax gate), n = 10⁴, float64, value and gradient by '
        + '`valueAndGrad` on the tape, against the same formula in PyTorch autograd (bench/torch_nll.py, `loss.backward()`) on the '
        + 'same data and parameters; torch as persistent processes interleaved round by round, timed by torch itself.', '',
      await benchNllVsTorch(quick ? 7 : 15, log).catch((e: Error) => `failed: ${e.message.split('\n')[0]}`)].join('\n'));
  }
  if (wants('lm')) {
    log('MoE char LM training step vs PyTorch (bench/lm-train.ts)');
    // Imported here: the module reads the corpus (a devDependency) when it loads.
    const { benchLmTrain } = await import('./lm-train.js');
    fresh.set(H.lm, [H.lm, '',
      'bench/lm-train.ts: one training step (forward, backward, clipping, AdamW) of the example LM, and the same model in '
        + 'PyTorch (bench/torch_lm.py: same shapes and parameter count, composed attention since torch 1.13 has no fused SDPA), '
        + 'each contestant a block of timed steps per round, rounds alternating; moegrad runs the default backend (these matmuls '
        + 'are below its threading threshold, so one thread).', '', benchLmTrain(quick ? 2 : 3, quick ? 6 : 12)].join('\n'));
  }
  if (wants('cert')) {
    const l0 = loadAverage();
    log('gradient certificate');
    const cert = await certifyTime().catch((e: Error) => `failed: ${e.message.split('\n')[0]}`);
    log(`  ${cert}`);
    fresh.set(H.cert, [H.cert, '', stamp(l0), '', `\`certify\` (every registered op gradchecked in float64): ${cert}.`].join('\n'));
  }
  if (wants('transforms')) {
    log('function transforms vs @jax-js/jax (quick sizes)');
    const transforms = await benchTransforms(true, log).catch((e: Error) => `failed: ${e.message.split('\n')[0]}`);
    fresh.set(H.transforms, [H.transforms, '',
      'bench/transforms.ts (`npx tsx bench/transforms.ts` for B = 256): per-example gradients of a softmax-regression router '
        + 'loss with `vmap(grad(loss), { inAxes: [null, 0, 0] })` and with a loop of `grad`, and the Jacobian of a dense softmax '
        + 'gate, in both libraries (jax-js 0.1.25 takes 1-D inputs in jacrev/jacfwd, so its gate is applied to the flattened logits).',
      '', transforms].join('\n'));
  }
  const loadEnd = loadAverage();
  // sections in a fixed order: fresh ones, else the old text; the old PyTorch section is now part of the MoE one
  const order = Object.values(H);
  const body = order.map((h) => fresh.get(h) ?? old.sections.get(h)).filter((x): x is string => x !== undefined);
  for (const [h, text] of old.sections) if (!(order as readonly string[]).includes(h) && !(h.startsWith('## PyTorch') && fresh.has(H.moe))) body.push(text);
  const md = [
    '# Benchmark results',
    '',
    `Regenerated by \`npm run bench${quick ? ' -- --quick' : ''}${only ? ` -- --only ${[...only].join(',')}` : ''}\` (${((performance.now() - t0) / 1000).toFixed(0)} s)${only ? '; the other sections are kept from earlier runs, each with its own date and load' : ''}. Do not edit by hand.`,
    '',
    `**Machine:** ${machine}.`,
    '',
    `**Load:** 1-minute load average ${loadStart.toFixed(2)} at the start and ${loadEnd.toFixed(2)} at the end. `
      + (loadStart > 0.5 ? 'The machine was shared with other work while this ran, so absolute figures are inflated by contention; the ratios (measured in the same process, interleaved round by round) are the comparable numbers.' : 'Nothing else was running when the bench started (the end figure includes the bench itself).'),
    '',
    `Method: medians of timed runs after warm-up, contestants interleaved round by round in one process. `
      + 'moegrad matmul timings are `backend.matmul` on typed arrays, including copies into wasm memory, B packing and the copy out; '
      + 'tfjs timings are `tensor2d`×2 + `matMul` + `dataSync` + `dispose`. Inputs U(−1, 1).',
    '',
    ...body.flatMap((b) => [b, '']),
  ].join('\n');
  writeFileSync(file, md);
  log(`wrote ${file}`);
}

await main();
process.exit(0);

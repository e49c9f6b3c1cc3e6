/**
 * `npm run bench [-- --quick]`: matmul GFLOP/s (every moegrad backend vs tfjs cpu and tfjs wasm),
 * MoE layer forward+backward tokens/s (moegrad vs tfjs wasm), gradient-certificate time, and an
 * optional PyTorch ratio. Progress goes to stderr; the results are written to bench/RESULTS.md.
 */
import { writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { benchMatmul, type MatmulRow } from './matmul.js';
import { benchMoe, type MoeResult } from './moe.js';
import { machineLine, loadAverage, timeOnce } from './timing.js';
import { benchTransforms } from './transforms.js';

const quick = process.argv.includes('--quick');
const here = dirname(fileURLToPath(import.meta.url));
const t0 = performance.now();
const log = (s: string): void => { process.stderr.write(`[${((performance.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${s}\n`); };

const SIZES = quick ? [128, 256, 512] : [128, 256, 512, 1024];
const REPS = quick ? 5 : 7;
const MOE = { T: quick ? 1024 : 4096, d: 256, h: 512, E: 16, K: 2, shared: 1 };
const MOE_REPS = 5;

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

function torchRatio(moe: MoeResult): string {
  const probe = spawnSync('/usr/bin/python3', ['-c', 'import torch'], { encoding: 'utf8' });
  if (probe.status !== 0) return 'not run: `/usr/bin/python3 -c "import torch"` fails on this machine (torch is not installed; the bench does not install it).';
  const r = spawnSync('/usr/bin/python3', [join(here, 'torch_moe.py'), String(MOE.T), String(MOE.d), String(MOE.h), String(MOE.E), String(MOE.K), String(MOE.shared), String(MOE_REPS)], { encoding: 'utf8' });
  const ms = Number(/ms_per_step=([\d.]+)/.exec(r.stdout)?.[1]);
  if (!Number.isFinite(ms)) return `failed: ${r.stderr.split('\n').slice(-3).join(' ')}`;
  const ours = moe.rows.find((x) => x.label.startsWith('moegrad'))?.msPerStep;
  return `PyTorch CPU ${ms.toFixed(0)} ms/step (${(MOE.T / (ms / 1000)).toFixed(0)} tokens/s)${ours ? `; moegrad / torch speed ratio ${(ms / ours).toFixed(2)}×` : ''}`;
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

function moeTable(moe: MoeResult): string {
  const peer = moe.rows.find((r) => r.label.startsWith('tfjs'))?.msPerStep;
  const lines = ['| implementation | tokens/s | ms / step | ratio vs tfjs-wasm | what ran |', '|---|---:|---:|---:|---|'];
  for (const r of moe.rows) {
    const ratio = r.msPerStep && peer ? `${(peer / r.msPerStep).toFixed(2)}×` : '—';
    lines.push(`| ${r.label} | ${r.tokensPerSec === null ? (r.note ?? '—') : r.tokensPerSec.toFixed(0)} | ${fmt(r.msPerStep, 0)} | ${ratio} | ${r.describe} |`);
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const machine = machineLine();
  const loadStart = loadAverage();
  log(`moegrad bench${quick ? ' (--quick)' : ''} on ${machine}`);
  const matmul = await benchMatmul(SIZES, REPS, log);
  let moe: MoeResult;
  try {
    moe = await benchMoe(MOE, MOE_REPS, log);
  } catch (e) {
    log(`  MoE section failed: ${(e as Error).stack}`);
    moe = { config: MOE, rows: [{ label: 'MoE section', tokensPerSec: null, msPerStep: null, describe: 'not run', note: `failed: ${(e as Error).message.split('\n')[0]}` }] };
  }
  log('gradient certificate');
  const cert = await certifyTime().catch((e: Error) => `failed: ${e.message.split('\n')[0]}`);
  log(`  ${cert}`);
  log('PyTorch (optional)');
  const torch = torchRatio(moe);
  log(`  ${torch}`);
  log('function transforms vs @jax-js/jax (quick sizes)');
  const transforms = await benchTransforms(true, log).catch((e: Error) => `failed: ${e.message.split('\n')[0]}`);
  const loadEnd = loadAverage();
  const md = [
    '# Benchmark results',
    '',
    `Regenerated by \`npm run bench${quick ? ' -- --quick' : ''}\` (${((performance.now() - t0) / 1000).toFixed(0)} s). Do not edit by hand.`,
    '',
    `**Machine:** ${machine}.`,
    '',
    `**Load:** 1-minute load average ${loadStart.toFixed(2)} at the start and ${loadEnd.toFixed(2)} at the end. `
      + (loadStart > 0.5 ? 'The machine was shared with other work while this ran, so absolute figures are inflated by contention; the ratios (measured in the same process, interleaved round by round) are the comparable numbers.' : 'Nothing else was running when the bench started (the end figure includes the bench itself).'),
    '',
    `Method: medians of ${REPS} timed runs after 1 warm-up, contestants interleaved round by round in one process. `
      + 'moegrad timings are `backend.matmul` on typed arrays, including copies into wasm memory, B packing and the copy out; '
      + 'tfjs timings are `tensor2d`×2 + `matMul` + `dataSync` + `dispose`. Inputs U(−1, 1).',
    '',
    '## Matmul (n×n @ n×n)',
    '',
    'Rows: `cpu` is the default backend (size-dispatched; threaded from 2²² multiply-adds), `cpu-wasm-1thread` the same '
      + 'WebAssembly SIMD kernel on one thread, `cpu-js` the pure-JS fallback, `gpujs` gpu.js in its default mode. '
      + 'tfjs-backend-wasm runs on one thread in Node: its threaded build starts Workers from `blob:` URLs, which Node\'s '
      + 'worker_threads rejects (ERR_WORKER_PATH, checked with WASM_HAS_MULTITHREAD_SUPPORT forced on), so '
      + '`cpu-wasm-1thread` vs `tfjs-wasm` is the like-for-like single-core comparison and `cpu` vs `tfjs-wasm` what a user gets.',
    '',
    matmulTables(matmul),
    '## MoE layer, forward + backward',
    '',
    `T = ${MOE.T} tokens, d = ${MOE.d}, h = ${MOE.h}, E = ${MOE.E} experts, top-${MOE.K}, ${MOE.shared} shared expert, float32, loss = Σ y ⊙ g; medians of ${MOE_REPS} steps.`,
    '',
    moeTable(moe),
    '',
    'Where the tfjs time goes (tf.profile of one step, taken while writing this bench): BatchMatMul is ~95% of it '
      + '(88 products at ~3 GFLOP/s, far below its plain n×n rate above: the backward products use transposed operands).',
    '',
    '## Gradient certificate',
    '',
    `\`certify\` (every registered op gradchecked in float64): ${cert}.`,
    '',
    '## Function transforms vs @jax-js/jax',
    '',
    'bench/transforms.ts (`npx tsx bench/transforms.ts` for B = 256): per-example gradients of a softmax-regression router '
      + 'loss with `vmap(grad(loss), { inAxes: [null, 0, 0] })` and with a loop of `grad`, and the Jacobian of a dense softmax '
      + 'gate, in both libraries (jax-js 0.1.25 takes 1-D inputs in jacrev/jacfwd, so its gate is applied to the flattened logits).',
    '',
    transforms,
    '',
    '## PyTorch (optional)',
    '',
    torch,
    '',
  ].join('\n');
  writeFileSync(join(here, 'RESULTS.md'), md);
  log(`wrote ${join(here, 'RESULTS.md')}`);
}

await main();
process.exit(0);

/**
 * End-to-end demo (`moegrad demo`, `npm start`). Three parts, each a real run:
 *   1. trains a DeepSeek-style MoE layer (shared expert + normalized sigmoid gate + loss-free bias
 *      balancing) on seeded synthetic data, printing loss and router diagnostics;
 *   2. prints the gradient certificate: every registered op (engine + MoE) gradchecked in float64,
 *      first and second order;
 *   3. runs one quick reproduction of 2505.10860 Thm 1 (softmax gating, ReLU experts, MLE) and prints
 *      the fitted rate with its bootstrap interval and where the output went (an SVG plot too when the
 *      optional vega/vega-lite peers are installed).
 * `--skip-reproduce` stops after part 2 (about 20 s instead of about 1–2 minutes).
 * Uses only package code, so it runs from an installed package as well as from a checkout.
 */
import { ENGINE_OPS, certify } from '../engine/index.js';
import { MOE_OPS } from '../moe/registry.js';
import { runMoeLayerDemo } from '../examples/moe-layer.js';

const rule = (title: string) => console.log(`\n== ${title} ${'='.repeat(Math.max(0, 72 - title.length))}`);

/**
 * Runs the demo; returns the process exit code (non-zero if a check failed, 2 on a usage error).
 * `cliMain` is the CLI's entry point for part 3; `moegrad demo` passes its own, because importing
 * cli/moegrad.js from inside the running CLI (still in its top-level await) would never settle.
 */
export async function runDemo(argv: readonly string[] = process.argv.slice(2), cliMain?: (argv: string[]) => Promise<number>): Promise<number> {
  const unknown = argv.filter((a) => a !== '--skip-reproduce');
  if (unknown.length > 0) {
    process.stderr.write(`demo: unknown argument(s) ${unknown.join(' ')}\nusage: moegrad demo [--skip-reproduce]   (from a checkout: npm start [-- --skip-reproduce])\n`);
    return 2;
  }

  rule('1. DeepSeek-style MoE layer: shared expert, normalized sigmoid top-2, loss-free balancing');
  const layer = runMoeLayerDemo({ steps: 150, seed: 7 });
  console.log(`loss ${layer.initialLoss.toFixed(4)} → ${layer.finalLoss.toFixed(4)}; ` +
    `Jain's index of expert load ${layer.initialJain.toFixed(3)} → ${layer.jain.toFixed(3)}; drop rate ${(100 * layer.dropRate).toFixed(1)}%`);

  rule('2. Gradient certificate (float64, central differences, first and second order)');
  const ops = [...ENGINE_OPS, ...MOE_OPS];
  const t0 = performance.now();
  const cert = certify(ops, { casesPerOp: 4, seed: 0 });
  const failed = cert.entries.filter((r) => !r.pass);
  const families = new Map<string, number>();
  for (const r of cert.entries) families.set(r.family, (families.get(r.family) ?? 0) + 1);
  console.log(`${cert.entries.length} ops (${[...families].map(([f, n]) => `${n} ${f}`).join(', ')}), 4 random cases each`);
  console.log(`${cert.entries.length - failed.length}/${cert.entries.length} pass; worst max rel error ${cert.maxRelError.toExponential(2)} ` +
    `(second order ${cert.secondOrderMaxRel.toExponential(2)}; threshold ${cert.threshold.toExponential(0)}); ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  for (const r of failed) console.log(`  FAIL ${r.op}: ${r.worst}`);
  console.log('full table: moegrad certify (from a checkout: npm run certify)');
  if (!cert.ok) return 1;

  if (argv.includes('--skip-reproduce')) return 0;
  rule('3. A small reproduction: 2505.10860 Thm 1 (paper-reported exponent 0.451), 3 reps, n ≤ 1000');
  // Multi-start MLE (near-truth root + 10 random starts) per cell; the ~2-minute quick run is
  // `moegrad reproduce thm1 --quick`, the full sweep drops --quick.
  // The CLI is Node-only (worker threads, file output, vega rendering), so it is loaded here, lazily.
  const run = cliMain ?? (await import('./moegrad.js')).main;
  return run(['reproduce', 'thm1', '--quick', '--reps', '3', '--n-max', '1000', '--out', 'out/demo-thm1']);
}

/**
 * Reproduce one of the 2505.10860 synthetic experiments (Thm 1–4) with the stats toolkit directly,
 * in-process (no worker threads, no files): draws data from the true Gaussian MoE, fits the
 * over-specified model by MLE, measures the Voronoi loss, and fits the rate.
 *
 *   npx tsx examples/reproduce-2505.ts thm1          # small sweep, about a minute
 *
 * For the full sweeps with progress bars, parallel workers, shards and plots use the CLI:
 *   npx tsx cli/moegrad.ts reproduce thm1 [--quick]
 */
import { findExperiment } from '../moe/stats/index.js';

const name = process.argv[2] ?? 'thm1';
const exp = findExperiment(name);
if (!exp) { console.error(`unknown experiment ${name}`); process.exit(2); }
const cells = exp.cells({ quick: true }).filter((c) => c.rep < 3);
const results = cells.map((cell, k) => {
  const r = exp.runCell(cell);
  console.log(`[${k + 1}/${cells.length}] n=${cell.n} rep=${cell.rep}  ${Object.entries(r.metrics).map(([s, v]) => `${s}=${v.toExponential(3)}`).join(' ')}`);
  return r;
});
const summary = exp.summarize(results);
for (const f of summary.fits) {
  console.log(`${f.label}: slope ${f.slope.toFixed(3)} [${f.ci[0].toFixed(3)}, ${f.ci[1].toFixed(3)}] vs ${f.axis === 'n' ? 'log n' : 'log(log n / n)'}${f.reported !== undefined ? ` (paper ${f.reported})` : ''}`);
}

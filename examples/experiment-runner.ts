/**
 * Shared helper for the experiment examples: runs a reduced quick sweep of one experiment
 * in-process (no worker threads, no files) and prints its fitted rates and notes.
 * For the full sweeps with progress bars, parallel workers, shards and SVG plots use the CLI:
 *   npx tsx cli/moegrad.ts reproduce <name> [--quick]
 */
import type { Experiment } from '../moe/stats/experiment.js';

export function runReduced(exp: Experiment, maxReps = 2): void {
  const cells = exp.cells({ quick: true }).filter((c) => c.rep < maxReps);
  console.log(`\n${exp.name}: ${cells.length} cells (quick sweep, first ${maxReps} repetitions), ${exp.paper}`);
  const t0 = Date.now();
  const results = cells.map((c) => exp.runCell(c));
  const summary = exp.summarize(results, { quick: true });
  for (const f of summary.fits) {
    console.log(`  ${f.label}: slope ${f.slope.toFixed(3)} [${f.ci[0].toFixed(3)}, ${f.ci[1].toFixed(3)}] vs log n${f.expected !== undefined ? ` (theory ${f.expected})` : ''}`);
  }
  for (const n of summary.notes ?? []) console.log(`  note: ${n}`);
  console.log(`  ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

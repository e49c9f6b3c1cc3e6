/**
 * Sweep worker (worker_threads): receives { experiment, cell } messages, runs the cell with the
 * experiment looked up by name in the registry (or a --module file), and posts back { result } or { error }.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { Cell } from '../moe/stats/experiment.js';
import { loadExperimentModules, resolveExperiment } from './user-experiments.js';

if (!parentPort) throw new Error('cli/worker.ts must run inside a worker thread');
const port = parentPort;
// A user's --module files register their experiments here too before any cell runs.
const ready = loadExperimentModules((workerData as { modules?: string[] } | null)?.modules ?? []);
port.on('message', async (msg: { experiment: string; cell: Cell }) => {
  try {
    await ready;
    const exp = resolveExperiment(msg.experiment);
    if (!exp) throw new Error(`unknown experiment ${msg.experiment}`);
    port.postMessage({ result: exp.runCell(msg.cell) });
  } catch (e) {
    port.postMessage({ error: e instanceof Error ? `${e.message}\n${e.stack ?? ''}` : String(e), cellId: msg.cell.id });
  }
});

/**
 * Sweep worker (worker_threads): receives { experiment, cell } messages, runs the cell with the
 * experiment looked up by name in the registry, and posts back { result } or { error }.
 */
import { parentPort } from 'node:worker_threads';
import { findExperiment } from '../moe/stats/registry.js';
import type { Cell } from '../moe/stats/experiment.js';

if (!parentPort) throw new Error('cli/worker.ts must run inside a worker thread');
const port = parentPort;
port.on('message', (msg: { experiment: string; cell: Cell }) => {
  try {
    const exp = findExperiment(msg.experiment);
    if (!exp) throw new Error(`unknown experiment ${msg.experiment}`);
    port.postMessage({ result: exp.runCell(msg.cell) });
  } catch (e) {
    port.postMessage({ error: e instanceof Error ? `${e.message}\n${e.stack ?? ''}` : String(e), cellId: msg.cell.id });
  }
});

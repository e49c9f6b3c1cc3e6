/**
 * Runs an experiment's cells: optional sharding (`i/N`, 1-based, round-robin over the cells in a
 * fixed order), a worker_threads pool (largest n first, for load balance), and a cli-progress bar
 * with ETA on stderr (plain percentage lines when stderr is not a TTY).
 */
import { Worker } from 'node:worker_threads';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import cliProgress from 'cli-progress';
import type { Cell, CellResult, Experiment } from '../moe/stats/experiment.js';

export interface Shard { readonly index: number; readonly count: number }

/** Parses `i/N` with 1 ≤ i ≤ N; returns null if malformed. */
export function parseShard(s: string): Shard | null {
  const m = /^(\d+)\/(\d+)$/.exec(s);
  if (!m) return null;
  const index = Number(m[1]), count = Number(m[2]);
  return count >= 1 && index >= 1 && index <= count ? { index, count } : null;
}

/** The cells of shard i/N: every N-th cell starting at i−1 (cells in the experiment's own order). */
export function shardCells(cells: readonly Cell[], shard: Shard | null): Cell[] {
  return shard ? cells.filter((_, k) => k % shard.count === shard.index - 1) : [...cells];
}

/**
 * A progress reporter: a cli-progress bar on a TTY, otherwise a line every 10%. Progress (and so the
 * ETA) is measured in work units — the sum of the finished cells' n, since a fit costs about O(n) —
 * rather than in cells, because big cells run first.
 */
function progress(cells: readonly Cell[], label: string) {
  const total = cells.reduce((s, c) => s + c.n, 0), count = cells.length;
  let work = 0, done = 0;
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar({ stream: process.stderr, format: `${label} [{bar}] {percentage}% | {cells}/${count} cells | ETA {eta_formatted} | elapsed {duration_formatted}`, etaBuffer: 50 }, cliProgress.Presets.shades_classic);
    bar.start(total, 0, { cells: 0 });
    return { tick: (c?: Cell) => { if (c) { work += c.n; done++; } bar.update(work, { cells: done }); }, stop: () => bar.stop() };
  }
  const t0 = Date.now();
  let lastDecile = -1;
  return {
    tick: (c?: Cell) => {
      if (c) { work += c.n; done++; }
      const dec = Math.floor((10 * work) / Math.max(1, total));
      if (dec !== lastDecile) {
        lastDecile = dec;
        const el = (Date.now() - t0) / 1000, eta = work > 0 ? (el * (total - work)) / work : NaN;
        process.stderr.write(`${label}: ${done}/${count} cells (${Math.round((100 * work) / Math.max(1, total))}% of the work), elapsed ${el.toFixed(0)} s, ETA ${Number.isFinite(eta) ? eta.toFixed(0) + ' s' : '?'}\n`);
      }
    },
    stop: () => {},
  };
}

/**
 * Runs the cells on `workers` threads (inline when workers = 0). Results come back in cell order;
 * `onResult` sees each one as soon as it finishes (the CLI appends it to a journal for `--resume`).
 * `modules`: absolute paths of `--module` files; each worker imports them to find a user's experiment.
 */
export async function runCells(exp: Experiment, cells: readonly Cell[], workers: number, label = exp.name, onResult?: (r: CellResult) => void, modules: readonly string[] = []): Promise<CellResult[]> {
  const bar = progress(cells, label);
  const byId = new Map(cells.map((c) => [c.id, c]));
  const results = new Map<string, CellResult>();
  bar.tick();
  try {
    if (workers <= 0) {
      for (const c of cells) { const r = exp.runCell(c); results.set(c.id, r); onResult?.(r); bar.tick(c); }
    } else {
      const queue = [...cells].sort((a, b) => b.n - a.n);
      const self = fileURLToPath(import.meta.url);
      // Under tsx (source checkout) a plain-JS bootstrap registers the TypeScript loader in the worker.
      const workerUrl = new URL(extname(self) === '.ts' ? './worker-tsx.mjs' : './worker.js', import.meta.url);
      await new Promise<void>((resolve, reject) => {
        const pool: Worker[] = [];
        let active = 0, failed = false;
        const finish = (err?: Error) => {
          if (failed) return;
          if (err) { failed = true; pool.forEach((w) => void w.terminate()); reject(err); return; }
          if (queue.length === 0 && active === 0) { pool.forEach((w) => void w.terminate()); resolve(); }
        };
        const feed = (w: Worker) => {
          const cell = queue.shift();
          if (!cell) return;
          active++;
          w.postMessage({ experiment: exp.name, cell });
        };
        const n = Math.min(workers, Math.max(1, queue.length));
        for (let k = 0; k < n; k++) {
          const w = new Worker(workerUrl, { execArgv: [], workerData: { modules: [...modules] } });
          pool.push(w);
          w.on('message', (msg: { result?: CellResult; error?: string; cellId?: string }) => {
            active--;
            if (msg.error !== undefined || !msg.result) { finish(new Error(`cell ${msg.cellId ?? '?'} failed: ${msg.error ?? 'no result'}`)); return; }
            results.set(msg.result.id, msg.result);
            onResult?.(msg.result);
            bar.tick(byId.get(msg.result.id));
            feed(w);
            finish();
          });
          w.on('error', (e) => finish(e));
          feed(w);
        }
        finish();
      });
    }
  } finally {
    bar.stop();
  }
  return cells.map((c) => results.get(c.id)!).filter((r) => r !== undefined);
}

/**
 * PyTorch as a bench contestant (optional: only where `/usr/bin/python3 -c 'import torch'` works).
 * A persistent `torch_moe.py … serve` process per thread setting runs one step per request, so
 * torch takes part in the same interleaved rounds as the JS contestants. Thread settings: torch's
 * intra-op pool (set_num_threads) and the BLAS pool under it (OMP/OPENBLAS/MKL_NUM_THREADS, read
 * when the library loads) are separate, so "2 threads" can mean 2, or 2 × 2 on 2 cores.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import type { MoeBenchConfig } from './tfjs-moe.js';

const PY = '/usr/bin/python3';
const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'torch_moe.py');

export interface TorchSetting { label: string; torchThreads: number; blasThreads: number | null }

/** Settings by total thread budget; blasThreads null = the library default (all cores). */
export const TORCH_SETTINGS: Record<1 | 2, TorchSetting[]> = {
  1: [{ label: 'torch 1 thread (set_num_threads(1), BLAS 1)', torchThreads: 1, blasThreads: 1 }],
  2: [
    { label: 'torch set_num_threads(2), BLAS 1', torchThreads: 2, blasThreads: 1 },
    { label: 'torch set_num_threads(1), BLAS 2', torchThreads: 1, blasThreads: 2 },
    { label: 'torch set_num_threads(2), BLAS default (old script: oversubscribed)', torchThreads: 2, blasThreads: null },
  ],
};

/** null when torch imports, else why not. */
export function torchMissing(): string | null {
  const probe = spawnSync(PY, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });
  return probe.status === 0 ? null : `\`${PY} -c "import torch"\` fails on this machine (torch is not installed; the bench does not install it)`;
}

/** torch version and its BLAS, e.g. "1.13.0a0, BLAS_INFO=generic". */
export function torchDescribe(): string {
  // BLAS_INFO=generic means "whatever libblas.so.3 resolves to": after one product, name the BLAS the
  // process really loaded (Debian's reference netlib BLAS is ~10x slower than OpenBLAS; the
  // MoE comparison is only fair with an optimised one)
  const code = 'import torch,re; s=torch.__config__.show(); torch.ones(64,64)@torch.ones(64,64); '
    + 'm=[l.split()[-1] for l in open("/proc/self/maps") if re.search(r"(blas|mkl)[^/]*\\.so", l)]; '
    + 'print(torch.__version__, (re.search(r"BLAS_INFO=\\w+", s) or [""])[0], "loaded " + (sorted(set(m))[0] if m else "no BLAS library"))';
  const r = spawnSync(PY, ['-c', code], { encoding: 'utf8' });
  return r.stdout.trim();
}

function env(s: TorchSetting): NodeJS.ProcessEnv {
  const e = { ...process.env };
  for (const k of ['OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'MKL_NUM_THREADS']) {
    if (s.blasThreads === null) delete e[k]; else e[k] = String(s.blasThreads);
  }
  return e;
}

const args = (cfg: MoeBenchConfig): string[] => [cfg.T, cfg.d, cfg.h, cfg.E, cfg.K, cfg.shared].map(String);

/** A running torch process that does one MoE step per call. */
export class TorchServer {
  private readonly proc: ChildProcessWithoutNullStreams;
  private readonly lines: AsyncIterator<string>;
  constructor(cfg: MoeBenchConfig, readonly setting: TorchSetting) {
    this.proc = spawn(PY, [SCRIPT, ...args(cfg), 'serve', String(setting.torchThreads)], { env: env(setting) });
    this.lines = createInterface({ input: this.proc.stdout })[Symbol.asyncIterator]();
  }
  private async next(): Promise<string> {
    const r = await this.lines.next();
    if (r.done) throw new Error(`torch process ended (${this.setting.label})`);
    return r.value;
  }
  /** Waits for the first (untimed) step torch runs at start-up. */
  async ready(): Promise<void> { if ((await this.next()) !== 'ready') throw new Error('torch: no ready line'); }
  /** One step; resolves with torch's own time for it in ms. */
  async step(): Promise<number> {
    this.proc.stdin.write('step\n');
    return Number(/ms=([\d.]+)/.exec(await this.next())?.[1]);
  }
  stop(): void { this.proc.stdin.end(); this.proc.kill(); }
}

/** A separate torch run of `reps` steps: median ms and peak RSS (KB). */
export function torchOneShot(cfg: MoeBenchConfig, setting: TorchSetting, reps: number): { ms: number; maxRssKb: number } | string {
  const r = spawnSync(PY, [SCRIPT, ...args(cfg), String(reps), String(setting.torchThreads)], { encoding: 'utf8', env: env(setting) });
  const ms = Number(/ms_per_step=([\d.]+)/.exec(r.stdout)?.[1]), rss = Number(/max_rss_kb=(\d+)/.exec(r.stdout)?.[1]);
  return Number.isFinite(ms) ? { ms, maxRssKb: rss } : `failed: ${r.stderr.split('\n').slice(-3).join(' ')}`;
}

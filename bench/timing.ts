/** Timing helpers shared by the benchmark sections (medians of interleaved runs). */
import os from 'node:os';

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Wall time of one (possibly async) call in milliseconds. */
export async function timeOnce(fn: () => unknown): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

export interface Contestant {
  label: string;
  /** Runs once; may be async (tfjs backend switches). */
  run: () => unknown;
  /** Called before each timed run (outside the timing), e.g. to switch tfjs backends. */
  prepare?: () => Promise<void> | void;
}

export interface TimedResult { label: string; ms: number | null; runs: number; note?: string }

/**
 * Interleaved timing: `warmup` untimed runs each, then `reps` rounds that time every contestant once
 * per round (so machine-load drift hits all of them alike). A contestant whose warm-up run exceeds
 * `maxMs` is skipped with a note instead of stalling the bench.
 */
export async function interleaved(contestants: Contestant[], reps: number, warmup: number, maxMs: number, onProgress?: (msg: string) => void): Promise<TimedResult[]> {
  const active: boolean[] = [];
  const notes: (string | undefined)[] = [];
  for (const c of contestants) {
    let ok = true, note: string | undefined;
    try {
      for (let w = 0; w < warmup && ok; w++) {
        await c.prepare?.();
        const ms = await timeOnce(c.run);
        if (ms > maxMs) { ok = false; note = `skipped: ${(ms / 1000).toFixed(1)} s per run`; }
      }
    } catch (e) {
      ok = false; note = `failed: ${(e as Error).message.split('\n')[0]}`;
    }
    active.push(ok); notes.push(note);
    onProgress?.(`  warm-up ${c.label}${note ? ` (${note})` : ''}`);
  }
  const times: number[][] = contestants.map(() => []);
  for (let r = 0; r < reps; r++) {
    for (let i = 0; i < contestants.length; i++) {
      if (!active[i]) continue;
      const c = contestants[i]!;
      await c.prepare?.();
      times[i]!.push(await timeOnce(c.run));
    }
    onProgress?.(`  round ${r + 1}/${reps}`);
  }
  return contestants.map((c, i) => ({ label: c.label, ms: active[i] ? median(times[i]!) : null, runs: times[i]!.length, ...(notes[i] ? { note: notes[i] } : {}) }));
}

/** One line describing the machine (and how loaded it was when the bench started). */
export function machineLine(): string {
  const cpus = os.cpus();
  const load = os.loadavg().map((l) => l.toFixed(2)).join(' / ');
  const avail = typeof os.availableParallelism === 'function' ? os.availableParallelism() : cpus.length;
  return `${cpus[0]?.model ?? 'unknown CPU'}, ${cpus.length} logical cores${avail !== cpus.length ? ` (${avail} available to this process)` : ''}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB RAM, `
    + `Node ${process.version} (V8 ${process.versions.v8}), ${os.type()} ${os.release()}, ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, `
    + `load average at start ${load}`;
}

export function loadAverage(): number {
  return os.loadavg()[0]!;
}

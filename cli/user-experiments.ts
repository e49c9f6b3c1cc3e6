/**
 * A user's own experiments: `--module path` imports a research script's ES module and adds the
 * experiments it exports to the CLI's lookup (reproduce, merge, the sweep workers and Slurm jobs),
 * next to the built-in registry (moe/stats/registry.ts, unchanged).
 *
 * The module exports them as `export const experiments = [exp, ...]` or `export default exp` (or
 * an array). Each is an `Experiment` (moe/stats/experiment.ts): plain objects with pure, seeded
 * `cells`, `runCell` and `summarize`. A worker thread imports the same modules before it runs a cell.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Experiment } from '../moe/stats/experiment.js';
import { EXPERIMENTS, findExperiment } from '../moe/stats/registry.js';

const loaded = new Map<string, Experiment>();

function isExperiment(x: unknown): x is Experiment {
  const e = x as Partial<Experiment> | null;
  return typeof e === 'object' && e !== null && typeof e.name === 'string' && typeof e.cells === 'function'
    && typeof e.runCell === 'function' && typeof e.summarize === 'function';
}

/** Absolute paths of `--module` arguments (relative ones are taken from the current directory). */
export function modulePaths(paths: readonly string[] | undefined): string[] {
  return (paths ?? []).map((p) => resolve(p));
}

/**
 * Imports each module and registers the experiments it exports (`experiments` array or default
 * export). Throws an Error whose message says what is wrong (no such file, nothing exported, a
 * name taken by a built-in or another module); the CLI turns it into exit code 2.
 */
export async function loadExperimentModules(paths: readonly string[]): Promise<Experiment[]> {
  const found: Experiment[] = [];
  for (const path of paths) {
    let mod: Record<string, unknown>;
    try {
      mod = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code === 'ERR_MODULE_NOT_FOUND' && String((e as Error).message).includes(path)) throw new ModuleError(`--module ${path}: no such file`);
      throw new ModuleError(`--module ${path}: import failed: ${e instanceof Error ? e.message : String(e)}`);
    }
    const raw = mod['experiments'] ?? mod['default'];
    const list = Array.isArray(raw) ? raw : raw === undefined ? [] : [raw];
    if (list.length === 0) throw new ModuleError(`--module ${path} exports no experiments (export const experiments = [...], or export default an Experiment)`);
    for (const e of list) {
      if (!isExperiment(e)) throw new ModuleError(`--module ${path}: an exported experiment lacks name, cells, runCell or summarize`);
      const prev = loaded.get(e.name);
      if (prev === e) continue;
      if (findExperiment(e.name) || prev) throw new ModuleError(`--module ${path}: experiment name '${e.name}' is already taken`);
      loaded.set(e.name, e);
      found.push(e);
    }
  }
  return found;
}

/** A `--module` problem (missing file, nothing exported, duplicate name): a usage error, exit code 2. */
export class ModuleError extends Error {}

/** The experiment called `name`: a built-in one or one a `--module` registered. */
export function resolveExperiment(name: string): Experiment | undefined {
  return findExperiment(name) ?? loaded.get(name);
}

/** Every known experiment: the built-in registry, then the modules' ones. */
export function allExperiments(): Experiment[] {
  return [...EXPERIMENTS, ...loaded.values()];
}

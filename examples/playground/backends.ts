/**
 * Matmul backend choices for the page: moegrad's CPU kernel, gpu.js on WebGL2, gpu.js on WebGPU.
 * gpu.js comes from its own browser build (gpu-browser.min.js sets `window.GPU`) and is injected into
 * moegrad's gpu.js backend, so the library bundle never carries gpu.js's Node code.
 */
import { useBackend, getBackend, createGpujsBackend, type GpujsBackend, type GpujsConstructor } from '../../index.js';

export interface BackendChoice {
  readonly id: string;
  readonly label: string;
  /** Why it cannot be used here, or null when it can. */
  unavailable: string | null;
  /** Extra facts shown next to the choice (e.g. the WebGPU adapter this browser offers). */
  note: string;
}

export const BACKEND_CHOICES: BackendChoice[] = [
  { id: 'cpu', label: 'cpu (moegrad kernel)', unavailable: null, note: '' },
  { id: 'gpujs-webgl2', label: 'gpu.js · WebGL2', unavailable: 'not probed yet', note: '' },
  { id: 'gpujs-webgpu', label: 'gpu.js · WebGPU', unavailable: 'not probed yet', note: '' },
];

const instances = new Map<string, GpujsBackend>();

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** gpu.js's browser build, if gpu-browser.min.js loaded (Chrome also has a native WebGPU `GPU`, without createKernel). */
function gpujsGlobal(): GpujsConstructor | null {
  const g = (globalThis as { GPU?: { prototype?: { createKernel?: unknown } } }).GPU;
  return g && typeof g.prototype?.createKernel === 'function' ? (g as unknown as GpujsConstructor) : null;
}

/** What this browser says about WebGPU (adapter or not), for the note next to the choice. */
async function webgpuAdapterNote(): Promise<string> {
  const gpu = (navigator as { gpu?: { requestAdapter(): Promise<{ info?: { architecture?: string; vendor?: string } } | null> } }).gpu;
  if (!gpu) return 'navigator.gpu absent';
  try {
    const adapter = await gpu.requestAdapter();
    if (!adapter) return 'navigator.gpu present, no adapter';
    const info = adapter.info;
    return `adapter: ${[info?.vendor, info?.architecture].filter(Boolean).join(' ') || 'yes'}`;
  } catch (e) { return `requestAdapter failed: ${message(e)}`; }
}

/** Probes what this browser offers and fills in `unavailable` / `note`. */
export async function probeBackends(): Promise<void> {
  const GPU = gpujsGlobal();
  for (const [id, mode] of [['gpujs-webgl2', 'webgl2'], ['gpujs-webgpu', 'webgpu']] as const) {
    const choice = BACKEND_CHOICES.find((c) => c.id === id)!;
    if (!GPU) { choice.unavailable = 'gpu-browser.min.js did not load (window.GPU is not gpu.js)'; continue; }
    try {
      const backend = createGpujsBackend({ mode, GPU, name: `gpujs:${mode}` });
      backend.init(); // creates the gpu.js instance: throws when this mode cannot run here
      instances.set(id, backend);
      choice.unavailable = null;
    } catch (e) {
      choice.unavailable = message(e);
    }
  }
  BACKEND_CHOICES.find((c) => c.id === 'gpujs-webgpu')!.note = await webgpuAdapterNote();
}

/** Selects a backend by choice id; returns what the engine reports it will run. */
export function selectBackend(id: string): string {
  const choice = BACKEND_CHOICES.find((c) => c.id === id);
  if (!choice) throw new Error(`playground: unknown backend choice '${id}'`);
  if (choice.unavailable) throw new Error(`playground: backend '${id}' unavailable: ${choice.unavailable}`);
  const gpujs = instances.get(id);
  useBackend(gpujs ?? 'cpu');
  return getBackend().describe();
}

/** What ran on the last matmul, as the engine reports it, and the gpu.js kernel class when on gpu.js. */
export function backendReport(): { name: string; describe: string; kernelClass: string | null } {
  const b = getBackend();
  const kernelClass = [...instances.values()].includes(b as GpujsBackend) ? (b as GpujsBackend).kernelClass : null;
  return { name: b.name, describe: b.describe(), kernelClass };
}

/**
 * Matmul backend choices for the page: moegrad's CPU kernel, gpu.js on WebGL2, gpu.js on WebGPU.
 * gpu.js comes from its own browser build (gpu-browser.min.js sets `window.GPU`) and is injected into
 * moegrad's gpu.js backend, so the library bundle never carries gpu.js's Node code.
 */
import { useBackend, getBackend, listBackends } from '../../index.js';

export interface BackendChoice {
  readonly id: string;
  readonly label: string;
  /** Why it cannot be used here, or null when it can. */
  unavailable: string | null;
}

export const BACKEND_CHOICES: BackendChoice[] = [
  { id: 'cpu', label: 'cpu (moegrad blocked kernel)', unavailable: null },
  { id: 'gpujs-webgl2', label: 'gpu.js · WebGL2', unavailable: 'gpu.js backend not in this build yet' },
  { id: 'gpujs-webgpu', label: 'gpu.js · WebGPU', unavailable: 'gpu.js backend not in this build yet' },
];

/** Probes what this browser offers and updates `unavailable`. */
export async function probeBackends(): Promise<void> {
  for (const c of BACKEND_CHOICES) if (c.id !== 'cpu') c.unavailable = 'gpu.js backend not in this build yet';
}

/** Selects a backend by choice id; returns what the engine reports it will run. */
export function selectBackend(id: string): string {
  const choice = BACKEND_CHOICES.find((c) => c.id === id);
  if (!choice) throw new Error(`playground: unknown backend choice '${id}'`);
  if (choice.unavailable) throw new Error(`playground: backend '${id}' unavailable: ${choice.unavailable}`);
  if (id === 'cpu') useBackend('cpu');
  return getBackend().describe();
}

/** What ran on the last matmul, as the engine reports it (and the gpu.js kernel class when known). */
export function backendReport(): { name: string; describe: string; registered: string[] } {
  const b = getBackend();
  return { name: b.name, describe: b.describe(), registered: listBackends() };
}

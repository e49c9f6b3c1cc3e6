/**
 * Matmul backend choices for the page: moegrad's CPU kernel, gpu.js on WebGL2, gpu.js on WebGPU.
 * gpu.js comes from its own browser build (gpu-browser.min.js sets `window.GPU`) and is injected into
 * moegrad's gpu.js backend, so the library bundle never carries gpu.js's Node code.
 */
import {
  useBackend, withBackend, getBackend, createGpujsBackend, f32MatmulErrorBound, type GpujsBackend, type GpujsConstructor, type Tensor,
} from '../../index.js';

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
  { id: 'gpujs-webgpu', label: 'gpu.js · WebGPU (async check)', unavailable: 'not probed yet', note: '' },
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

/**
 * Probes what this browser offers and fills in `unavailable` / `note`. WebGPU readback is asynchronous
 * in gpu.js while the engine's matmul is synchronous, so WebGPU cannot train here: with an adapter it is
 * offered as an async check (`webgpuCheck`) of the experts' first-layer products, never to `useBackend`.
 */
export async function probeBackends(): Promise<void> {
  const GPU = gpujsGlobal();
  const adapter = await webgpuAdapterNote();
  for (const [id, mode] of [['gpujs-webgl2', 'webgl2'], ['gpujs-webgpu', 'webgpu']] as const) {
    const choice = BACKEND_CHOICES.find((c) => c.id === id)!;
    if (!GPU) { choice.unavailable = 'gpu-browser.min.js did not load (window.GPU is not gpu.js)'; continue; }
    if (mode === 'webgpu') {
      // gpu.js reads WebGPU results back asynchronously, so WebGPU can check a matmul here but not train.
      if (!adapter.startsWith('adapter')) { choice.unavailable = `no WebGPU adapter: ${adapter}`; continue; }
      choice.note = adapter;
    }
    try {
      const backend = createGpujsBackend({ mode, GPU, name: `gpujs:${mode}`, asyncOnly: mode === 'webgpu' });
      backend.init(); // creates the gpu.js instance: throws when this mode cannot run here
      instances.set(id, backend);
      choice.unavailable = null;
    } catch (e) {
      choice.unavailable = message(e);
    }
  }
}

export interface WebgpuCheck {
  readonly kernelClass: string | null;
  readonly describe: string;
  /** The product checked: [batch, m, k] · [batch, k, n]. */
  readonly shape: string;
  readonly maxAbsDiff: number;
  /** Whether every element is within the float32 error bound of the CPU result. */
  readonly withinBound: boolean;
}

/**
 * Runs x · W1[e] for every expert e (batched [E, N, 2]·[E, 2, H]) on gpu.js WebGPU with `matmulAsync`
 * and compares it with the CPU backend, element by element, against the float32 error bound.
 */
export async function webgpuCheck(points: Tensor, w1: Tensor): Promise<WebgpuCheck> {
  const backend = instances.get('gpujs-webgpu');
  const choice = BACKEND_CHOICES.find((c) => c.id === 'gpujs-webgpu')!;
  if (!backend) throw new Error(`playground: WebGPU unavailable: ${choice.unavailable ?? 'not probed'}`);
  const [E, D, H] = w1.shape as [number, number, number];
  const N = points.shape[0]!;
  const a = new Float64Array(E * N * D);
  for (let e = 0; e < E; e++) a.set(points.data, e * N * D);
  const gpu = new Float64Array(E * N * H), cpu = new Float64Array(E * N * H);
  await backend.matmulAsync(a, w1.data, gpu, E, N, D, H);
  withBackend('cpu', () => getBackend().matmul(a, w1.data, cpu, E, N, D, H));
  const bound = f32MatmulErrorBound(a, w1.data, E, N, D, H);
  let maxAbsDiff = 0, withinBound = true;
  for (let i = 0; i < cpu.length; i++) {
    const d = Math.abs(gpu[i]! - cpu[i]!);
    maxAbsDiff = Math.max(maxAbsDiff, d);
    if (!(d <= bound[i]!)) withinBound = false;
  }
  return { kernelClass: backend.kernelClass, describe: backend.describe(), shape: `[${E}, ${N}, ${D}]·[${E}, ${D}, ${H}]`, maxAbsDiff, withinBound };
}


/** Selects a backend by choice id; returns what the engine reports it will run. */
export function selectBackend(id: string): string {
  const choice = BACKEND_CHOICES.find((c) => c.id === id);
  if (!choice) throw new Error(`playground: unknown backend choice '${id}'`);
  if (choice.unavailable) throw new Error(`playground: backend '${id}' unavailable: ${choice.unavailable}`);
  if (id === 'gpujs-webgpu') throw new Error('playground: gpu.js WebGPU is async-only; it cannot run training (use webgpuCheck)');
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

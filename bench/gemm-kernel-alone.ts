/**
 * The GEMM kernel alone: the generated module's `run` on operands already resident and packed in
 * wasm memory (A [n, n] row-major, B packed by the module's own `pack`), one thread, no copies in or
 * out. `WasmGemm.matmul` = this + copying A and B in, packing B, copying C out; the difference
 * between the two says how much of the GEMM's gap to the SIMD ceiling is the kernel and how much the
 * host-side copies (engine/backend/cpu-wasm.ts).
 */
import { buildGemmModule, fmaFor, panelWidth, tileRows, Ctrl, CTRL_BASE, CTRL_BYTES, type GemmConfig } from '../engine/backend/wasm/gemm-kernel.js';

interface KernelExports {
  run(ctrl: number): number;
  pack_f32(src: number, dst: number, k: number, n: number, nPad: number, kc: number, fullPanels: number): void;
  pack_f64(src: number, dst: number, k: number, n: number, nPad: number, kc: number, fullPanels: number): void;
}

/**
 * A runner for C = A·B (n×n×n) with the kernels of `config`; n must be a multiple of the tile's MR and
 * NR. `build` is the module generator (another tree's, to compare kernel generators in one process).
 */
export function gemmKernelAlone(config: GemmConfig, isF64: boolean, n: number, build = buildGemmModule): { run(): void; fma: boolean } {
  const es = isF64 ? 8 : 4, mr = tileRows(config, isF64), nr = panelWidth(config, isF64);
  if (n % mr !== 0 || n % nr !== 0) throw new Error(`gemmKernelAlone: n = ${n} is not a multiple of MR ${mr} and NR ${nr}`);
  const kc = config.kc ? config.kc[isF64 ? 'f64' : 'f32'] : 256;
  const bytes = n * n * es, aBase = CTRL_BASE + CTRL_BYTES + 768, rawB = aBase + bytes, bBase = rawB + bytes, cBase = bBase + bytes;
  const pages = Math.ceil((cBase + bytes) / 65536);
  const memory = new WebAssembly.Memory({ initial: pages, maximum: pages });
  const mod = new WebAssembly.Module(build(config, { min: pages, max: pages, shared: false }) as BufferSource);
  const x = new WebAssembly.Instance(mod, { env: { memory } }).exports as unknown as KernelExports;
  const T = isF64 ? Float64Array : Float32Array;
  const view = new T(memory.buffer);
  for (let i = 0; i < n * n; i++) { view[aBase / es + i] = Math.sin(i); view[rawB / es + i] = Math.cos(i); }
  (isF64 ? x.pack_f64 : x.pack_f32)(rawB, bBase, n, n, n, kc, n / nr);
  // one batch item, row chunks of ≤ maxRows (a multiple of MR), as WasmGemm.matmul does on one thread
  const rpt = Math.max(mr, Math.floor(Math.min(n, config.maxRows ?? 128) / mr) * mr), tasks = Math.ceil(n / rpt);
  const ctrl = new Int32Array(memory.buffer, CTRL_BASE, CTRL_BYTES / 4);
  ctrl[Ctrl.IS_F64] = isF64 ? 1 : 0; ctrl[Ctrl.A] = aBase; ctrl[Ctrl.B] = bBase; ctrl[Ctrl.C] = cBase;
  ctrl[Ctrl.K] = n; ctrl[Ctrl.LDA] = n * es; ctrl[Ctrl.LDC] = n * es; ctrl[Ctrl.PANELS] = n / nr; ctrl[Ctrl.KC] = kc;
  ctrl[Ctrl.ROWS_PER_TASK] = rpt; ctrl[Ctrl.TASKS_PER_BATCH] = tasks; ctrl[Ctrl.TOTAL] = tasks; ctrl[Ctrl.M_PAD] = n;
  return { run: () => { ctrl[Ctrl.NEXT] = 0; ctrl[Ctrl.DONE] = 0; x.run(CTRL_BASE); }, fma: fmaFor(config, isF64) };
}

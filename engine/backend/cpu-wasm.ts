/**
 * Host side of the WebAssembly SIMD matmul: owns one linear memory (shared when the runtime allows
 * it, so worker threads can join), copies A in (rows padded to the tile height), packs B into
 * k-block × column panels, runs the generated kernel (`run`), and copies C out.
 * Copies are O(mk + kn + mn) next to the O(mnk) product.
 */
import type { TypedArray } from '../tensor.js';
import { buildGemmModule, fmaFor, Ctrl, CTRL_BASE, CTRL_BYTES, DEFAULT_GEMM_CONFIG, panelWidth, tileRows, type GemmConfig } from './wasm/gemm-kernel.js';
import { FuncBuilder, assemble, V128, Simd } from './wasm/emit.js';
import { startWorkers, type ThreadPool } from './threads.js';

const PAGE = 65536;
const MAX_PAGES = 32768; // 2 GiB: larger products fall back to the JS kernel
const K_BLOCK_DEFAULT = { f32: 256, f64: 256 };

interface GemmExports {
  run(ctrl: number): number;
  pack_f32(src: number, dst: number, k: number, n: number, nPad: number, kc: number, fullPanels: number): void;
  pack_f64(src: number, dst: number, k: number, n: number, nPad: number, kc: number, fullPanels: number): void;
  bias_act_f32(c: number, ldc: number, rows: number, rowBytes: number, bias: number, relu: number): void;
  bias_act_f64(c: number, ldc: number, rows: number, rowBytes: number, bias: number, relu: number): void;
  transpose_f32(src: number, dst: number, rows: number, cols: number): void;
  transpose_f64(src: number, dst: number, rows: number, cols: number): void;
  /** cols a multiple of the lane count (4 for f32, 2 for f64) */
  transpose_simd_f32(src: number, dst: number, rows: number, cols: number): void;
  transpose_simd_f64(src: number, dst: number, rows: number, cols: number): void;
  relu_grad_f32(dy: number, s: number, bytes: number): void;
  relu_grad_f64(dy: number, s: number, bytes: number): void;
  col_sum_f32(x: number, rows: number, rowBytes: number, acc: number): void;
  col_sum_f64(x: number, rows: number, rowBytes: number, acc: number): void;
}

/** Where the operands start in wasm memory (after the control block): the GEMM's A, or the elementwise kernels' scratch. */
const SCRATCH_BASE = Math.ceil((CTRL_BASE + CTRL_BYTES + 768) / 64) * 64;

/** Elements per chunk of {@link WasmGemm.reluGrad}: two 64 KiB (f32) chunks stay in L2 between the copies and the kernel. */
const RELU_CHUNK = 16384;

/**
 * A GEMM epilogue applied in wasm memory before the copy out: out = φ(A·B + bias) with the bias row
 * `bias[biasOff .. biasOff + n)` added to every row and φ = identity or relu (batch 1 only).
 */
export interface GemmEpilogue { readonly bias: TypedArray; readonly biasOff: number; readonly relu: boolean }

/** True where WebAssembly with 128-bit SIMD validates (Node ≥ 16.4, current browsers). */
export function wasmSimdSupported(): boolean {
  try {
    if (typeof WebAssembly !== 'object') return false;
    const f = new FuncBuilder([], [V128]);
    f.v128Zero().v128Zero().simd(Simd.f32x4Add);
    return WebAssembly.validate(assemble({ memory: { min: 1, max: 1, shared: false }, funcs: [{ fn: f }] }) as BufferSource);
  } catch {
    return false;
  }
}

/** Whether a tiny module using f32x4.relaxed_madd validates on this engine right now. */
function relaxedMaddValidates(): boolean {
  try {
    if (typeof WebAssembly !== 'object') return false;
    const f = new FuncBuilder([], [V128]);
    f.v128Zero().v128Zero().v128Zero().simd(Simd.f32x4RelaxedMadd);
    return WebAssembly.validate(assemble({ memory: { min: 1, max: 1, shared: false }, funcs: [{ fn: f }] }) as BufferSource);
  } catch {
    return false;
  }
}

let relaxedFma: boolean | undefined;

/**
 * True where relaxed-simd fused multiply-add validates. Newer V8 (Node ≥ 22, current browsers) ships
 * relaxed SIMD; Node 20's V8 11.3 has it behind `--experimental-wasm-relaxed-simd`, so in Node, and
 * only when the plain probe fails, this turns that flag on with `v8.setFlagsFromString` (V8 flags are
 * process-wide, so the worker threads' isolates see it too) and probes again. Guarded: outside Node
 * (no `process.getBuiltinModule`) nothing is touched, and any failure just means "no FMA".
 */
export function wasmRelaxedFmaSupported(): boolean {
  if (relaxedFma !== undefined) return relaxedFma;
  relaxedFma = relaxedMaddValidates();
  if (!relaxedFma) {
    try {
      const get = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process?.getBuiltinModule;
      const v8 = typeof get === 'function' ? (get('node:v8') as { setFlagsFromString?: (f: string) => void } | undefined) : undefined;
      if (v8 && typeof v8.setFlagsFromString === 'function') {
        v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
        relaxedFma = relaxedMaddValidates();
      }
    } catch {
      relaxedFma = false;
    }
  }
  return relaxedFma;
}

function sharedMemory(pages: number): WebAssembly.Memory | undefined {
  try {
    if (typeof SharedArrayBuffer !== 'function') return undefined;
    const mem = new WebAssembly.Memory({ initial: pages, maximum: MAX_PAGES, shared: true });
    return mem.buffer instanceof SharedArrayBuffer ? mem : undefined;
  } catch {
    return undefined;
  }
}

/** Result of one call: how many threads actually took tasks. */
export interface WasmRunInfo { threads: number }

/** One WebAssembly matmul engine (memory + instance + optional worker pool). */
export class WasmGemm {
  readonly shared: boolean;
  /** Whether the float32 / float64 kernels use fused multiply-add. */
  readonly fma: { readonly f32: boolean; readonly f64: boolean };
  private readonly memory: WebAssembly.Memory;
  private readonly exports: GemmExports;
  private readonly bytes: Uint8Array;
  private pool: ThreadPool | undefined;
  private poolTried = false;

  /** `config.fma` picks the kernels; which FMA the process uses by default is decided in cpu.ts. */
  constructor(readonly config: GemmConfig = DEFAULT_GEMM_CONFIG) {
    const shared = sharedMemory(16);
    this.memory = shared ?? new WebAssembly.Memory({ initial: 16, maximum: MAX_PAGES });
    this.shared = shared !== undefined;
    this.fma = { f32: fmaFor(config, false), f64: fmaFor(config, true) };
    this.bytes = buildGemmModule(config, { min: 1, max: MAX_PAGES, shared: this.shared });
    const inst = new WebAssembly.Instance(new WebAssembly.Module(this.bytes as BufferSource), { env: { memory: this.memory } });
    this.exports = inst.exports as unknown as GemmExports;
    this.warmUp();
  }

  /**
   * V8 first runs wasm on its baseline compiler (~4× slower here) and tiers a function up only
   * after it has run for a while; a few small products per dtype (~ms) trigger that up front so
   * the first real calls do not pay it. The n = 3 product warms the narrow-panel kernel (a last panel
   * narrower than the register tile runs a separate wasm function, which would start on the baseline tier).
   */
  private warmUp(): void {
    for (const T of [Float32Array, Float64Array]) {
      const a = new T(32 * 256).fill(1), b = new T(256 * 32).fill(1), c = new T(32 * 32);
      for (let r = 0; r < 12; r++) this.matmul(a, b, c, 1, 32, 256, 32, 1);
      for (let r = 0; r < 12; r++) this.matmul(a, b, c, 1, 32, 256, 3, 1);
    }
  }

  /** The memory's buffer, grown first to at least `end` bytes (growing replaces the buffer: take it after). */
  private bufferOf(end: number): ArrayBuffer | SharedArrayBuffer {
    if (this.memory.buffer.byteLength < end) this.memory.grow(Math.ceil((end - this.memory.buffer.byteLength) / PAGE));
    return this.memory.buffer;
  }

  /**
   * out = s > 0 ? dy : +0 elementwise (the ReLU backward; a NaN s gives +0, as the JS loop does),
   * in chunks: copy dy and s in, the wasm lane-mask kernel, copy out. The same bits as the JS loop
   * at ~3× its speed on [8192, 512] float32 (the copies are memcpy; the JS loop is scalar).
   * Main thread only (the worker threads touch the memory only inside `matmul`).
   */
  reluGrad(dy: TypedArray, s: TypedArray, out: TypedArray): void {
    const isF64 = out instanceof Float64Array, es = isF64 ? 8 : 4, n = out.length;
    const at = SCRATCH_BASE, sAt = at + RELU_CHUNK * es;
    const buf = this.bufferOf(sAt + RELU_CHUNK * es);
    const view: TypedArray = isF64 ? new Float64Array(buf) : new Float32Array(buf);
    const kernel = isF64 ? this.exports.relu_grad_f64 : this.exports.relu_grad_f32;
    for (let i = 0; i < n; i += RELU_CHUNK) {
      const c = Math.min(RELU_CHUNK, n - i);
      view.set(dy.subarray(i, i + c), at / es);
      view.set(s.subarray(i, i + c), sAt / es);
      kernel(at, sAt, Math.ceil((c * es) / 16) * 16); // a padded tail computes lanes nobody copies out
      out.set(view.subarray(at / es, at / es + c), i);
    }
  }

  /**
   * out[e] = Σ_{r ∈ seg e} x[r] for row segments offsets[e] .. offsets[e+1] of x [S, H] (H even),
   * accumulated in float64 in wasm memory and rounded once into out [E, H] — the bias gradient of
   * the fused expert FFN. Each column adds its rows in order: the bits of the scalar float64 loop
   * (except which NaN a sum of differently signed NaNs keeps: IEEE leaves that open).
   * Rows are copied in chunks of about {@link RELU_CHUNK} elements. Main thread only.
   */
  segmentColumnSum(x: TypedArray, out: TypedArray, offsets: Int32Array, H: number): void {
    const isF64 = x instanceof Float64Array, es = isF64 ? 8 : 4, E = offsets.length - 1;
    const accAt = SCRATCH_BASE, xAt = accAt + Math.ceil((H * 8) / 64) * 64;
    const chunkRows = Math.max(1, Math.floor(RELU_CHUNK / H));
    const buf = this.bufferOf(xAt + chunkRows * H * es);
    const view: TypedArray = isF64 ? new Float64Array(buf) : new Float32Array(buf);
    const acc = new Float64Array(buf, accAt, H);
    const kernel = isF64 ? this.exports.col_sum_f64 : this.exports.col_sum_f32;
    for (let e = 0; e < E; e++) {
      acc.fill(0);
      for (let r = offsets[e]!, hi = offsets[e + 1]!; r < hi; r += chunkRows) {
        const rows = Math.min(chunkRows, hi - r);
        view.set(x.subarray(r * H, (r + rows) * H), xAt / es);
        kernel(xAt, rows, H * es, accAt);
      }
      out.set(acc, e * H);
    }
  }

  /** Starts worker threads (once); returns how many are ready now. */
  threadsReady(waitMs = 0): number {
    if (!this.poolTried) {
      this.poolTried = true;
      if (this.shared) this.pool = startWorkers(this.memory, this.bytes);
    }
    if (!this.pool) return 0;
    return waitMs > 0 ? this.pool.waitReady(waitMs) : this.pool.ready();
  }

  /** Stops this engine's worker threads (they are unref'd, so this is only needed to free them early). */
  stopThreads(): void {
    this.pool?.stop();
    this.pool = undefined;
  }

  /** Whether a product fits the 2 GiB memory limit (larger ones go to the JS kernel). */
  fits(isF64: boolean, batch: number, m: number, k: number, n: number): boolean {
    return this.layout(isF64, batch, m, k, n).end <= MAX_PAGES * PAGE;
  }

  private layout(isF64: boolean, batch: number, m: number, k: number, n: number) {
    const es = isF64 ? 8 : 4, mr = tileRows(this.config, isF64), nr = panelWidth(this.config, isF64);
    const mPad = Math.ceil(m / mr) * mr, nPad = Math.ceil(n / nr) * nr;
    const align = (x: number): number => Math.ceil(x / 64) * 64;
    const aStride = align(mPad * k * es), bStride = align(k * nPad * es), cStride = align(mPad * nPad * es);
    const aBase = SCRATCH_BASE;
    const bBase = aBase + batch * aStride, cBase = bBase + batch * bStride, rawB = cBase + batch * cStride;
    const biasBase = rawB + align(k * n * es); // rawB: one row-major B, the source wasm `pack` reads
    const rawT = biasBase + align(nPad * es); // the epilogue's bias row, zero-padded to nPad
    const end = rawT + align(Math.max(m * k, k * n) * es); // rawT: a stored transpose, before wasm transposes it
    return { es, mr, nr, mPad, nPad, aStride, bStride, cStride, aBase, bBase, cBase, rawB, biasBase, rawT, end };
  }

  /**
   * out[b] = a[b]·bm[b] for `batch` row-major products. `threads` > 1 lets ready workers join.
   * `transA` / `transB`: the stored blocks are a[b] [k, m] / bm[b] [n, k] and the product uses their
   * transposes; the block is copied in as stored (memcpy) and transposed by wasm (`transpose`) into
   * the layout the kernel reads, so backward passes need no permuted tensor.
   * `epilogue` (batch 1): bias add and relu run in wasm on C before the copy out, so a fused
   * linear layer costs no extra pass over its output in JS.
   * Returns how many threads took part.
   */
  matmul(a: TypedArray, bm: TypedArray, out: TypedArray, batch: number, m: number, k: number, n: number, threads: number, transA = false, transB = false, epilogue?: GemmEpilogue): WasmRunInfo {
    const isF64 = a instanceof Float64Array;
    const L = this.layout(isF64, batch, m, k, n);
    const buf = this.bufferOf(L.end);
    const view: TypedArray = isF64 ? new Float64Array(buf) : new Float32Array(buf);
    const { es, mPad, nPad, nr } = L;
    const kc = (this.config.kc ?? K_BLOCK_DEFAULT)[isF64 ? 'f64' : 'f32'];
    for (let b = 0; b < batch; b++) {
      // A rows, zero padding rows below
      const aDst = (L.aBase + b * L.aStride) / es;
      const transpose = (src: number, dst: number, rows: number, cols: number): void => {
        // L×L register blocks when the source rows are whole vectors (cols a multiple of the lane count
        // L; the last rows mod L go element by element), else element by element
        const L = isF64 ? 2 : 4, x = this.exports;
        if (cols % L === 0) (isF64 ? x.transpose_simd_f64 : x.transpose_simd_f32)(src, dst, rows, cols);
        else (isF64 ? x.transpose_f64 : x.transpose_f32)(src, dst, rows, cols);
      };
      if (transA) { view.set(a.subarray(b * m * k, (b + 1) * m * k), L.rawT / es); transpose(L.rawT, aDst * es, k, m); }
      else view.set(a.subarray(b * m * k, (b + 1) * m * k), aDst);
      if (mPad > m) view.fill(0, aDst + m * k, aDst + mPad * k);
      // B: row-major [k, n] at rawB (memcpy, or a blocked transpose), full panels packed by wasm
      // (v128 copies), the partial panel here
      if (transB) { view.set(bm.subarray(b * k * n, (b + 1) * k * n), L.rawT / es); transpose(L.rawT, L.rawB, n, k); }
      else view.set(bm.subarray(b * k * n, (b + 1) * k * n), L.rawB / es);
      const full = Math.floor(n / nr), bDst = L.bBase + b * L.bStride;
      (isF64 ? this.exports.pack_f64 : this.exports.pack_f32)(L.rawB, bDst, k, n, nPad, kc, full);
      if (full * nr < n) packTail(view, L.rawB / es, view, bDst / es, k, n, nPad, nr, kc, full * nr);
    }
    // task split: row chunks, a multiple of MR; single thread: ≤ 128 rows (the A chunk stays in L2);
    // threaded: ~8 chunks per thread and ≤ 64 rows, so a descheduled thread (shared machine) leaves
    // little for the others to wait on — the rest is taken dynamically
    const workers = threads > 1 ? Math.min(threads - 1, this.threadsReady()) : 0;
    const parts = workers + 1;
    const perBatch = workers > 0 ? Math.max(1, Math.ceil((8 * parts) / batch)) : 1;
    let rpt = Math.ceil(mPad / perBatch / L.mr) * L.mr;
    rpt = Math.max(L.mr, Math.floor(Math.min(rpt, workers > 0 ? 64 : (this.config.maxRows ?? 128)) / L.mr) * L.mr); // a multiple of MR: tiles never cross chunks
    const tpb = Math.ceil(mPad / rpt);
    const ctrl = new Int32Array(buf, CTRL_BASE, 64);
    const total = batch * tpb;
    const publish = (): void => {
      ctrl[Ctrl.IS_F64] = isF64 ? 1 : 0;
      ctrl[Ctrl.A] = L.aBase; ctrl[Ctrl.B] = L.bBase; ctrl[Ctrl.C] = L.cBase;
      ctrl[Ctrl.A_STRIDE] = L.aStride; ctrl[Ctrl.B_STRIDE] = L.bStride; ctrl[Ctrl.C_STRIDE] = L.cStride;
      ctrl[Ctrl.K] = k; ctrl[Ctrl.LDA] = k * es; ctrl[Ctrl.LDC] = nPad * es; ctrl[Ctrl.PANELS] = nPad / nr;
      ctrl[Ctrl.KC] = kc; ctrl[Ctrl.ROWS_PER_TASK] = rpt; ctrl[Ctrl.TASKS_PER_BATCH] = tpb; ctrl[Ctrl.TOTAL] = total; ctrl[Ctrl.M_PAD] = mPad;
      Atomics.store(ctrl, Ctrl.NEXT, 0); Atomics.store(ctrl, Ctrl.DONE, 0);
    };
    let helpers = 0;
    if (workers > 0) {
      // seqlock: odd SEQ = params being written; wait until no worker is inside `run`
      Atomics.add(ctrl, Ctrl.SEQ, 1);
      let act: number;
      while ((act = Atomics.load(ctrl, Ctrl.ACTIVE)) !== 0) Atomics.wait(ctrl, Ctrl.ACTIVE, act, 5);
      publish();
      Atomics.add(ctrl, Ctrl.SEQ, 1);
      Atomics.notify(ctrl, Ctrl.SEQ);
      const mine = this.exports.run(CTRL_BASE);
      Atomics.add(ctrl, Ctrl.DONE, mine);
      let done: number;
      while ((done = Atomics.load(ctrl, Ctrl.DONE)) < total) {
        if (Atomics.load(ctrl, Ctrl.ERROR)) throw new Error('matmul: a worker thread failed');
        Atomics.wait(ctrl, Ctrl.DONE, done, 50);
      }
      helpers = mine < total ? 1 : 0;
    } else {
      publish();
      this.exports.run(CTRL_BASE);
    }
    if (epilogue) {
      const bias0 = L.biasBase / es;
      view.set(epilogue.bias.subarray(epilogue.biasOff, epilogue.biasOff + n), bias0);
      if (nPad > n) view.fill(0, bias0 + n, bias0 + nPad);
      (isF64 ? this.exports.bias_act_f64 : this.exports.bias_act_f32)(L.cBase, nPad * es, m * batch, nPad * es, L.biasBase, epilogue.relu ? 1 : 0);
    }
    for (let b = 0; b < batch; b++) {
      const cSrc = (L.cBase + b * L.cStride) / es;
      if (nPad === n) out.set(view.subarray(cSrc, cSrc + m * n), b * m * n);
      else if (n >= 64) for (let i = 0; i < m; i++) out.set(view.subarray(cSrc + i * nPad, cSrc + i * nPad + n), (b * m + i) * n);
      else {
        // narrow C (e.g. [10⁴, 3]): element copies, not a subarray view and a set call per row
        for (let i = 0, o = b * m * n; i < m; i++) { const r = cSrc + i * nPad; for (let j = 0; j < n; j++) out[o++] = view[r + j]!; }
      }
    }
    return { threads: 1 + (helpers ? workers : 0) };
  }
}

/** Packs the last, partial column panel (columns j0..n−1, zero-padded to nr) of B [k, n]. */
function packTail(src: TypedArray, off: number, dst: TypedArray, dOff: number, k: number, n: number, nPad: number, nr: number, kBlock: number, j0: number): void {
  const w = n - j0;
  for (let p0 = 0; p0 < k; p0 += kBlock) {
    const kc = Math.min(kBlock, k - p0);
    const panel = dOff + p0 * nPad + j0 * kc;
    for (let p = 0; p < kc; p++) {
      const s = off + (p0 + p) * n + j0, d = panel + p * nr;
      for (let c = 0; c < w; c++) dst[d + c] = src[s + c]!;
      for (let c = w; c < nr; c++) dst[d + c] = 0;
    }
  }
}

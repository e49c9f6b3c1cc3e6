/**
 * Generates the WebAssembly SIMD matmul module (f32x4 and f64x2) at runtime.
 *
 * Layout the host prepares in linear memory (see cpu-wasm.ts):
 *  - A  [mPad, k] row-major (rows padded with zeros to a multiple of MR),
 *  - Bp packed per k-block into column panels: for k-block [p0, p0+kc) and panel jp the kc×NR values
 *    B[p0.., jp·NR..] lie contiguously, so the micro-kernel reads NR/lanes vectors per step,
 *  - C  [mPad, nPad] row-major (nPad = panels·NR).
 *
 * Micro-kernel: an MR×NR tile of C is held in MR·(NR/lanes) v128 accumulators; per k-step it loads
 * NR/lanes vectors of the B panel, splats one A value per row and does acc += a·b (mul + add, or
 * relaxed fused madd when the runtime validates it). The k loop is unrolled ×U with static load
 * offsets. `run(ctrl)` is the task loop shared by the main thread and the workers: it grabs
 * row-chunk tasks with an atomic fetch-add on the control block, so threads balance dynamically.
 */
import { FuncBuilder, assemble, I32, V128, Op, Simd, Atomic } from './emit.js';
import { transposeFunc, transposeSimdFunc } from './transpose-kernel.js';

/** Control block layout (i32 slots at byte address CTRL_BASE). */
export const Ctrl = {
  SEQ: 0, ACTIVE: 1, NEXT: 2, DONE: 3, ERROR: 4, READY: 5, QUIT: 6,
  IS_F64: 8, A: 9, B: 10, C: 11, A_STRIDE: 12, B_STRIDE: 13, C_STRIDE: 14,
  K: 15, LDA: 16, LDC: 17, PANELS: 18, KC: 19, ROWS_PER_TASK: 20, TASKS_PER_BATCH: 21, TOTAL: 22, M_PAD: 23,
  /** Columns of B (real, before padding to whole panels): written by `pack`, read by `run` for the last panel. */
  N: 24,
} as const;
export const CTRL_BASE = 0;
export const CTRL_BYTES = 256;

export interface KernelShape {
  /** Rows of the register tile. */
  mr: number;
  /** v128 vectors per tile row (NR = nv · lanes). */
  nv: number;
}

export interface GemmConfig {
  f32: KernelShape;
  f64: KernelShape;
  /** k-loop unroll factor. */
  unroll: number;
  /**
   * Use relaxed-simd fused multiply-add: for both dtypes (`true`), neither (`false`), or per dtype.
   * FMA rounds a·b + c once instead of twice, so results differ from mul + add in the last bits.
   */
  fma: boolean | { readonly f32: boolean; readonly f64: boolean };
  /** k-block length per dtype (the packed B block kc × n and the A chunk rows × kc should stay in L2). */
  kc?: { f32: number; f64: number };
  /** Most rows of C per task on a single thread (default 128). */
  maxRows?: number;
  /**
   * Read A as one v128 per row per 4 (f32) or 2 (f64) k-steps and broadcast lanes with a shuffle,
   * instead of one load-splat per row per k-step (needs unroll a multiple of the lane count).
   */
  shuffleA?: boolean;
}

/** Whether `config` uses fused multiply-add for a dtype. */
export function fmaFor(config: GemmConfig, isF64: boolean): boolean {
  return typeof config.fma === 'boolean' ? config.fma : isF64 ? config.fma.f64 : config.fma.f32;
}

/**
 * Default tiles: 2 rows × 4 v128 per row (f32 2×16, f64 2×8), k loop not unrolled, A by load-splat.
 * Why: x64 has 16 xmm registers and V8 keeps one as scratch, so 15 are allocatable, and TurboFan
 * issues every load of a loop body (they are ordered on the effect chain) before the FMAs that use
 * them (pure nodes, placed late). Live v128 values per k-step = accumulators + B vectors + A splats
 * (+ 1 product temporary for mul + add) must stay ≤ 15, and an unrolled body multiplies the loads:
 * the former 6×8 f32 tile unrolled ×4 (12 + 8 + 6 live) spilled ~10 accumulators per iteration to the
 * stack (seen with --print-wasm-code), putting a store/reload on every FMA chain. 2×16 holds
 * 8 + 4 + 2 = 14 (15 with mul + add) in registers: 6 loads and 8 FMAs per k-step, no spills.
 * Measured on the 2-core AMD EPYC (Zen 3, Node 20), 1 thread, n = 512, best of 15 interleaved, load
 * 2.2: f32 FMA 39.0–39.7 GFLOP/s (79–80 % of the FMA ceiling) against 26.8–28.3 for 6×8 ×4 (54–59 %),
 * 4×8 33.8–35.0, 3×12 37.4, and 14–19 for tiles that spill (5×8, 2×20, 1×32, 6×8 ×1); f32 mul + add
 * 31.0 vs 23.3; f64 FMA 17.7 vs 11.2 (4×4 ×4), f64 mul + add 14.2 vs 9.8.
 * The summation order per C element is unchanged (one accumulator, k ascending), so results are
 * bit-identical to the former tiles in each FMA mode.
 * The wider panel would pad products with few output columns more (f32 n ≤ 8 measured 0.70–0.84× of
 * the 6×8 kernel), so the last panel, when its real columns fit in fewer vectors, runs a separate
 * narrow-tile function (`gemm_narrow_*`; a separate function because an in-function branch to it
 * made TurboFan allocate the main loop's registers worse: mul + add 10 % slower). `pack` records
 * the real n in the control block (Ctrl.N) for `run`: f32 n ≤ 8 is then 0.99–1.26× the old kernel.
 * k-blocks: kc = 1024 f32 / 512 f64 (a B panel kc·NR·es = 64 KiB / 32 KiB, streamed from L2 with the
 * A chunk ≤ 128 rows · kc · es; Zen 3: 32 KiB L1d, 512 KiB L2 per core): fewer passes that reload and
 * store C. Measured (same machine, best of 5–11, load 2.5) against kc = 256: f32 n=512 39.4–39.6 vs
 * 37.8, n=1024 39.9 vs 38.4, 256×4096×512 37.7 vs 36.0; f64 n=512 19.4 vs 18.6, n=1024 18.8 vs 18.9.
 */
export const DEFAULT_GEMM_CONFIG: GemmConfig = {
  f32: { mr: 2, nv: 4 }, f64: { mr: 2, nv: 4 }, unroll: 1, fma: false, shuffleA: false, kc: { f32: 1024, f64: 512 },
};

/**
 * gemm(a, bp, c, lda, ldc, kc, rows, panels, accumulate, lastW): C[rows, panels·NR] (+)= A[rows, kc]·Bp.
 * With `narrowOnly` (gemm_narrow_*): one panel with lastW ≤ NR − lanes real columns, in a narrower and
 * taller tile (1 vector × 6 rows, 2 × 4, else nv' × MR, then MR-row tiles for the rest): the padding
 * columns are not computed (their C entries are left as they are; the host never reads them), and
 * the columns that exist get more independent accumulators than MR × nv' would give them.
 */
function gemmFunc(isF64: boolean, shape: KernelShape, unroll: number, fma: boolean, shuffleA = false, narrowOnly = false): FuncBuilder {
  const es = isF64 ? 8 : 4, lanes = 16 / es, { mr, nv } = shape, nr = nv * lanes;
  const f = new FuncBuilder([I32, I32, I32, I32, I32, I32, I32, I32, I32, I32], []);
  const [A, BP, C, LDA, LDC, KC, ROWS, PANELS, ACC, LASTW] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] as const;
  /** Narrow tiles for the last panel: [rows, vectors], rows a multiple of MR so the MR loop finishes the chunk. */
  const narrow = Array.from({ length: narrowOnly ? nv - 1 : 0 }, (_, j) => {
    const w = j + 1, tall = w === 1 ? 6 : w === 2 ? 4 : mr;
    return [tall % mr === 0 ? tall : mr, w] as const;
  });
  const maxRows = Math.max(mr, ...narrow.map(([m]) => m)), maxAcc = Math.max(mr * nv, ...narrow.map(([m, w]) => m * w));
  const jp = f.local(I32), i = f.local(I32), q = f.local(I32), bpan = f.local(I32), bptr = f.local(I32), ctile = f.local(I32);
  const aRow = Array.from({ length: maxRows }, () => f.local(I32));
  const acc = Array.from({ length: maxAcc }, () => f.local(V128));
  const bv = Array.from({ length: nv }, () => f.local(V128));
  const as = f.local(V128);
  const vecA = shuffleA && unroll % lanes === 0;
  const av = vecA ? Array.from({ length: mr }, () => f.local(V128)) : [];
  const splat = isF64 ? Simd.load64Splat : Simd.load32Splat;
  const add = isF64 ? Simd.f64x2Add : Simd.f32x4Add, mul = isF64 ? Simd.f64x2Mul : Simd.f32x4Mul;
  const madd = isF64 ? Simd.f64x2RelaxedMadd : Simd.f32x4RelaxedMadd;

  /** Row tiles of tm rows × tv vectors from row i while they fit: C[i.., panel jp] (+)= A[i.., :]·Bp panel. */
  const tiles = (tm: number, tv: number, u0: number): void => {
    /** One k-step at static element offset u: loads B vectors, then per row splat A and accumulate. */
    const step = (u: number, vectorA = false): void => {
      for (let v = 0; v < tv; v++) f.get(bptr).simdMem(Simd.load, 4, (u * nr + v * lanes) * es).set(bv[v]!);
      for (let r = 0; r < tm; r++) {
        if (vectorA) {
          // every `lanes`-th step: load A[r, u..u+lanes); then broadcast lane u mod lanes
          if (u % lanes === 0) f.get(aRow[r]!).simdMem(Simd.load, 0, u * es).set(av[r]!);
          const l = u % lanes;
          f.get(av[r]!).get(av[r]!).simd(Simd.shuffle).op(...Array.from({ length: 16 }, (_, i) => es * l + (i % es))).set(as);
        } else f.get(aRow[r]!).simdMem(splat, isF64 ? 3 : 2, u * es).set(as);
        for (let v = 0; v < tv; v++) {
          const c = acc[r * tv + v]!;
          if (fma) f.get(as).get(bv[v]!).get(c).simd(madd).set(c);
          else f.get(c).get(as).get(bv[v]!).simd(mul).simd(add).set(c);
        }
      }
    };
    const advance = (steps: number): void => {
      for (let r = 0; r < tm; r++) f.addTo(aRow[r]!, steps * es);
      f.addTo(bptr, steps * nr * es);
      f.addTo(q, -steps);
    };
    const cAddr = (r: number): void => {
      f.get(ctile);
      if (r > 0) f.get(LDC).i32(r).op(Op.i32Mul, Op.i32Add);
    };
    f.whileLoop(() => f.get(i).i32(tm).op(Op.i32Add).get(ROWS).op(Op.i32GtU), () => {
      f.get(C).get(jp).i32(nr * es).op(Op.i32Mul, Op.i32Add).get(i).get(LDC).op(Op.i32Mul, Op.i32Add).set(ctile);
      for (let r = 0; r < tm; r++) f.get(A).get(i).i32(r).op(Op.i32Add).get(LDA).op(Op.i32Mul, Op.i32Add).set(aRow[r]!);
      // accumulators: from C when accumulating over a previous k-block, else zero
      f.get(ACC).op(Op.if, 0x40);
      for (let r = 0; r < tm; r++) for (let v = 0; v < tv; v++) { cAddr(r); f.simdMem(Simd.load, 4, v * 16).set(acc[r * tv + v]!); }
      f.op(Op.else);
      for (let r = 0; r < tm; r++) for (let v = 0; v < tv; v++) f.v128Zero().set(acc[r * tv + v]!);
      f.op(Op.end);
      f.get(bpan).set(bptr).get(KC).set(q);
      f.whileLoop(() => f.get(q).i32(u0).op(Op.i32LtS), () => { for (let u = 0; u < u0; u++) step(u, vecA && u0 === unroll); advance(u0); });
      f.whileLoop(() => f.get(q).i32(1).op(Op.i32LtS), () => { step(0); advance(1); });
      for (let r = 0; r < tm; r++) for (let v = 0; v < tv; v++) { cAddr(r); f.get(acc[r * tv + v]!).simdMem(Simd.store, 4, v * 16); }
      f.addTo(i, tm);
    });
  };
  /** Narrow tiles j.. for the last panel: if lastW ≤ w·lanes use [tm, w] (then MR rows for the rest), else the next. */
  const narrowChain = (j: number): void => {
    const [tm, w] = narrow[j]!;
    const body = (): void => { tiles(tm, w, 1); if (tm !== mr) tiles(mr, w, 1); };
    if (j === narrow.length - 1) { body(); return; }
    f.get(LASTW).i32(w * lanes).op(Op.i32LeU, Op.if, 0x40);
    body();
    f.op(Op.else);
    narrowChain(j + 1);
    f.op(Op.end);
  };

  f.i32(0).set(jp);
  if (narrowOnly) {
    // one panel (bp, c point at it) with lastW ≤ (nv − 1)·lanes real columns
    f.get(BP).set(bpan).i32(0).set(i);
    if (narrow.length > 0) narrowChain(0);
  } else {
    f.whileLoop(() => f.get(jp).get(PANELS).op(Op.i32GeU), () => {
      // bpan = bp + jp·kc·NR·es ; C column = c + jp·NR·es
      f.get(BP).get(jp).get(KC).op(Op.i32Mul).i32(nr * es).op(Op.i32Mul, Op.i32Add).set(bpan);
      f.i32(0).set(i);
      tiles(mr, nv, unroll);
      f.addTo(jp, 1);
    });
  }
  return f;
}

/**
 * run(ctrl) → tasks done: grabs tasks (batch item × row chunk) until none are left. Per dtype: the
 * full-tile kernel and the narrow last-panel kernel (function indices) and NR, lanes.
 */
function runFunc(k32: { gemm: number; narrow: number; nr: number }, k64: { gemm: number; narrow: number; nr: number }): FuncBuilder {
  const f = new FuncBuilder([I32], [I32]);
  const CT = 0;
  const t = f.local(I32), count = f.local(I32), b = f.local(I32), i0 = f.local(I32), rows = f.local(I32);
  const aB = f.local(I32), bB = f.local(I32), cB = f.local(I32), p0 = f.local(I32), kcl = f.local(I32), es = f.local(I32);
  const lastW = f.local(I32), nf = f.local(I32);
  const slot = (s: number): FuncBuilder => f.get(CT).mem(Op.i32Load, 2, s * 4);
  f.i32(8).i32(4); slot(Ctrl.IS_F64); f.op(Op.select).set(es);
  f.op(Op.block, 0x40, Op.loop, 0x40);
  f.get(CT).i32(1).atomicMem(Atomic.i32RmwAdd, Ctrl.NEXT * 4).tee(t);
  slot(Ctrl.TOTAL).op(Op.i32GeU, Op.brIf, 1);
  // b = t / tpb ; i0 = (t % tpb)·rpt ; rows = min(rpt, mPad − i0)
  f.get(t); slot(Ctrl.TASKS_PER_BATCH); f.op(Op.i32DivU).set(b);
  f.get(t); slot(Ctrl.TASKS_PER_BATCH); f.op(Op.i32RemU); slot(Ctrl.ROWS_PER_TASK); f.op(Op.i32Mul).set(i0);
  slot(Ctrl.M_PAD); f.get(i0).op(Op.i32Sub).set(rows);
  slot(Ctrl.ROWS_PER_TASK); f.get(rows); slot(Ctrl.ROWS_PER_TASK); f.get(rows).op(Op.i32LtU, Op.select).set(rows);
  slot(Ctrl.A); f.get(b); slot(Ctrl.A_STRIDE); f.op(Op.i32Mul, Op.i32Add).get(i0); slot(Ctrl.LDA); f.op(Op.i32Mul, Op.i32Add).set(aB);
  slot(Ctrl.B); f.get(b); slot(Ctrl.B_STRIDE); f.op(Op.i32Mul, Op.i32Add).set(bB);
  slot(Ctrl.C); f.get(b); slot(Ctrl.C_STRIDE); f.op(Op.i32Mul, Op.i32Add).get(i0); slot(Ctrl.LDC); f.op(Op.i32Mul, Op.i32Add).set(cB);
  f.i32(0).set(p0);
  f.whileLoop(() => { f.get(p0); slot(Ctrl.K); f.op(Op.i32GeU); }, () => {
    // kcl = min(KC, K − p0)
    slot(Ctrl.K); f.get(p0).op(Op.i32Sub).set(kcl);
    slot(Ctrl.KC); f.get(kcl); slot(Ctrl.KC); f.get(kcl).op(Op.i32LtU, Op.select).set(kcl);
    // gemm(aB + p0·es, bB + p0·nPad·es, cB, lda, ldc, kcl, rows, panels − nf, p0 != 0, lastW), by dtype;
    // nf = 1 when the last panel's real columns fit in fewer vectors: then narrow(…) on that panel alone
    const call = ({ gemm, narrow, nr }: { gemm: number; narrow: number; nr: number }, lanes: number): void => {
      // lastW = N − (panels − 1)·NR, or NR when that is not in 1..NR (N not written by pack)
      slot(Ctrl.N); slot(Ctrl.PANELS); f.i32(1).op(Op.i32Sub).i32(nr).op(Op.i32Mul, Op.i32Sub).set(lastW);
      f.i32(nr).get(lastW).get(lastW).i32(1).op(Op.i32Sub).i32(nr).op(Op.i32GeU, Op.select).set(lastW);
      f.get(lastW).i32(nr - lanes).op(Op.i32LeU).set(nf);
      const common = (): void => { slot(Ctrl.LDA); slot(Ctrl.LDC); f.get(kcl).get(rows); };
      f.get(aB).get(p0).get(es).op(Op.i32Mul, Op.i32Add);
      f.get(bB).get(p0); slot(Ctrl.LDC); f.op(Op.i32Mul, Op.i32Add);
      f.get(cB); common(); slot(Ctrl.PANELS); f.get(nf).op(Op.i32Sub).get(p0).i32(0).op(Op.i32Ne).get(lastW).op(Op.call, gemm);
      f.get(nf).op(Op.if, 0x40);
      // the last panel: B at + (panels − 1)·kcl·NR·es within the k-block, C at + (panels − 1)·NR·es
      f.get(aB).get(p0).get(es).op(Op.i32Mul, Op.i32Add);
      f.get(bB).get(p0); slot(Ctrl.LDC); f.op(Op.i32Mul, Op.i32Add); slot(Ctrl.PANELS); f.i32(1).op(Op.i32Sub).get(kcl).op(Op.i32Mul).i32(nr * (16 / lanes)).op(Op.i32Mul, Op.i32Add);
      f.get(cB); slot(Ctrl.PANELS); f.i32(1).op(Op.i32Sub).i32(nr * (16 / lanes)).op(Op.i32Mul, Op.i32Add);
      common(); f.i32(1).get(p0).i32(0).op(Op.i32Ne).get(lastW).op(Op.call, narrow);
      f.op(Op.end);
    };
    slot(Ctrl.IS_F64); f.op(Op.if, 0x40); call(k64, 2); f.op(Op.else); call(k32, 4); f.op(Op.end);
    f.get(p0).get(kcl).op(Op.i32Add).set(p0);
  });
  f.addTo(count, 1);
  f.op(Op.br, 0, Op.end, Op.end);
  f.get(count);
  return f;
}

/**
 * pack(src, dst, k, n, nPad, kc, fullPanels): copies the full-width column panels of a row-major
 * B [k, n] (at src) into the k-block × panel layout at dst with v128 loads/stores. The last,
 * partial panel (n mod NR columns) is left to the host.
 */
function packFunc(isF64: boolean, nv: number): FuncBuilder {
  const es = isF64 ? 8 : 4, nr = nv * (16 / es);
  const f = new FuncBuilder([I32, I32, I32, I32, I32, I32, I32], []);
  const [SRC, DST, K, N, NPAD, KC, FULL] = [0, 1, 2, 3, 4, 5, 6] as const;
  const p0 = f.local(I32), kcl = f.local(I32), jp = f.local(I32), p = f.local(I32), s = f.local(I32), d = f.local(I32);
  // the real column count, for run's last-panel width (the host packs B before every run)
  f.i32(CTRL_BASE).get(N).mem(Op.i32Store, 2, Ctrl.N * 4);
  f.i32(0).set(p0);
  f.whileLoop(() => f.get(p0).get(K).op(Op.i32GeU), () => {
    // kcl = min(KC, K − p0)
    f.get(K).get(p0).op(Op.i32Sub).set(kcl);
    f.get(KC).get(kcl).get(KC).get(kcl).op(Op.i32LtU, Op.select).set(kcl);
    f.i32(0).set(jp);
    f.whileLoop(() => f.get(jp).get(FULL).op(Op.i32GeU), () => {
      // s = src + (p0·n + jp·NR)·es ; d = dst + (p0·nPad + jp·NR·kcl)·es
      f.get(SRC).get(p0).get(N).op(Op.i32Mul).get(jp).i32(nr).op(Op.i32Mul, Op.i32Add).i32(es).op(Op.i32Mul, Op.i32Add).set(s);
      f.get(DST).get(p0).get(NPAD).op(Op.i32Mul).get(jp).i32(nr).op(Op.i32Mul).get(kcl).op(Op.i32Mul, Op.i32Add).i32(es).op(Op.i32Mul, Op.i32Add).set(d);
      f.i32(0).set(p);
      f.whileLoop(() => f.get(p).get(kcl).op(Op.i32GeU), () => {
        for (let v = 0; v < nv; v++) f.get(d).get(s).simdMem(Simd.load, 0, v * 16).simdMem(Simd.store, 0, v * 16);
        f.get(s).get(N).i32(es).op(Op.i32Mul, Op.i32Add).set(s);
        f.addTo(d, nr * es);
        f.addTo(p, 1);
      });
      f.addTo(jp, 1);
    });
    f.get(p0).get(kcl).op(Op.i32Add).set(p0);
  });
  return f;
}

/**
 * bias_act(c, ldc, rows, rowBytes, bias, relu): the GEMM epilogue on C in wasm memory, before the
 * copy out: C[i, :] += bias, then max(·, 0) when `relu` (pmax keeps NaN as NaN, as the JS path does).
 * rowBytes = nPad·es is a multiple of 16 (panels are whole vectors); bias is zero-padded to nPad.
 */
function biasActFunc(isF64: boolean): FuncBuilder {
  const f = new FuncBuilder([I32, I32, I32, I32, I32, I32], []);
  const [C, LDC, ROWS, RB, BIAS, RELU] = [0, 1, 2, 3, 4, 5] as const;
  const i = f.local(I32), j = f.local(I32), row = f.local(I32), v = f.local(V128);
  const add = isF64 ? Simd.f64x2Add : Simd.f32x4Add, pmax = isF64 ? Simd.f64x2Pmax : Simd.f32x4Pmax;
  f.i32(0).set(i);
  f.whileLoop(() => f.get(i).get(ROWS).op(Op.i32GeU), () => {
    f.get(C).get(i).get(LDC).op(Op.i32Mul, Op.i32Add).set(row);
    f.i32(0).set(j);
    f.whileLoop(() => f.get(j).get(RB).op(Op.i32GeU), () => {
      // v = C[row + j] + bias[j]; relu: v = pmax(v, 0)
      f.get(row).get(j).op(Op.i32Add).simdMem(Simd.load, 4, 0).get(BIAS).get(j).op(Op.i32Add).simdMem(Simd.load, 4, 0).simd(add).set(v);
      f.get(RELU).op(Op.if, 0x40).get(v).v128Zero().simd(pmax).set(v).op(Op.end);
      f.get(row).get(j).op(Op.i32Add).get(v).simdMem(Simd.store, 4, 0);
      f.addTo(j, 16);
    });
    f.addTo(i, 1);
  });
  return f;
}

/**
 * relu_grad(dy, s, bytes): dy[i] = s[i] > 0 ? dy[i] : +0 in place, 16 bytes at a time — the ReLU
 * backward as dy AND (s > 0) lane masks (a NaN s compares false: +0, as the JS loop gives).
 * `bytes` is a multiple of 16 (the caller pads the tail).
 */
function reluGradFunc(isF64: boolean): FuncBuilder {
  const f = new FuncBuilder([I32, I32, I32], []);
  const [DY, S, BYTES] = [0, 1, 2] as const;
  const j = f.local(I32);
  f.i32(0).set(j);
  f.whileLoop(() => f.get(j).get(BYTES).op(Op.i32GeU), () => {
    f.get(DY).get(j).op(Op.i32Add); // store address
    f.get(DY).get(j).op(Op.i32Add).simdMem(Simd.load, 4, 0);
    f.get(S).get(j).op(Op.i32Add).simdMem(Simd.load, 4, 0).v128Zero().simd(isF64 ? Simd.f64x2Gt : Simd.f32x4Gt);
    f.simd(Simd.v128And).simdMem(Simd.store, 4, 0);
    f.addTo(j, 16);
  });
  return f;
}

/**
 * col_sum(x, rows, rowBytes, acc): acc[j] += x[r, j] for r = 0 .. rows−1, row by row, in float64
 * (f32 rows: two columns per step, promoted exactly; f64 rows: two lanes), so every column adds its
 * rows in the same order as a scalar loop — the same bits. rowBytes is H·es with H even.
 */
function colSumFunc(isF64: boolean): FuncBuilder {
  const f = new FuncBuilder([I32, I32, I32, I32], []);
  const [X, ROWS, RB, ACC] = [0, 1, 2, 3] as const;
  const r = f.local(I32), j = f.local(I32), a = f.local(I32), v = f.local(V128);
  const rows = [f.local(I32), f.local(I32), f.local(I32), f.local(I32)];
  const step = isF64 ? 16 : 8; // bytes of x per two columns
  const addRow = (row: number): void => {
    f.get(v).get(row).get(j).op(Op.i32Add);
    if (isF64) f.simdMem(Simd.load, 4, 0);
    else f.simdMem(Simd.load64Zero, 3, 0).simd(Simd.f64x2PromoteLowF32x4);
    f.simd(Simd.f64x2Add).set(v);
  };
  // `group` rows per pass over acc (4, then 1 for the rest): acc + x0 + x1 + x2 + x3 left to right,
  // the order of one row at a time, with a quarter of the acc loads and stores
  const pass = (group: number): void => {
    f.whileLoop(() => f.get(r).i32(group).op(Op.i32Add).get(ROWS).op(Op.i32GtU), () => {
      f.get(X).get(r).get(RB).op(Op.i32Mul, Op.i32Add).set(rows[0]!);
      for (let g = 1; g < group; g++) f.get(rows[g - 1]!).get(RB).op(Op.i32Add).set(rows[g]!);
      f.i32(0).set(j);
      f.get(ACC).set(a);
      f.whileLoop(() => f.get(j).get(RB).op(Op.i32GeU), () => {
        f.get(a).simdMem(Simd.load, 4, 0).set(v);
        for (let g = 0; g < group; g++) addRow(rows[g]!);
        f.get(a).get(v).simdMem(Simd.store, 4, 0);
        f.addTo(j, step);
        f.addTo(a, 16);
      });
      f.addTo(r, group);
    });
  };
  f.i32(0).set(r);
  pass(4);
  pass(1);
  return f;
}

/** Assembles the module: exports `gemm_f32`, `gemm_f64`, `run`, `pack_f32`, `pack_f64`, `bias_act_f32`, `bias_act_f64`, `transpose_f32`, `transpose_f64`, `transpose_simd_f32`, `transpose_simd_f64`, `relu_grad_f32`, `relu_grad_f64`, `col_sum_f32`, `col_sum_f64`; imports `env.memory`. */
export function buildGemmModule(config: GemmConfig, memory: { min: number; max: number; shared: boolean }): Uint8Array {
  return assemble({
    memory,
    funcs: [
      { name: 'gemm_f32', fn: gemmFunc(false, config.f32, config.unroll, fmaFor(config, false), config.shuffleA) },
      { name: 'gemm_f64', fn: gemmFunc(true, config.f64, config.unroll, fmaFor(config, true)) },
      { name: 'run', fn: runFunc({ gemm: 0, narrow: 11, nr: panelWidth(config, false) }, { gemm: 1, narrow: 12, nr: panelWidth(config, true) }) },
      { name: 'pack_f32', fn: packFunc(false, config.f32.nv) },
      { name: 'pack_f64', fn: packFunc(true, config.f64.nv) },
      { name: 'bias_act_f32', fn: biasActFunc(false) },
      { name: 'bias_act_f64', fn: biasActFunc(true) },
      { name: 'transpose_f32', fn: transposeFunc(false) },
      { name: 'transpose_f64', fn: transposeFunc(true) },
      { name: 'transpose_simd_f32', fn: transposeSimdFunc(false) },
      { name: 'transpose_simd_f64', fn: transposeSimdFunc(true) },
      { name: 'gemm_narrow_f32', fn: gemmFunc(false, config.f32, 1, fmaFor(config, false), false, true) },
      { name: 'gemm_narrow_f64', fn: gemmFunc(true, config.f64, 1, fmaFor(config, true), false, true) },
      { name: 'relu_grad_f32', fn: reluGradFunc(false) },
      { name: 'relu_grad_f64', fn: reluGradFunc(true) },
      { name: 'col_sum_f32', fn: colSumFunc(false) },
      { name: 'col_sum_f64', fn: colSumFunc(true) },
    ],
  });
}

/** Tile width NR (elements) for a dtype. */
export function panelWidth(config: GemmConfig, isF64: boolean): number {
  return isF64 ? config.f64.nv * 2 : config.f32.nv * 4;
}

/** Tile height MR for a dtype. */
export function tileRows(config: GemmConfig, isF64: boolean): number {
  return isF64 ? config.f64.mr : config.f32.mr;
}

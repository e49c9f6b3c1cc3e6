/**
 * A tiny WebAssembly binary assembler: just enough of the format (types, one imported memory,
 * functions, exports, i32 control flow, scalar/SIMD loads and stores, i32 atomics) to generate the
 * matmul kernels at runtime from TypeScript. No external toolchain and no prebuilt .wasm files.
 *
 * Binary format reference: WebAssembly Core Specification §5 (module = magic, version, sections;
 * integers in LEB128; SIMD opcodes behind the 0xfd prefix, atomics behind 0xfe).
 */

export const I32 = 0x7f, F32 = 0x7d, F64 = 0x7c, V128 = 0x7b;
export type ValType = typeof I32 | typeof F32 | typeof F64 | typeof V128;

/** Opcodes used by the kernels (single-byte core ones). */
export const Op = {
  block: 0x02, loop: 0x03, call: 0x10, if: 0x04, else: 0x05, end: 0x0b, br: 0x0c, brIf: 0x0d, return: 0x0f,
  localGet: 0x20, localSet: 0x21, localTee: 0x22,
  i32Load: 0x28, f32Load: 0x2a, f64Load: 0x2b, i32Store: 0x36, f32Store: 0x38, f64Store: 0x39,
  i32Const: 0x41,
  i32Eqz: 0x45, i32Eq: 0x46, i32Ne: 0x47, i32LtS: 0x48, i32LtU: 0x49, i32GtU: 0x4b, i32GeU: 0x4f, i32GeS: 0x4e, i32LeU: 0x4d,
  i32Add: 0x6a, i32Sub: 0x6b, i32Mul: 0x6c, i32DivU: 0x6e, i32RemU: 0x70, i32And: 0x71, i32Shl: 0x74,
  select: 0x1b,
} as const;

/** SIMD opcodes (after the 0xfd prefix, LEB128-encoded). */
export const Simd = {
  load: 0x00, load32Splat: 0x09, load64Splat: 0x0a, store: 0x0b, const: 0x0c, shuffle: 0x0d,
  f32x4Splat: 0x13, f64x2Splat: 0x14,
  f32x4Add: 0xe4, f32x4Mul: 0xe6, f64x2Add: 0xf0, f64x2Mul: 0xf2,
  /** pmax(a, b) = a < b ? b : a (so pmax(x, 0) keeps NaN and −0, like `x < 0 ? 0 : x`). */
  f32x4Pmax: 0xeb, f64x2Pmax: 0xf7,
  /** Lane-wise comparisons (all-ones lanes where true; false for NaN). */
  f32x4Gt: 0x44, f64x2Gt: 0x4a,
  v128And: 0x4e,
  /** v128.load64_zero (memarg): two f32 into the low half. f64x2.promote_low_f32x4: lanes 0–1 to f64. */
  load64Zero: 0x5d, f64x2PromoteLowF32x4: 0x5f,
  /** relaxed-simd fused multiply-add (a*b + c); only used when the engine validates it. */
  f32x4RelaxedMadd: 0x105, f64x2RelaxedMadd: 0x107,
} as const;

/** Atomic opcodes (after the 0xfe prefix). */
export const Atomic = { i32Load: 0x10, i32Store: 0x17, i32RmwAdd: 0x1e } as const;

export function uleb(n: number, out: number[] = []): number[] {
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

export function sleb(n: number, out: number[] = []): number[] {
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    const done = (n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

function utf8(s: string): number[] {
  const bytes = [...new TextEncoder().encode(s)];
  return [...uleb(bytes.length), ...bytes];
}

function vec(items: number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

/** Emits one function body: locals are declared up front; code is appended with small helpers. */
export class FuncBuilder {
  readonly code: number[] = [];
  private readonly localTypes: ValType[] = [];
  constructor(readonly params: ValType[], readonly results: ValType[]) {}

  /** Declares a new local of type `t` and returns its index. */
  local(t: ValType): number {
    this.localTypes.push(t);
    return this.params.length + this.localTypes.length - 1;
  }

  op(...bytes: number[]): this { this.code.push(...bytes); return this; }
  get(i: number): this { return this.op(Op.localGet, ...uleb(i)); }
  set(i: number): this { return this.op(Op.localSet, ...uleb(i)); }
  tee(i: number): this { return this.op(Op.localTee, ...uleb(i)); }
  i32(v: number): this { return this.op(Op.i32Const, ...sleb(v | 0)); }
  /** Memory instruction with alignment hint (log2 bytes) and static byte offset. */
  mem(opcode: number, align: number, offset: number): this { return this.op(opcode, ...uleb(align), ...uleb(offset)); }
  simd(opcode: number): this { return this.op(0xfd, ...uleb(opcode)); }
  simdMem(opcode: number, align: number, offset: number): this { return this.op(0xfd, ...uleb(opcode), ...uleb(align), ...uleb(offset)); }
  atomicMem(opcode: number, offset: number): this { return this.op(0xfe, ...uleb(opcode), 2, ...uleb(offset)); }
  v128Zero(): this { this.simd(Simd.const); for (let i = 0; i < 16; i++) this.code.push(0); return this; }
  /** local[i] += delta (i32). */
  addTo(i: number, delta: number): this { return this.get(i).i32(delta).op(Op.i32Add).set(i); }
  /** `block { loop { <cond> br_if exit; body; br loop } }` with the exit condition emitted by `exitIf`. */
  whileLoop(exitIf: () => void, body: () => void): this {
    this.op(Op.block, 0x40, Op.loop, 0x40);
    exitIf();
    this.op(Op.brIf, 1);
    body();
    this.op(Op.br, 0, Op.end, Op.end);
    return this;
  }

  encode(): number[] {
    const groups: number[][] = [];
    for (const t of this.localTypes) {
      const last = groups[groups.length - 1];
      if (last && last[1] === t) last[0]!++;
      else groups.push([1, t]);
    }
    const body = [...uleb(groups.length), ...groups.flatMap(([n, t]) => [...uleb(n!), t!]), ...this.code, Op.end];
    return [...uleb(body.length), ...body];
  }
}

export interface ModuleSpec {
  /** Imported linear memory `env.memory`. */
  memory: { min: number; max: number; shared: boolean };
  funcs: { name?: string; fn: FuncBuilder }[];
}

/** Assembles a module: one imported memory, the functions (each with its own type), exports by name. */
export function assemble(spec: ModuleSpec): Uint8Array {
  const section = (id: number, payload: number[]): number[] => [id, ...uleb(payload.length), ...payload];
  const types = spec.funcs.map(({ fn }) => [0x60, ...uleb(fn.params.length), ...fn.params, ...uleb(fn.results.length), ...fn.results]);
  const { min, max, shared } = spec.memory;
  const limits = [shared ? 0x03 : 0x01, ...uleb(min), ...uleb(max)];
  const imports = [[...utf8('env'), ...utf8('memory'), 0x02, ...limits]];
  const funcIdx = spec.funcs.map((_, i) => uleb(i));
  const exports = spec.funcs.flatMap(({ name }, i) => (name ? [[...utf8(name), 0x00, ...uleb(i)]] : []));
  const bytes = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec(types)),
    ...section(2, vec(imports)),
    ...section(3, vec(funcIdx)),
    ...section(7, vec(exports)),
    ...section(10, vec(spec.funcs.map(({ fn }) => fn.encode()))),
    // custom "name" section, function names (subsection 1): profilers and stack traces show
    // `gemm_f32` instead of `wasm-function[0]`
    ...section(0, [...utf8('name'), 1, ...(() => {
      const names = spec.funcs.flatMap(({ name }, i) => (name ? [[...uleb(i), ...utf8(name)]] : []));
      const payload = vec(names);
      return [...uleb(payload.length), ...payload];
    })()]),
  ];
  return new Uint8Array(bytes);
}

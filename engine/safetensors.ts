/**
 * The safetensors file format (Hugging Face, https://github.com/huggingface/safetensors, "Format"):
 *   bytes 0..8    N, an unsigned 64-bit little-endian integer: the header size
 *   bytes 8..8+N  a UTF-8 JSON object { name: { dtype, shape, data_offsets: [begin, end] }, ...,
 *                 "__metadata__"?: { string: string } }, possibly padded with trailing spaces
 *   the rest      the byte buffer; each tensor's little-endian, row-major data at [begin, end) of it
 * Offsets are relative to the buffer, and the tensors must cover it exactly (no gaps, no overlap) — the
 * reference reader rejects anything else, so this one does too. Only F32 and F64 are read and written.
 * Pure bytes in, bytes out (no file system), so it runs in the browser too; the writer pads the header
 * to a multiple of 8 and stores F64 tensors first, so every tensor is aligned to its element size.
 * No npm dependency: the format is ~100 lines, the npm package named `safetensors` is a 0.0.1
 * placeholder, and Hugging Face ships its JS parser only inside its hub client (remote files).
 */
import { Tensor, allocate, fromData, cast } from './tensor.js';
import { ValueError, fmtShape } from './errors.js';
import { describeValue, checkOptions } from './validate.js';
import { sizeOf } from './shape.js';

/** Element types this reader/writer supports: IEEE-754 single (`F32`) and double (`F64`) precision. */
export type SafetensorsDType = 'F32' | 'F64';

/** A decoded safetensors file: named tensors and the optional string metadata. */
export interface SafetensorsFile {
  /** Tensors by name (F32 → float32, F64 → float64), in the file's header order. */
  readonly tensors: Record<string, Tensor>;
  /** The `__metadata__` map (string → string); `{}` when absent. */
  readonly metadata: Record<string, string>;
}

/** Options of {@link encodeSafetensors}. */
export interface EncodeSafetensorsOptions {
  /** String metadata stored as `__metadata__` (values must be strings, as the format requires). */
  readonly metadata?: Readonly<Record<string, string>>;
  /** Store every tensor as this dtype (e.g. `'F32'` to halve a float64 checkpoint); default: each tensor's own. */
  readonly dtype?: SafetensorsDType;
}

const BYTES: Record<SafetensorsDType, number> = { F32: 4, F64: 8 };
/** The reference implementation's header limit (100 MB); larger values are corruption, not headers. */
const MAX_HEADER = 100_000_000;

/**
 * Serializes named tensors to safetensors bytes (header, then little-endian data; format at
 * engine/safetensors.ts). Tensors are written F64 first then F32, by name within a dtype; the header is
 * space-padded to a multiple of 8 bytes so each tensor is aligned to its element size.
 *
 * @param tensors - name → Tensor (names non-empty, not `__metadata__`).
 * @param options - `metadata` (string → string) and `dtype` (store all as F32 or F64).
 * @returns the file's bytes.
 * @example const bytes = encodeSafetensors({ w: randn(new Rng(0), [2, 3]) }, { metadata: { step: '10' } });
 * @throws {@link ValueError} for a non-object argument, a bad name, a non-Tensor value, a non-string
 *   metadata value or an unknown dtype.
 */
export function encodeSafetensors(tensors: Readonly<Record<string, Tensor>>, options: EncodeSafetensorsOptions = {}): Uint8Array {
  const op = 'encodeSafetensors';
  if (tensors === null || typeof tensors !== 'object' || Array.isArray(tensors) || tensors instanceof Tensor) {
    throw new ValueError(op, `tensors must be an object mapping names to Tensors; got ${describeValue(tensors)}`);
  }
  checkOptions(op, options);
  const { metadata, dtype } = options;
  if (dtype !== undefined && dtype !== 'F32' && dtype !== 'F64') throw new ValueError(op, `dtype must be 'F32' or 'F64'; got ${describeValue(dtype)}`);
  if (metadata !== undefined) {
    if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) throw new ValueError(op, `metadata must be an object of strings; got ${describeValue(metadata)}`);
    for (const [k, v] of Object.entries(metadata)) if (typeof v !== 'string') throw new ValueError(op, `metadata values must be strings (the format stores string → string); '${k}' is ${describeValue(v)}`);
  }
  const entries = Object.entries(tensors).map(([name, t]) => {
    if (name === '' || name === '__metadata__') throw new ValueError(op, `tensor names must be non-empty and not '__metadata__'; got '${name}'`);
    if (!(t instanceof Tensor)) throw new ValueError(op, `tensor '${name}' must be a Tensor; got ${describeValue(t)}`);
    const dt: SafetensorsDType = dtype ?? (t.dtype === 'float32' ? 'F32' : 'F64');
    return { name, t: (dt === 'F32') === (t.dtype === 'float32') ? t : cast(t, dt === 'F32' ? 'float32' : 'float64'), dt };
  }).sort((a, b) => BYTES[b.dt] - BYTES[a.dt] || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const header: Record<string, unknown> = {};
  if (metadata !== undefined) header.__metadata__ = { ...metadata };
  let offset = 0;
  for (const { name, t, dt } of entries) {
    const n = t.size * BYTES[dt];
    header[name] = { dtype: dt, shape: [...t.shape], data_offsets: [offset, offset + n] };
    offset += n;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + padded + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(padded), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + padded);
  let at = 8 + padded;
  for (const { t, dt } of entries) {
    const d = t.data;
    if (dt === 'F32') for (let i = 0; i < d.length; i++, at += 4) view.setFloat32(at, d[i]!, true);
    else for (let i = 0; i < d.length; i++, at += 8) view.setFloat64(at, d[i]!, true);
  }
  return out;
}

/**
 * Parses safetensors bytes (format at engine/safetensors.ts) into tensors and metadata, validating as
 * the reference reader does: header size within the file, a JSON object, known dtypes, shapes that
 * match their byte ranges, and ranges that tile the data buffer exactly.
 *
 * @param bytes - the whole file (Uint8Array, e.g. from `fs.readFileSync`).
 * @returns `{ tensors, metadata }` ({@link SafetensorsFile}).
 * @example const { tensors, metadata } = decodeSafetensors(encodeSafetensors({ w: ones([2]) }));
 * @throws {@link ValueError} naming the problem and the offending value: too short / truncated file,
 *   header length past the end (overflow), invalid JSON, a dtype other than F32/F64 (e.g. `'F16'`), a bad
 *   shape or data_offsets, gaps or overlaps in the buffer, non-string metadata.
 */
export function decodeSafetensors(bytes: Uint8Array): SafetensorsFile {
  const op = 'decodeSafetensors';
  if (!(bytes instanceof Uint8Array)) throw new ValueError(op, `bytes must be a Uint8Array (e.g. from readFileSync); got ${describeValue(bytes)}`);
  if (bytes.length < 8) throw new ValueError(op, `file is truncated: ${bytes.length} bytes, but the 8-byte header length alone needs 8`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n64 = view.getBigUint64(0, true);
  if (n64 > BigInt(bytes.length - 8) || n64 > BigInt(MAX_HEADER)) {
    throw new ValueError(op, `header length ${n64} overflows the file: ${bytes.length - 8} bytes follow the length field (limit ${MAX_HEADER})`);
  }
  const n = Number(n64);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n)));
  } catch (e) {
    throw new ValueError(op, `header (${n} bytes) is not valid UTF-8 JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) throw new ValueError(op, `header must be a JSON object; got ${describeValue(header)}`);
  const bufStart = 8 + n, bufLen = bytes.length - bufStart;
  const metadata: Record<string, string> = {};
  const ranges: { name: string; begin: number; end: number; dt: SafetensorsDType; shape: number[] }[] = [];
  for (const [name, info] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (info === null || typeof info !== 'object' || Array.isArray(info)) throw new ValueError(op, `__metadata__ must be an object of strings; got ${describeValue(info)}`);
      for (const [k, v] of Object.entries(info)) {
        if (typeof v !== 'string') throw new ValueError(op, `__metadata__ values must be strings; '${k}' is ${describeValue(v)}`);
        metadata[k] = v;
      }
      continue;
    }
    const { dtype, shape, data_offsets: off } = (info ?? {}) as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (dtype !== 'F32' && dtype !== 'F64') throw new ValueError(op, `tensor '${name}' has dtype ${describeValue(dtype)}; moegrad reads only 'F32' and 'F64'`);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw new ValueError(op, `tensor '${name}' has a bad shape ${describeValue(shape)}; expected an array of integers ≥ 0`);
    if (!Array.isArray(off) || off.length !== 2 || !off.every((o) => Number.isSafeInteger(o) && o >= 0) || off[1] < off[0]) {
      throw new ValueError(op, `tensor '${name}' has bad data_offsets ${describeValue(off)}; expected [begin, end] with 0 ≤ begin ≤ end`);
    }
    const [begin, end] = off as [number, number];
    const need = sizeOf(shape) * BYTES[dtype];
    if (end - begin !== need) throw new ValueError(op, `tensor '${name}' (${dtype} ${fmtShape(shape)}) needs ${need} bytes but data_offsets [${begin}, ${end}] hold ${end - begin}`);
    if (end > bufLen) throw new ValueError(op, `file is truncated: tensor '${name}' ends at byte ${end} of the data buffer, which has ${bufLen} bytes`);
    ranges.push({ name, begin, end, dt: dtype, shape });
  }
  const sorted = [...ranges].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  for (const r of sorted) {
    if (r.begin !== covered) throw new ValueError(op, `tensor '${r.name}' starts at byte ${r.begin} of the data buffer but the previous tensors end at ${covered} (${r.begin > covered ? 'a gap' : 'an overlap'})`);
    covered = r.end;
  }
  if (covered !== bufLen) throw new ValueError(op, `the tensors cover ${covered} bytes but the data buffer has ${bufLen} (trailing bytes)`);
  const tensors: Record<string, Tensor> = {};
  for (const r of ranges) {
    const count = (r.end - r.begin) / BYTES[r.dt];
    const data = allocate(r.dt === 'F32' ? 'float32' : 'float64', count);
    const base = bufStart + r.begin;
    if (r.dt === 'F32') for (let i = 0; i < count; i++) data[i] = view.getFloat32(base + 4 * i, true);
    else for (let i = 0; i < count; i++) data[i] = view.getFloat64(base + 8 * i, true);
    tensors[r.name] = fromData(data, r.shape);
  }
  return { tensors, metadata };
}

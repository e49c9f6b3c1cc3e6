/**
 * safetensors (engine/safetensors.ts): round trips (F32, F64, scalars, empty tensors, metadata), the
 * bytes laid out as the format says (checked by a reader written here from the format description, not
 * from our decoder), bad files (truncated, header overflow, bad dtype, gaps, bad JSON) rejected with
 * clear errors, and — when present — Python readers: struct+json (always, when python3 exists), and the
 * `safetensors` / `torch` modules (skipped cleanly when absent).
 */
import { describe, it, expect } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../../engine/rng.js';
import { Tensor, randn, tensor, zeros, cast } from '../../engine/tensor.js';
import { encodeSafetensors, decodeSafetensors } from '../../engine/safetensors.js';
import { ValueError } from '../../engine/errors.js';

const rng = new Rng(11);
const sample = (): Record<string, Tensor> => ({
  'blocks.0.attn.wq': randn(rng, [3, 4]),
  'emb': cast(randn(rng, [5, 2]), 'float32'),
  'scalar': tensor(Math.PI),
  'odd32': cast(randn(rng, [3]), 'float32'),
  'empty': zeros([0, 3]),
});

/** An independent reader from the format description: u64 LE length, JSON header, LE data at offsets. */
function specReader(bytes: Uint8Array): Record<string, { dtype: string; shape: number[]; values: number[] }> {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lo = dv.getUint32(0, true), hi = dv.getUint32(4, true);
  const n = hi * 2 ** 32 + lo;
  const header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + n)).toString('utf8'));
  const out: Record<string, { dtype: string; shape: number[]; values: number[] }> = {};
  for (const [name, info] of Object.entries<any>(header)) {
    if (name === '__metadata__') continue;
    const [b, e] = info.data_offsets, size = info.dtype === 'F32' ? 4 : 8;
    const values: number[] = [];
    for (let at = 8 + n + b; at < 8 + n + e; at += size) values.push(size === 4 ? dv.getFloat32(at, true) : dv.getFloat64(at, true));
    out[name] = { dtype: info.dtype, shape: info.shape, values };
  }
  return out;
}

describe('safetensors', () => {
  it('round-trips F32 and F64 tensors, scalars, empty tensors and metadata exactly', () => {
    const ts = sample();
    const { tensors, metadata } = decodeSafetensors(encodeSafetensors(ts, { metadata: { step: '42', format: 'pt' } }));
    expect(metadata).toEqual({ step: '42', format: 'pt' });
    expect(Object.keys(tensors).sort()).toEqual(Object.keys(ts).sort());
    for (const [k, t] of Object.entries(ts)) {
      expect(tensors[k]!.dtype, k).toBe(t.dtype);
      expect(tensors[k]!.shape, k).toEqual(t.shape);
      expect(tensors[k]!.toArray(), k).toEqual(t.toArray());
    }
    expect(decodeSafetensors(encodeSafetensors({})).tensors).toEqual({});
  });

  it('stores all as F32 on request, aligned, and the spec reader sees the same bytes', () => {
    const ts = sample();
    const bytes = encodeSafetensors(ts, { dtype: 'F32' });
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect((8 + n) % 8).toBe(0);
    const read = specReader(bytes);
    for (const [k, t] of Object.entries(ts)) {
      expect(read[k]!.dtype).toBe('F32');
      expect(read[k]!.shape).toEqual([...t.shape]);
      expect(read[k]!.values).toEqual(Array.from(Float32Array.from(t.data)));
    }
    const f64 = specReader(encodeSafetensors(ts));
    expect(f64['blocks.0.attn.wq']!.values).toEqual(ts['blocks.0.attn.wq']!.toArray());
    expect(f64['emb']!.dtype).toBe('F32');
  });

  it('decodes a file built by hand from the format description (padded header, F16-free)', () => {
    const header = JSON.stringify({ __metadata__: { a: 'b' }, x: { dtype: 'F64', shape: [2], data_offsets: [0, 16] }, y: { dtype: 'F32', shape: [], data_offsets: [16, 20] } }) + '   ';
    const h = Buffer.from(header, 'utf8');
    const buf = Buffer.alloc(8 + h.length + 20);
    buf.writeBigUInt64LE(BigInt(h.length), 0); h.copy(buf, 8);
    buf.writeDoubleLE(1.5, 8 + h.length); buf.writeDoubleLE(-2, 16 + h.length); buf.writeFloatLE(0.25, 24 + h.length);
    const { tensors, metadata } = decodeSafetensors(new Uint8Array(buf));
    expect(tensors.x!.toArray()).toEqual([1.5, -2]);
    expect(tensors.y!.shape).toEqual([]); expect(tensors.y!.item()).toBe(0.25); expect(tensors.y!.dtype).toBe('float32');
    expect(metadata).toEqual({ a: 'b' });
  });

  it('rejects bad files with errors that name the problem', () => {
    const good = encodeSafetensors({ w: randn(rng, [2, 2]) }, { metadata: { k: 'v' } });
    const bad = (b: Uint8Array, re: RegExp) => {
      expect(() => decodeSafetensors(b)).toThrow(ValueError);
      expect(() => decodeSafetensors(b)).toThrow(re);
    };
    bad(good.subarray(0, 5), /decodeSafetensors: file is truncated: 5 bytes/);
    bad(good.subarray(0, good.length - 3), /file is truncated: tensor 'w' ends at byte 32.*29 bytes/);
    const over = good.slice(); new DataView(over.buffer).setBigUint64(0, 2n ** 62n, true);
    bad(over, /header length 4611686018427387904 overflows the file/);
    const withDtype = (dt: string) => {
      const h = Buffer.from(JSON.stringify({ w: { dtype: dt, shape: [2], data_offsets: [0, 4] } }));
      const b = Buffer.alloc(8 + h.length + 4); b.writeBigUInt64LE(BigInt(h.length), 0); h.copy(b, 8);
      return new Uint8Array(b);
    };
    bad(withDtype('F16'), /tensor 'w' has dtype string 'F16'|tensor 'w' has dtype 'F16'/);
    bad(withDtype('F32'), /'w' \(F32 \[2\]\) needs 8 bytes but data_offsets \[0, 4\] hold 4/);
    const junk = good.slice(); junk[8] = 0x5b; // '[' : not an object
    bad(junk, /not valid UTF-8 JSON|must be a JSON object/);
    const trailing = new Uint8Array(good.length + 4); trailing.set(good);
    bad(trailing, /cover 32 bytes but the data buffer has 36/);
    expect(() => encodeSafetensors({ w: [1, 2] as unknown as Tensor })).toThrow(/encodeSafetensors: tensor 'w' must be a Tensor/);
    expect(() => encodeSafetensors({ w: zeros([1]) }, { metadata: { step: 3 as unknown as string } })).toThrow(/metadata values must be strings/);
  });
});

const python = spawnSync('python3', ['-c', 'import struct, json'], { encoding: 'utf8' }).status === 0;
const pyModule = (m: string) => python && spawnSync('python3', ['-c', `import ${m}`], { encoding: 'utf8' }).status === 0;

describe('external readers (Python, when present)', () => {
  const withFile = (fn: (path: string, ts: Record<string, Tensor>) => void) => {
    const dir = mkdtempSync(join(tmpdir(), 'moegrad-st-'));
    try {
      const ts = sample();
      const path = join(dir, 'ckpt.safetensors');
      writeFileSync(path, encodeSafetensors(ts, { metadata: { step: '7' } }));
      fn(path, ts);
    } finally { rmSync(dir, { recursive: true, force: true }); }
  };
  const sums = (ts: Record<string, Tensor>) => Object.fromEntries(Object.entries(ts).map(([k, t]) => [k, Array.from(t.data).reduce((a, b) => a + b, 0)]));

  it.skipIf(!python)('python3 struct+json reads the same values', () => withFile((path, ts) => {
    const script = `import struct, json, sys
b = open(sys.argv[1], 'rb').read()
(n,) = struct.unpack('<Q', b[:8]); h = json.loads(b[8:8 + n]); out = {}
for k, v in h.items():
    if k == '__metadata__': continue
    s, e = v['data_offsets']; f = {'F32': 'f', 'F64': 'd'}[v['dtype']]
    out[k] = sum(struct.unpack('<%d%s' % ((e - s) // struct.calcsize(f), f), b[8 + n + s:8 + n + e]))
print(json.dumps({'meta': h.get('__metadata__'), 'sums': out}))`;
    const res = JSON.parse(execFileSync('python3', ['-c', script, path], { encoding: 'utf8' }));
    expect(res.meta).toEqual({ step: '7' });
    for (const [k, s] of Object.entries(sums(ts))) expect(res.sums[k]).toBeCloseTo(s, 10);
  }));

  it.skipIf(!pyModule('safetensors.numpy'))('the safetensors Python package loads the file', () => withFile((path, ts) => {
    const out = execFileSync('python3', ['-c', 'import sys, json\nfrom safetensors.numpy import load_file\nd = load_file(sys.argv[1])\nprint(json.dumps({k: float(v.sum()) for k, v in d.items()}))', path], { encoding: 'utf8' });
    const res = JSON.parse(out);
    for (const [k, s] of Object.entries(sums(ts))) expect(res[k]).toBeCloseTo(s, 5);
  }));

  it.skipIf(!pyModule('torch') || !pyModule('safetensors'))('torch loads the file', () => withFile((path, ts) => {
    const out = execFileSync('python3', ['-c', 'import sys, json\nfrom safetensors.torch import load_file\nd = load_file(sys.argv[1])\nprint(json.dumps({k: float(v.double().sum()) for k, v in d.items()}))', path], { encoding: 'utf8' });
    const res = JSON.parse(out);
    for (const [k, s] of Object.entries(sums(ts))) expect(res[k]).toBeCloseTo(s, 5);
  }));
});

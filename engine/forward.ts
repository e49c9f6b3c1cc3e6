/**
 * Forward mode: a stack of JVP traces, each mapping the tensors it perturbs to their tangents.
 *
 * - `record` (engine/tape.ts) calls {@link onRecord} for every op while a trace is active; for each
 *   active trace in which some input has a tangent, the output's tangent is the op's JVP rule applied
 *   to the input tangents (null = zero). Without a rule, the linear-transpose fallback runs.
 * - Traces nest (jvp of jvp): the innermost trace is served first, and its rule runs with itself,
 *   every trace above it and every tape pushed after it hidden, so outer traces see (and
 *   differentiate) the inner tangent arithmetic while inner ones never see outer tangents — no
 *   perturbation confusion. Tangent rules use differentiable ops, so the tapes and traces that are
 *   visible record them: forward-over-reverse (hessian) and reverse-over-forward both work.
 * - The tensors a trace perturbs are aliases made by `jvp`, never the caller's tensors, so the same
 *   tensor perturbed at two levels gets two independent tangents.
 */
import { Tensor, allocate, fromData, full } from './tensor.js';
import { Tape, backward, noGrad, setRecordHooks, tapeDepth, withTape, withTapesHiddenFrom, type JvpFn, type TapeNode, type VjpFn } from './tape.js';
import { DTypeError, ShapeError, fmtShape } from './errors.js';
import { sameShape } from './shape.js';
import { add, mul } from './ops/arithmetic.js';
import { sum } from './ops/reduce.js';

/** One level of forward mode: the tangents of the tensors it perturbs (or that depend on them). */
export class JvpTrace {
  /** Tangent of each perturbed tensor (absent = zero tangent). */
  readonly tangents = new Map<Tensor, Tensor>();
  /** Tapes active when the trace was pushed; tapes pushed later are hidden from its rules. */
  readonly tapeDepth = tapeDepth();
}

const traces: JvpTrace[] = [];

/**
 * What debugNans checks (installed by engine/debug-nans.ts): op outputs, tangents, and the phase a
 * NaN is found in.
 */
export interface NanChecker {
  /** Checks an op's output (forward pass, or inside a VJP/JVP computation: the checker knows which). */
  readonly output: (op: string, inputs: readonly Tensor[], output: Tensor) => void;
  /** Checks a tangent an op's JVP rule returned. */
  readonly tangent: (op: string, inputs: readonly Tensor[], tangents: readonly (Tensor | null)[], result: Tensor) => void;
  /** Runs a tangent computation for `op` (so a NaN created in it is reported as such). */
  readonly during: <T>(op: string, inputs: readonly Tensor[], fn: () => T) => T;
  /** Calls a tape node's VJP during backward, checking each contribution. */
  readonly runVjp: (node: TapeNode, dy: Tensor) => readonly (Tensor | null)[];
}
let nanChecker: NanChecker | null = null;

/** Internal (engine/debug-nans.ts): installs or removes the NaN checker. */
export function setNanChecker(c: NanChecker | null): void {
  nanChecker = c;
  refreshHooks();
}

const HOOKS = {
  onRecord,
  get runVjp() { return nanChecker === null ? null : nanChecker.runVjp; },
};
function refreshHooks(): void {
  setRecordHooks(traces.length > 0 || nanChecker !== null ? HOOKS : null);
}

/** Runs `fn` with `trace` pushed as the innermost JVP trace; pops it even if `fn` throws. */
export function withJvpTrace<T>(trace: JvpTrace, fn: () => T): T {
  traces.push(trace);
  refreshHooks();
  try {
    return fn();
  } finally {
    const top = traces.pop();
    refreshHooks();
    if (top !== trace) throw new Error('forward: JVP trace stack corrupted (traces must be popped in LIFO order)');
  }
}

/**
 * Runs `fn` invisible to every active tape and JVP trace (a custom rule's forward computation, whose
 * derivative the rule replaces). Tapes and traces pushed inside `fn` work as usual.
 */
export function withoutTracing<T>(fn: () => T): T {
  const hidden = traces.splice(0);
  try {
    return noGrad(fn);
  } finally {
    traces.push(...hidden);
  }
}

/** The record hook: checks the output (debugNans), then serves every trace, innermost first. */
function onRecord(op: string, inputs: readonly Tensor[], output: Tensor, vjp: VjpFn, jvp: JvpFn | undefined): void {
  if (nanChecker !== null) nanChecker.output(op, inputs, output);
  for (let i = traces.length - 1; i >= 0; i--) {
    const trace = traces[i]!;
    let tangents: (Tensor | null)[] | null = null;
    for (let j = 0; j < inputs.length; j++) {
      const t = trace.tangents.get(inputs[j]!);
      if (t !== undefined) (tangents ??= new Array<Tensor | null>(inputs.length).fill(null))[j] = t;
    }
    if (tangents === null) continue;
    const ts = tangents;
    // The rule runs with this trace, the ones above it and the tapes pushed after it hidden.
    const hidden = i === traces.length - 1 ? traces.pop()! : traces.splice(i);
    let tangent: Tensor;
    try {
      tangent = tapeDepth() > trace.tapeDepth
        ? withTapesHiddenFrom(trace.tapeDepth, () => computeTangent(op, inputs, output, vjp, jvp, ts))
        : computeTangent(op, inputs, output, vjp, jvp, ts);
    } finally {
      if (hidden instanceof JvpTrace) traces.push(hidden);
      else traces.push(...hidden);
    }
    trace.tangents.set(output, tangent);
  }
}

/**
 * The output tangent of one op application: its JVP rule, or (without one) the linear-transpose
 * fallback. Validates the result's shape and dtype. Used by the record hook and by tape replays
 * (linearize, jacfwd).
 */
export function computeTangent(
  op: string, inputs: readonly Tensor[], output: Tensor, vjp: VjpFn, jvp: JvpFn | undefined, tangents: readonly (Tensor | null)[],
): Tensor {
  const run = () => (jvp !== undefined ? jvp(tangents) : transposeJvp(op, output, vjp, tangents));
  const t = nanChecker === null ? run() : nanChecker.during(op, inputs, run);
  if (!(t instanceof Tensor)) throw new ShapeError(op, `JVP rule must return a Tensor; got ${t === null ? 'null' : typeof t}`);
  if (!sameShape(t.shape, output.shape)) throw new ShapeError(op, `JVP rule returned a tangent of shape ${fmtShape(t.shape)} for an output of shape ${fmtShape(output.shape)}`);
  if (t.dtype !== output.dtype) throw new DTypeError(op, `JVP rule returned a ${t.dtype} tangent for a ${output.dtype} output`);
  if (nanChecker !== null) nanChecker.tangent(op, inputs, tangents, t);
  return t;
}

/** Ops whose tangents came from the fallback (no hand-written JVP rule), by name. */
const fallbackOps = new Set<string>();

/**
 * Names of the ops that computed a tangent without a hand-written JVP rule (through the
 * linear-transpose fallback, about three times the cost of a rule) since the last
 * {@link clearJvpFallbackOps}. Every engine op has a rule; user ops made with `record` and no `jvp`
 * land here.
 */
export function jvpFallbackOps(): string[] {
  return [...fallbackOps].sort();
}

/** Empties the list {@link jvpFallbackOps} returns. */
export function clearJvpFallbackOps(): void {
  fallbackOps.clear();
}

/**
 * J·t for an op without a JVP rule, from its VJP (the linear-transpose trick): u ↦ Jᵀu is linear, so
 * J·t = ∇_u ⟨Jᵀu, t⟩ — one VJP on a tracked zero cotangent u and one reverse pass over it. Both use
 * differentiable ops, so the result is differentiable like a hand rule's; it costs about three
 * forward passes instead of one.
 */
function transposeJvp(op: string, output: Tensor, vjp: VjpFn, tangents: readonly (Tensor | null)[]): Tensor {
  fallbackOps.add(op);
  const tape = new Tape();
  const u = fromData(allocate(output.dtype, output.size), output.shape);
  tape.tracked.add(u);
  const needs = tangents.map((t) => t !== null);
  const s = withTape(tape, () => {
    const dxs = vjp(u, needs);
    let acc: Tensor | null = null;
    for (let j = 0; j < tangents.length; j++) {
      const t = tangents[j], dx = dxs[j];
      if (t === null || t === undefined || dx === null || dx === undefined) continue;
      const term = sum(mul(dx, t));
      acc = acc === null ? term : add(acc, term);
    }
    return acc;
  });
  if (s === null || !tape.tracked.has(s)) return fromData(allocate(output.dtype, output.size), output.shape);
  return backward(tape, s, full([], 1, s.dtype), [u])[0]!;
}

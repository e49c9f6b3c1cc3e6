/**
 * NaN/Inf debugging (`jax_debug_nans`, `torch.autograd.detect_anomaly`): while on, every op's output,
 * every backward contribution and every tangent is checked, and the first NaN (or ±Inf) throws a
 * {@link NonFiniteError} naming the op, its input shapes and the pass (forward, backward — with the
 * forward op whose VJP failed — or tangent), and saying whether the op created the value from finite
 * inputs or only propagated one it was given (IEEE arithmetic propagates NaN; the op to fix is the
 * one that created it).
 */
import type { Tensor } from './tensor.js';
import type { TapeNode } from './tape.js';
import { setNanChecker, type NanChecker } from './forward.js';
import { ValueError, fmtShape } from './errors.js';
import { checkFunction, checkOptions, describeValue } from './validate.js';

/** Where a {@link NonFiniteError} was found. */
export type NonFinitePhase = 'forward' | 'backward' | 'tangent';

/**
 * Thrown by debugNans mode ({@link withDebugNans}) at the first NaN or ±Inf. `op` (the MoegradError
 * field) is the op whose result held it.
 */
export class NonFiniteError extends ValueError {
  /** 'forward' (an op's output), 'backward' (a gradient, inside the VJP of `forwardOp`) or 'tangent' (forward mode). */
  readonly phase: NonFinitePhase;
  /** The shapes of the op's inputs. */
  readonly inputShapes: readonly (readonly number[])[];
  /** True when the op produced the value from finite inputs; false when an input already held one. */
  readonly created: boolean;
  /** In the backward pass: the forward op whose VJP was running (its name); null otherwise. */
  readonly forwardOp: string | null;
  /** @internal */
  constructor(op: string, message: string, phase: NonFinitePhase, inputShapes: readonly (readonly number[])[], created: boolean, forwardOp: string | null) {
    super(op, message);
    this.phase = phase;
    this.inputShapes = inputShapes;
    this.created = created;
    this.forwardOp = forwardOp;
  }
}

/** Options of {@link withDebugNans} and {@link setDebugNans}. */
export interface DebugNansOptions {
  /** Also stop at ±Infinity (default true; false checks NaN only, like `jax_debug_nans` without `jax_debug_infs`). */
  readonly infs?: boolean;
}

/** What a check is running inside: a VJP during backward, or a tangent computation. */
type Context = { readonly kind: 'backward'; readonly node: TapeNode } | { readonly kind: 'tangent'; readonly op: string; readonly inputs: readonly Tensor[] };

let infs = true;
const contexts: Context[] = [];

/** Index of the first bad element (NaN, or ±Inf when `infs`), or −1. */
function firstBad(t: Tensor): number {
  const d = t.data;
  if (infs) {
    for (let i = 0; i < d.length; i++) if (!(d[i]! - d[i]! === 0)) return i;
  } else {
    for (let i = 0; i < d.length; i++) if (d[i] !== d[i]) return i;
  }
  return -1;
}

const kindOf = (v: number) => (Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity');
const shapes = (ts: readonly Tensor[]) => ts.map((t) => fmtShape(t.shape)).join(', ');

/** The sentence on created vs propagated, given which of the op's operands already held a bad value. */
function origin(names: readonly string[], operands: readonly (Tensor | null)[], opName: string, source: string): { created: boolean; text: string } {
  const bad = operands.map((t, i) => (t !== null && firstBad(t) >= 0 ? i : -1)).filter((i) => i >= 0);
  if (bad.length === 0) return { created: true, text: `${opName} created it (every operand was finite)` };
  const which = bad.map((i) => `${names[i]} ${fmtShape(operands[i]!.shape)}`).join(', ');
  return { created: false, text: `${opName} only propagated it: ${which} already held a non-finite value (${source}); IEEE arithmetic passes it on, so look for the op that created it` };
}

function fail(op: string, what: string, where: string, result: Tensor, phase: NonFinitePhase, inputs: readonly Tensor[], o: { created: boolean; text: string }, forwardOp: string | null): never {
  const at = firstBad(result);
  const msg = `${kindOf(result.data[at]!)} at element ${at} of ${what} (shape ${fmtShape(result.shape)}; inputs ${shapes(inputs) || 'none'}) ${where} — ${o.text}`;
  throw new NonFiniteError(op, msg, phase, inputs.map((t) => t.shape), o.created, forwardOp);
}

/** Text for the innermost context, e.g. "in the backward pass of log (forward inputs [3])". */
function describeContext(): { phase: NonFinitePhase; text: string; forwardOp: string | null } {
  const ctx = contexts[contexts.length - 1];
  if (ctx === undefined) return { phase: 'forward', text: 'in the forward pass', forwardOp: null };
  if (ctx.kind === 'backward') {
    return { phase: 'backward', text: `in the backward pass, inside the VJP of ${ctx.node.op} (forward inputs ${shapes(ctx.node.inputs)}, output ${fmtShape(ctx.node.output.shape)})`, forwardOp: ctx.node.op };
  }
  return { phase: 'tangent', text: `in forward mode, inside the JVP of ${ctx.op} (inputs ${shapes(ctx.inputs)})`, forwardOp: null };
}

const CHECKER: NanChecker = {
  output(op, inputs, output) {
    if (firstBad(output) < 0) return;
    const ctx = describeContext();
    const names = inputs.map((_, i) => `input ${i}`);
    const source = contexts.length === 0 ? 'it came from outside the recorded ops: an argument, a constant or a stopGradient tensor' : 'from earlier in this computation';
    fail(op, `the output of ${op}`, ctx.text, output, ctx.phase, inputs, origin(names, inputs, op, source), ctx.forwardOp);
  },
  tangent(op, inputs, tangents, result) {
    if (firstBad(result) < 0) return;
    const operands = [...inputs, ...tangents];
    const names = [...inputs.map((_, i) => `input ${i}`), ...tangents.map((_, i) => `the tangent of input ${i}`)];
    fail(op, `the tangent of ${op}`, 'in forward mode', result, 'tangent', inputs, origin(names, operands, `the JVP rule of ${op}`, 'given to the rule'), null);
  },
  during(op, inputs, fn) {
    contexts.push({ kind: 'tangent', op, inputs });
    try {
      return fn();
    } finally {
      contexts.pop();
    }
  },
  runVjp(node, dy) {
    contexts.push({ kind: 'backward', node });
    let dxs: readonly (Tensor | null)[];
    try {
      dxs = node.vjp(dy, node.needs);
    } finally {
      contexts.pop();
    }
    for (let j = 0; j < dxs.length; j++) {
      const dx = dxs[j];
      if (!node.needs[j] || dx === null || dx === undefined || firstBad(dx) < 0) continue;
      const o = origin(['the incoming gradient dy', ...node.inputs.map((_, i) => `forward input ${i}`)], [dy, ...node.inputs], `the VJP of ${node.op}`, 'from later in the forward pass or the seed');
      fail(node.op, `the gradient for input ${j} of ${node.op}`, `in the backward pass (the VJP of the forward op ${node.op})`, dx, 'backward', node.inputs, o, node.op);
    }
    return dxs;
  },
};

let globalOn = false;
let depth = 0;

function install(): void {
  setNanChecker(globalOn || depth > 0 ? CHECKER : null);
}

function readOptions(op: string, options: DebugNansOptions): boolean {
  checkOptions(op, options);
  const { infs: i = true } = options;
  if (typeof i !== 'boolean') throw new ValueError(op, `infs must be a boolean; got ${describeValue(i)}`);
  return i;
}

/**
 * Runs `fn` with debugNans on: every op output, backward contribution and tangent computed inside is
 * checked, and the first NaN (or ±Inf, unless `{ infs: false }`) throws a {@link NonFiniteError}
 * naming the op, its input shapes, the pass and whether the op created the value or propagated an
 * input's. Costs one scan of every result; use it to find a NaN, not in production runs.
 *
 * @example
 * withDebugNans(() => grad((x: Tensor) => sum(sqrt(x)))(tensor([0, 1])));
 * // NonFiniteError: div: Infinity at element 0 of the output of div (…) in the backward pass, inside the VJP of sqrt …
 */
export function withDebugNans<T>(fn: () => T, options: DebugNansOptions = {}): T {
  checkFunction('withDebugNans', fn, 'fn');
  const want = readOptions('withDebugNans', options);
  const savedInfs = infs;
  infs = want;
  depth++;
  install();
  try {
    return fn();
  } finally {
    depth--;
    infs = savedInfs;
    install();
  }
}

/** Turns debugNans on or off globally (`jax.config.update('jax_debug_nans', True)`); see {@link withDebugNans}. */
export function setDebugNans(on: boolean, options: DebugNansOptions = {}): void {
  if (typeof on !== 'boolean') throw new ValueError('setDebugNans', `on must be a boolean; got ${describeValue(on)}`);
  infs = readOptions('setDebugNans', options);
  globalOn = on;
  install();
}

/** True while debugNans is on (globally or inside {@link withDebugNans}). */
export function debugNansEnabled(): boolean {
  return globalOn || depth > 0;
}

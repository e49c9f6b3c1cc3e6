/**
 * The tape: a list of recorded op applications, replayed in reverse to compute gradients.
 *
 * - An op records a node only when some input is tracked by an active tape (so constants cost nothing).
 * - Tapes nest (a stack): the VJPs run while the inner tape is already popped, so the ops they use are
 *   recorded on outer tapes — that is how grad of grad works.
 * - The backward walk is one reverse loop over the nodes (recording order is a topological order),
 *   iterative, so a 10,000-deep chain cannot overflow the stack.
 */
import { Tensor, zeros } from './tensor.js';
import { ShapeError, DTypeError, ValueError, fmtShape } from './errors.js';
import { checkTensor, describeValue } from './validate.js';
import { sameShape } from './shape.js';
import { add } from './ops/arithmetic.js';
import { addInto } from './ops/elementwise-kernels.js';
import { type Journal, swapJournal, release as releaseBuffer } from './buffer-pool.js';
import { vmapDepth } from './batch-tracer.js';
import type { IntermediateReuse } from './intermediate-reuse.js';

/** Returns one gradient per input (null where the input needs none). `needs[i]` says which are wanted. */
export type VjpFn = (dy: Tensor, needs: readonly boolean[]) => readonly (Tensor | null)[];
/**
 * Forward-mode rule: given one tangent per input (null where the input's tangent is zero), returns
 * the output's tangent (same shape and dtype as the output), computed with differentiable engine ops
 * so that forward-over-reverse (hessian) works. Forward mode is implemented by `jvp` (issue 10).
 */
export type JvpFn = (tangents: readonly (Tensor | null)[]) => Tensor;

export interface TapeNode {
  /** Op name, used in error messages. */
  readonly op: string;
  readonly inputs: readonly Tensor[];
  readonly output: Tensor;
  /** Which inputs are tracked by this tape (PyTorch's grad_input_mask). */
  readonly needs: readonly boolean[];
  readonly vjp: VjpFn;
  /** The op's forward-mode rule, when it has one (linearize and jacfwd replay the tape with it). */
  readonly jvp: JvpFn | undefined;
  /**
   * True when the VJP is user code (public `record`, customVjp/customJvp, defineUnary/defineBinary),
   * which may keep the cotangent it is given: the backward walk then never reuses that buffer.
   */
  readonly foreign: boolean;
}

/**
 * Hooks installed by engine/forward.ts while a JVP trace or debugNans is active (null otherwise, so
 * `record` pays one null check when neither is on).
 */
export interface RecordHooks {
  /** Called by `record` after the tapes: computes tangents (forward mode) and checks outputs (debugNans). */
  readonly onRecord: (op: string, inputs: readonly Tensor[], output: Tensor, vjp: VjpFn, jvp: JvpFn | undefined) => void;
  /** When set, `backward` calls the node's VJP through it (debugNans checks each contribution). */
  readonly runVjp: ((node: TapeNode, dy: Tensor) => readonly (Tensor | null)[]) | null;
}
let hooks: RecordHooks | null = null;
/** Internal (engine/forward.ts): installs or removes the record hooks. */
export function setRecordHooks(h: RecordHooks | null): void {
  hooks = h;
}

export class Tape {
  readonly nodes: TapeNode[] = [];
  readonly tracked = new Set<Tensor>();
}

const activeTapes: Tape[] = [];
/**
 * Tapes below this index are paused by `noGrad`. Tapes pushed inside a `noGrad` block record as
 * usual, so a `grad`/`vjp` evaluated inside `noGrad` still works (gradcheck's finite differences
 * of a first gradient rely on this); only the enclosing tapes see nothing.
 */
let pausedBelow = 0;

/**
 * Records an op's output on every active tape that tracks one of its inputs; returns `output`.
 * `jvp` (optional) is the op's forward-mode rule, used by forward-mode transforms.
 */
export function record(op: string, inputs: readonly Tensor[], output: Tensor, vjp: VjpFn, jvp?: JvpFn): Tensor {
  checkRecordArgs(op, inputs, output, vjp, jvp);
  return recordOp(op, inputs, output, vjp, jvp);
}

/**
 * {@link record} for a VJP written by a user (exported as `record` from the package, and used by
 * customVjp/customJvp): the same, except that the cotangent it receives, and anything it returns,
 * stay the user's — the backward walk never reuses those buffers (engine/buffer-pool.ts).
 */
export function recordForeign(op: string, inputs: readonly Tensor[], output: Tensor, vjp: VjpFn, jvp?: JvpFn): Tensor {
  checkRecordArgs(op, inputs, output, vjp, jvp);
  return recordOp(op, inputs, output, vjp, jvp, true);
}

function checkRecordArgs(op: string, inputs: readonly Tensor[], output: Tensor, vjp: VjpFn, jvp?: JvpFn): void {
  if (typeof op !== 'string' || op === '') throw new ValueError('record', `op must be a non-empty string; got ${describeValue(op)}`);
  if (!Array.isArray(inputs)) throw new ValueError(op, `record: inputs must be an array of Tensors; got ${describeValue(inputs)}`);
  for (let i = 0; i < inputs.length; i++) checkTensor(op, inputs[i], `record: input ${i}`);
  checkTensor(op, output, 'record: output');
  if (typeof vjp !== 'function') throw new ValueError(op, `record: vjp must be a function; got ${describeValue(vjp)}`);
  if (jvp !== undefined && typeof jvp !== 'function') throw new ValueError(op, `record: jvp must be a function or undefined; got ${describeValue(jvp)}`);
}

/**
 * Internal (engine ops): {@link record} without re-validating its arguments — an engine op has
 * checked its inputs at its own boundary and built `output` itself. With no tape active and no
 * hooks it is two comparisons, so ops on constants pay nothing for autodiff.
 */
export function recordOp(op: string, inputs: readonly Tensor[], output: Tensor, vjp: VjpFn, jvp?: JvpFn, foreign = false): Tensor {
  for (let t = pausedBelow; t < activeTapes.length; t++) {
    const tape = activeTapes[t]!;
    let any = false;
    const needs = inputs.map((x) => { const t = tape.tracked.has(x); any ||= t; return t; });
    if (any) {
      tape.nodes.push({ op, inputs, output, needs, vjp, jvp, foreign });
      tape.tracked.add(output);
    }
  }
  if (hooks !== null) hooks.onRecord(op, inputs, output, vjp, jvp);
  return output;
}

/** True when ops currently record (some tape is active and recording is not paused). */
export function isRecording(): boolean {
  return activeTapes.length > pausedBelow;
}

/**
 * Internal (engine ops): whether an op's derivative rules may run — some tape records, or a
 * forward-mode trace / debugNans hook is installed. An op may skip saving values only its VJP or
 * JVP would read when this is false.
 */
export function derivativesWanted(): boolean {
  return activeTapes.length > pausedBelow || hooks !== null;
}

/**
 * Internal: whether nothing observes a call's trace and walk — no tape records now, no
 * forward-mode/debugNans hook, no vmap level — so buffers it makes may be reused once dead.
 */
export function unobserved(): boolean {
  return hooks === null && !isRecording() && vmapDepth === 0;
}

/** Runs `fn` with a fresh tape pushed; the tape is popped even if `fn` throws. */
export function withTape<T>(tape: Tape, fn: () => T): T {
  activeTapes.push(tape);
  try {
    return fn();
  } finally {
    const top = activeTapes.pop();
    if (top !== tape) throw new Error('tape: stack corrupted (tapes must be popped in LIFO order)');
  }
}

/** Number of active tapes (a JVP trace remembers it, to hide the tapes pushed after it). */
export function tapeDepth(): number {
  return activeTapes.length;
}

/**
 * Runs `fn` with the tapes from index `depth` up hidden (they record nothing; tapes pushed inside
 * `fn` record as usual). A JVP trace computes its tangents this way, so a `grad` nested inside a
 * `jvp` does not record the outer trace's tangent arithmetic.
 */
export function withTapesHiddenFrom<T>(depth: number, fn: () => T): T {
  if (activeTapes.length <= depth) return fn();
  const hidden = activeTapes.splice(depth);
  const saved = pausedBelow;
  pausedBelow = Math.min(pausedBelow, depth);
  try {
    return fn();
  } finally {
    activeTapes.push(...hidden);
    pausedBelow = saved;
  }
}

/**
 * Runs `fn` without recording anything on the tapes active now (like `torch.no_grad`). A `grad`
 * or `vjp` called inside `fn` still differentiates its own function.
 */
export function noGrad<T>(fn: () => T): T {
  if (typeof fn !== 'function') throw new ValueError('noGrad', `fn must be a function; got ${describeValue(fn)}`);
  const saved = pausedBelow;
  pausedBelow = activeTapes.length;
  try {
    return fn();
  } finally {
    pausedBelow = saved;
  }
}

/**
 * Walks `tape` backwards from `output` seeded with `dy`, returning the gradient of each `wrt`
 * tensor (zeros for those the output does not depend on). Gradients accumulate across uses.
 *
 * Memory: a tensor's gradient is dropped once its node has been visited (unless it is in `wrt`).
 * When the sum of two contributions is a buffer this walk allocated itself and nothing else has
 * seen yet, the next contribution is added into it in place (bit-identical to `add(prev, dx)`:
 * same operands, same order, same rounding); that is only done when the adds are not recorded
 * (no tape active for grad of grad) and not observed (no debugNans/forward-mode hooks). Under the
 * same conditions, and outside vmap, large gradient buffers the walk made itself go back to the
 * buffer pool once dead — no gradient slot holds them (reshape views counted) and no user-written
 * VJP has seen them — so the next VJP of that size reuses them (engine/buffer-pool.ts). With
 * `release`, the walk also empties the tape as it goes — each node (its inputs, output and VJP
 * closure, which hold the forward intermediates) becomes garbage once visited — so a tape can be
 * walked once; `vjp` keeps its tape for repeated pullbacks and passes false. `intermediates`
 * (with `release`) is told every node it passes, and after each node's VJP releases the forward
 * buffers nothing can read any more (engine/intermediate-reuse.ts).
 */
export function backward(tape: Tape, output: Tensor, dy: Tensor, wrt: readonly Tensor[], release = false, intermediates: IntermediateReuse | null = null): Tensor[] {
  const grads = new Map<Tensor, Tensor>();
  grads.set(output, dy);
  const keep = new Set(wrt);
  const owned = hooks === null && !isRecording() ? new Set<Tensor>() : null;
  const reuse = unobserved() ? new BufferReuse(intermediates) : null;
  const nodes = tape.nodes;
  if (release) tape.tracked.clear(); // recording is over; only the nodes are needed
  try {
    for (let i = nodes.length - 1; i >= 0; i--) {
      // with release, the node leaves the tape (and what its closures hold becomes garbage once its VJP has run)
      const node = release ? nodes.pop()! : nodes[i]!;
      intermediates?.notePassed(node);
      const g = grads.get(node.output);
      if (g === undefined) { if (reuse !== null) intermediates?.releaseDead(node, reuse.isHeld, output); continue; }
      if (!keep.has(node.output)) { grads.delete(node.output); reuse?.unhold(g); } // free intermediate gradients early
      owned?.delete(g); // the VJP may return g itself for several inputs (add: [dy, dy]): no longer ours alone
      const dxs = reuse !== null && node.foreign ? reuse.runForeign(node, g)
        : hooks?.runVjp ? hooks.runVjp(node, g) : node.vjp(g, node.needs);
      if (dxs.length !== node.inputs.length) {
        throw new Error(`${node.op}: VJP returned ${dxs.length} gradients for ${node.inputs.length} inputs`);
      }
      for (let j = 0; j < dxs.length; j++) {
        const dx = dxs[j];
        if (!node.needs[j] || dx === null || dx === undefined) continue;
        const x = node.inputs[j]!;
        if (!sameShape(dx.shape, x.shape)) {
          throw new ShapeError(node.op, `gradient for input ${j} has shape ${fmtShape(dx.shape)} but the input has ${fmtShape(x.shape)}`);
        }
        if (dx.dtype !== x.dtype) {
          throw new DTypeError(node.op, `gradient for input ${j} is ${dx.dtype} but the input is ${x.dtype}`);
        }
        const prev = grads.get(x);
        if (prev === undefined) {
          grads.set(x, dx);
          reuse?.hold(dx);
        } else if (owned !== null && owned.has(prev)) {
          addInto(prev.data, dx.data, prev.dtype);
        } else {
          const acc = add(prev, dx);
          grads.set(x, acc);
          owned?.add(acc);
          if (reuse !== null) { reuse.hold(acc); reuse.unhold(prev); }
        }
      }
      if (reuse !== null) {
        reuse.flush(); // after the whole node: a later dx of the same VJP may share a buffer with an earlier one
        intermediates?.releaseDead(node, reuse.isHeld, output); // the node's own VJP has run
      }
    }
  } finally {
    reuse?.close();
  }
  return wrt.map((x) => grads.get(x) ?? zeros(x.shape, x.dtype));
}

/**
 * The bookkeeping of one backward walk for buffer reuse: the walk's journal of large buffers
 * (engine/buffer-pool.ts), how many gradient slots hold each, and release of the dead ones.
 */
class BufferReuse {
  private readonly journal: Journal = new Map();
  /** `intermediates`: the call's forward journal, whose buffers gradient slots are counted for too. */
  constructor(private readonly intermediates: IntermediateReuse | null) {}
  /** The enclosing walk's journal (a walk nested in a VJP), restored by {@link close}. */
  private readonly saved = swapJournal(this.journal);
  private readonly held = new Map<ArrayBufferLike, number>();
  /** A slot now holds t. */
  hold(t: Tensor): void {
    const b = t.data.buffer;
    if (this.journal.has(b) || this.intermediates?.owns(b)) this.held.set(b, (this.held.get(b) ?? 0) + 1);
  }
  /** Whether some gradient slot holds a tensor on buffer b. */
  readonly isHeld = (b: ArrayBufferLike): boolean => this.held.has(b);
  /** A slot no longer holds t. */
  unhold(t: Tensor): void {
    const b = t.data.buffer, n = this.held.get(b);
    if (n !== undefined) { if (n > 1) this.held.set(b, n - 1); else this.held.delete(b); }
  }
  /**
   * After a node: every buffer the walk allocated that no gradient slot holds is dead — built-in
   * VJPs keep nothing they allocate beyond their return values, and those are in slots or were
   * summed into one — so it goes to the pool (temporaries inside the VJPs included).
   */
  flush(): void {
    for (const b of this.journal.keys()) if (!this.held.has(b)) releaseBuffer(b, this.journal);
  }
  /** Runs a user-written VJP: g becomes the user's, and nothing it allocates is journaled. */
  runForeign(node: TapeNode, g: Tensor): readonly (Tensor | null)[] {
    this.journal.delete(g.data.buffer);
    const outer = swapJournal(null);
    try {
      // copied while journaling is still paused: reading the user's array may run user code (getters)
      const dxs = node.vjp(g, node.needs);
      return Array.isArray(dxs) ? Array.from(dxs) : dxs;
    } finally {
      swapJournal(outer);
    }
  }
  close(): void {
    swapJournal(this.saved);
  }
}

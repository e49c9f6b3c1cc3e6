/**
 * Reuse of a traced call's intermediate buffers: `valueAndGrad(f, { reuseIntermediates: true })`.
 *
 * Why: the backward walk already hands its dead gradient buffers to the buffer pool
 * (engine/buffer-pool.ts), but the forward values of a call — the other half of its large
 * allocations — are left to the collector, and a fresh large typed array costs far more than the
 * loop that fills it (page faults on memory the collector has just given back: on a 2-core VM the
 * tape Gaussian-MoE NLL of issue 15 ran 7 ms a step with reused memory, 10 ms with fresh memory,
 * and every few steps 15–30 ms after a scavenge). PyTorch frees an intermediate when its last
 * reference goes; JAX never shows one to the caller. JavaScript can do neither, so this is a
 * promise the caller makes: f keeps no tensor it makes (like JAX, where a leaked tracer is an
 * error), and the buffers of f's intermediates go to the pool as the backward walk passes them
 * (the rest after it), for the rest of the walk and the next call.
 *
 * Which buffers, conservatively: one `allocate` made during the trace, wrapped only by Tensors
 * that are outputs of nodes of this call's tape (so the engine knows every handle to it: a tensor
 * f made from constants, a `stopGradient` alias or a view made under `noGrad`, during the trace
 * or in a VJP, keeps its buffer out), once every node referring to it has been passed, and not
 * shared with the value or a gradient returned. Those node outputs are marked
 * released: reading one afterwards throws a ValueError instead of returning overwritten numbers.
 * What is not protected: a raw `t.data` array that f kept. Off (the trace journals nothing) under
 * an outer tape, forward-mode/debugNans hooks and vmap, as for the walk's own reuse.
 */
import type { Tensor } from './tensor.js';
import { releaseTensor } from './tensor.js';
import { type Journal, type WrapCount, closeWrapCount, openWrapCount, release, swapJournal } from './buffer-pool.js';

/** What the reuse bookkeeping reads of a tape node. */
export interface TapeNodeRefs { readonly inputs: readonly Tensor[]; readonly output: Tensor }

export class IntermediateReuse implements WrapCount {
  /** `op`: the transform (`valueAndGrad` or `grad`) that errors on a released tensor name. */
  constructor(private readonly op: string) {}
  readonly journal: Journal = new Map();
  readonly wraps = new Map<ArrayBufferLike, number>();
  /** Journaled buffer → the node outputs (of this call's tape) that wrap it. */
  private readonly outputs = new Map<ArrayBufferLike, Tensor[]>();
  /** Journaled buffer → references (inputs and outputs) of the tape's nodes to it, and those the walk passed. */
  private readonly refs = new Map<ArrayBufferLike, number>();
  private readonly passed = new Map<ArrayBufferLike, number>();
  private savedJournal: Journal | null = null;

  /**
   * Opens the journal for the trace of f (call {@link endTrace} in a finally). The wrap count stays
   * open through the walk too (until {@link close}): a Tensor a VJP makes on an intermediate's
   * buffer (a user's stopGradient alias kept for logging) keeps that buffer out of the pool.
   */
  beginTrace(): void {
    this.savedJournal = swapJournal(this.journal);
    openWrapCount(this);
  }
  /** Closes the journal, restoring an enclosing call's. */
  endTrace(): void {
    swapJournal(this.savedJournal);
  }
  /** Stops counting wrappers (after the walk, or when the call failed). */
  close(): void {
    closeWrapCount(this);
  }
  /**
   * Before the walk: how many references the tape's nodes hold on each journaled buffer, as an input
   * or as the output (an op may return its input, another node's output, or a tensor that earlier
   * ops read before it became this op's output).
   */
  countNodes(nodes: readonly TapeNodeRefs[]): void {
    for (const n of nodes) {
      for (const x of n.inputs) this.bump(this.refs, x.data.buffer);
      this.bump(this.refs, n.output.data.buffer);
    }
  }
  private bump(m: Map<ArrayBufferLike, number>, b: ArrayBufferLike): void {
    if (this.journal.has(b)) m.set(b, (m.get(b) ?? 0) + 1);
  }
  /** Whether `b` is a buffer the trace allocated (the walk counts gradient slots holding one). */
  owns(b: ArrayBufferLike): boolean {
    return this.journal.has(b);
  }
  /** The backward walk (engine/tape.ts `backward`) passes a node of this call's tape. */
  notePassed(node: TapeNodeRefs): void {
    for (const x of node.inputs) this.bump(this.passed, x.data.buffer);
    const t = node.output, b = t.data.buffer;
    if (!this.journal.has(b)) return;
    this.bump(this.passed, b);
    const list = this.outputs.get(b);
    if (list === undefined) this.outputs.set(b, [t]);
    else if (!list.includes(t)) list.push(t);
  }
  /**
   * After the walk has run a node's VJP (engine/tape.ts `backward`), for the buffers of its output
   * and inputs: when every Tensor wrapping the buffer is the output of a node already passed, and
   * every node referring to it (as input or output) has been passed — so no VJP still to run can
   * read it (a node's closures only hold tensors that existed when it was recorded, and a wrapper
   * made earlier would be counted and not yet passed) — and no gradient slot holds it (`held`)
   * and it is not the returned value (`value`), the buffer goes to the pool now, where the rest of
   * the walk can reuse it.
   */
  releaseDead(node: TapeNodeRefs, held: (b: ArrayBufferLike) => boolean, value: Tensor): void {
    this.releaseIfDead(node.output.data.buffer, held, value);
    for (const x of node.inputs) this.releaseIfDead(x.data.buffer, held, value);
  }
  private releaseIfDead(b: ArrayBufferLike, held: (b: ArrayBufferLike) => boolean, value: Tensor): void {
    const ts = this.outputs.get(b);
    if (ts === undefined || this.wraps.get(b) !== ts.length || this.passed.get(b) !== this.refs.get(b) || held(b) || b === value.data.buffer) return;
    this.outputs.delete(b);
    for (const w of ts) releaseTensor(w, this.op);
    release(b, this.journal);
  }
  /** After the walk: releases every buffer left that only node outputs wrap, except those `keep` shares. */
  finish(keep: readonly Tensor[]): void {
    const kept = new Set<ArrayBufferLike>(keep.map((t) => t.data.buffer));
    for (const [b, ts] of this.outputs) {
      if (kept.has(b) || this.wraps.get(b) !== ts.length) continue;
      for (const t of ts) releaseTensor(t, this.op);
      release(b, this.journal);
    }
    this.outputs.clear();
  }
}

/**
 * The op registry: one entry per differentiable op, with the domain it is tested on.
 * The property test (test/engine/registry.gradcheck.test.ts) and `npm run certify` loop over it,
 * so an op is gradchecked the moment it is listed here. MoE ops register in moe/registry.ts.
 */
import type { Tensor } from '../tensor.js';
import type { Rng } from '../rng.js';
import { ENGINE_OP_ENTRIES } from './registry-entries.js';
import { LM_OP_ENTRIES } from './registry-entries-lm.js';

/** One concrete test case: float64 inputs and the function of them to differentiate. */
export interface OpCase {
  /** The differentiable float64 inputs, in the order `run` takes them. */
  readonly inputs: readonly Tensor[];
  /** Applies the op (integer parameters such as k or indices are closed over). */
  readonly run: (inputs: readonly Tensor[]) => Tensor;
  /** Human-readable description of the case (shapes, k, ...), for failure messages. */
  readonly label: string;
}

/**
 * A registry entry: an op and the domain its gradient is tested on. Listing it in `ENGINE_OPS` or
 * `MOE_OPS` makes the property test and the certificate check it (first and second order).
 */
export interface OpSpec {
  /** The op's public name, e.g. `softmax`, `topKSoftmaxGate`. */
  readonly name: string;
  /** Grouping for the certificate table: `elementwise`, `reduction`, `moe-gate`, ... */
  readonly family: string;
  /**
   * Draws a valid case from the op's domain: random shapes (dims up to `size`) and values away
   * from kinks and ties (e.g. |x| > 1e-3 for relu, top-k margins > 1e-3).
   */
  readonly sample: (rng: Rng, size: number) => OpCase;
  /**
   * Cases the registry property test draws for this entry (default 100). A composite entry whose
   * one case costs a large fraction of a second (a whole MoE layer: every parameter is perturbed,
   * first and second order) draws fewer, so the suite stays within its time budget; say why next to the entry.
   */
  readonly runs?: number;
  /** Overrides for gradcheck when an op needs them (document why next to the entry). */
  readonly tolerance?: {
    /** Finite-difference step ({@link GradcheckOptions.eps}). */
    readonly eps?: number;
    /** Absolute tolerance ({@link GradcheckOptions.atol}). */
    readonly atol?: number;
    /** Relative tolerance ({@link GradcheckOptions.rtol}). */
    readonly rtol?: number;
  };
}

/** Every differentiable engine op with its test domain (the entries live in engine/ops/registry-entries.ts). */
export const ENGINE_OPS: readonly OpSpec[] = [...ENGINE_OP_ENTRIES, ...LM_OP_ENTRIES];

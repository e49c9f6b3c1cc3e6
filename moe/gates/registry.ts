/** Registry entries for the gates (fused ops with hand-derived VJPs). */
import type { OpSpec } from '../../engine/ops/registry.js';

export const GATE_OPS: OpSpec[] = [];

/** Registry entries for dispatch/combine, experts and the MoE losses. */
import type { OpSpec } from '../../engine/ops/registry.js';

export const LAYER_OPS: OpSpec[] = [];

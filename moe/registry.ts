/**
 * MoE op registry: every differentiable MoE op with its test domain (same OpSpec as the engine's).
 * The registry property test and `npm run certify` loop over ENGINE_OPS and MOE_OPS.
 */
import type { OpSpec } from '../engine/ops/registry.js';
import { GATE_OPS } from './gates/registry.js';
import { LAYER_OPS } from './layer/registry.js';
import { ROUTING_FAMILY_OPS } from './gates/routing-families-registry.js';
import { FUSED_FFN_OPS } from './experts/registry.js';
import { STATS_OPS } from './stats/ops-registry.js';

export const MOE_OPS: readonly OpSpec[] = [...GATE_OPS, ...LAYER_OPS, ...ROUTING_FAMILY_OPS, ...FUSED_FFN_OPS, ...STATS_OPS];

/**
 * moegrad MoE API: gates, experts, dispatch/combine, the layer, losses, diagnostics, statistics.
 * `import … from 'moegrad/moe'` (everything here is also exported by `'moegrad'`).
 * @module moegrad/moe
 */

export type { RoutingPlan, GateOutput } from './types.js';
export type { Gate, RouteOptions } from './types.js';
export { buildRoutingPlan } from './routing.js';
export type { CapacityPriority } from './routing.js';
export * from './gates/index.js';
export * from './layer/index.js';
export * from './stats/index.js';

/**
 * Gates (sources cited per gate): fused ops with hand-derived VJPs, each returning a GateOutput
 * (weights [T, K], indices [T·K], scores [T, E], logits, plan), and `makeGate` for the MoE layer.
 */
export { softmaxGate, topKSoftmaxGate, subsetSoftmax } from './softmax.js';
export { softmaxTopKGate } from './softmax-topk.js';
export type { SoftmaxTopKOptions } from './softmax-topk.js';
export { temperatureSoftmaxGate } from './temperature.js';
export { hierarchicalSoftmaxGate } from './hierarchical.js';
export type { HierarchicalOptions } from './hierarchical.js';
export { sigmoidGate } from './sigmoid.js';
export { normalizedSigmoidGate, selectNormalizedSigmoid } from './normalized-sigmoid.js';
export type { NormalizedSigmoidOptions } from './normalized-sigmoid.js';
export { laplaceGate, laplaceLogits } from './laplace.js';
export { makeGate, GATE_KINDS } from './make-gate.js';
export type { GateConfig, GateKind, RouterParams, GateRouteOptions } from './make-gate.js';
export type { GateOptions } from './common.js';
export { topKGap } from './common.js';
export * as composedGates from './reference.js';
export { noisyTopKGate, noisyTopKLoadProbs, noisyTopKLosses, cvSquared } from './noisy-topk.js';
export type { NoisyTopKOptions, NoisyTopKOutput, NoisyTopKLossOptions } from './noisy-topk.js';
export { expertChoiceGate } from './expert-choice.js';
export type { ExpertChoiceOptions, ExpertChoiceOutput } from './expert-choice.js';
export { softMoEDispatch, softMoECombine } from './soft-moe.js';
export { balancedAssignmentGate, sinkhornLogPlan } from './balanced-assignment.js';
export type { BalancedAssignmentOptions } from './balanced-assignment.js';
export { makeRoutingGate, ROUTING_GATE_KINDS } from './routing-gates.js';
export type { RoutingGateConfig, RoutingGateKind } from './routing-gates.js';

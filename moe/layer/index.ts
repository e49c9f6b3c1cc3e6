/** Dispatch/combine, experts, the MoE layer, balance losses, loss-free balancing and router diagnostics. */
export { dispatch, undispatch, combine, rowWeights, planIndex } from '../dispatch.js';
export type { PlanIndex } from '../dispatch.js';
export * from '../experts/index.js';
export { switchAuxLoss, routerZLoss, expertBalanceLoss, deviceBalanceLoss, sequenceBalanceLoss } from '../losses.js';
export type { RoutedScores, TokenMaskOption } from '../losses.js';
export { updateBias } from '../balancing.js';
export {
  expertLoad, expertImportance, jainIndex, gateEntropy, topKMargin, dropRate, unusedExperts,
  routerSaturation, routerChangeRate, expertSetsByTokenType, routerDiagnostics,
  expertsPerToken, tokensWithoutExpert,
} from '../diagnostics.js';
export type { RouterSelection, RouterDiagnostics } from '../diagnostics.js';
export { MoELayer } from './layer.js';
export type { MoELayerConfig, MoELayerParams, MoELayerApplyOptions, MoELayerAux, MoELayerOutput } from './layer.js';
export type { LayerGateSpec } from './gate-spec.js';
export type { SoftMoEConfig } from './soft-moe-layer.js';

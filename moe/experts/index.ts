/** Expert families (batched per expert) and the grouped matmul they run on. */
export { segmentMatmul, segmentOuter } from './segment-matmul.js';
export { initExperts, applyExperts, applyExpert, checkExpertParams, EXPERT_KINDS } from './families.js';
export type { ExpertKind, ExpertParams, ExpertDims, LinearExpertParams, FfnExpertParams, SwiGluExpertParams } from './families.js';

export * from './arithmetic.js';
export * from './shape-ops.js';
export * from './reduce.js';
export { softmax, logSoftmax, weightedCenter, softmaxLine } from './softmax.js'; // softmaxLines, softmaxOfValues: internal (logsumexp)
export * from './index-ops.js';
export * from './matmul.js';
export * from './losses.js';

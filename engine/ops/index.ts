export * from './arithmetic.js';
export * from './shape-ops.js';
export * from './reduce.js';
export * from './softmax.js';
export * from './index-ops.js';
export * from './matmul.js';
export * from './losses.js';

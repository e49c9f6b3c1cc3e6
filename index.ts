/** moegrad: a tape-based autodiff engine with Mixture-of-Experts ops. */
export * from './engine/index.js';
export * from './moe/index.js';

/**
 * moegrad engine: tensors, the tape, differentiable ops, gradcheck, optimizers, RNG, backends.
 * `import … from 'moegrad/engine'` (everything here is also exported by `'moegrad'`).
 * @module moegrad/engine
 */
export { Tensor, tensor, zeros, ones, full, scalar, arange, randn, rand, cast, fromData } from './tensor.js';
export type { DType, TypedArray, NestedArray } from './tensor.js';
export type { Shape } from './shape.js';
export { broadcastShapes, sizeOf } from './shape.js';
export { MoegradError, ShapeError, DTypeError, ValueError, fmtShape } from './errors.js';
export { Rng } from './rng.js';
export { noGrad, recordForeign as record, isRecording } from './tape.js';
export { setBufferPool, bufferPoolStats } from './buffer-pool.js';
export type { BufferPoolStats } from './buffer-pool.js';
export type { VjpFn, JvpFn } from './tape.js';
export { grad, valueAndGrad, vjp, jvp, stopGradient } from './vmap-autodiff.js';
export { vmap } from './vmap.js';
export type { VmapOptions, AxisSpec } from './vmap.js';
export { vmapFallbackOps, clearVmapFallbackOps } from './batch-tracer.js';
export type { GradOptions, ValueAndGrad, VjpResult } from './autodiff.js';
export { linearize, jacfwd, jacrev, jacobian, hessian, hvp } from './transforms.js';
export type { JvpResult, Linearized, JacobianOf, JacobianOptions } from './transforms.js';
export { jvpFallbackOps, clearJvpFallbackOps } from './forward.js';
export { customVjp, customJvp } from './custom.js';
export type { CustomRuleOptions } from './custom.js';
export { withDebugNans, setDebugNans, debugNansEnabled, NonFiniteError } from './debug-nans.js';
export type { DebugNansOptions, NonFinitePhase } from './debug-nans.js';
export { treeLeaves, treeMap, treeZip, treePaths } from './tree.js';
export type { TensorTree } from './tree.js';
export { gradcheck } from './gradcheck.js';
export type { GradcheckOptions, GradcheckReport, GradcheckWorst } from './gradcheck.js';
export { certify, checkCase, checkJvpCase, CERTIFICATE_MAX_REL_ERROR, TRANSPOSE_MAX_REL_ERROR } from './certify.js';
export type { Certificate, CertificateRow, CertifyOptions, CaseResult, JvpCaseResult } from './certify.js';
export { ENGINE_OPS } from './ops/registry.js';
export type { OpSpec, OpCase } from './ops/registry.js';
export { sgd, adam, adamw, adamInit } from './optim.js';
export type { SgdOptions, SgdState, AdamOptions, AdamState } from './optim.js';
export { getBackend, useBackend, withBackend, registerBackend, listBackends, calibrateBackends, getCalibration } from './backend/backend.js';
export type { MatmulBackend, Calibration, CalibrationEntry } from './backend/backend.js';
export { createCpuBackend, cpuBackend, cpuJsBackend, JS_MAX_MACS, THREAD_MIN_MACS } from './backend/cpu.js';
export type { CpuMode, CpuBackendOptions, FmaMode } from './backend/cpu.js';
export { createGpujsBackend, f32MatmulErrorBound, GPUJS_MODES } from './backend/gpujs.js';
export type { GpujsBackend, GpujsBackendOptions, GpujsMode, GpujsStats } from './backend/gpujs.js';
export { preloadGpujs, gpujsAvailable } from './backend/gpujs-loader.js';
export { createGpujsWorkerBackend, gpujsWorkerSupported } from './backend/gpujs-worker.js';
export type { GpujsWorkerMode, GpujsWorkerOptions } from './backend/gpujs-worker.js';
export type { GpujsConstructor, GpujsInputFn, GpujsInstance, GpujsKernelRun } from './backend/gpujs-loader.js';
export { OptionalDependencyError, OPTIONAL_DEPENDENCIES, installCommand } from './optional-dep.js';
export { formatTensor, DEFAULT_PRINT_OPTIONS } from './format.js';
export type { PrintOptions, Printable } from './format.js';
export type { OptionalDependencyInfo, OptionalPackage } from './optional-dep.js';
export * from './ops/index.js';
// The ops with a vmap batching rule, in place of the raw ones above (same functions plus vmap dispatch).
export {
  neg, exp, log, sqrt, square, abs, tanh, sigmoid, softplus, relu, silu, erf, geluTanh, geluErf, gelu, pow, scale, add, sub, mul, div, maximum, minimum, where, sum, mean, variance, max, min, logsumexp, softmax, logSoftmax, weightedCenter, matmul, reshape, broadcastTo, sumTo, permute, transpose, slice, unslice, concat, stack, expandDims, squeeze, gatherRows, scatterAddRows, takeAlongAxis, scatterAlongAxis, topk, argmax, mse, nll, crossEntropy,
} from './batched-ops.js';
/** The engine ops without vmap dispatch (what batching rules call); the top-level ops are these plus vmap's batching rules. */
export * as rawOps from './ops/index.js';
export { layerNorm, rmsNorm } from './ops/norm.js';
export { scaledDotProductAttention } from './ops/attention.js';
export type { AttentionOptions } from './ops/attention.js';
export { embedding, dropout } from './ops/embedding.js';
export { rotaryEmbedding } from './ops/rotary.js';
export type { RotaryOptions } from './ops/rotary.js';
export type { DropoutOptions } from './ops/embedding.js';
export { encodeSafetensors, decodeSafetensors } from './safetensors.js';
export type { SafetensorsDType, SafetensorsFile, EncodeSafetensorsOptions } from './safetensors.js';

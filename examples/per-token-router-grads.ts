/**
 * Per-token gradients of an MoE layer's router, and the gradient noise scale they give
 * (`npx tsx examples/per-token-router-grads.ts`).
 *
 * `vmap(grad(loss), { inAxes: [null, 0, 0] })(router, x, target)` differentiates each token's loss
 * ‖MoE(x_t) − target_t‖² with respect to the router parameters separately: G [T, ...router shape].
 * From them, the "simple" gradient noise scale of McCandlish et al. 2018 (An Empirical Model of
 * Large-Batch Training, arXiv:1812.06162, Eq. 2.8 and App. A):
 *   B_simple = tr(Σ) / |G|²,   G = mean_t g_t,   tr(Σ) = (1/(T−1)) Σ_t |g_t − G|²,
 * the batch size above which larger batches stop reducing gradient noise much. The layer's fused gate
 * has no batching rule, so vmap runs it once per token (it says so once); the result is checked
 * against a plain loop of `grad`.
 */
import { Rng, Tensor, randn, vmap, grad, mse, reshape, slice, sub, sum, square, mean, vmapFallbackOps, treeLeaves, type TensorTree } from '../engine/index.js';
import { MoELayer, type MoELayerConfig, type MoELayerParams } from '../moe/layer/layer.js';

/** What {@link perTokenRouterGrads} returns. */
export interface PerTokenResult {
  /** Tokens T. */
  readonly tokens: number;
  /** Router parameters per token (the size of one per-token gradient). */
  readonly routerSize: number;
  /** |G|², G the mean per-token router gradient. */
  readonly meanGradSq: number;
  /** tr(Σ), the per-token gradients' covariance trace (unbiased, 1/(T−1)). */
  readonly traceCov: number;
  /** B_simple = tr(Σ)/|G|² (McCandlish et al. 2018). */
  readonly noiseScale: number;
  /** Largest |vmap − loop| over every per-token gradient entry. */
  readonly maxDiffVsLoop: number;
  /** Ops vmap ran once per example (no batching rule). */
  readonly fallbackOps: readonly string[];
}

/** Runs the example: T tokens through a seeded top-2 normalized-sigmoid MoE layer. */
export function perTokenRouterGrads(options: { tokens?: number; seed?: number; log?: (s: string) => void } = {}): PerTokenResult {
  const { tokens: T = 32, seed = 1, log = console.log } = options;
  const rng = new Rng(seed);
  const D = 6, E = 4;
  const config: MoELayerConfig = {
    dModel: D, dHidden: 8, numExperts: E, topK: 2, expert: 'swiglu',
    gate: { kind: 'normalizedSigmoid', numExperts: E, topK: 2 },
  };
  const params = MoELayer.init(rng, config);
  const x = randn(rng, [T, D]), target = randn(rng, [T, D]);
  // One token's loss as a function of the router parameters (experts held fixed).
  const loss = (router: TensorTree, xt: Tensor, tt: Tensor): Tensor => {
    const p: MoELayerParams = { ...params, router };
    return mse(MoELayer.apply(p, reshape(xt, [1, D]), config).y, reshape(tt, [1, D]));
  };
  const perToken = vmap(grad(loss), { inAxes: [null, 0, 0] })(params.router, x, target);
  const leaves = treeLeaves(perToken); // each [T, ...leaf shape]
  // Check against a loop of grad, token by token.
  let maxDiff = 0;
  for (let t = 0; t < T; t++) {
    const xt = reshape(slice(x, [t], [t + 1]), [D]), tt = reshape(slice(target, [t], [t + 1]), [D]);
    treeLeaves(grad(loss)(params.router, xt, tt)).forEach((g, i) => {
      const row = leaves[i]!.data.subarray(t * g.size, (t + 1) * g.size);
      g.data.forEach((v, j) => { maxDiff = Math.max(maxDiff, Math.abs(v - row[j]!)); });
    });
  }
  // Noise scale: flatten each token's gradient to one row of [T, P].
  const rows = leaves.map((g) => reshape(g, [T, -1]));
  let meanSq = 0, dev = 0;
  for (const r of rows) {
    const g = mean(r, 0); // G, this leaf's part
    meanSq += sum(square(g)).item();
    dev += sum(square(sub(r, g))).item();
  }
  const traceCov = dev / (T - 1);
  const routerSize = rows.reduce((n, r) => n + r.shape[1]!, 0);
  const result = { tokens: T, routerSize, meanGradSq: meanSq, traceCov, noiseScale: traceCov / meanSq, maxDiffVsLoop: maxDiff, fallbackOps: vmapFallbackOps() };
  log(`per-token router gradients: ${T} tokens × ${routerSize} router parameters`);
  log(`  |G|² = ${meanSq.toExponential(4)}, tr(Σ) = ${traceCov.toExponential(4)}`);
  log(`  gradient noise scale B_simple = tr(Σ)/|G|² = ${result.noiseScale.toFixed(2)} tokens`);
  log(`  vmap vs a loop of grad: max |difference| = ${maxDiff.toExponential(2)}`);
  log(`  ran once per token (no batching rule): ${result.fallbackOps.join(', ') || 'nothing'}`);
  return result;
}

if (import.meta.url === `file://${process.argv[1]}`) perTokenRouterGrads();

/**
 * Builds a self-contained copy of the bench (`out/bench-bundle/run.mjs` + tfjs-backend-wasm's .wasm
 * files) for a machine that has Node but not this checkout's node_modules — used to take the
 * quiet-machine figures in bench/RESULTS-quiet-2core.md:
 *   npx tsx bench/bundle.ts && cd out/bench-bundle && taskset -c 0,1 node run.mjs
 * gpu.js stays external (not available there). tfjs gradients are imported statically here, which a
 * bundler can resolve (at runtime bench/tfjs-grads.ts bundles them on the fly instead).
 */
import { build, type Plugin } from 'esbuild';
import { cpSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = join(root, 'out', 'bench-bundle');
const staticGrads: Plugin = {
  name: 'static-tfjs-gradients',
  setup(b) {
    b.onResolve({ filter: /tfjs-grads\.js$/ }, () => ({ path: 'static-grads', namespace: 'static-grads' }));
    b.onLoad({ filter: /.*/, namespace: 'static-grads' }, () => ({
      contents: "import '@tensorflow/tfjs-core/dist/register_all_gradients.js'; export async function registerTfGradients() {}",
      resolveDir: root, loader: 'js',
    }));
  },
};
mkdirSync(outDir, { recursive: true });
await build({
  entryPoints: [join(root, 'bench', 'run.ts')], bundle: true, format: 'esm', platform: 'node', target: 'node20',
  outfile: join(outDir, 'run.mjs'), mainFields: ['module', 'main'], external: ['gpu.js', 'esbuild'], plugins: [staticGrads], logLevel: 'warning',
  // emscripten's tfjs-backend-wasm loader expects CommonJS globals
  banner: { js: "import {fileURLToPath as __f} from 'url'; import {dirname as __d} from 'path'; import {createRequire as __cr} from 'module'; const __filename=__f(import.meta.url); const __dirname=__d(__filename); const require=__cr(import.meta.url);" },
});
const wasmDir = dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
for (const f of ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm']) cpSync(join(wasmDir, f), join(outDir, f));
console.log(`wrote ${outDir}`);

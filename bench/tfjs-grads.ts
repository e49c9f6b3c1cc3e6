/**
 * Registers tfjs's gradient definitions. `@tensorflow/tfjs-core`'s Node bundle ships none (the
 * umbrella `@tensorflow/tfjs` package normally imports them), and its ESM `dist/` files use
 * extensionless imports that Node's ESM loader rejects. So esbuild bundles
 * `dist/register_all_gradients.js` once into a temp file; the gradient registry and the engine
 * live on globalThis (`_tfGlobals`), so registrations from the bundle reach the tfjs in use.
 */
import { build } from 'esbuild';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

let done: Promise<void> | undefined;

export function registerTfGradients(): Promise<void> {
  done ??= (async () => {
    const require = createRequire(import.meta.url);
    const entry = require.resolve('@tensorflow/tfjs-core/dist/register_all_gradients.js');
    const outfile = join(tmpdir(), `moegrad-bench-tfjs-grads-${process.pid}.mjs`);
    await build({ entryPoints: [entry], bundle: true, format: 'esm', platform: 'node', outfile, logLevel: 'error' });
    await import(pathToFileURL(outfile).href);
  })();
  return done;
}

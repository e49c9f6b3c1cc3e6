/**
 * Browser build of moegrad and of the playground page (esbuild).
 *
 *   dist/browser/moegrad.js     the root index.ts bundled for the browser (ESM, one file)
 *   dist/playground/            index.html, styles.css, main.js (imports ./moegrad.js), moegrad.js,
 *                               gpu-browser.min.js (gpu.js's own browser build, loaded by a <script>)
 *
 * Library code must be browser-safe: a static import of a Node built-in anywhere under index.ts
 * fails the build with the importing file named. Dynamic, guarded `import('node:…')` calls are
 * allowed by the project rules; they are left external (never executed in a browser). Modules
 * that are known to break the browser build can be listed in NODE_ONLY_STUBS below as a stop-gap:
 * they are replaced by an empty module and reported on every build.
 *
 * Usage: `npx tsx scripts/build-browser.ts` (also run by `npm run playground` and `npm run test:browser`).
 */
import * as esbuild from 'esbuild';
import { builtinModules } from 'node:module';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const LIBRARY_OUT = join(ROOT, 'dist/browser');
export const PLAYGROUND_OUT = join(ROOT, 'dist/playground');
const PLAYGROUND_SRC = join(ROOT, 'examples/playground');
const ROOT_INDEX = join(ROOT, 'index.ts');

/**
 * Stop-gap stubs: module paths (relative to the repo root) whose static Node-only imports break the
 * browser bundle. Empty today; add an entry only while the module's owner fixes it, and report it.
 */
const NODE_ONLY_STUBS: readonly string[] = [];

const NODE_BUILTINS = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

export interface BuildReport {
  /** Bytes of dist/browser/moegrad.js. */
  readonly librarySize: number;
  /** Library source files in the bundle (repo-relative). */
  readonly libraryInputs: readonly string[];
  /** Dynamic Node-only imports left external (importer → specifier). */
  readonly externalDynamic: readonly string[];
  /** Stubbed modules (NODE_ONLY_STUBS that were actually hit). */
  readonly stubbed: readonly string[];
}

/** esbuild plugin: fail on static Node built-in imports, keep guarded dynamic ones external. */
export function browserSafety(externalDynamic: string[], stubbed: string[]): esbuild.Plugin {
  return {
    name: 'moegrad-browser-safety',
    setup(build) {
      build.onResolve({ filter: /.*/ }, (args) => {
        if (!NODE_BUILTINS.has(args.path)) return undefined;
        const importer = relative(ROOT, args.importer);
        if (args.kind === 'dynamic-import') {
          externalDynamic.push(`${importer} → import('${args.path}')`);
          return { path: args.path, external: true };
        }
        return {
          errors: [{
            text: `browser build: ${importer} statically imports the Node built-in '${args.path}'. ` +
              `Library modules reachable from index.ts must be browser-safe (use a guarded dynamic import), ` +
              `or list ${importer} in NODE_ONLY_STUBS in scripts/build-browser.ts as a stop-gap.`,
          }],
        };
      });
      if (NODE_ONLY_STUBS.length === 0) return;
      const stubs = new Set(NODE_ONLY_STUBS.map((p) => join(ROOT, p)));
      build.onLoad({ filter: /\.ts$/ }, (args) => {
        if (!stubs.has(args.path)) return undefined;
        stubbed.push(relative(ROOT, args.path));
        return { contents: 'export {};', loader: 'ts' };
      });
    },
  };
}

/** Bundles index.ts into dist/browser/moegrad.js. */
export async function buildLibrary(): Promise<BuildReport> {
  const externalDynamic: string[] = [], stubbed: string[] = [];
  const result = await esbuild.build({
    entryPoints: [ROOT_INDEX],
    outfile: join(LIBRARY_OUT, 'moegrad.js'),
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    sourcemap: true,
    metafile: true,
    logLevel: 'silent',
    // gpu.js is injected by the page (`createGpujsBackend({ GPU })`); never bundle its Node build.
    external: ['gpu.js'],
    plugins: [browserSafety(externalDynamic, stubbed)],
  });
  const out = result.metafile.outputs[relative(process.cwd(), join(LIBRARY_OUT, 'moegrad.js'))];
  const libraryInputs = Object.keys(result.metafile.inputs).map((p) => relative(ROOT, resolve(process.cwd(), p)));
  return { librarySize: out?.bytes ?? 0, libraryInputs, externalDynamic, stubbed };
}

/**
 * esbuild plugin for the page: every import of the root index (`../../index.js`) becomes the external
 * `./moegrad.js`, so the page and the library share one module instance (one backend registry).
 * Importing engine/ or moe/ files directly would bundle a second copy, so that is an error.
 */
function libraryAsExternal(): esbuild.Plugin {
  return {
    name: 'moegrad-external',
    setup(build) {
      build.onResolve({ filter: /\.js$/ }, (args) => {
        if (!args.path.startsWith('.')) return undefined;
        const target = resolve(args.resolveDir, args.path).replace(/\.js$/, '.ts');
        if (target === ROOT_INDEX) return { path: './moegrad.js', external: true };
        const rel = relative(ROOT, target);
        if (rel.startsWith('engine/') || rel.startsWith('moe/')) {
          return { errors: [{ text: `playground: ${relative(ROOT, args.importer)} imports ${rel}; import from the root index.js instead (one library instance)` }] };
        }
        return undefined;
      });
    },
  };
}

/** Builds the playground page into dist/playground (builds the library first). */
export async function buildPlayground(): Promise<BuildReport> {
  const report = await buildLibrary();
  await mkdir(PLAYGROUND_OUT, { recursive: true });
  await esbuild.build({
    entryPoints: [join(PLAYGROUND_SRC, 'main.ts')],
    outfile: join(PLAYGROUND_OUT, 'main.js'),
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    sourcemap: true,
    logLevel: 'silent',
    plugins: [libraryAsExternal()],
  });
  for (const f of ['moegrad.js', 'moegrad.js.map']) await copyFile(join(LIBRARY_OUT, f), join(PLAYGROUND_OUT, f));
  await copyFile(join(ROOT, 'node_modules/gpu.js/dist/gpu-browser.min.js'), join(PLAYGROUND_OUT, 'gpu-browser.min.js'));
  for (const f of ['index.html', 'styles.css']) await writeFile(join(PLAYGROUND_OUT, f), await readFile(join(PLAYGROUND_SRC, f)));
  return report;
}

/** One-line summary of a build for logs. */
export function describeBuild(r: BuildReport): string {
  const parts = [`moegrad.js ${(r.librarySize / 1024).toFixed(0)} KiB from ${r.libraryInputs.length} modules`];
  if (r.externalDynamic.length) parts.push(`dynamic Node imports left external: ${r.externalDynamic.join('; ')}`);
  if (r.stubbed.length) parts.push(`STUBBED (not browser-safe yet): ${r.stubbed.join(', ')}`);
  return parts.join(' | ');
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const report = await buildPlayground();
    console.log(`browser build: ${describeBuild(report)}`);
    console.log(`  ${relative(ROOT, LIBRARY_OUT)}/moegrad.js, ${relative(ROOT, PLAYGROUND_OUT)}/`);
  } catch (err) {
    const errors = (err as { errors?: esbuild.Message[] }).errors;
    if (errors?.length) for (const e of errors) console.error(`error: ${e.text}${e.location ? ` (${e.location.file}:${e.location.line})` : ''}`);
    else console.error(err);
    process.exit(1);
  }
}

/**
 * Optional peer dependencies, loaded on first use.
 *
 * `npm install moegrad` installs the engine and the MoE API only. The heavy parts are opt-in peer
 * dependencies (package.json `peerDependenciesMeta.optional`):
 *
 * | package | needed for | size installed |
 * |---|---|---|
 * | `gpu.js` | the gpu.js matmul backends (`useBackend('gpujs')`, `createGpujsBackend`) | ~85 MB (its `webgpu` dependency) |
 * | `vega`, `vega-lite` | the CLI's SVG plots (`moegrad reproduce`, `moegrad merge`) | ~25 MB |
 *
 * When one is missing, the function that needs it throws an {@link OptionalDependencyError} that names
 * the package and the `npm install` command. Nothing here runs at import time and there is no static
 * `node:` import, so this module is browser-safe.
 *
 * @module
 */
import { MoegradError, ValueError } from './errors.js';

/** What moegrad needs an optional package for, and the version range it is tested with. */
export interface OptionalDependencyInfo {
  /** The semver range in package.json `peerDependencies`. */
  readonly range: string;
  /** What the package is needed for, as a noun phrase ("the gpu.js matmul backends"). */
  readonly purpose: string;
  /** The packages to install together (vega-lite needs vega). */
  readonly installWith: readonly string[];
}

/** The name of an optional peer dependency. */
export type OptionalPackage = 'gpu.js' | 'vega' | 'vega-lite';

/**
 * The optional peer dependencies of moegrad. The ranges equal package.json `peerDependencies`
 * (a test checks it).
 */
export const OPTIONAL_DEPENDENCIES: Readonly<Record<OptionalPackage, OptionalDependencyInfo>> = {
  'gpu.js': { range: '2.24.1', purpose: "the gpu.js matmul backends (useBackend('gpujs'), createGpujsBackend)", installWith: ['gpu.js'] },
  vega: { range: '^6.4.0', purpose: 'the SVG plots of `moegrad reproduce` and `moegrad merge`', installWith: ['vega', 'vega-lite'] },
  'vega-lite': { range: '^6.4.3', purpose: 'the SVG plots of `moegrad reproduce` and `moegrad merge`', installWith: ['vega', 'vega-lite'] },
};

/** The `npm install …` command that installs `pkg` (and the packages it must come with). */
export function installCommand(pkg: OptionalPackage): string {
  if (typeof pkg !== 'string' || !Object.prototype.hasOwnProperty.call(OPTIONAL_DEPENDENCIES, pkg)) {
    throw new ValueError('installCommand', `pkg must be one of ${Object.keys(OPTIONAL_DEPENDENCIES).map((k) => `'${k}'`).join(', ')}; got ${typeof pkg === 'string' ? `'${pkg}'` : String(pkg)}`);
  }
  const info = OPTIONAL_DEPENDENCIES[pkg];
  const spec = (name: string) => `${name}@${OPTIONAL_DEPENDENCIES[name as OptionalPackage].range}`;
  return `npm install ${info.installWith.map((n) => `'${spec(n)}'`).join(' ')}`;
}

/**
 * An optional peer dependency is not installed (`reason: 'missing'`) or is installed but failed to
 * load (`reason: 'failed'`, e.g. a native binary that does not run here). The message names the
 * function that needed it, the package, what it is for, and the command that installs it.
 */
export class OptionalDependencyError extends MoegradError {
  /** The package that could not be loaded. */
  readonly packageName: OptionalPackage;
  /** `'missing'`: not installed; `'failed'`: found but threw while loading. */
  readonly reason: 'missing' | 'failed';
  /** The error thrown by `require`/`import`. */
  override readonly cause: unknown;
  constructor(op: string, pkg: OptionalPackage, reason: 'missing' | 'failed', cause?: unknown) {
    const { purpose } = OPTIONAL_DEPENDENCIES[pkg];
    super(op, reason === 'missing'
      ? `the optional package '${pkg}' is not installed; it is needed for ${purpose}. Install it with: ${installCommand(pkg)}`
      : `the optional package '${pkg}' is installed but failed to load (${errorText(cause)}); it is needed for ${purpose}`);
    this.packageName = pkg;
    this.reason = reason;
    this.cause = cause;
  }
}

function errorText(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  return text.split('\n')[0]!; // Node's require stack follows on later lines
}

/** Whether `e` (thrown by require/import of `pkg`) says that `pkg` itself was not found. */
function isNotFound(e: unknown, pkg: string): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  if (code !== 'MODULE_NOT_FOUND' && code !== 'ERR_MODULE_NOT_FOUND') return false;
  // "Cannot find module 'gpu.js'" / "Cannot find package 'vega' imported from …": the package itself,
  // not one of its own dependencies (that is a broken install: reported as 'failed').
  const first = errorText(e);
  return first.includes(`'${pkg}'`) || first.includes(`"${pkg}"`);
}

/** Wraps an error thrown while loading `pkg` as an {@link OptionalDependencyError}. */
export function optionalDependencyError(op: string, pkg: OptionalPackage, cause: unknown): OptionalDependencyError {
  if (cause instanceof OptionalDependencyError) return cause;
  return new OptionalDependencyError(op, pkg, isNotFound(cause, pkg) ? 'missing' : 'failed', cause);
}

type NodeRequire = ((id: string) => unknown) & { resolve(id: string): string };

/** Node's `require` relative to this file, or null outside Node ≥ 20.16 (browsers, older Node). */
function nodeRequire(): NodeRequire | null {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  if (typeof proc?.getBuiltinModule !== 'function') return null;
  const mod = proc.getBuiltinModule('module') as { createRequire(url: string): NodeRequire } | undefined;
  return mod ? mod.createRequire(import.meta.url) : null;
}

/**
 * Loads an optional CommonJS package synchronously with Node's `require`.
 *
 * @param pkg - the package.
 * @param op - the public function that needs it (named in the error).
 * @returns the package's `module.exports`.
 * @throws {@link OptionalDependencyError} when the package is missing or fails to load.
 * @throws {@link MoegradError} outside Node ≥ 20.16 (no synchronous `require`; use {@link importOptional}).
 */
export function requireOptional<T = unknown>(pkg: OptionalPackage, op: string): T {
  const req = nodeRequire();
  if (!req) throw new MoegradError(op, `cannot load '${pkg}' synchronously here (needs Node ≥ 20.16); load it with an async import first`);
  try {
    return req(pkg) as T;
  } catch (e) {
    throw optionalDependencyError(op, pkg, e);
  }
}

/**
 * Checks that an optional package can be resolved (without loading it), e.g. before starting a worker
 * thread that will load it. A no-op outside Node ≥ 20.16, where nothing can be resolved synchronously.
 *
 * @throws {@link OptionalDependencyError} (`reason: 'missing'`) when the package is not installed.
 */
export function assertOptionalInstalled(pkg: OptionalPackage, op: string): void {
  const req = nodeRequire();
  if (!req) return;
  try {
    req.resolve(pkg);
  } catch (e) {
    throw optionalDependencyError(op, pkg, e);
  }
}

/**
 * Loads an optional package with a dynamic `import()` (ESM or CommonJS; a CommonJS package's
 * `module.exports` is the namespace's `default`).
 *
 * @param pkg - the package.
 * @param op - the public function that needs it (named in the error).
 * @returns the module namespace.
 * @throws {@link OptionalDependencyError} when the package is missing or fails to load.
 */
export async function importOptional<T = unknown>(pkg: OptionalPackage, op: string): Promise<T> {
  const specifier: string = pkg; // a plain string variable, so bundlers leave the import alone
  try {
    return (await import(/* @vite-ignore */ specifier)) as T;
  } catch (e) {
    throw optionalDependencyError(op, pkg, e);
  }
}

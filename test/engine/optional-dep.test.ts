import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { MoegradError, OPTIONAL_DEPENDENCIES, OptionalDependencyError, installCommand } from '../../engine/index.js';
import { importOptional, optionalDependencyError, requireOptional } from '../../engine/optional-dep.js';
import { checkPlotDeps, importVega, importVegaLite } from '../../cli/optional-deps.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  dependencies?: Record<string, string>; devDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>; peerDependenciesMeta?: Record<string, { optional?: boolean }>;
};

/** The real error Node throws for `require(name)` from a folder where `name` is not installed. */
function notFoundError(name: string): unknown {
  const req = createRequire(pathToFileURL(join(tmpdir(), 'moegrad-no-such-dir', 'x.js')).href);
  try { req(name); } catch (e) { return e; }
  throw new Error(`${name} unexpectedly resolved from ${tmpdir()}`);
}

describe('optional peer dependencies', () => {
  it('package.json lists exactly OPTIONAL_DEPENDENCIES as optional peers (and as devDependencies), none as dependencies', () => {
    const names = Object.keys(OPTIONAL_DEPENDENCIES).sort();
    expect(Object.keys(pkg.peerDependencies ?? {}).sort()).toEqual(names);
    for (const name of names) {
      expect(pkg.peerDependencies![name], name).toBe(OPTIONAL_DEPENDENCIES[name as keyof typeof OPTIONAL_DEPENDENCIES].range);
      expect(pkg.peerDependenciesMeta?.[name]?.optional, name).toBe(true);
      expect(pkg.devDependencies?.[name], name).toBe(pkg.peerDependencies![name]);
      expect(pkg.dependencies?.[name], name).toBeUndefined();
    }
  });

  it('a missing package gives an OptionalDependencyError naming the function, the package and the install command', () => {
    const err = optionalDependencyError('useBackend', 'gpu.js', notFoundError('gpu.js'));
    expect(err).toBeInstanceOf(OptionalDependencyError);
    expect(err).toBeInstanceOf(MoegradError);
    expect(err.reason).toBe('missing');
    expect(err.packageName).toBe('gpu.js');
    expect(err.op).toBe('useBackend');
    expect(err.message).toBe("useBackend: the optional package 'gpu.js' is not installed; it is needed for "
      + "the gpu.js matmul backends (useBackend('gpujs'), createGpujsBackend). Install it with: npm install 'gpu.js@2.24.1'");
  });

  it('plot packages are installed together', () => {
    expect(installCommand('vega-lite')).toBe("npm install 'vega@^6.4.0' 'vega-lite@^6.4.3'");
    const err = optionalDependencyError('renderSvg', 'vega-lite', notFoundError('vega-lite'));
    expect(err.message).toContain("Install it with: npm install 'vega@^6.4.0' 'vega-lite@^6.4.3'");
  });

  it('a package that is found but fails to load (e.g. its own dependency is missing) is reported as failed, with the cause', () => {
    const cause = notFoundError('webgpu'); // not-found, but for another package than the one being loaded
    const err = optionalDependencyError('loadGpujs', 'gpu.js', cause);
    expect(err.reason).toBe('failed');
    expect(err.cause).toBe(cause);
    expect(err.message).toMatch(/^loadGpujs: the optional package 'gpu\.js' is installed but failed to load \(Cannot find module 'webgpu'\)/);
    expect(err.message).not.toContain('Require stack');
    const native = optionalDependencyError('loadGpujs', 'gpu.js', new Error('GLIBC_2.38 not found'));
    expect(native.reason).toBe('failed');
    expect(native.message).toContain('GLIBC_2.38 not found');
  });

  it('loads installed packages synchronously and asynchronously', async () => {
    const gpu = requireOptional<{ GPU: unknown }>('gpu.js', 'test');
    expect(typeof gpu.GPU).toBe('function');
    const viaImport = await importOptional<{ default?: { GPU?: unknown } }>('gpu.js', 'test');
    expect(typeof (viaImport.default?.GPU)).toBe('function');
    expect(typeof (await importVegaLite()).compile).toBe('function');
    expect(typeof (await importVega()).View).toBe('function');
    expect(await checkPlotDeps()).toBeNull();
  });
});

/**
 * The layering rule of the project: the engine (tensors, tape, ops, transforms, backends) never
 * imports the MoE library, so `moegrad/engine` stays usable on its own. Scans every engine source file.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = join(import.meta.dirname, '..', '..');
const files = (dir: string): string[] => readdirSync(dir).flatMap((f) => {
  const p = join(dir, f);
  return statSync(p).isDirectory() ? files(p) : /\.ts$/.test(f) ? [p] : [];
});

describe('layering', () => {
  it('no engine file imports moe/ or cli/', () => {
    const offenders = files(join(root, 'engine')).filter((f) =>
      /(?:from|import\()\s*['"](?:\.\.\/)+(?:moe|cli)\//.test(readFileSync(f, 'utf8'))).map((f) => relative(root, f));
    expect(offenders).toEqual([]);
  });
});

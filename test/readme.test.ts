/**
 * The README's ```ts blocks are executable documentation: each one runs here, with 'moegrad',
 * 'moegrad/engine' and 'moegrad/moe' resolved to the sources (no build needed).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { extractTsBlocks, rewriteImports } from '../scripts/readme-snippets.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const snippets = extractTsBlocks(readme);
const SOURCES: Record<string, string> = {
  moegrad: join(root, 'index.ts'),
  'moegrad/engine': join(root, 'engine/index.ts'),
  'moegrad/moe': join(root, 'moe/index.ts'),
};
const dir = mkdtempSync(join(tmpdir(), 'moegrad-readme-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('README code blocks', () => {
  it('extracts ts blocks with their line and section, honours the skip marker, rewrites imports', () => {
    const md = '# A\n```ts\nimport { x } from \'moegrad\';\n```\n## B\n<!-- readme-test: skip -->\n```ts\nnope\n```\n```sh\nls\n```\n';
    expect(extractTsBlocks(md)).toEqual([{ code: "import { x } from 'moegrad';", line: 2, heading: 'A' }]);
    expect(rewriteImports("import { a } from 'moegrad/moe';\nconst m = await import(\"moegrad\");\nimport b from 'other';", { 'moegrad/moe': '/m.ts', moegrad: '/i.ts' }))
      .toBe("import { a } from '/m.ts';\nconst m = await import(\"/i.ts\");\nimport b from 'other';");
  });

  it('the README has the API tour, MoE layer, transforms and backend blocks, each importing moegrad', () => {
    expect(snippets.map((s) => s.heading)).toEqual(['API tour', 'API tour', 'API tour', 'API tour', 'Backends: CPU by default, GPU on request']);
    for (const s of snippets) expect(s.code).toMatch(/from 'moegrad(\/engine|\/moe)?'/);
  });

  for (const [n, s] of snippets.entries()) {
    it(`block ${n + 1} (README.md:${s.line}, ${s.heading}) runs`, async () => {
      const code = rewriteImports(s.code, SOURCES);
      for (const spec of Object.keys(SOURCES)) expect(code).not.toContain(`'${spec}'`);
      const file = join(dir, `readme-${n + 1}.ts`);
      writeFileSync(file, `${code}\n`);
      const log = vi.spyOn(console, 'log').mockImplementation(() => {});
      try {
        await import(pathToFileURL(file).href);
      } finally {
        log.mockRestore();
      }
    }, 120_000);
  }

  it('the API tour prints what its comments say', async () => {
    const lines: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => { lines.push(args.map(String).join(' ')); });
    try {
      const file = join(dir, 'readme-tour.ts');
      writeFileSync(file, `${rewriteImports(snippets[0]!.code, SOURCES)}\n`);
      await import(pathToFileURL(file).href);
    } finally {
      log.mockRestore();
    }
    const printed = /\/\/ (tensor\(.*\))$/m.exec(snippets[0]!.code)?.[1];
    expect(printed, 'the tour shows the printed gradient').toBeDefined();
    expect(lines[0]).toBe(printed);
    // the trained loss, then gradcheck's one-line summary of a passing check
    expect(lines[1]).toMatch(/^-?\d+(\.\d+)?(e-?\d+)? gradcheck /);
    expect(lines[1]).toContain(' gradcheck passed (full, ');
  });
});

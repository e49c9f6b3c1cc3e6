/**
 * The README's ```ts code blocks as runnable modules: executable documentation.
 *
 * - `extractTsBlocks(markdown)`: every fenced block whose info string is `ts` (or `typescript`), with
 *   its line number and the section heading above it. A block preceded by the HTML comment
 *   `<!-- readme-test: skip -->` is skipped (use it only for fragments that cannot run).
 * - `rewriteImports(code, map)`: replaces the specifiers of `import … from '<name>'` statements.
 * - CLI: `tsx scripts/readme-snippets.ts --run-in <dir> README.md` writes each block to
 *   `<dir>/readme-<n>.mts` and runs it with tsx in `<dir>`, so `'moegrad'` resolves to the package
 *   installed there (scripts/check-pack.sh uses it on the packed tarball). Exit code 1 when a block fails.
 *
 * test/readme.test.ts runs the same blocks against the sources in `npm test`.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** One ```ts block of a markdown file. */
export interface Snippet {
  /** The block's source (without the fences). */
  readonly code: string;
  /** 1-based line of the opening fence. */
  readonly line: number;
  /** The nearest `#` heading above the block ('' before the first). */
  readonly heading: string;
}

/** The ```ts / ```typescript blocks of `markdown`, in order. */
export function extractTsBlocks(markdown: string): Snippet[] {
  const lines = markdown.split('\n');
  const out: Snippet[] = [];
  let heading = '';
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const h = /^#{1,6}\s+(.*)$/.exec(line);
    if (h) { heading = h[1]!.trim(); continue; }
    const fence = /^(`{3,}|~{3,})\s*(\S*)/.exec(line);
    if (!fence) continue;
    const [, marker, info] = fence;
    let j = i + 1;
    while (j < lines.length && !lines[j]!.startsWith(marker!)) j++;
    if (j >= lines.length) throw new Error(`unclosed code fence at line ${i + 1}`);
    const skip = i > 0 && /<!--\s*readme-test:\s*skip\s*-->/.test(lines[i - 1]!);
    if ((info === 'ts' || info === 'typescript') && !skip) out.push({ code: lines.slice(i + 1, j).join('\n'), line: i + 1, heading });
    i = j;
  }
  return out;
}

/** Replaces the module specifiers of static imports/exports (`from 'x'`) and dynamic `import('x')`. */
export function rewriteImports(code: string, map: Readonly<Record<string, string>>): string {
  return code
    .replace(/(\bfrom\s*)(['"])([^'"]+)\2/g, (m, pre: string, q: string, spec: string) => (spec in map ? `${pre}${q}${map[spec]}${q}` : m))
    .replace(/(\bimport\s*\(\s*)(['"])([^'"]+)\2/g, (m, pre: string, q: string, spec: string) => (spec in map ? `${pre}${q}${map[spec]}${q}` : m));
}

function runIn(dir: string, readme: string): number {
  const snippets = extractTsBlocks(readFileSync(readme, 'utf8'));
  if (snippets.length === 0) { console.error(`readme-snippets: no ts blocks in ${readme}`); return 1; }
  const tsx = createRequire(import.meta.url).resolve('tsx/cli');
  let failed = 0;
  snippets.forEach((s, n) => {
    const file = join(dir, `readme-${n + 1}.mts`);
    writeFileSync(file, `${s.code}\n`);
    const t0 = Date.now();
    const r = spawnSync(process.execPath, [tsx, file], { cwd: dir, encoding: 'utf8', timeout: 300_000 });
    const where = `${readme}:${s.line} (${s.heading})`;
    if (r.status === 0) console.log(`readme-snippets: ok   ${where} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    else { failed++; console.error(`readme-snippets: FAIL ${where} (exit ${r.status ?? r.signal})\n${r.stdout}${r.stderr}`); }
  });
  console.log(`readme-snippets: ${snippets.length - failed} of ${snippets.length} blocks ran without error`);
  return failed ? 1 : 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const k = args.indexOf('--run-in');
  if (k < 0 || args.length !== 3) {
    console.error('usage: tsx scripts/readme-snippets.ts --run-in <dir> <README.md>');
    process.exitCode = 2;
  } else {
    const dir = resolve(args[k + 1]!);
    const readme = resolve(args.find((_, i) => i !== k && i !== k + 1)!);
    process.exitCode = runIn(dir, readme);
  }
}

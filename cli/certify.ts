/**
 * `npm run certify [-- --out path.json] [--cases N] [--seed S]`: gradchecks every registered op
 * (ENGINE_OPS and MOE_OPS) in float64, first and second order, and checks forward mode (JVP against
 * central differences, the transpose identity against the VJP, hand rule or fallback), prints the
 * certificate table and writes it as JSON (default out/certificate.json). Exits 1 if any op's max
 * relative error > 1e-6 or its transpose identity is off by more than 1e-10.
 * Node-only (not part of the browser-safe library).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { certify, CERTIFICATE_MAX_REL_ERROR, TRANSPOSE_MAX_REL_ERROR, type CertificateRow } from '../engine/certify.js';
import { ENGINE_OPS } from '../engine/ops/registry.js';
import { MOE_OPS } from '../moe/registry.js';

function parseArgs(argv: readonly string[]): { out: string; cases: number; seed: number } {
  const opts = { out: 'out/certificate.json', cases: 8, seed: 0 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!, v = argv[i + 1];
    const need = () => { if (v === undefined) throw new Error(`certify: ${a} needs a value`); i++; return v; };
    if (a === '--out') opts.out = need();
    else if (a === '--cases') opts.cases = Number(need());
    else if (a === '--seed') opts.seed = Number(need());
    else if (a === '-h' || a === '--help') {
      console.log('usage: npm run certify -- [--out out/certificate.json] [--cases 8] [--seed 0]');
      process.exit(0);
    } else throw new Error(`certify: unknown argument '${a}' (try --help)`);
  }
  if (!Number.isInteger(opts.cases) || opts.cases < 1) throw new Error(`certify: --cases must be a positive integer; got ${opts.cases}`);
  if (!Number.isFinite(opts.seed)) throw new Error(`certify: --seed must be a number; got ${opts.seed}`);
  return opts;
}

const e = (v: number) => (Number.isNaN(v) ? '—' : v.toExponential(2));
const line = (r: CertificateRow) =>
  `${r.op.padEnd(32)} ${r.family.padEnd(18)} ${String(r.cases).padStart(5)}  ${e(r.maxAbsError).padStart(9)}  ${e(r.maxRelError).padStart(9)}  ${e(r.secondOrderMaxRel).padStart(9)}`
  + `  ${e(r.jvpMaxRelError).padStart(9)}  ${e(r.transposeMaxRelError).padStart(9)}  ${r.jvpRule.padEnd(8)}  ${r.pass ? 'pass' : 'FAIL'}`;

function main(): number {
  const { out, cases, seed } = parseArgs(process.argv.slice(2));
  const ops = [...ENGINE_OPS, ...MOE_OPS];
  console.log(`gradient certificate: ${ops.length} ops × ${cases} cases, float64, seed ${seed}, threshold max rel error ≤ ${CERTIFICATE_MAX_REL_ERROR} (first, second order, JVP), transpose identity ≤ ${TRANSPOSE_MAX_REL_ERROR}`);
  console.log(`${'op'.padEnd(32)} ${'family'.padEnd(18)} ${'cases'.padStart(5)}  ${'max abs'.padStart(9)}  ${'max rel'.padStart(9)}  ${'2nd rel'.padStart(9)}  ${'JVP rel'.padStart(9)}  ${'⟨u,Jv⟩'.padStart(9)}  ${'JVP rule'.padEnd(8)}  pass`);
  const t0 = performance.now();
  const cert = certify(ops, { casesPerOp: cases, seed, onRow: (r) => console.log(line(r)) });
  const secs = (performance.now() - t0) / 1000;
  const failed = cert.entries.filter((r) => !r.pass);
  for (const r of failed) console.log(`  FAIL ${r.op}: ${r.worst}`);
  const fallback = cert.entries.filter((r) => r.jvpRule === 'fallback');
  if (fallback.length > 0) console.log(`JVP by the transposed-VJP fallback (no hand rule): ${fallback.map((r) => `${r.op} [${r.jvpFallbackOps.join(', ')}]`).join('; ')}`);
  const path = resolve(out);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, JSON.stringify({ ...cert, generatedAt: new Date().toISOString(), seconds: secs }, null, 2) + '\n');
  console.log(`${cert.entries.length} ops, ${cert.entries.length - failed.length} pass; worst max rel error ${e(cert.maxRelError)} (second order ${e(cert.secondOrderMaxRel)}, JVP ${e(cert.jvpMaxRelError)}, transpose identity ${e(cert.transposeMaxRelError)}); ${fallback.length} ops on the JVP fallback; ${secs.toFixed(1)} s; wrote ${out}`);
  return cert.ok ? 0 : 1;
}

try {
  process.exitCode = main();
} catch (err) {
  console.error((err as Error).message);
  process.exitCode = 2;
}

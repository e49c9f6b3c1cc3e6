/**
 * `npx tsx bench/transforms.ts [--quick]`: function transforms against @jax-js/jax 0.1.25 (wasm
 * backend, float64), in one run, as ratios (moegrad time / jax-js time; > 1 means moegrad is slower):
 *  1. per-example gradients of a softmax-regression router loss, B examples:
 *     `vmap(grad(loss), { inAxes: [null, 0, 0] })` vs a loop of `grad`, in both libraries;
 *  2. the Jacobian of a dense softmax gate [T, E] → [T, E] (jacrev; jacfwd too for moegrad).
 * Prints a Markdown table; bench/RESULTS.md keeps a copy with the machine and its load.
 * jax-js notes: `dataSync()` consumes an array (ref-counted ownership); its float64 exp/log are
 * approximations (~1e-7 relative), so the libraries agree to ~1e-7, not to rounding.
 */
import {
  Rng, Tensor, randn, fromData, grad, vmap, matmul, reshape, logSoftmax, sum, mul, neg, slice, softmaxGate,
} from '../index.js';
import { interleaved, machineLine, loadAverage, type Contestant } from './timing.js';
import { loadJax } from './jax-moe.js';

const D = 16, E = 8, T = 8;

/** Cross-entropy of one example against a one-hot target: −Σ t ⊙ log softmax(x W). */
const loss = (w: Tensor, x: Tensor, t: Tensor) => neg(sum(mul(t, logSoftmax(matmul(reshape(x, [1, D]), w)))));
const perExample = vmap(grad(loss), { inAxes: [null, 0, 0] });

// ---------- jax-js ----------
interface JaxArray { ref: JaxArray; dataSync(): ArrayLike<number>; dispose(): void; reshape(s: number[]): JaxArray; mul(o: JaxArray): JaxArray }
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Jax = any;

/**
 * Runs both sections and returns them as Markdown (a machine/load line, a table, the speed-ups).
 * `quick`: B = 64 examples and 5 rounds (what `npm run bench` uses), else B = 256 and 9 rounds.
 */
export async function benchTransforms(quick: boolean, log: (s: string) => void = (s) => process.stderr.write(`${s}\n`)): Promise<string> {
  const B = quick ? 64 : 256;
  const REPS = quick ? 5 : 9;
  // ---------- inputs (float64, shared by both libraries) ----------
  const rng = new Rng(2026);
  const W = randn(rng, [D, E], 0.3), X = randn(rng, [B, D]);
  const tData = new Float64Array(B * E);
  for (let b = 0; b < B; b++) tData[b * E + rng.int(E)] = 1;
  const targets = fromData(tData, [B, E]);
  const Z = randn(rng, [T, E]);
  const rows = (m: Tensor) => Array.from({ length: B }, (_, b) => reshape(slice(m, [b], [b + 1]), [m.shape[1]!]));
  const xRows = rows(X), tRows = rows(targets);
  const moegradLoop = () => xRows.map((x, b) => grad(loss)(W, x, tRows[b]!));
  const jax = await loadJax(log);
  const contestants: Contestant[] = [
    { label: 'moegrad vmap(grad)', run: () => perExample(W, X, targets) },
    { label: 'moegrad loop of grad', run: moegradLoop },
  ];
  let jaxArgs: { w: JaxArray; x: JaxArray; t: JaxArray; xs: JaxArray[]; ts: JaxArray[]; z: JaxArray } | null = null;
  if (jax) {
    const np = jax.numpy;
    const arr = (t: Tensor): JaxArray => np.array(Float64Array.from(t.data)).reshape([...t.shape]);
    jaxArgs = { w: arr(W), x: arr(X), t: arr(targets), xs: xRows.map(arr), ts: tRows.map(arr), z: arr(Z) };
    const jloss = (w: JaxArray, x: JaxArray, t: JaxArray) => np.sum(t.mul(jax.nn.logSoftmax(np.matmul(x.reshape([1, D]), w), -1))).mul(-1);
    const jPer = jax.vmap(jax.grad(jloss), [null, 0, 0]);
    const a = jaxArgs;
    contestants.push(
      { label: 'jax-js vmap(grad)', run: () => { const g = jPer(a.w.ref, a.x.ref, a.t.ref); g.dataSync(); } },
      { label: 'jax-js loop of grad', run: () => { for (let b = 0; b < B; b++) { const g = jax.grad(jloss)(a.w.ref, a.xs[b]!.ref, a.ts[b]!.ref); g.dataSync(); } } },
    );
  }
  // check: the two libraries agree on the per-example gradients
  let agree = 'not checked';
  if (jax && jaxArgs) {
    const mine = perExample(W, X, targets).data;
    const jl = (w: JaxArray, x: JaxArray, t: JaxArray) => jax.numpy.sum(t.mul(jax.nn.logSoftmax(jax.numpy.matmul(x.reshape([1, D]), w), -1))).mul(-1);
    const theirs = jax.vmap(jax.grad(jl), [null, 0, 0])(jaxArgs.w.ref, jaxArgs.x.ref, jaxArgs.t.ref).dataSync();
    agree = `max |moegrad − jax-js| = ${Math.max(...Array.from(mine, (v, i) => Math.abs(v - theirs[i]!))).toExponential(2)}`;
  }
  log(`per-example gradients, B = ${B}, D = ${D}, E = ${E} (${agree})`);
  const pe = await interleaved(contestants, REPS, 2, 30_000, log);

  // ---------- jacobian of a gate ----------
  const transforms = (await import('../engine/transforms.js')) as Record<string, unknown>;
  const jacrev = transforms.jacrev as ((f: (z: Tensor) => Tensor) => (z: Tensor) => Tensor) | undefined;
  const jacfwd = transforms.jacfwd as typeof jacrev;
  const gate = (z: Tensor) => softmaxGate(z).weights;
  const jc: Contestant[] = [];
  if (jacrev) jc.push({ label: 'moegrad jacrev(softmaxGate)', run: () => jacrev(gate)(Z) });
  if (jacfwd) jc.push({ label: 'moegrad jacfwd(softmaxGate)', run: () => jacfwd(gate)(Z) });
  if (jax && jaxArgs) {
    const a = jaxArgs;
    // jax-js 0.1.25's jacrev/jacfwd take 1-D inputs only: the same Jacobian over the flattened logits [T·E].
    const flatGate = (z: JaxArray) => jax.nn.softmax(z.reshape([T, E]), -1).reshape([T * E]);
    const zFlat = a.z.ref.reshape([T * E]);
    jc.push({ label: 'jax-js jacrev(softmax)', run: () => { const j = jax.jacrev(flatGate)(zFlat.ref); j.dataSync(); } });
    jc.push({ label: 'jax-js jacfwd(softmax)', run: () => { const j = jax.jacfwd(flatGate)(zFlat.ref); j.dataSync(); } });
  }
  log(`jacobian of a dense softmax gate, T = ${T}, E = ${E} → [${T}, ${E}, ${T}, ${E}]`);
  const jr = await interleaved(jc, REPS, 2, 30_000, log);

  const ms = (rs: typeof pe, label: string) => rs.find((r) => r.label === label)?.ms ?? null;
  const ratio = (a: number | null, b: number | null) => (a !== null && b !== null ? (a / b).toFixed(2) : 'n/a');
  const fmt = (v: number | null) => (v === null ? 'n/a' : v.toFixed(2));
  const lines = [
    `Machine: ${machineLine()}; 1-minute load average ${loadAverage().toFixed(2)} at the end; median of ${REPS} interleaved rounds after 2 warm-ups; float64, jax-js on its wasm backend.`,
    '',
    '| task | moegrad ms | jax-js ms | moegrad / jax-js |',
    '| --- | ---: | ---: | ---: |',
    `| per-example grads, vmap(grad), B=${B} | ${fmt(ms(pe, 'moegrad vmap(grad)'))} | ${fmt(ms(pe, 'jax-js vmap(grad)'))} | ${ratio(ms(pe, 'moegrad vmap(grad)'), ms(pe, 'jax-js vmap(grad)'))} |`,
    `| per-example grads, loop of grad, B=${B} | ${fmt(ms(pe, 'moegrad loop of grad'))} | ${fmt(ms(pe, 'jax-js loop of grad'))} | ${ratio(ms(pe, 'moegrad loop of grad'), ms(pe, 'jax-js loop of grad'))} |`,
    `| jacrev of a softmax gate [${T}, ${E}] | ${fmt(ms(jr, 'moegrad jacrev(softmaxGate)'))} | ${fmt(ms(jr, 'jax-js jacrev(softmax)'))} | ${ratio(ms(jr, 'moegrad jacrev(softmaxGate)'), ms(jr, 'jax-js jacrev(softmax)'))} |`,
    `| jacfwd of a softmax gate [${T}, ${E}] | ${fmt(ms(jr, 'moegrad jacfwd(softmaxGate)'))} | ${fmt(ms(jr, 'jax-js jacfwd(softmax)'))} | ${ratio(ms(jr, 'moegrad jacfwd(softmaxGate)'), ms(jr, 'jax-js jacfwd(softmax)'))} |`,
    '',
    `vmap speed-up over a loop of grad: moegrad ${ratio(ms(pe, 'moegrad loop of grad'), ms(pe, 'moegrad vmap(grad)'))}×, jax-js ${ratio(ms(pe, 'jax-js loop of grad'), ms(pe, 'jax-js vmap(grad)'))}×. ${agree}.`,
  ];
  return lines.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) process.stdout.write(`${await benchTransforms(process.argv.includes('--quick'))}\n`);

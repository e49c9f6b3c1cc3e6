/**
 * `npm run test:browser`: the playground in Debian's headless Chromium, driven by playwright-core.
 *
 * Builds the browser bundle and the page, serves it on 127.0.0.1, and checks that
 *   1. the page starts without console errors and the controls work (dragging the point moves it);
 *   2. training with a fixed seed on the CPU backend gives bit-identical numbers to the same code in
 *      Node (losses, accuracies, expert load, Jain's index, every parameter afterwards, and the router
 *      inspection: scores, weights, ∂o/∂router) for every gate the page offers;
 *   3. on the gpu.js WebGL2 backend the same training agrees with Node to float32 accuracy, and the
 *      kernel that ran is gpu.js's WebGL2Kernel (SwiftShader here), as the backend's describe() says;
 *   4. WebGPU is used when the browser offers an adapter, and reported as unavailable otherwise;
 * then saves a screenshot to docs/playground.png. Exits non-zero, naming each failed check.
 *
 * Needs /usr/bin/chromium (`apt-get install -y --no-install-recommends chromium`; scripts/ci-browser.sh
 * does it). No browser is downloaded.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { buildPlayground, describeBuild, ROOT } from '../../scripts/build-browser.js';
import { startServer } from '../../examples/playground/serve.js';
import {
  DEFAULT_CONFIG, EXTENT, GATE_KINDS, makeTask, initTraining, trainStep, inspectPoint, flattenParams, type PlaygroundConfig,
} from '../../examples/playground/model.js';
import type { PlaygroundApi } from '../../examples/playground/main.js';
import { Checks } from './compare.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
  '--disable-sync', '--no-first-run', '--disable-quic',
];
const SEED = 1234;
const STEPS = 4;
const POINT: [number, number] = [0.4, -0.3];
/**
 * CPU tolerance. Not 0: Chromium 156's V8 and Node 20's V8 round Math.exp/log/pow/sin/cos differently
 * in the last bit (measured: Math.exp differs on 189 of 1999 sample inputs), so float64 results agree to
 * ~1e-13 rather than bit for bit. 1e-9 is still a million times tighter than float32 would allow.
 */
const CPU_ATOL = 1e-9, CPU_RTOL = 1e-9;
/** gpu.js WebGL2 computes matmuls in float32; 4 Adam steps keep the drift well within these. */
const GPU_ATOL = 1e-4, GPU_RTOL = 1e-3;
const SCREENSHOT = join(ROOT, 'docs/playground.png');

type TrainOut = ReturnType<PlaygroundApi['train']>;

/** Largest |browser − node| seen on the float64 (cpu) runs, over losses, parameters, scores and grads. */
let cpuWorst = { abs: 0, what: '' };
function noteWorst(label: string, a: readonly number[], b: readonly number[]): void {
  a.forEach((v, i) => { const d = Math.abs(v - b[i]!); if (d > cpuWorst.abs) cpuWorst = { abs: d, what: `${label} [${i}]: ${v} vs ${b[i]}` }; });
}

/** The same training the page runs, in Node, with the same model code and seed. */
function nodeTrain(config: PlaygroundConfig, steps: number) {
  const data = makeTask(config.task, config.seed, config.numPoints);
  let state = initTraining(config);
  const losses: number[] = [], accuracies: number[] = [], load: number[][] = [], jain: number[] = [];
  for (let i = 0; i < steps; i++) {
    const r = trainStep(state, data, config);
    state = r.state;
    losses.push(r.loss); accuracies.push(r.accuracy); load.push(Array.from(r.load)); jain.push(r.jain);
  }
  return { losses, accuracies, load, jain, params: flattenParams(state.params), inspect: inspectPoint(state.params, config, POINT) };
}

async function pageTrain(page: Page, config: PlaygroundConfig, backend: string, steps: number) {
  return page.evaluate(([cfg, b, n, p]) => {
    const pg = window.playground!;
    pg.setBackend(b);
    pg.configure(cfg);
    const out = pg.train(n);
    return { ...out, inspect: pg.inspect(p) };
  }, [config, backend, steps, POINT] as const);
}

/** Compares one page run with the Node run; atol = rtol = 0 means bit-identical. */
function compareRun(checks: Checks, label: string, page: TrainOut & { inspect: ReturnType<PlaygroundApi['inspect']> },
  node: ReturnType<typeof nodeTrain>, atol: number, rtol: number, routingExact: boolean): void {
  // Integer routing (which expert each point goes to) must match exactly on float64; on float32 a
  // point within rounding of a tie may flip, so load and accuracy get a 2% slack there.
  const slack = routingExact ? 0 : 0.02;
  if (routingExact) {
    noteWorst(`${label} losses`, page.losses, node.losses);
    noteWorst(`${label} params`, page.params, node.params);
    noteWorst(`${label} ∂o/∂router`, page.inspect.grads.flatMap((g) => g.values), node.inspect.grads.flatMap((g) => g.values));
  }
  checks.arrays(`${label}: losses`, page.losses, node.losses, atol, rtol);
  checks.arrays(`${label}: accuracies`, page.accuracies, node.accuracies, slack, 0);
  checks.arrays(`${label}: expert load`, page.load.flat(), node.load.flat(), slack, 0);
  checks.arrays(`${label}: Jain's index`, page.jain, node.jain, routingExact ? CPU_ATOL : slack, 0);
  checks.arrays(`${label}: parameters after ${page.losses.length} steps`, page.params, node.params, atol, rtol);
  checks.arrays(`${label}: router scores at (${POINT})`, page.inspect.scores, node.inspect.scores, atol, rtol);
  checks.check(`${label}: selected experts at (${POINT})`, page.inspect.selected.join() === node.inspect.selected.join(),
    `browser [${page.inspect.selected}] vs node [${node.inspect.selected}]`);
  checks.arrays(`${label}: ∂o/∂router`, page.inspect.grads.flatMap((g) => g.values), node.inspect.grads.flatMap((g) => g.values), atol, rtol);
}

async function launch(userDataDir: string, extraArgs: string[] = []): Promise<BrowserContext> {
  return chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM, headless: true, args: [...CHROMIUM_ARGS, ...extraArgs],
    viewport: { width: 1400, height: 860 }, deviceScaleFactor: 1,
  });
}

async function openPlayground(context: BrowserContext, url: string, problems: string[]): Promise<Page> {
  const page = await context.newPage();
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console.error: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`uncaught: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} (${r.failure()?.errorText ?? '?'})`));
  await page.goto(url);
  await page.waitForFunction(() => window.playground !== undefined || window.playgroundError !== undefined, undefined, { timeout: 30_000 });
  const startError = await page.evaluate(() => window.playgroundError);
  if (startError) throw new Error(`the page failed to start: ${startError}`);
  return page;
}

async function main(): Promise<number> {
  if (!existsSync(CHROMIUM)) {
    console.error(`test:browser: ${CHROMIUM} not found. Install Debian's Chromium (as root): apt-get install -y --no-install-recommends chromium, or run scripts/ci-browser.sh`);
    return 2;
  }
  const build = await buildPlayground();
  console.log(`build: ${describeBuild(build)}`);
  const server = await startServer({ port: 0 });
  const profile = await mkdtemp(join(tmpdir(), 'moegrad-chromium-'));
  const checks = new Checks();
  const problems: string[] = [];
  let context: BrowserContext | undefined;
  try {
    context = await launch(profile);
    console.log(`chromium ${context.browser()?.version() ?? '(version unknown)'} at ${CHROMIUM}; page ${server.url}`);
    const page = await openPlayground(context, server.url, problems);
    checks.check('page started', true, (await page.textContent('#status')) ?? '');

    // 1. Interaction: drag the inspection point and see the label follow.
    const box = (await page.locator('#regions').boundingBox())!;
    const before = await page.textContent('#pointLabel');
    await page.mouse.move(box.x + 60, box.y + 60);
    await page.mouse.down();
    await page.mouse.move(box.x + 90, box.y + 300, { steps: 4 });
    await page.mouse.up();
    const after = await page.textContent('#pointLabel');
    const [ax, ay] = (after ?? '').replace(/[()]/g, '').split(',').map(Number) as [number, number];
    const [ex, ey] = [(90 / box.width) * 2 * EXTENT - EXTENT, EXTENT - (300 / box.height) * 2 * EXTENT];
    checks.check('dragging the point moves the inspected x', before !== after && Math.abs(ax - ex) < 0.02 && Math.abs(ay - ey) < 0.02,
      `${before} → ${after}, expected ≈ (${ex.toFixed(2)}, ${ey.toFixed(2)})`);

    // The controls: pick a gate, train live for a moment, pause, step once.
    await page.selectOption('#gate', 'laplace');
    const gradRows = await page.locator('#grads th').allTextContents();
    checks.check('choosing the Laplace gate shows ∂o/∂centroids', gradRows.some((t) => t.startsWith('router.centroids')), gradRows.filter((t) => t.startsWith('router')).join(' '));
    await page.click('#train');
    await page.waitForFunction(() => /step ([1-9]\d*)/.test(document.getElementById('stats')?.textContent ?? ''), undefined, { timeout: 15_000 });
    await page.click('#train');
    const paused = (await page.textContent('#stats')) ?? '';
    await page.click('#step');
    const stepped = (await page.textContent('#stats')) ?? '';
    const stepOf = (t: string) => Number(/step (\d+)/.exec(t)?.[1] ?? NaN);
    checks.check('Train runs live, Pause stops, Step adds one step', stepOf(paused) > 0 && stepOf(stepped) === stepOf(paused) + 1 && (await page.textContent('#train')) === 'Train',
      `${paused} → ${stepped}`);

    // 2. CPU: float64 agreement with Node (routing decisions and data bit-identical), for every gate.
    const base: PlaygroundConfig = { ...DEFAULT_CONFIG, seed: SEED };
    const cpuNow = await page.evaluate(() => window.playground!.setBackend('cpu'));
    console.log(`info  cpu backend in the page: ${cpuNow}`);
    for (const g of GATE_KINDS) {
      const config: PlaygroundConfig = { ...base, gate: g.kind };
      compareRun(checks, `cpu · ${g.kind}`, await pageTrain(page, config, 'cpu', STEPS), nodeTrain(config, STEPS), CPU_ATOL, CPU_RTOL, true);
    }
    // Every gate × E × k the controls allow trains a step and inspects a point (finite numbers, no throw).
    const sweep = await page.evaluate((gates) => {
      const pg = window.playground!;
      const bad: string[] = [];
      let runs = 0;
      for (const gate of gates) for (const E of [2, 3, 5, 8]) for (const k of [1, 2, E]) {
        try {
          const cfg = pg.configure({ gate: gate as 'softmax', numExperts: E, topK: k, seed: 11 });
          const r = pg.train(2);
          const ins = pg.inspect([0.2, 0.1]);
          runs++;
          const nums = [...r.losses, ...r.params, ...ins.scores, ...ins.weights, ...ins.grads.flatMap((g) => g.values)];
          if (!nums.every(Number.isFinite)) bad.push(`${gate} E=${E} k=${k}: non-finite numbers`);
          if (ins.scores.length !== cfg.numExperts) bad.push(`${gate} E=${E} k=${k}: ${ins.scores.length} scores for E=${cfg.numExperts}`);
        } catch (e) { bad.push(`${gate} E=${E} k=${k}: ${e instanceof Error ? e.message : String(e)}`); }
      }
      return { runs, bad };
    }, GATE_KINDS.map((g) => g.kind));
    checks.check(`every gate × E ∈ {2,3,5,8} × k trains and inspects (${sweep.runs} configs)`, sweep.bad.length === 0, sweep.bad.slice(0, 4).join(' | '));
    console.log(`info  cpu runs, largest |browser − node| over ${GATE_KINDS.length} gates: ${cpuWorst.abs.toExponential(2)} (${cpuWorst.what})`);
    const pageData = await page.evaluate((cfg) => window.playground!.dataset(cfg), base);
    const nodeData = makeTask(base.task, base.seed, base.numPoints);
    checks.arrays(`data set '${base.task}' (seed ${SEED}) bit-identical`, [...pageData.x, ...pageData.labels], [...nodeData.x.toArray(), ...nodeData.labels]);

    // 3. gpu.js WebGL2: float32 agreement, and the kernel class that ran.
    const choices = await page.evaluate(() => window.playground!.backends());
    const webgl2 = choices.find((c) => c.id === 'gpujs-webgl2');
    if (checks.check('gpu.js WebGL2 backend offered', !!webgl2 && webgl2.unavailable === null, webgl2 ? webgl2.unavailable ?? webgl2.label : 'not listed')) {
      const config: PlaygroundConfig = { ...base, gate: 'topKSoftmax' };
      const run = await pageTrain(page, config, 'gpujs-webgl2', STEPS);
      checks.check('gpu.js kernel that ran is WebGL2Kernel, no fallback',
        run.backend.kernelClass === 'WebGL2Kernel' && run.backend.describe === 'gpujs:webgl2',
        `kernel class ${run.backend.kernelClass}, describe() '${run.backend.describe}'`);
      const renderer = await page.evaluate(() => window.playground!.webglRenderer());
      console.log(`info  WebGL renderer: ${renderer}`);
      const node = nodeTrain(config, STEPS);
      compareRun(checks, 'gpujs-webgl2 · topKSoftmax', run, node, GPU_ATOL, GPU_RTOL, false);
      const drift = Math.max(...run.params.map((v, i) => Math.abs(v - node.params[i]!)));
      checks.check('gpu.js run really computed in float32 (differs from float64 Node)', drift > 0, `max |Δ params| ${drift.toExponential(2)}`);
    }

    // 4. WebGPU: without --enable-unsafe-webgpu headless Chromium offers no adapter; with it, SwiftShader's.
    const webgpu = choices.find((c) => c.id === 'gpujs-webgpu');
    console.log(`info  webgpu with the default flags: ${webgpu?.unavailable === null ? 'available' : `unavailable (${webgpu?.unavailable ?? 'not listed'})`}`);
    const gpuProfile = await mkdtemp(join(tmpdir(), 'moegrad-chromium-webgpu-'));
    const gpuContext = await launch(gpuProfile, ['--enable-unsafe-webgpu']);
    try {
      const gpuPage = await openPlayground(gpuContext, server.url, problems);
      const wg = (await gpuPage.evaluate(() => window.playground!.backends())).find((c) => c.id === 'gpujs-webgpu');
      if (checks.check('with --enable-unsafe-webgpu: gpu.js WebGPU offered', wg?.unavailable === null, `${wg?.note ?? ''} ${wg?.unavailable ?? ''}`)) {
        const r = await gpuPage.evaluate(() => window.playground!.webgpuCheck());
        checks.check('WebGPU check ran on WebGPUKernel, within the float32 bound of the CPU result',
          r.kernelClass === 'WebGPUKernel' && r.describe === 'gpujs:webgpu' && r.withinBound,
          `${r.shape} on ${r.kernelClass} ('${r.describe}'), max |Δ| ${r.maxAbsDiff.toExponential(2)}`);
      }
    } finally {
      await gpuContext.close().catch(() => undefined);
      await rm(gpuProfile, { recursive: true, force: true });
    }

    // Screenshot: 150 steps on the cpu backend, 5 more on gpu.js WebGL2 (the page then shows what ran), a point inspected.
    const shot = await page.evaluate(() => {
      const pg = window.playground!;
      pg.setBackend('cpu');
      pg.configure({ task: 'xor', gate: 'topKSoftmax', numExperts: 4, topK: 2, seed: 7 });
      pg.train(150);
      pg.setBackend('gpujs-webgl2');
      const last = pg.train(5);
      pg.inspect([0.35, -0.45]);
      return last.backend;
    });
    checks.check('screenshot state: last steps ran on gpu.js WebGL2', shot.kernelClass === 'WebGL2Kernel', `${shot.describe} [${shot.kernelClass}]`);
    checks.check('page shows the backend that ran', ((await page.textContent('#backendRan')) ?? '').includes('WebGL2Kernel'), (await page.textContent('#backendRan')) ?? '');
    await mkdir(join(ROOT, 'docs'), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    checks.check('screenshot saved', existsSync(SCREENSHOT), SCREENSHOT);
    checks.check('no console errors or failed requests', problems.length === 0, problems.join(' | '));
  } catch (e) {
    checks.check('browser run', false, e instanceof Error ? e.message : String(e));
  } finally {
    await context?.close().catch(() => undefined);
    await server.close();
    await rm(profile, { recursive: true, force: true });
  }
  console.log(`test:browser: ${checks.summary()}`);
  return checks.failed === 0 ? 0 : 1;
}

process.exit(await main());

/**
 * The playground page: wires the controls, the canvases and the training loop to the DOM-free model
 * (model.ts). Also exposes `window.playground`, the small API the headless-Chromium test drives.
 */
import {
  DEFAULT_CONFIG, GATE_KINDS, HIERARCHICAL_GROUPS, TASKS, makeTask, initTraining, trainStep, gridView, inspectPoint, flattenParams, centroidsOf,
  type PlaygroundConfig, type Dataset, type TrainState, type StepResult, type PointInspection, type GateKind, type TaskName,
} from './model.js';
import { EXPERT_COLORS, expertSlice, drawRegions, drawPrediction, drawCurves, drawBars, gradTableHtml, toDomain, toPixel } from './draw.js';
import { BACKEND_CHOICES, probeBackends, selectBackend, backendReport, webgpuCheck, type BackendChoice, type WebgpuCheck } from './backends.js';
import type { Tensor } from '../../index.js';

const GRID_RES = 72;
/** Training steps per animation frame: as many as fit in this budget (at least one, at most MAX). */
const FRAME_BUDGET_MS = 25;
const MAX_STEPS_PER_FRAME = 8;

const $ = <T extends HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`playground: #${id} missing from index.html`);
  return el as T;
};

let config: PlaygroundConfig = { ...DEFAULT_CONFIG };
let data: Dataset;
let train: TrainState;
let last: StepResult | null = null;
const lossHistory: number[] = [];
const jainHistory: number[] = [];
let point: [number, number] = [0.35, -0.45];
let running = false;
let backendId = 'cpu';
/** What the matmul backend reported right after the last training step (the grid and inspection run after it). */
let trainRan: ReturnType<typeof backendReport> | null = null;

function setStatus(text: string, error = false): void {
  const s = $('status');
  s.textContent = text;
  s.classList.toggle('error', error);
}

function reset(): void {
  data = makeTask(config.task, config.seed, config.numPoints);
  train = initTraining(config);
  last = null;
  lossHistory.length = 0; jainHistory.length = 0;
}

/** Runs `n` training steps synchronously and records the curves. */
function steps(n: number): StepResult[] {
  const out: StepResult[] = [];
  for (let i = 0; i < n; i++) {
    last = trainStep(train, data, config);
    train = last.state;
    lossHistory.push(last.loss); jainHistory.push(last.jain);
    out.push(last);
  }
  if (n > 0) trainRan = backendReport();
  return out;
}

function renderInspect(info: PointInspection): void {
  $('pointLabel').textContent = `(${point[0].toFixed(2)}, ${point[1].toFixed(2)})`;
  const selected = new Set(info.selected);
  drawBars($('scores') as HTMLCanvasElement, info.scores, selected, Math.max(1, ...info.scores));
  $('selection').innerHTML = 'selected: ' + info.selected.map((e, k) =>
    `<span class="chip" style="background:${EXPERT_COLORS[e % 8]}"></span>e${e} w=${info.weights[k]!.toFixed(3)}`).join(' &nbsp; ');
  $('outputLine').textContent = `y = (${info.y[0].toFixed(3)}, ${info.y[1].toFixed(3)}),  o = y₁ − y₀ = ${info.output.toFixed(3)}` +
    (info.tau !== undefined ? `,  τ = ${info.tau.toPrecision(3)}` : '');
  $('grads').innerHTML = gradTableHtml(info.grads, config.numExperts);
  // Read off the numbers: do experts the router did not select still receive gradient?
  const unselected = Array.from({ length: config.numExperts }, (_, e) => e).filter((e) => !selected.has(e));
  const leaking = unselected.filter((e) => info.grads.some((g) => expertSlice(g, config.numExperts, e).some((v) => v !== 0)));
  const allZero = info.grads.every((g) => g.values.every((v) => v === 0));
  $('hint').textContent = allZero
    ? (info.selected.length === 1 || info.weights.every((w) => w === 1)
      ? 'Every router gradient is zero here: the selected expert\'s weight is exactly 1, a constant.'
      : 'Every router gradient is zero at this point.')
    : unselected.length === 0
      ? 'Dense routing: every expert is selected, so every expert\'s router parameters get gradient.'
      : leaking.length === 0
        ? `Unselected experts (${unselected.map((e) => `e${e}`).join(', ')}) get exactly zero gradient: the weights depend only on the selected experts' scores.`
        : `Unselected experts ${leaking.map((e) => `e${e}`).join(', ')} still get gradient: their logits enter the weights through the normalization.`;
}

function render(): PointInspection {
  const grid = gridView(train.params, config, GRID_RES);
  drawRegions($('regions') as HTMLCanvasElement, grid, data, point, centroidsOf(train.params));
  drawPrediction($('prediction') as HTMLCanvasElement, grid, data);
  drawCurves($('loss') as HTMLCanvasElement, lossHistory, jainHistory, last?.jainOf ?? 'load');
  const load = last ? Array.from(last.load) : new Array<number>(config.numExperts).fill(0);
  drawBars($('load') as HTMLCanvasElement, load, new Set(), Math.max(0.5, ...load), 1 / config.numExperts);
  $('loadCaption').textContent = `Expert load (fraction of routed slots; dashed = balanced 1/E)` +
    (last ? `  ·  Jain (${last.jainOf}) ${last.jain.toFixed(3)}  ·  accuracy ${(100 * last.accuracy).toFixed(1)}%` : '');
  const info = inspectPoint(train.params, config, point);
  renderInspect(info);
  const ran = trainRan ?? backendReport();
  $('backendRan').textContent = ran.describe + (ran.kernelClass ? ` [${ran.kernelClass}]` : '');
  if (!$('status').classList.contains('error')) setStatus(`matmul backend: ${ran.describe}`);
  $('stats').textContent = `step ${train.step}` + (last ? `  loss ${last.loss.toFixed(5)}` : '');
  return info;
}

function safely<T>(what: string, fn: () => T): T | undefined {
  try { return fn(); } catch (e) {
    running = false; $('train').textContent = 'Train';
    setStatus(`${what} failed: ${e instanceof Error ? e.message : String(e)}`, true);
    return undefined;
  }
}

function loop(): void {
  if (!running) return;
  safely('training', () => {
    const t0 = performance.now();
    let n = 0;
    do { steps(1); n++; } while (n < MAX_STEPS_PER_FRAME && performance.now() - t0 < FRAME_BUDGET_MS);
    render();
  });
  if (running) requestAnimationFrame(loop);
}

function configure(partial: Partial<PlaygroundConfig>): void {
  config = normalizeConfig({ ...config, ...partial });
  syncControls();
  reset();
}

/** Keeps a config within what its gate accepts, so the controls show what really runs. */
function normalizeConfig(c: PlaygroundConfig): PlaygroundConfig {
  let { numExperts, topK } = c;
  if (c.gate === 'hierarchical' && numExperts % HIERARCHICAL_GROUPS !== 0) numExperts += 1; // E = groups · experts per group
  topK = Math.max(1, Math.min(topK, maxK(c.gate, numExperts)));
  return { ...c, numExperts, topK };
}

function maxK(gate: GateKind, numExperts: number): number {
  return gate === 'hierarchical' ? numExperts / HIERARCHICAL_GROUPS : numExperts;
}

function syncControls(): void {
  ($('task') as HTMLSelectElement).value = config.task;
  ($('gate') as HTMLSelectElement).value = config.gate;
  const experts = $('experts') as HTMLInputElement, topk = $('topk') as HTMLInputElement;
  experts.value = String(config.numExperts); $('expertsOut').textContent = String(config.numExperts);
  topk.max = String(maxK(config.gate, config.numExperts)); topk.value = String(config.topK);
  const choice = GATE_KINDS.find((g) => g.kind === config.gate), sparse = choice?.sparse ?? true;
  topk.disabled = !sparse;
  $('topkOut').textContent = !sparse ? (choice?.kLabel ?? `dense (all ${config.numExperts})`)
    : config.gate === 'hierarchical' ? `${config.topK} per group (K = ${HIERARCHICAL_GROUPS * config.topK})` : String(config.topK);
  ($('lr') as HTMLSelectElement).value = String(config.lr);
  ($('seed') as HTMLInputElement).value = String(config.seed);
  $('gateNote').textContent = GATE_KINDS.find((g) => g.kind === config.gate)?.note ?? '';
}

function setBackend(id: string): string {
  const described = selectBackend(id);
  backendId = id;
  trainRan = null;
  document.querySelectorAll<HTMLInputElement>('input[name=backend]').forEach((input) => { input.checked = input.value === id; });
  return described;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"]/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[ch]!);
}

/** The first clause of an unavailability reason (the full text is in the tooltip). */
function shortReason(reason: string | null): string {
  if (!reason) return '';
  const r = reason.replace(/^createGpujsBackend: /, '');
  return r.length > 70 ? `${r.slice(0, 67)}…` : r;
}

function buildControls(): void {
  const task = $('task') as HTMLSelectElement, gate = $('gate') as HTMLSelectElement;
  task.innerHTML = TASKS.map((t) => `<option value="${t}">${t}</option>`).join('');
  gate.innerHTML = GATE_KINDS.map((g) => `<option value="${g.kind}">${g.label}</option>`).join('');
  const redraw = () => safely('render', render);
  task.onchange = () => { configure({ task: task.value as TaskName }); redraw(); };
  gate.onchange = () => { configure({ gate: gate.value as GateKind }); redraw(); };
  ($('experts') as HTMLInputElement).oninput = (ev) => { configure({ numExperts: Number((ev.target as HTMLInputElement).value) }); redraw(); };
  ($('topk') as HTMLInputElement).oninput = (ev) => { configure({ topK: Number((ev.target as HTMLInputElement).value) }); redraw(); };
  ($('lr') as HTMLSelectElement).onchange = (ev) => { config = { ...config, lr: Number((ev.target as HTMLSelectElement).value) }; };
  ($('seed') as HTMLInputElement).onchange = (ev) => { configure({ seed: Number((ev.target as HTMLInputElement).value) }); redraw(); };
  $('train').onclick = () => {
    running = !running; $('train').textContent = running ? 'Pause' : 'Train';
    if (running) requestAnimationFrame(loop);
  };
  $('step').onclick = () => safely('step', () => { steps(1); render(); });
  $('reset').onclick = () => { reset(); redraw(); };

  const note = (c: BackendChoice) => (c.note || c.unavailable
    ? `<div class="note">${escapeHtml([c.unavailable ? shortReason(c.unavailable) : '', c.note].filter(Boolean).join(' · '))}</div>` : '');
  $('backends').innerHTML = BACKEND_CHOICES.map((c) => c.id === 'gpujs-webgpu'
    ? `<button id="webgpuCheck" class="small"${c.unavailable ? ' disabled' : ''} title="${escapeHtml(c.unavailable ?? '')}">${c.label}</button>${note(c)}`
    : `<label class="${c.unavailable ? 'unavailable' : ''}" title="${escapeHtml(c.unavailable ?? '')}"><input type="radio" name="backend" value="${c.id}"` +
      `${c.unavailable ? ' disabled' : ''}${c.id === backendId ? ' checked' : ''}> ${c.label}${c.unavailable ? ' (n/a)' : ''}</label>${note(c)}`).join('');
  document.querySelectorAll<HTMLInputElement>('input[name=backend]').forEach((input) => {
    input.onchange = () => safely('backend switch', () => { setBackend(input.value); render(); setStatus(`backend: ${backendReport().describe}`); });
  });
  $('webgpuCheck').onclick = () => { void runWebgpuCheck().catch((e: unknown) => setStatus(`WebGPU check failed: ${String(e)}`, true)); };

  const canvas = $('regions') as HTMLCanvasElement;
  let dragging = false;
  const move = (ev: PointerEvent) => {
    const r = canvas.getBoundingClientRect();
    point = toDomain(canvas, ((ev.clientX - r.left) / r.width) * canvas.width, ((ev.clientY - r.top) / r.height) * canvas.height);
    safely('inspect', render);
  };
  canvas.onpointerdown = (ev) => { dragging = true; canvas.setPointerCapture(ev.pointerId); move(ev); };
  canvas.onpointermove = (ev) => { if (dragging) move(ev); };
  canvas.onpointerup = () => { dragging = false; };
}

/** The experts' first layer on the data points, on gpu.js WebGPU (async) vs the CPU kernel. */
async function runWebgpuCheck(): Promise<WebgpuCheck> {
  const w1 = (train.params.experts as { w1?: Tensor }).w1;
  if (!w1) throw new Error('playground: experts have no w1');
  const r = await webgpuCheck(data.x, w1);
  setStatus(`WebGPU check: ${r.shape} ran on ${r.kernelClass} (${r.describe}); max |Δ| vs cpu ${r.maxAbsDiff.toExponential(2)}, ` +
    `${r.withinBound ? 'within' : 'OUTSIDE'} the float32 bound`, !r.withinBound);
  return r;
}

/** The API the browser test drives (and a handy console entry point). */
const api = {
  configure(partial: Partial<PlaygroundConfig>): PlaygroundConfig { configure(partial); render(); return config; },
  setBackend(id: string): string { const d = setBackend(id); render(); return d; },
  /** Runs n training steps; returns the per-step numbers and the parameters afterwards. */
  train(n: number) {
    const results = steps(n);
    render();
    return {
      losses: results.map((r) => r.loss), accuracies: results.map((r) => r.accuracy),
      load: results.map((r) => Array.from(r.load)), jain: results.map((r) => r.jain),
      params: flattenParams(train.params), backend: trainRan ?? backendReport(),
    };
  },
  inspect(p: [number, number]): PointInspection { point = p; return render(); },
  backends: () => BACKEND_CHOICES.map((c) => ({ ...c })),
  webgpuCheck: runWebgpuCheck,
  /** The toy data set for a config, as plain arrays (the test checks it is bit-identical to Node's). */
  dataset(cfg: PlaygroundConfig): { x: number[]; labels: number[] } {
    const d = makeTask(cfg.task, cfg.seed, cfg.numPoints);
    return { x: d.x.toArray(), labels: Array.from(d.labels) };
  },
  /** The WebGL renderer string (SwiftShader in headless Chromium), or why there is none. */
  webglRenderer(): string {
    const gl = document.createElement('canvas').getContext('webgl2');
    if (!gl) return 'no WebGL2 context';
    const ext = gl.getExtension('WEBGL_debug_renderer_info');
    return String(gl.getParameter(ext ? ext.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
  },
  pointPixel: (): [number, number] => toPixel($('regions') as HTMLCanvasElement, point[0], point[1]),
};
export type PlaygroundApi = typeof api;
declare global { interface Window { playground?: PlaygroundApi; playgroundError?: string } }

async function start(): Promise<void> {
  await probeBackends();
  buildControls();
  syncControls();
  reset();
  render();
  window.playground = api;
  setStatus(`ready · matmul backend: ${backendReport().describe}`);
  document.body.dataset.ready = 'true';
}

start().catch((e: unknown) => {
  const msg = e instanceof Error ? `${e.message}\n${e.stack ?? ''}` : String(e);
  window.playgroundError = msg;
  setStatus(`start-up failed: ${msg}`, true);
});

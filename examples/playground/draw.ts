/** Canvas drawing for the playground: decision regions, prediction map, curves, bars, gradient table. */
import { EXTENT, type Dataset, type GridView, type PointInspection } from './model.js';

/** One colour per expert (colour-blind-friendly Tableau 10 order). */
export const EXPERT_COLORS = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#b07aa1', '#edc948', '#76b7b2', '#ff9da7'];

function rgb(hex: string): [number, number, number] {
  const v = parseInt(hex.slice(1), 16);
  return [(v >> 16) & 255, (v >> 8) & 255, v & 255];
}

function ctx2d(canvas: HTMLCanvasElement): CanvasRenderingContext2D {
  const c = canvas.getContext('2d');
  if (!c) throw new Error('playground: 2-D canvas context unavailable');
  return c;
}

/** Domain point → canvas pixel. */
export function toPixel(canvas: HTMLCanvasElement, x: number, y: number): [number, number] {
  return [((x + EXTENT) / (2 * EXTENT)) * canvas.width, ((EXTENT - y) / (2 * EXTENT)) * canvas.height];
}

/** Canvas pixel → domain point. */
export function toDomain(canvas: HTMLCanvasElement, px: number, py: number): [number, number] {
  return [(px / canvas.width) * 2 * EXTENT - EXTENT, EXTENT - (py / canvas.height) * 2 * EXTENT];
}

/** Paints a res×res field (one RGBA per cell) scaled up to the canvas. */
function paintField(canvas: HTMLCanvasElement, res: number, colorOf: (i: number) => [number, number, number]): void {
  const off = document.createElement('canvas');
  off.width = res; off.height = res;
  const octx = ctx2d(off);
  const img = octx.createImageData(res, res);
  for (let i = 0; i < res * res; i++) {
    const [r, g, b] = colorOf(i);
    img.data[4 * i] = r; img.data[4 * i + 1] = g; img.data[4 * i + 2] = b; img.data[4 * i + 3] = 255;
  }
  octx.putImageData(img, 0, 0);
  const c = ctx2d(canvas);
  c.imageSmoothingEnabled = false;
  c.drawImage(off, 0, 0, canvas.width, canvas.height);
}

function drawData(canvas: HTMLCanvasElement, data: Dataset): void {
  const c = ctx2d(canvas);
  const x = data.x.data;
  for (let i = 0; i < data.labels.length; i++) {
    const [px, py] = toPixel(canvas, x[2 * i]!, x[2 * i + 1]!);
    c.beginPath(); c.arc(px, py, 3, 0, 2 * Math.PI);
    c.fillStyle = data.labels[i] ? '#1d2433' : '#ffffff';
    c.fill(); c.lineWidth = 1; c.strokeStyle = '#1d2433'; c.stroke();
  }
}

/** Top-1 expert regions, shaded by that expert's weight, with the data and the inspection point. */
export function drawRegions(canvas: HTMLCanvasElement, grid: GridView, data: Dataset, point: readonly [number, number],
  centroids: readonly (readonly [number, number])[] | null = null): void {
  const cols = EXPERT_COLORS.map(rgb);
  paintField(canvas, grid.res, (i) => {
    const [r, g, b] = cols[grid.expert[i]! % cols.length]!;
    const a = 0.25 + 0.6 * grid.weight[i]!; // blend towards white: pale where the router is unsure
    return [255 - a * (255 - r), 255 - a * (255 - g), 255 - a * (255 - b)];
  });
  drawData(canvas, data);
  const c = ctx2d(canvas);
  centroids?.forEach(([x, y], e) => { // Laplace centroids ω_e: a cross in the expert's colour
    const [cx, cy] = toPixel(canvas, x, y);
    c.lineWidth = 6; c.strokeStyle = '#1d2433';
    c.beginPath(); c.moveTo(cx - 7, cy - 7); c.lineTo(cx + 7, cy + 7); c.moveTo(cx + 7, cy - 7); c.lineTo(cx - 7, cy + 7); c.stroke();
    c.lineWidth = 3; c.strokeStyle = EXPERT_COLORS[e % EXPERT_COLORS.length]!;
    c.stroke();
  });
  const [px, py] = toPixel(canvas, point[0], point[1]);
  c.lineWidth = 2; c.strokeStyle = '#000';
  c.beginPath(); c.arc(px, py, 9, 0, 2 * Math.PI); c.stroke();
  c.beginPath(); c.arc(px, py, 3, 0, 2 * Math.PI); c.stroke();
}

/** P(class 1) as a blue-white-orange map, with the data. */
export function drawPrediction(canvas: HTMLCanvasElement, grid: GridView, data: Dataset): void {
  paintField(canvas, grid.res, (i) => {
    const p = grid.prob[i]!;
    const t = Math.abs(p - 0.5) * 2;
    const [r, g, b] = p > 0.5 ? [232, 140, 60] : [80, 130, 200];
    return [255 - t * (255 - r), 255 - t * (255 - g), 255 - t * (255 - b)];
  });
  drawData(canvas, data);
}

/** Loss (log scale, left axis) and Jain's index (0..1, right axis) over the steps. */
export function drawCurves(canvas: HTMLCanvasElement, loss: readonly number[], jain: readonly number[], jainOf: string): void {
  const c = ctx2d(canvas);
  const W = canvas.width, H = canvas.height, pad = 24;
  c.clearRect(0, 0, W, H);
  c.font = '10px sans-serif'; c.fillStyle = '#5b6475';
  c.fillText(`step ${loss.length}`, W - 60, 12);
  if (loss.length === 0) return;
  const logs = loss.map((v) => Math.log10(Math.max(v, 1e-6)));
  const lo = Math.min(...logs), hi = Math.max(...logs, lo + 1e-9);
  const xOf = (i: number) => pad + (i / Math.max(1, loss.length - 1)) * (W - 2 * pad);
  const line = (vals: readonly number[], yOf: (v: number) => number, color: string) => {
    c.beginPath(); c.strokeStyle = color; c.lineWidth = 1.5;
    vals.forEach((v, i) => (i === 0 ? c.moveTo(xOf(i), yOf(v)) : c.lineTo(xOf(i), yOf(v))));
    c.stroke();
  };
  line(logs, (v) => H - pad - ((v - lo) / (hi - lo)) * (H - 2 * pad), '#1d2433');
  line(jain, (v) => H - pad - v * (H - 2 * pad), '#3558d4');
  c.fillStyle = '#1d2433';
  c.fillText(`loss ${loss[loss.length - 1]!.toExponential(2)}`, pad, 12);
  c.fillStyle = '#3558d4';
  c.fillText(`Jain (${jainOf}) ${jain[jain.length - 1]!.toFixed(3)}`, pad + 90, 12);
}

/** Bars, one per expert, with a dashed line at the balanced value. */
export function drawBars(canvas: HTMLCanvasElement, values: readonly number[], highlight: ReadonlySet<number>, max: number, balanced?: number): void {
  const c = ctx2d(canvas);
  const W = canvas.width, H = canvas.height, pad = 18;
  c.clearRect(0, 0, W, H);
  const n = values.length, bw = (W - 2 * pad) / n;
  c.font = '10px sans-serif';
  values.forEach((v, e) => {
    const h = (Math.min(v, max) / max) * (H - 2 * pad);
    c.fillStyle = EXPERT_COLORS[e % EXPERT_COLORS.length]!;
    c.globalAlpha = highlight.size === 0 || highlight.has(e) ? 1 : 0.35;
    c.fillRect(pad + e * bw + 3, H - pad - h, bw - 6, h);
    c.globalAlpha = 1;
    if (highlight.has(e)) { c.lineWidth = 2; c.strokeStyle = '#000'; c.strokeRect(pad + e * bw + 3, H - pad - h, bw - 6, h); }
    c.fillStyle = '#1d2433';
    c.fillText(`e${e}`, pad + e * bw + bw / 2 - 6, H - 5);
    c.fillText(v.toFixed(2), pad + e * bw + bw / 2 - 10, Math.max(10, H - pad - h - 3));
  });
  if (balanced !== undefined) {
    const y = H - pad - (balanced / max) * (H - 2 * pad);
    c.setLineDash([4, 3]); c.strokeStyle = '#5b6475'; c.lineWidth = 1;
    c.beginPath(); c.moveTo(pad, y); c.lineTo(W - pad, y); c.stroke(); c.setLineDash([]);
  }
}

function cell(v: number, maxAbs: number): string {
  const t = maxAbs > 0 ? Math.min(1, Math.abs(v) / maxAbs) : 0;
  const [r, g, b] = v >= 0 ? [225, 87, 89] : [78, 121, 167];
  const bg = `rgb(${Math.round(255 - 0.55 * t * (255 - r))},${Math.round(255 - 0.55 * t * (255 - g))},${Math.round(255 - 0.55 * t * (255 - b))})`;
  return `<td class="${v === 0 ? 'zero' : ''}" style="background:${bg}">${v === 0 ? '0' : v.toFixed(3)}</td>`;
}

/**
 * Which axis of a router parameter runs over the experts: the last one for linear routers
 * (W [D, E], b [E]), the first for Laplace centroids ω [E, D]; -1 when none (τ, group router).
 */
export function expertAxis(name: string, shape: readonly number[], numExperts: number): number {
  if (/centroid/i.test(name)) return shape[0] === numExperts ? 0 : -1;
  return shape.length > 0 && shape[shape.length - 1] === numExperts ? shape.length - 1 : -1;
}

/** The gradient of one parameter for expert e, as a list (one value per slice along the other axes). */
export function expertSlice(g: PointInspection['grads'][number], numExperts: number, e: number): number[] {
  const axis = expertAxis(g.name, g.shape, numExperts);
  if (axis < 0) return [];
  const stride = g.shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const outer = g.shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const out: number[] = [];
  for (let o = 0; o < outer; o++) for (let i = 0; i < stride; i++) out.push(g.values[(o * numExperts + e) * stride + i]!);
  return out;
}

/**
 * The router gradients as one table: a column per expert; each parameter tensor contributes one row
 * per slice along its expert axis (W [D, E] → D rows, centroids [E, D] → D rows, b [E] → one row).
 * Parameters without an expert axis (τ, the group router) get one row with their values listed.
 */
export function gradTableHtml(grads: PointInspection['grads'], numExperts: number): string {
  const maxAbs = Math.max(1e-12, ...grads.flatMap((g) => g.values.map(Math.abs)));
  const head = Array.from({ length: numExperts }, (_, e) => `<th><span class="chip" style="background:${EXPERT_COLORS[e % 8]}"></span>e${e}</th>`).join('');
  const rows: string[] = [];
  for (const g of grads) {
    const axis = expertAxis(g.name, g.shape, numExperts);
    if (axis < 0) {
      const vals = g.values.map((v) => v.toFixed(4)).join(', ');
      rows.push(`<tr><th>${g.name}${g.shape.length ? ` [${g.shape.join(', ')}]` : ''}</th><td colspan="${numExperts}" class="wide">${vals}</td></tr>`);
      continue;
    }
    const perExpert = Array.from({ length: numExperts }, (_, e) => expertSlice(g, numExperts, e));
    const nRows = perExpert[0]!.length;
    for (let r = 0; r < nRows; r++) {
      const label = g.shape.length === 1 ? g.name : axis === 0 ? `${g.name}[·,${r}]` : `${g.name}[${r},·]`;
      rows.push(`<tr><th>${label}</th>${perExpert.map((vals) => cell(vals[r]!, maxAbs)).join('')}</tr>`);
    }
  }
  return `<table class="grads"><tr><th></th>${head}</tr>${rows.join('')}</table>`;
}

/**
 * Printing tensors the way PyTorch and NumPy do: `tensor([[1.0000, 2.5000], [3.0000, 4.0000]], …)`.
 *
 * The rules follow PyTorch's `torch._tensor_str` (print options `precision=4, threshold=1000,
 * edgeitems=3, linewidth=80`):
 * - one number format for the whole tensor, chosen from the shown finite values: integers print as
 *   `3.`; otherwise fixed point with `precision` decimals (`0.1235`); scientific notation
 *   (`1.2346e-05`) when the largest |value| exceeds 1e8, or the ratio of the largest to the smallest
 *   non-zero |value| exceeds 1000, or (non-integers only) the smallest is below 1e-4;
 * - `nan`, `inf`, `-inf` as such; every value padded to one width, rows aligned;
 * - more than `threshold` elements: only the first and last `edgeItems` entries of each dimension
 *   longer than `2·edgeItems` are shown, with `...` in between;
 * - rows longer than `lineWidth` characters wrap.
 *
 * Unlike PyTorch, the shape and dtype are always printed (`shape=[2, 2], dtype=float64`).
 * Browser-safe: no Node imports.
 *
 * @module
 */
import type { DType, TypedArray } from './tensor.js';
import { ValueError } from './errors.js';
import { describeValue } from './validate.js';

/** How {@link formatTensor} prints (PyTorch's `torch.set_printoptions` names, camel-cased). */
export interface PrintOptions {
  /** Digits after the decimal point (fixed and scientific formats). Default 4. */
  readonly precision: number;
  /** Summarise (show only the edges) when the tensor has more than this many elements. Default 1000. */
  readonly threshold: number;
  /** Entries shown at each end of a summarised dimension. Default 3. */
  readonly edgeItems: number;
  /** Characters per line before a row wraps. Default 80. */
  readonly lineWidth: number;
}

/** PyTorch's defaults: precision 4, threshold 1000, edge items 3, line width 80. */
export const DEFAULT_PRINT_OPTIONS: Readonly<PrintOptions> = Object.freeze({ precision: 4, threshold: 1000, edgeItems: 3, lineWidth: 80 });

/** What {@link formatTensor} reads from a tensor. */
export interface Printable {
  /** Dimensions. */
  readonly shape: readonly number[];
  /** Element type. */
  readonly dtype: DType;
  /** Row-major values. */
  readonly data: TypedArray;
}

const PREFIX = 'tensor(';

/** Python's `'{:.Ne}'` (two-digit exponent at least: `1.0000e+08`). */
function sci(v: number, precision: number): string {
  const s = v.toExponential(precision);
  return s.replace(/e([+-])(\d)$/, 'e$10$2');
}

function special(v: number): string | null {
  if (Number.isNaN(v)) return 'nan';
  if (v === Infinity) return 'inf';
  if (v === -Infinity) return '-inf';
  return null;
}

/** One format for all shown values, as in PyTorch's `_Formatter`. */
function makeFormatter(values: readonly number[], precision: number): (v: number) => string {
  const finite = values.filter((v) => Number.isFinite(v));
  const intMode = finite.every((v) => Number.isInteger(v));
  const nonzero = finite.filter((v) => v !== 0).map(Math.abs);
  let sciMode = false;
  if (nonzero.length > 0) {
    let min = Infinity, max = 0;
    for (const a of nonzero) { if (a < min) min = a; if (a > max) max = a; }
    sciMode = max / min > 1000 || max > 1e8 || (!intMode && min < 1e-4);
  }
  return (v: number) => special(v) ?? (sciMode ? sci(v, precision) : intMode ? `${v.toFixed(0)}.` : v.toFixed(precision));
}

/**
 * The indices of dimension `d` (length `n`) that are shown, with -1 for the `...` gap.
 */
function shownIndices(n: number, summarize: boolean, edge: number): number[] {
  if (!summarize || n <= 2 * edge) return Array.from({ length: n }, (_, i) => i);
  return [...Array.from({ length: edge }, (_, i) => i), -1, ...Array.from({ length: edge }, (_, i) => n - edge + i)];
}

function checkOptions(o: PrintOptions): void {
  const bad = (name: keyof PrintOptions, min: number) => !Number.isInteger(o[name]) || o[name] < min
    ? `${name} must be an integer ≥ ${min}; got ${o[name]}` : null;
  const msg = bad('precision', 0) ?? bad('threshold', 0) ?? bad('edgeItems', 1) ?? bad('lineWidth', 1);
  if (msg) throw new ValueError('formatTensor', msg);
  if (o.precision > 100) throw new ValueError('formatTensor', `precision must be ≤ 100; got ${o.precision}`);
}

/**
 * The PyTorch-style text of a tensor: its values (summarised beyond `threshold` elements), shape and
 * dtype. This is what `String(t)`, `t.toString()` and Node's `console.log(t)` / `util.inspect(t)` print.
 *
 * @example
 * formatTensor(tensor([[1, 2.5], [3, 4]]));
 * // tensor([[1.0000, 2.5000],
 * //         [3.0000, 4.0000]], shape=[2, 2], dtype=float64)
 * formatTensor(arange(5));      // tensor([0., 1., 2., 3., 4.], shape=[5], dtype=float64)
 * formatTensor(scalar(NaN));    // tensor(nan, shape=[], dtype=float64)
 * @param x - the tensor (any rank, including 0-d and empty).
 * @param options - overrides of {@link DEFAULT_PRINT_OPTIONS}.
 * @throws {@link ValueError} when an option is not a non-negative integer (edgeItems and lineWidth ≥ 1,
 *   precision ≤ 100).
 */
export function formatTensor(x: Printable, options: Partial<PrintOptions> = {}): string {
  const p = x as Partial<Printable> | null;
  if (p === null || typeof p !== 'object' || !Array.isArray(p.shape) || p.data === null || typeof p.data !== 'object' || typeof p.data.length !== 'number') {
    throw new ValueError('formatTensor', `x must be a Tensor; got ${describeValue(x)}`);
  }
  if (options === null || typeof options !== 'object' || Array.isArray(options)) throw new ValueError('formatTensor', `options must be an object; got ${describeValue(options)}`);
  const o: PrintOptions = { ...DEFAULT_PRINT_OPTIONS, ...options };
  checkOptions(o);
  const { shape, data } = x;
  const suffixes = [`shape=[${shape.join(', ')}]`, `dtype=${x.dtype}`];
  let body: string;
  if (data.length === 0) {
    body = '[]';
  } else if (shape.length === 0) {
    body = makeFormatter([data[0]!], o.precision)(data[0]!);
  } else {
    const summarize = data.length > o.threshold;
    const strides = shape.map((_, d) => shape.slice(d + 1).reduce((a, b) => a * b, 1));
    // The values that will be shown decide the format (PyTorch formats the summarised data only).
    const shown: number[] = [];
    const collect = (d: number, offset: number): void => {
      for (const i of shownIndices(shape[d]!, summarize, o.edgeItems)) {
        if (i < 0) continue;
        if (d === shape.length - 1) shown.push(data[offset + i]!);
        else collect(d + 1, offset + i * strides[d]!);
      }
    };
    collect(0, 0);
    const fmt = makeFormatter(shown, o.precision);
    const width = shown.reduce((w, v) => Math.max(w, fmt(v).length), 0);
    const render = (d: number, offset: number, indent: number): string => {
      const idx = shownIndices(shape[d]!, summarize, o.edgeItems);
      if (d === shape.length - 1) {
        const items = idx.map((i) => (i < 0 ? '...' : fmt(data[offset + i]!).padStart(width)));
        const perLine = Math.max(1, Math.floor((o.lineWidth - indent) / (width + 2)));
        const lines: string[] = [];
        for (let k = 0; k < items.length; k += perLine) lines.push(items.slice(k, k + perLine).join(', '));
        return `[${lines.join(`,\n${' '.repeat(indent + 1)}`)}]`;
      }
      const rows = idx.map((i) => (i < 0 ? '...' : render(d + 1, offset + i * strides[d]!, indent + 1)));
      return `[${rows.join(`,${'\n'.repeat(shape.length - 1 - d)}${' '.repeat(indent + 1)}`)}]`;
    };
    body = render(0, 0, PREFIX.length);
  }
  // Suffixes go on the last line unless it would pass lineWidth (PyTorch's _add_suffixes).
  let text = PREFIX + body;
  let lastLine = text.length - (text.lastIndexOf('\n') + 1);
  for (const s of suffixes) {
    if (lastLine + s.length + 2 > o.lineWidth) {
      text += `,\n${' '.repeat(PREFIX.length)}${s}`;
      lastLine = PREFIX.length + s.length;
    } else {
      text += `, ${s}`;
      lastLine += s.length + 2;
    }
  }
  return `${text})`;
}

/**
 * `vmap` (JAX's `jax.vmap`): maps a function over a batch axis of its arguments without a loop.
 * The batched arguments enter as {@link BatchTracer}s (engine/batch-tracer.ts) whose ops dispatch to
 * batching rules (engine/batching.ts); a function that reaches code without a rule is run once per
 * example instead, with one warning naming that code. Levels nest (vmap of vmap), and `grad`,
 * `valueAndGrad`, `vjp` and `jvp` as exported from engine/index.ts batch too (engine/vmap-autodiff.ts),
 * so `vmap(grad(loss))` gives per-example gradients in one batched pass.
 */
import { Tensor } from './tensor.js';
import { ShapeError, ValueError, fmtShape } from './errors.js';
import { checkFunction, describeValue } from './validate.js';
import { BatchTracer, VmapUnbatchable, withLevel, wrap, levelSize, noteFallback } from './batch-tracer.js';
import { BATCH_RULES, BatchedIndices, moveAxis } from './batching.js';

/** An index array batched along axis 0 (B equal runs) as batched indices at `level` (nested: appended). */
function batchIndexArray(t: Int32Array, level: number): BatchedIndices {
  const out = new BatchedIndices(t.length);
  out.set(t);
  out.batchLevels = t instanceof BatchedIndices ? [...t.batchLevels, level] : [level];
  return out;
}
import * as raw from './ops/index.js';

/**
 * Where the batch axis is, for one argument or output: an axis (negative counts from the end), `null`
 * (not batched), or a tree prefix of the value (an array or object whose entries are axis specs).
 */
export type AxisSpec = number | null | readonly AxisSpec[] | { readonly [key: string]: AxisSpec };

/** Options of {@link vmap}. */
export interface VmapOptions {
  /**
   * Batch axis of each argument: one spec for all arguments, or an array with one spec per argument
   * (each a number, null, or a tree prefix of that argument). Default 0.
   */
  readonly inAxes?: AxisSpec;
  /** Where the batch axis goes in the output (a spec, or a tree prefix of the output). Default 0. */
  readonly outAxes?: AxisSpec;
}

const showPath = (p: string) => p;
const join = (path: string, key: string | number) => (typeof key === 'number' ? `${path}[${key}]` : `${path}.${key}`);

function checkSpec(spec: unknown, name: string, path = ''): void {
  if (spec === null) return;
  if (typeof spec === 'number') {
    if (!Number.isInteger(spec)) throw new ValueError('vmap', `${name}${path} must be an integer axis or null; got ${describeValue(spec)}`);
    return;
  }
  if (Array.isArray(spec)) { spec.forEach((s, i) => checkSpec(s, name, `${path}[${i}]`)); return; }
  if (typeof spec === 'object' && !(spec instanceof Tensor)) { for (const [k, s] of Object.entries(spec as object)) checkSpec(s, name, `${path}.${k}`); return; }
  throw new ValueError('vmap', `${name}${path} must be an integer axis, null, or an array/object of them; got ${describeValue(spec)}`);
}

/**
 * Maps the Tensor leaves of `x` under the axis spec `spec` (a prefix of x's structure): `leaf(t, axis,
 * path)` with axis null for unbatched leaves. Non-Tensor leaves pass through. Errors name the path.
 */
function mapWithSpec(x: unknown, spec: AxisSpec, path: string, what: string, leaf: (t: Tensor, axis: number | null, path: string) => unknown, indices = false): unknown {
  if (spec === null || typeof spec === 'number') {
    const go = (v: unknown, p: string): unknown => {
      if (v instanceof Tensor) return leaf(v, spec, p);
      if (Array.isArray(v)) return v.map((c, i) => go(c, join(p, i)));
      if (v !== null && typeof v === 'object' && !ArrayBuffer.isView(v) && Object.getPrototypeOf(v) === Object.prototype) {
        return Object.fromEntries(Object.entries(v).map(([k, c]) => [k, go(c, join(p, k))]));
      }
      if (v instanceof BatchedIndices || (indices && v instanceof Int32Array)) return leaf(v as unknown as Tensor, spec, p);
      return v;
    };
    return go(x, path);
  }
  if (Array.isArray(spec)) {
    if (!Array.isArray(x) || x.length !== spec.length) {
      throw new ValueError('vmap', `${what} ${showPath(path)}: the axis spec is an array of ${spec.length} but the value is ${Array.isArray(x) ? `an array of ${x.length}` : describeValue(x)}`);
    }
    return x.map((c, i) => mapWithSpec(c, spec[i]!, join(path, i), what, leaf, indices));
  }
  const keys = Object.keys(spec);
  if (x === null || typeof x !== 'object' || x instanceof Tensor || Array.isArray(x)) {
    throw new ValueError('vmap', `${what} ${showPath(path)}: the axis spec is an object with keys ${keys.join(', ')} but the value is ${describeValue(x)}`);
  }
  const missing = keys.find((k) => !(k in (x as object)));
  if (missing !== undefined) throw new ValueError('vmap', `${what} ${showPath(join(path, missing))}: the axis spec names key '${missing}', which the value lacks`);
  return Object.fromEntries(Object.entries(x as object).map(([k, c]) => [k, mapWithSpec(c, k in spec ? (spec as Record<string, AxisSpec>)[k]! : 0, join(path, k), what, leaf, indices)]));
}

/** Example `b` of `x` along logical `axis` (a plain tensor, or an outer level's tracer). */
function takeAt(x: Tensor, axis: number, b: number): Tensor {
  const nb = x instanceof BatchTracer ? x.levels.length : 0;
  const phys = x instanceof BatchTracer ? x.value : x;
  const a = axis + nb;
  const s = raw.slice(phys, phys.shape.map((_, i) => (i === a ? b : 0)), phys.shape.map((d, i) => (i === a ? b + 1 : d)));
  return wrap(raw.reshape(s, phys.shape.filter((_, i) => i !== a)), x instanceof BatchTracer ? x.levels : []);
}

/** Moves `level`'s batch dim of an output leaf to logical position `axis` (or broadcasts an unbatched one). */
function exitLevel(y: Tensor, level: number, axis: number | null, path: string): Tensor {
  const levels = y instanceof BatchTracer ? y.levels : [];
  const i = levels.indexOf(level);
  if (axis === null) {
    if (i >= 0) throw new ValueError('vmap', `output ${path} depends on the batch, but outAxes is null there (expected an unbatched output)`);
    return y;
  }
  const ax = normAxis(axis, y.rank + 1, `output ${path}`, y.shape, 'outAxes');
  const rest = levels.filter((l) => l !== level);
  const phys = y instanceof BatchTracer ? y.value : y;
  if (i >= 0) return wrap(moveAxis(phys, i, rest.length + ax), rest);
  const e = raw.expandDims(phys, levels.length + ax); // not batched at this level: B copies (as JAX does)
  return wrap(raw.broadcastTo(e, e.shape.map((d, j) => (j === levels.length + ax ? levelSize(level) : d))), levels);
}

function normAxis(axis: number, rank: number, what: string, shape: readonly number[], name: string): number {
  if (axis < -rank || axis >= rank) {
    throw new ShapeError('vmap', `${name} ${axis} is out of range for ${what} of shape ${fmtShape(shape)} (valid ${-rank}..${rank - 1})`);
  }
  return axis < 0 ? axis + rank : axis;
}

/**
 * Vectorizing map (`jax.vmap`): `vmap(f, { inAxes, outAxes })(...args)` equals stacking
 * `f(...args sliced at b along their batch axes)` over b along `outAxes`, computed in one batched
 * pass. Arguments are Tensors or trees of Tensors (arrays, plain objects); `inAxes` gives each
 * argument's batch axis (a number, negative from the end; `null` for an unbatched argument, which
 * every example shares; or a tree prefix of the argument) and defaults to 0 for all. An Int32Array
 * leaf (labels, indices) with axis 0 holds B equal runs, one per example (`nll`, `crossEntropy` and
 * `takeAlongAxis` batch over them). Outputs may be
 * trees; `outAxes` (default 0) places the batch axis in each output leaf, `null` for an output that
 * does not depend on the batch. Nests (vmap of vmap) and composes with `grad`, `valueAndGrad`, `vjp`
 * and `jvp` in both orders: `vmap(grad(loss), { inAxes: [null, 0] })(params, batch)` gives per-example
 * gradients. Code without a batching rule (fused MoE gates, user `record` ops, jacobians/hessians,
 * reading a batched value) makes `f` run once per example instead; {@link vmapFallbackOps} lists it
 * and each is warned about once.
 * A function using randomness inside `f` may draw again when it falls back (pass keys, not state).
 *
 * @example
 * const rowNorms = vmap((x: Tensor) => sqrt(sum(square(x))));
 * rowNorms(tensor([[3, 4], [6, 8]])).toArray(); // [5, 10]
 * @throws {@link ValueError} when no argument is batched, when `inAxes` does not match the arguments
 *   (the message names the argument path), or when an output with `outAxes` null depends on the batch;
 *   {@link ShapeError} for an axis out of range or batch sizes that differ (naming the argument path,
 *   the expected and the actual size).
 */
export function vmap<A extends unknown[], R>(f: (...args: A) => R, options: VmapOptions = {}): (...args: A) => R {
  checkFunction('vmap', f, 'f');
  if (options === null || typeof options !== 'object' || Array.isArray(options)) throw new ValueError('vmap', `options must be an object { inAxes?, outAxes? }; got ${describeValue(options)}`);
  const unknown = Object.keys(options).find((k) => k !== 'inAxes' && k !== 'outAxes');
  if (unknown !== undefined) throw new ValueError('vmap', `unknown option '${unknown}' (expected inAxes, outAxes)`);
  const inAxes: AxisSpec = options.inAxes === undefined ? 0 : options.inAxes;
  const outAxes: AxisSpec = options.outAxes === undefined ? 0 : options.outAxes;
  checkSpec(inAxes, 'inAxes');
  checkSpec(outAxes, 'outAxes');
  let loopOnly = false; // set once f has needed the per-example loop (it would again)
  return (...args: A): R => {
    const specs: AxisSpec[] = Array.isArray(inAxes) ? (inAxes as AxisSpec[]) : args.map(() => inAxes);
    if (specs.length !== args.length) {
      throw new ValueError('vmap', `inAxes has ${specs.length} entries but the function got ${args.length} arguments (one spec per argument)`);
    }
    // Batch size: every batched leaf must agree.
    let size = -1, first = '';
    args.forEach((a, i) => mapWithSpec(a, specs[i]!, `argument ${i}`, 'inAxes for', (t, axis, path) => {
      if (axis === null || !(t instanceof Tensor)) return t; // index arrays: checked below, once the size is known
      const ax = normAxis(axis, t.rank, path, t.shape, 'inAxes');
      const n = t.shape[ax]!;
      if (size < 0) { size = n; first = path; } else if (n !== size) {
        throw new ShapeError('vmap', `${path} has size ${n} along its batch axis ${axis} (shape ${fmtShape(t.shape)}), but ${first} has ${size}; every batched input needs the same batch size (expected ${size}, got ${n})`);
      }
      return t;
    }));
    // Int32Array leaves (labels, indices) with a batch axis: flat, B equal runs of per-example indices.
    args.forEach((a, i) => mapWithSpec(a, specs[i]!, `argument ${i}`, 'inAxes for', (t, axis, path) => {
      if (axis === null || t instanceof Tensor) return t;
      const n = (t as unknown as Int32Array).length;
      if ((axis !== 0 && axis !== -1) || size < 0 || n % size !== 0) {
        throw new ValueError('vmap', `${path} is an index array of length ${n}: it can only be batched along axis 0 as ${size < 0 ? 'B' : size} equal runs, next to a batched Tensor that gives B (got axis ${axis}${size > 0 ? `, length ${n} not a multiple of ${size}` : ''})`);
      }
      return t;
    }, true));
    if (size < 0) throw new ValueError('vmap', `no argument is batched: inAxes ${JSON.stringify(inAxes)} maps no Tensor of the ${args.length} argument(s) (got ${args.map(describeValue).join(', ') || 'none'}; at least one needs a batch axis)`);
    const slices = (b: number) => args.map((a, i) => mapWithSpec(a, specs[i]!, `argument ${i}`, 'inAxes for', (t, axis) => {
      if (axis === null) return t;
      const u: unknown = t;
      if (u instanceof BatchedIndices) throw new VmapUnbatchable('a batched index array inside a per-example loop');
      if (u instanceof Int32Array) { const n = u.length / size; return u.slice(b * n, (b + 1) * n); }
      return takeAt(t, axis < 0 ? axis + t.rank : axis, b);
    }, true)) as A;
    const loop = (): R => {
      const outs: unknown[] = [];
      for (let b = 0; b < size; b++) outs.push(f(...slices(b)));
      let k = 0;
      const leaves: unknown[][] = [];
      outs.forEach((o, b) => { k = 0; mapWithSpec(o, outAxes, 'output', 'outAxes for', (t) => { (leaves[k++] ??= [])[b] = t; return t; }); });
      k = 0;
      return mapWithSpec(outs[0], outAxes, 'output', 'outAxes for', (_t, axis) => {
        const col = leaves[k++] as Tensor[];
        return axis === null ? col[0]! : BATCH_RULES.stack!([col, axis]);
      }) as R;
    };
    if (loopOnly) return loop();
    try {
      return withLevel(size, (level) => {
        const batched = args.map((a, i) => mapWithSpec(a, specs[i]!, `argument ${i}`, 'inAxes for', (t, axis) => {
          if (axis === null) return t;
          if (!(t instanceof Tensor)) return batchIndexArray(t as unknown as Int32Array, level);
          const ax = axis < 0 ? axis + t.rank : axis;
          if (t instanceof BatchTracer) return new BatchTracer(moveAxis(t.value, t.levels.length + ax, t.levels.length), [...t.levels, level]);
          return new BatchTracer(moveAxis(t, ax, 0), [level]);
        }, true)) as A;
        const out = f(...batched);
        return mapWithSpec(out, outAxes, 'output', 'outAxes for', (t, axis, path) => {
          if (t instanceof BatchedIndices) {
            if (axis !== 0 || t.batchLevels.length !== 1 || t.batchLevels[0] !== level) throw new ValueError('vmap', `output ${path}: batched index arrays can only be returned with outAxes 0`);
            return Int32Array.from(t);
          }
          return exitLevel(t, level, axis, path);
        }) as R;
      });
    } catch (e) {
      if (!(e instanceof VmapUnbatchable)) throw e;
      noteFallback(e.where);
      loopOnly = true;
      return loop();
    }
  };
}

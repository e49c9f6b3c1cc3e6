/** Pytrees: nested objects/arrays whose leaves are Tensors (parameters, gradients, optimizer state). */
import { Tensor } from './tensor.js';
import { ShapeError, ValueError, fmtShape } from './errors.js';
import { describeValue } from './validate.js';

/** A Tensor, or an array/object of trees. Non-Tensor leaves (numbers, strings) pass through untouched. */
export type TensorTree = Tensor | readonly TensorTree[] | { readonly [key: string]: TensorTree } | number | string | boolean | null | undefined;

/** Collects the Tensor leaves in a deterministic order (arrays by index, objects by key insertion). */
export function treeLeaves(tree: TensorTree): Tensor[] {
  const out: Tensor[] = [];
  const stack: TensorTree[] = [tree];
  // Iterative pre-order walk; children pushed in reverse to keep left-to-right order.
  while (stack.length > 0) {
    const node = stack.pop();
    if (node instanceof Tensor) out.push(node);
    else if (Array.isArray(node)) for (let i = node.length - 1; i >= 0; i--) stack.push(node[i] as TensorTree);
    else if (node !== null && typeof node === 'object') {
      const vals = Object.values(node as Record<string, TensorTree>);
      for (let i = vals.length - 1; i >= 0; i--) stack.push(vals[i]!);
    }
  }
  return out;
}

/**
 * `tree` with each Tensor leaf replaced by `fn(leaf, i)` (i = leaf order of treeLeaves), which may be
 * any tree (the Jacobian transforms nest an input tree under each output leaf). Internal: not re-exported.
 */
export function mapLeavesToTrees(tree: TensorTree, fn: (leaf: Tensor, index: number) => TensorTree): TensorTree {
  let i = 0;
  const go = (node: TensorTree): TensorTree => {
    if (node instanceof Tensor) return fn(node, i++);
    if (Array.isArray(node)) return node.map(go);
    if (node !== null && typeof node === 'object') {
      const out: Record<string, TensorTree> = {};
      for (const [k, v] of Object.entries(node as Record<string, TensorTree>)) out[k] = go(v);
      return out;
    }
    return node;
  };
  return go(tree);
}

/** Rebuilds `tree` with each Tensor leaf replaced by `fn(leaf, i)` (i = leaf order of treeLeaves). */
export function treeMap<T extends TensorTree>(tree: T, fn: (leaf: Tensor, index: number) => Tensor): T {
  if (typeof fn !== 'function') throw new ValueError('treeMap', `fn must be a function; got ${describeValue(fn)}`);
  return mapLeavesToTrees(tree, (leaf, i) => {
    const out = fn(leaf, i);
    if (!(out instanceof Tensor)) throw new ValueError('treeMap', `fn must return a Tensor for every leaf; got ${describeValue(out)} at leaf ${i}`);
    return out;
  }) as T;
}

/**
 * Combines trees leaf by leaf, paired by structure (object keys, array positions — as JAX/optree
 * do), not by leaf order: `{ w, b }` and `{ b, w }` pair w with w. `fn` gets the leaves at one path
 * (trees[0]'s leaf first) and that leaf's index in treeLeaves(trees[0]) order; the result has
 * trees[0]'s structure. Throws a ValueError naming the path of the first mismatch.
 */
export function treeZip<T extends TensorTree>(trees: readonly TensorTree[], fn: (leaves: Tensor[], index: number) => Tensor): T {
  if (!Array.isArray(trees) || trees.length === 0) throw new ValueError('treeZip', `expects a non-empty array of trees; got ${describeValue(trees)}`);
  if (typeof fn !== 'function') throw new ValueError('treeZip', `fn must be a function; got ${describeValue(fn)}`);
  const aligned = alignTrees('treeZip', trees[0]!, trees.slice(1), trees.slice(1).map((_, i) => `tree ${i + 1}`), 'tree 0');
  return treeMap(trees[0] as T, (leaf, i) => fn([leaf, ...aligned[i]!], i));
}

/** `a.b[2].c` style path for messages; '' is the root. */
function joinPath(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return path === '' ? key : `${path}.${key}`;
}
const showPath = (path: string): string => (path === '' ? '(root)' : `'${path}'`);

/**
 * Pairs the Tensor leaves of `others` with those of `ref` by structure: objects by key (any order,
 * same key set), arrays by position (same length), a Tensor against a Tensor of the same shape.
 * Non-Tensor leaves of `ref` (numbers, strings, null) are ignored together with whatever sits at the
 * same path in the others. Returns, for each leaf of `ref` in treeLeaves order, the matching leaf of
 * every other tree. Throws a ValueError (ShapeError for a shape mismatch) naming `op`, the tree and
 * the path of the first mismatched leaf, e.g. `sgd: grads and params differ at 'b': missing key in grads`.
 */
export function alignTrees(op: string, ref: TensorTree, others: readonly TensorTree[], names: readonly string[], refName = 'params'): Tensor[][] {
  const out: Tensor[][] = [];
  const go = (r: TensorTree, os: readonly TensorTree[], path: string): void => {
    const fail = (k: number, why: string): never => {
      throw new ValueError(op, `${names[k]} and ${refName} differ at ${showPath(path)}: ${why}`);
    };
    if (r instanceof Tensor) {
      os.forEach((o, k) => {
        if (!(o instanceof Tensor)) fail(k, `expected a Tensor ${fmtShape(r.shape)}; got ${describeValue(o)}`);
        else if (o.shape.length !== r.shape.length || o.shape.some((d, i) => d !== r.shape[i])) {
          const one = (name: string) => name.replace(/s$/, ''); // 'params' → 'param', 'grads' → 'grad'
          throw new ShapeError(op, `leaf ${out.length}: ${one(refName)} ${fmtShape(r.shape)} vs ${one(names[k]!)} ${fmtShape(o.shape)} (path ${showPath(path)})`);
        }
      });
      out.push(os as Tensor[]);
      return;
    }
    if (Array.isArray(r)) {
      os.forEach((o, k) => {
        if (!Array.isArray(o)) fail(k, `expected an array of length ${r.length}; got ${describeValue(o)}`);
        else if (o.length !== r.length) fail(k, `expected an array of length ${r.length}; got length ${o.length}`);
      });
      r.forEach((c, i) => go(c as TensorTree, os.map((o) => (o as readonly TensorTree[])[i] as TensorTree), joinPath(path, i)));
      return;
    }
    if (r !== null && typeof r === 'object') {
      const keys = Object.keys(r);
      os.forEach((o, k) => {
        if (o === null || typeof o !== 'object' || Array.isArray(o) || o instanceof Tensor) fail(k, `expected an object with keys ${keys.join(', ')}; got ${describeValue(o)}`);
        const oKeys = Object.keys(o as object);
        const missing = keys.find((key) => !Object.prototype.hasOwnProperty.call(o, key));
        if (missing !== undefined) throw new ValueError(op, `${names[k]} and ${refName} differ at ${showPath(joinPath(path, missing))}: missing key in ${names[k]}`);
        const extra = oKeys.find((key) => !Object.prototype.hasOwnProperty.call(r, key));
        if (extra !== undefined) throw new ValueError(op, `${names[k]} and ${refName} differ at ${showPath(joinPath(path, extra))}: key not in ${refName}`);
      });
      for (const key of keys) {
        go((r as Record<string, TensorTree>)[key]!, os.map((o) => (o as Record<string, TensorTree>)[key]!), joinPath(path, key));
      }
    }
    // other leaves (numbers, strings, null, undefined) carry no tensor: nothing to pair
  };
  go(ref, others, '');
  return out;
}

/** Path of each Tensor leaf, in treeLeaves order, e.g. `experts.w1`, `[0]`, `` (the root). */
export function treePaths(tree: TensorTree): string[] {
  const out: string[] = [];
  const go = (node: TensorTree, path: string): void => {
    if (node instanceof Tensor) out.push(path);
    else if (Array.isArray(node)) node.forEach((c, i) => go(c as TensorTree, `${path}[${i}]`));
    else if (node !== null && typeof node === 'object') {
      for (const [k, v] of Object.entries(node as Record<string, TensorTree>)) go(v, path === '' ? k : `${path}.${k}`);
    }
  };
  go(tree, '');
  return out;
}

/** Pytrees: nested objects/arrays whose leaves are Tensors (parameters, gradients, optimizer state). */
import { Tensor } from './tensor.js';

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

/** Rebuilds `tree` with each Tensor leaf replaced by `fn(leaf, i)` (i = leaf order of treeLeaves). */
export function treeMap<T extends TensorTree>(tree: T, fn: (leaf: Tensor, index: number) => Tensor): T {
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
  return go(tree) as T;
}

/** Combines trees of identical structure leaf by leaf. */
export function treeZip<T extends TensorTree>(trees: readonly TensorTree[], fn: (leaves: Tensor[], index: number) => Tensor): T {
  const leaves = trees.map(treeLeaves);
  const n = leaves[0]!.length;
  for (const l of leaves) if (l.length !== n) throw new Error(`treeZip: trees have different numbers of leaves (${n} vs ${l.length})`);
  return treeMap(trees[0] as T, (_leaf, i) => fn(leaves.map((l) => l[i]!), i));
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

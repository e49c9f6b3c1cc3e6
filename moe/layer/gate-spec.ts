/** How a layer config names its gate: a GateConfig for `makeGate`, or a ready Gate object. */
import { ValueError } from '../../engine/index.js';
import type { Gate } from '../types.js';

/** Placeholder until moe/gates exports GateConfig and makeGate. */
export type GateConfigLike = { readonly kind: string; readonly numExperts: number; readonly topK?: number };
export type LayerGateSpec = GateConfigLike | Gate;

const isGate = (g: unknown): g is Gate =>
  typeof g === 'object' && g !== null && typeof (g as Gate).route === 'function' && typeof (g as Gate).init === 'function';

/** Returns the Gate a layer routes with. */
export function resolveGate(op: string, spec: LayerGateSpec): Gate {
  if (isGate(spec)) return spec;
  throw new ValueError(op, `gate config '${(spec as GateConfigLike)?.kind}' needs makeGate from moe/gates, which is not available yet; pass a Gate object`);
}

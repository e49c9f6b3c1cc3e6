/** How a layer config names its gate: a GateConfig for `makeGate`, or a ready Gate object. */
import type { Gate } from '../types.js';
import { makeGate, type GateConfig } from '../gates/make-gate.js';
import { MoegradError, ValueError } from '../../engine/errors.js';

/** How an MoE layer gets its gate: a {@link GateConfig} for {@link makeGate}, or any {@link Gate}. */
export type LayerGateSpec = GateConfig | Gate;

const isGate = (g: unknown): g is Gate =>
  typeof g === 'object' && g !== null && typeof (g as Gate).route === 'function' && typeof (g as Gate).init === 'function';

/** Returns the Gate a layer routes with (`makeGate(config)` for a config; errors name makeGate). */
export function resolveGate(op: string, spec: LayerGateSpec): Gate {
  if (isGate(spec)) return spec;
  try {
    return makeGate(spec);
  } catch (e) {
    if (e instanceof MoegradError && e.op === 'makeGate') throw new ValueError(op, `config.gate: ${e.message.slice('makeGate: '.length)}`);
    throw e;
  }
}

/** How a layer config names its gate: a GateConfig for `makeGate`, or a ready Gate object. */
import type { Gate } from '../types.js';
import { makeGate, type GateConfig } from '../gates/make-gate.js';
import { MoegradError, ValueError } from '../../engine/errors.js';
import { makeRoutingGate, isRoutingGateConfig, type RoutingGateConfig } from '../gates/routing-gates.js';
import { makeSoftMoERouter, isSoftMoEConfig, type SoftMoEConfig } from './soft-moe-layer.js';

/**
 * How an MoE layer gets its gate: a {@link GateConfig} for {@link makeGate}, a {@link RoutingGateConfig}
 * for {@link makeRoutingGate} (noisy top-k, expert choice, balanced assignment), a {@link SoftMoEConfig}
 * (Soft MoE routing), or any {@link Gate}.
 */
export type LayerGateSpec = GateConfig | RoutingGateConfig | SoftMoEConfig | Gate;

const isGate = (g: unknown): g is Gate =>
  typeof g === 'object' && g !== null && typeof (g as Gate).route === 'function' && typeof (g as Gate).init === 'function';

/** Returns the Gate a layer routes with (`makeGate(config)` for a config; errors name makeGate). */
export function resolveGate(op: string, spec: LayerGateSpec): Gate {
  if (isGate(spec)) return spec;
  if (isSoftMoEConfig(spec)) return makeSoftMoERouter(op, spec);
  const maker = isRoutingGateConfig(spec) ? 'makeRoutingGate' : 'makeGate';
  try {
    return isRoutingGateConfig(spec) ? makeRoutingGate(spec) : makeGate(spec as GateConfig);
  } catch (e) {
    if (e instanceof MoegradError && e.op === maker) throw new ValueError(op, `config.gate: ${e.message.slice(`${maker}: `.length)}`);
    throw e;
  }
}

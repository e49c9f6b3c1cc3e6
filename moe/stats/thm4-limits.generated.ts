/** Placeholder until `npx tsx scripts/thm4-limits.ts` has run. */
import type { KLMinimum } from './kl-projection.js';
export const THM4_LIMITS: Record<string, { truthNll: number; limits: KLMinimum[]; minima: { kl: number; reason: string; gradMax: number; iterations: number }[]; artefacts: number }> = {};

/** Experiments 2–6 of issue #5 and the arXiv 2503.03213 gating experiments (temperature, hierarchical). */
import type { Experiment } from '../experiment.js';
import { ffnExactVsOver } from './ffn-exact-vs-over.js';
import { sigmoidVsSoftmax } from './sigmoid-vs-softmax.js';
import { topkOverfit } from './topk-overfit.js';
import { routerBehaviour } from './router-behaviour.js';
import { biasBalancing } from './bias-balancing.js';
import { temperatureGating, hierarchicalGating } from './paper-2503.js';

/** The experiments besides the arXiv 2505.10860 Thm 1–4 sweeps, in `EXPERIMENTS` order. */
export const EXTRA_EXPERIMENTS: Experiment[] = [ffnExactVsOver, sigmoidVsSoftmax, topkOverfit, routerBehaviour, biasBalancing, temperatureGating, hierarchicalGating];

/** Experiments 2–6 of issue #5 (owned by the experiments helper). */
import type { Experiment } from '../experiment.js';
import { ffnExactVsOver } from './ffn-exact-vs-over.js';
import { sigmoidVsSoftmax } from './sigmoid-vs-softmax.js';
import { topkOverfit } from './topk-overfit.js';
import { routerBehaviour } from './router-behaviour.js';
import { biasBalancing } from './bias-balancing.js';

export const EXTRA_EXPERIMENTS: Experiment[] = [ffnExactVsOver, sigmoidVsSoftmax, topkOverfit, routerBehaviour, biasBalancing];

/** Experiments 2–6 of issue #5 (owned by the experiments helper). */
import type { Experiment } from '../experiment.js';
import { ffnExactVsOver } from './ffn-exact-vs-over.js';
import { sigmoidVsSoftmax } from './sigmoid-vs-softmax.js';
import { topkOverfit } from './topk-overfit.js';

export const EXTRA_EXPERIMENTS: Experiment[] = [ffnExactVsOver, sigmoidVsSoftmax, topkOverfit];

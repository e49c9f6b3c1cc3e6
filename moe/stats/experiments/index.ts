/** Experiments 2–6 of issue #5 (owned by the experiments helper). */
import type { Experiment } from '../experiment.js';

export const EXTRA_EXPERIMENTS: Experiment[] = [];

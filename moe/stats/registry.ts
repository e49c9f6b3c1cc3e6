/** Every reproducible experiment by CLI name: thm1..thm4 (arXiv 2505.10860) plus experiments 2–6 of issue #5. */
import type { Experiment } from './experiment.js';
import { EXTRA_EXPERIMENTS } from './experiments/index.js';
import { PAPER_2505_EXPERIMENTS } from './paper-2505.js';
import { checkString } from './validate.js';

/** All registered experiments: the arXiv 2505.10860 sweeps (`PAPER_2505_EXPERIMENTS`) then the others (experiments 2–6 of issue #5). */
export const EXPERIMENTS: readonly Experiment[] = [...PAPER_2505_EXPERIMENTS, ...EXTRA_EXPERIMENTS];

/** The experiment called `name`, or undefined. */
export function findExperiment(name: string): Experiment | undefined {
  checkString('findExperiment', 'name', name);
  return EXPERIMENTS.find((e) => e.name === name);
}

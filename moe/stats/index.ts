/** moegrad statistics toolkit: synthetic MoE data, estimators, Voronoi losses, rate fits, experiments. */
export type { Json, Cell, CellResult, SummaryRow, RateAxis, RateFit, PlotSpec, ExperimentSummary, ReportedValue, Experiment } from './experiment.js';
export { linearFit, axisValue, fitRate, fitRates, groupByN, summaryRows, logSpaced, powerLawSlope } from './rates.js';
export type { FitRateOptions, RateStatistic } from './rates.js';
export { lbfgs, adamMinimize, tapeObjective, flattenTree, unflattenTree, maxAbs, checkCount } from './optimize.js';
export type { FlatObjective, MinimizeOptions, MinimizeResult, AdamLoopOptions, StopReason } from './optimize.js';
export { expertParamCount, expertMean, layoutOf, packModel, unpackModel, componentWeights, sampleGaussianMoE, gaussianMoENll } from './gaussian-moe.js';
export type { ExpertFamily, ExpertShape, RoutedGateKind, SharedAtom, RoutedAtom, GaussianMoE } from './gaussian-moe.js';
export { voronoiCells, voronoiLoss, perAtomErrors, rOrder, lossD1, lossD2, lossD3, lossD4, regressionVoronoiLoss } from './voronoi.js';
export type { Atom, VoronoiLossOptions, RegressionAtom } from './voronoi.js';
export { THM_TRUTHS, initNearTruth, alignSoftmaxGauge, alignReluScale, alignSigmoidScale, fitThm, PAPER_2505_EXPERIMENTS } from './paper-2505.js';
export type { FitOptions } from './paper-2505.js';
export { EXPERIMENTS, findExperiment } from './registry.js';
export { sampleRegression, l2Error } from './synthetic.js';
export type { RegressionSampleOptions } from './synthetic.js';
export { routedLogGate, expertMeans, gaussianMoENllTape, tapeParamsFromFlat } from './gaussian-moe-tape.js';
export type { GaussianMoEParams } from './gaussian-moe-tape.js';

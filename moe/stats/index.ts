/** moegrad statistics toolkit: synthetic MoE data, estimators, Voronoi losses, rate fits, experiments. */
export type { Json, Cell, CellResult, SummaryRow, RateAxis, RateFit, PlotSpec, ExperimentSummary, ReportedValue, Experiment } from './experiment.js';

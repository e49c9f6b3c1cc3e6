/**
 * The CLI's optional plotting packages (vega, vega-lite: optional peer dependencies of moegrad),
 * imported on first use. When one is missing the import throws an OptionalDependencyError whose
 * message names the package and says `npm install 'vega@…' 'vega-lite@…'`.
 */
import { OptionalDependencyError, importOptional } from '../engine/optional-dep.js';

/** vega-lite (compiles the plot spec), or an OptionalDependencyError naming it. */
export function importVegaLite(): Promise<typeof import('vega-lite')> {
  return importOptional<typeof import('vega-lite')>('vega-lite', 'renderSvg');
}

/** vega (renders the compiled spec to SVG headless), or an OptionalDependencyError naming it. */
export function importVega(): Promise<typeof import('vega')> {
  return importOptional<typeof import('vega')>('vega', 'renderSvg');
}

/**
 * Loads vega and vega-lite now, so a command can refuse (or skip its SVG) before a long sweep rather
 * than fail after it. Resolves to null when both load, else to the OptionalDependencyError (whose
 * message names the packages and the install command).
 */
export async function checkPlotDeps(): Promise<OptionalDependencyError | null> {
  try {
    await importVegaLite();
    await importVega();
    return null;
  } catch (e) {
    if (e instanceof OptionalDependencyError) return e;
    throw e;
  }
}

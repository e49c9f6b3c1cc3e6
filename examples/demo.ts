/**
 * End-to-end demo (`npm start [-- --skip-reproduce]`): a thin wrapper around cli/demo.ts, the same
 * code `moegrad demo` runs from the installed package (MoE layer training, the gradient certificate,
 * a small Thm 1 reproduction).
 */
import { runDemo } from '../cli/demo.js';

process.exitCode = await runDemo();

// TypeDoc plugin: while moe/stats/ is being rewritten, its undocumented exports are counted and listed
// as a notice instead of failing `npm run docs` (treatWarningsAsErrors). Every other folder stays
// strict. Remove a folder from PENDING once its exports are documented; delete the plugin when empty.
import { Application } from 'typedoc';

const PENDING = ['moe/stats/'];

/** @param {Application} app */
export function load(app) {
  const pending = [];
  const warn = app.logger.validationWarning.bind(app.logger);
  app.logger.validationWarning = (message, ...rest) => {
    const text = String(message);
    if (text.includes('does not have any documentation') && PENDING.some((p) => text.includes(`defined in moegrad/${p}`))) {
      pending.push(text.replace(/, defined in .*/, ''));
      return;
    }
    warn(message, ...rest);
  };
  // Fired after the validation checks.
  app.on(Application.EVENT_VALIDATE_PROJECT, () => {
    if (pending.length) app.logger.info(`${pending.length} undocumented exports under ${PENDING.join(', ')} (pending their rewrite; DOCS_PENDING=1 lists them)`);
    if (process.env.DOCS_PENDING) for (const p of pending) app.logger.info(`  ${p}`);
  });
}

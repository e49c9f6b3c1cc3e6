// Worker bootstrap for source checkouts (tsx): registers the TypeScript loader inside the worker
// thread, then loads the real worker. The built package uses dist/cli/worker.js directly.
import { register } from 'tsx/esm/api';
register();
await import('./worker.ts');

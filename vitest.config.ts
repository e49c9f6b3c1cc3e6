import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    pool: 'forks',
    // Vitest's default is one worker fewer than the cores (1 on a 2-core machine): the suite then ran
    // serially (~165–186 s). Two forks use both cores.
    maxWorkers: 2,
  },
});

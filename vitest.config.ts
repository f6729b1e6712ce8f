import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The long end-to-end tests run with vitest.heavy.config.ts.
    exclude: ['test/heavy/**', 'node_modules/**'],
    testTimeout: 20000,
    hookTimeout: 20000,
    pool: 'forks',
  },
});

import { fileURLToPath } from 'node:url';
import { configDefaults, defineConfig } from 'vitest/config';

const src = (p: string) => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  resolve: {
    // The examples import the package by name, as its users do; here that is the sources.
    alias: [
      { find: /^warren$/, replacement: src('./server/index.ts') },
      { find: /^warren\/routing$/, replacement: src('./routing/index.ts') },
      { find: /^warren\/testing$/, replacement: src('./testing/index.ts') },
    ],
  },
  test: {
    include: ['test/**/*.test.ts', 'examples/vitest/**/*.test.ts'],
    // The long end-to-end tests run with vitest.heavy.config.ts.
    exclude: [...configDefaults.exclude, 'test/heavy/**'],
    testTimeout: 20000,
    hookTimeout: 20000,
    pool: 'forks',
  },
});

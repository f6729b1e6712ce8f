import { defineConfig } from 'vitest/config';

// Long end-to-end tests (100,000-message shovels with a broker killed mid-way, whole
// migrations against a live RabbitMQ): `.ci/run` runs them after `npm test`.
export default defineConfig({
  test: {
    include: ['test/heavy/**/*.test.ts'],
    testTimeout: 900000,
    hookTimeout: 300000,
    pool: 'forks',
    // One at a time: they load the machine and a shared RabbitMQ.
    fileParallelism: false,
  },
});

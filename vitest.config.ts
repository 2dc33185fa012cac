import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Service-backed suites start real servers; two cores are all we have.
    maxWorkers: 2,
  },
});

import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Every response the tests receive from the gateway is held to its OpenAPI contract.
    setupFiles: ['test/helpers/contract-setup.ts'],
    // Each file gets its own process: handlers read their settings once per process, as a
    // Lambda execution environment does.
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 120_000,
  },
});

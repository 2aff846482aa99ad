import { defineConfig } from 'vitest/config';

// The full-OS suite (`npm run test:system`): one qemu guest per run, so one file, no parallelism, long timeouts.
// `npm test` does not pick it up (vitest.config.ts includes only test/unit and test/integration).
export default defineConfig({
  test: {
    include: ['test/system/**/*.test.mjs'],
    testTimeout: 60_000,
    hookTimeout: 50 * 60_000,
    pool: 'forks',
    fileParallelism: false,
  },
});

// The benchmarks that need the test harness (a private D-Bus, the udisks2/systemd1 peer): run with
// `npm run bench:daemon-startup`. Not part of `npm test`: they print figures and assert nothing.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['bench/**/*.measure.ts'],
    testTimeout: 600_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});

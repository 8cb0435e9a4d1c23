import { defineConfig } from 'vitest/config';

/**
 * Two tiers. `npm test` runs the fast tier: everything that needs neither an image build, QEMU, loop devices nor a
 * browser (a few minutes on two cores). `npm run test:slow` runs the rest. scripts/test-all (and CI) runs both.
 * A new test is fast unless it is listed here or named `*.slow.test.ts`: put a test that builds an image, boots
 * QEMU, attaches a loop device or starts a browser in the slow tier.
 */
export const SLOW_TESTS = [
  'tests/**/*.slow.test.ts',
  'tests/e2e/**/*.test.ts',
  'tests/image/iso.test.ts',
  'tests/write/write.test.ts',
  'tests/apps/chromium.test.ts',
  'tests/apps/firefox.test.ts',
];

export default defineConfig({
  test: {
    // Two cores: more parallel files only make the QEMU and browser tests slower.
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 600_000,
    reporters: ['default'],
    projects: [
      { extends: true, test: { name: 'fast', include: ['tests/**/*.test.ts'], exclude: SLOW_TESTS } },
      { extends: true, test: { name: 'slow', include: SLOW_TESTS } },
    ],
  },
});

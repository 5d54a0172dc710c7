import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // A safety net: nothing in a test may reach a real LLM provider, even by mistake.
    env: { CAGED_UPSTREAM_ANTHROPIC: 'http://127.0.0.1:9', CAGED_UPSTREAM_OPENAI: 'http://127.0.0.1:9' },
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts', 'test/e2e/**/*.test.ts'],
          globalSetup: ['test/support/require-docker.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          // Containers and agents are heavy on a 2-core runner; a few files at a time keeps timings honest.
          maxWorkers: 3,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});

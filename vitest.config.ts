import { configDefaults, defineConfig } from 'vitest/config';

/** Stops and restarts the machine's dockerd: its own project, alone, after all others (see its header). */
const DOCKERD_RESTART = 'test/integration/faults/dockerd-restart.test.ts';
/** Marks a run as a Docker user, so that another run's dockerd restart waits for it (and it for that). */
const DOCKER_USER = 'test/integration/faults/docker-lock.ts';

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
          exclude: [...configDefaults.exclude, DOCKERD_RESTART],
          globalSetup: ['test/support/require-docker.ts', DOCKER_USER],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          // Containers and agents are heavy on a 2-core runner; a few files at a time keeps timings honest.
          maxWorkers: 3,
          sequence: { groupOrder: 1 },
        },
      },
      {
        test: {
          name: 'dockerd-restart',
          include: [DOCKERD_RESTART],
          globalSetup: ['test/support/require-docker.ts', DOCKER_USER],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          maxWorkers: 1,
          sequence: { groupOrder: 2 },
        },
      },
    ],
  },
});

import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDockerBackend, type DockerBackend, type DockerBackendOptions } from '../../src/sandbox/docker.js';
import { newSandboxId } from '../../src/sandbox/ids.js';
import { templateImage } from '../../src/sandbox/image.js';
import { LABELS, type ContainerSpec } from '../../src/sandbox/types.js';

/** The image sandbox tests run in: a real caged template (`npm run setup` builds it). */
export const TEST_IMAGE = templateImage('node-20');

/**
 * One backend per test file with its own workspace root and run label, so its clean-up
 * (`reap({ all: true, run })`) touches nothing but what this file created.
 */
export interface Harness {
  backend: DockerBackend;
  run: string;
  root: string;
  spec(overrides?: Partial<ContainerSpec>): ContainerSpec;
  cleanup(): Promise<void>;
}

export async function createHarness(options: Omit<DockerBackendOptions, 'workspaceRoot'> = {}): Promise<Harness> {
  const root = await mkdtemp(join(tmpdir(), 'caged-sandbox-test-'));
  const backend = await createDockerBackend({ ...options, workspaceRoot: join(root, 'workspaces') });
  const run = `test-${randomBytes(4).toString('hex')}`;
  return {
    backend,
    run,
    root,
    spec: (overrides = {}) => ({
      id: newSandboxId(),
      image: TEST_IMAGE,
      cpus: 1,
      memoryMiB: 256,
      pidsLimit: 512,
      env: {},
      mounts: [],
      labels: { [LABELS.run]: run },
      budgetMicros: 1_000_000,
      expiresAt: new Date(Date.now() + 30 * 60_000),
      ...overrides,
    }),
    cleanup: async () => {
      await backend.reap({ all: true, run });
      await backend.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}

/** A running sandbox with an empty workspace and the given network mode. */
export async function startSandbox(
  harness: Harness,
  overrides: Partial<ContainerSpec> = {},
  mode: 'none' | 'gateway' | 'allowlist' | 'open' = 'none',
  networkOptions: { holderImage?: string } = {},
) {
  const spec = harness.spec(overrides);
  const workspace = await harness.backend.prepareWorkspace(spec.id, {});
  const network = await harness.backend.createNetwork(spec, mode, networkOptions);
  const sandbox = await harness.backend.createContainer(spec, network, workspace.dir);
  return { spec, workspace, network, sandbox };
}

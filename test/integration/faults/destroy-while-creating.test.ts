import { rmSync } from 'node:fs';
import Docker from 'dockerode';
import { afterAll, describe, expect, it } from 'vitest';
import { listManagedResources } from '../../../src/sandbox/reaper.js';
import { settings, startEngine, type EngineHarness } from '../../support/engine-harness.js';

/**
 * A sandbox destroyed while it is still being created (a client that cancels at once, a run
 * cancelled during its starts): whatever its provisioning step in flight goes on to create — its
 * network, its container — is removed too, not left for the reaper to find an hour later.
 */

const docker = new Docker();

describe('destroyed while creating', () => {
  let harness: EngineHarness | undefined;

  afterAll(async () => {
    await harness?.close();
    if (harness) rmSync(harness.stateRoot, { recursive: true, force: true });
  });

  it('leaves no network, container or workspace, whichever step it was at', async () => {
    harness = await startEngine();
    const engine = harness.engine;
    // Destroy after 0, 50, 100, … ms: the provisioning is caught at different steps.
    const ids = await Promise.all(
      Array.from({ length: 6 }, async (_, i) => {
        const created = await engine.create({ config: settings({ budget: 1_000_000 }) });
        await new Promise((resolve) => setTimeout(resolve, i * 50));
        const destroyed = await engine.destroy(created.id, { force: true });
        expect(destroyed.status).toBe('destroyed');
        return created.id;
      }),
    );
    const left = (await listManagedResources(docker)).filter((resource) => ids.includes(resource.sandboxId));
    expect(left.map((resource) => `${resource.kind} of ${resource.sandboxId}`)).toEqual([]);
  });
});

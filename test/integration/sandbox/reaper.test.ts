import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startController } from '../../support/controller-process.js';
import { createHarness, startSandbox, type Harness } from '../../support/sandbox-harness.js';
import { createDockerBackend } from '../../../src/sandbox/docker.js';

let harness: Harness;
beforeAll(async () => {
  harness = await createHarness();
});
afterAll(async () => {
  await harness?.cleanup();
});

async function managedIds(): Promise<string[]> {
  const resources = await harness.backend.listManaged({ run: harness.run });
  return [...new Set(resources.map((resource) => resource.sandboxId))].sort();
}

/** Runs the fixture controller until it has made its two sandboxes, checks them, then SIGKILLs it. */
async function killedController(workspaceRoot: string): Promise<{ ids: string[] }> {
  const controller = await startController(workspaceRoot, harness.run);
  const { ids, owner } = controller;
  expect(owner).toBe(`${owner.split(':')[0]}:${controller.pid}:${owner.split(':')[2]}`);
  const left = await harness.backend.listManaged({ run: harness.run });
  expect([...new Set(left.map((resource) => resource.sandboxId))].sort()).toEqual([...ids].sort());
  expect(left.filter((resource) => resource.kind === 'network')).toHaveLength(1);
  expect(left.every((resource) => resource.owner === owner)).toBe(true);
  for (const id of ids) expect(existsSync(join(workspaceRoot, id))).toBe(true);

  // While the controller lives, its sandboxes are not leftovers, not even for `caged reap`.
  const early = await harness.backend.reap({ run: harness.run, anyWorkspaceRoot: true });
  expect(early.removed).toEqual([]);

  await controller.kill();
  return { ids };
}

async function expectAllGone(workspaceRoot: string, ids: string[]): Promise<void> {
  expect(await managedIds()).toEqual([]);
  for (const id of ids) {
    expect(existsSync(join(workspaceRoot, id))).toBe(false);
    await expect(harness.backend.docker.getNetwork(`${id}-net`).inspect()).rejects.toMatchObject({ statusCode: 404 });
  }
}

describe('reaper', () => {
  it("removes everything a SIGKILLed controller left behind when the next controller of its state directory starts, and only then", async () => {
    const workspaceRoot = join(harness.root, 'controller-workspaces');
    const { ids } = await killedController(workspaceRoot);

    const elsewhere = await createDockerBackend({ workspaceRoot: join(harness.root, 'another-state-dir'), reapOnStart: true });
    await elsewhere.close();
    expect(await managedIds()).toEqual([...ids].sort());

    const next = await createDockerBackend({ workspaceRoot, reapOnStart: true });
    await next.close();
    await expectAllGone(workspaceRoot, ids);
  });

  it('`caged reap` takes the leftovers of any state directory, workspaces included', async () => {
    const workspaceRoot = join(harness.root, 'other-controller-workspaces');
    const { ids } = await killedController(workspaceRoot);
    const dry = await harness.backend.reap({ run: harness.run, anyWorkspaceRoot: true, dryRun: true });
    expect([...new Set(dry.removed.map((resource) => resource.sandboxId))].sort()).toEqual([...ids].sort());
    expect(await managedIds()).toEqual([...ids].sort());

    const report = await harness.backend.reap({ run: harness.run, anyWorkspaceRoot: true });
    expect(report.removed.map((resource) => resource.dockerId).sort()).toEqual(dry.removed.map((resource) => resource.dockerId).sort());
    await expectAllGone(workspaceRoot, ids);
  });

  it('removes sandboxes past their expiry, keeps live ones, and takes everything with all', async () => {
    // Created with expiries ahead and reaped as of a later time: a sandbox born expired would be
    // fair game for every other caged process on this host, which could take it first.
    const expired = await startSandbox(harness, { expiresAt: new Date(Date.now() + 10 * 60_000) }, 'gateway');
    const live = await startSandbox(harness, { expiresAt: new Date(Date.now() + 60 * 60_000) });
    const report = await harness.backend.reap({ run: harness.run, now: new Date(Date.now() + 20 * 60_000) });
    expect([...new Set(report.removed.map((resource) => resource.sandboxId))]).toEqual([expired.spec.id]);
    expect(report.kept).toBeGreaterThan(0);
    expect(existsSync(expired.workspace.dir)).toBe(false);
    expect(await managedIds()).toEqual([live.spec.id]);

    const all = await harness.backend.reap({ all: true, run: harness.run });
    expect(all.removed.map((resource) => resource.sandboxId)).toEqual([live.spec.id]);
    expect(await managedIds()).toEqual([]);
  });

  it('keeps what another host owns until it expires', async () => {
    const foreign = await createDockerBackend({ workspaceRoot: join(harness.root, 'foreign'), owner: 'elsewhere.example:4242:123456' });
    const spec = harness.spec();
    const workspace = await foreign.prepareWorkspace(spec.id, {});
    await foreign.createContainer(spec, { mode: 'none' }, workspace.dir);
    const report = await harness.backend.reap({ run: harness.run });
    expect(report.removed).toEqual([]);
    expect(await managedIds()).toEqual([spec.id]);
    await foreign.destroy(spec.id);
    expect(await managedIds()).toEqual([]);
  });
});

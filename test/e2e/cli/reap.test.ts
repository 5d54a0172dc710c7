import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { afterAll, describe, expect, it } from 'vitest';
import { listManagedResources } from '../../../src/sandbox/reaper.js';
import { runCli } from '../../support/cli.js';
import { startController } from '../../support/controller-process.js';

const docker = new Docker();
const root = mkdtempSync(join(tmpdir(), 'caged-reap-'));
const run = `test-${randomBytes(4).toString('hex')}`;

afterAll(async () => {
  await runCli(['reap', '--all', '--run', run], { env: { CAGED_HOME: join(root, 'home') } });
  rmSync(root, { recursive: true, force: true });
});

describe('caged reap', () => {
  it("lists a dead controller's leftovers with --dry-run, removes them and their workspaces, then has nothing left", async () => {
    // The controller's state directory is not the CLI's: `caged reap` takes orphans of any.
    const workspaceRoot = join(root, 'controller', 'workspaces');
    const controller = await startController(workspaceRoot, run);
    const env = { CAGED_HOME: join(root, 'home') };

    const live = await runCli(['reap', '--run', run, '--json'], { env });
    expect(live.code, live.stderr).toBe(0);
    expect(JSON.parse(live.stdout)).toEqual([]);

    await controller.kill();
    const made = await listManagedResources(docker, { run });

    const dry = await runCli(['reap', '--run', run, '--dry-run', '--json'], { env });
    expect(dry.code, dry.stderr).toBe(0);
    const listed = JSON.parse(dry.stdout) as { kind: string; sandbox: string; owner: string; docker_id: string }[];
    expect(listed.map((resource) => resource.docker_id).sort()).toEqual(made.map((resource) => resource.dockerId).sort());
    expect(new Set(listed.map((resource) => resource.sandbox))).toEqual(new Set(controller.ids));
    expect(listed.every((resource) => resource.owner === controller.owner)).toBe(true);
    expect(await listManagedResources(docker, { run })).toHaveLength(made.length);

    const reaped = await runCli(['reap', '--run', run], { env });
    expect(reaped.code, reaped.stderr).toBe(0);
    expect(reaped.stdout.split('\n')[0]).toMatch(/^KIND\s+SANDBOX\s+OWNER$/);
    for (const id of controller.ids) expect(reaped.stdout).toContain(id);
    expect(reaped.stderr).toBe(`caged: removed ${made.length} resources\n`);
    expect(await listManagedResources(docker, { run })).toEqual([]);
    for (const id of controller.ids) expect(existsSync(join(workspaceRoot, id))).toBe(false);

    const again = await runCli(['reap', '--run', run], { env });
    expect(again.code).toBe(0);
    expect(again.stderr).toBe('caged: nothing to remove\n');
  });
});

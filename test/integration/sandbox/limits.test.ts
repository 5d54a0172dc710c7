import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, startSandbox, type Harness } from '../../support/sandbox-harness.js';
import { LABELS } from '../../../src/sandbox/types.js';
import { MissingImageError } from '../../../src/sandbox/image.js';
import { UnsafeMountError } from '../../../src/sandbox/container.js';

let harness: Harness;
beforeAll(async () => {
  harness = await createHarness();
});
afterAll(async () => {
  await harness?.cleanup();
});

describe('a created sandbox', () => {
  let started: Awaited<ReturnType<typeof startSandbox>>;
  let inspect: Awaited<ReturnType<import('dockerode').Container['inspect']>>;

  beforeAll(async () => {
    started = await startSandbox(harness, { cpus: 1.5, memoryMiB: 384, pidsLimit: 200, env: { FOO: 'bar' } });
    inspect = await harness.backend.docker.getContainer(started.spec.id).inspect();
  });

  it('has exactly the requested limits', () => {
    const host = inspect.HostConfig;
    expect(host.NanoCpus).toBe(1_500_000_000);
    expect(host.Memory).toBe(384 * 1024 * 1024);
    expect(host.MemorySwap).toBe(384 * 1024 * 1024);
    expect(host.PidsLimit).toBe(200);
    expect(host.Ulimits).toEqual([{ Name: 'nofile', Soft: 8_192, Hard: 8_192 }]);
  });

  it('is hardened: no capabilities, no new privileges, init, not privileged, uid 1000', () => {
    const host = inspect.HostConfig;
    expect(host.CapDrop).toEqual(['ALL']);
    expect(host.CapAdd ?? []).toEqual([]);
    expect(host.SecurityOpt).toEqual(['no-new-privileges:true']);
    expect(host.Init).toBe(true);
    expect(host.Privileged).toBe(false);
    expect(inspect.Config.User).toBe('1000:1000');
    expect(inspect.Config.WorkingDir).toBe('/workspace');
    expect(inspect.State.Running).toBe(true);
  });

  it('mounts its workspace and a HOME, and never the Docker socket', () => {
    const mounts = inspect.Mounts.map((mount) => ({ source: mount.Source, destination: mount.Destination, rw: mount.RW }));
    expect(mounts).toEqual([{ source: started.workspace.dir, destination: '/workspace', rw: true }]);
    expect(Object.keys(inspect.HostConfig.Tmpfs ?? {})).toEqual(['/home/agent']);
    expect(JSON.stringify(inspect)).not.toContain('docker.sock');
    expect(inspect.Config.Env).toEqual(expect.arrayContaining(['HOME=/home/agent', 'FOO=bar']));
  });

  it('carries the caged labels', () => {
    const labels = inspect.Config.Labels;
    expect(labels[LABELS.managed]).toBe('true');
    expect(labels[LABELS.id]).toBe(started.spec.id);
    expect(labels[LABELS.owner]).toBe(harness.backend.owner);
    expect(labels[LABELS.budgetUsd]).toBe('1');
    expect(labels[LABELS.expiresAt]).toBe(started.spec.expiresAt.toISOString());
    expect(labels[LABELS.run]).toBe(harness.run);
    expect(inspect.Name).toBe(`/${started.spec.id}`);
  });

  it('runs commands as uid 1000 with no capabilities and no_new_privs', async () => {
    const result = await harness.backend.exec(started.spec.id, { shell: 'id -u; id -g; grep -E "^(CapEff|CapBnd|NoNewPrivs)" /proc/self/status' });
    expect(result.exitCode).toBe(0);
    expect(result.stdoutTail.split('\n')).toEqual(
      expect.arrayContaining(['1000', '1000', 'CapEff:\t0000000000000000', 'CapBnd:\t0000000000000000', 'NoNewPrivs:\t1']),
    );
  });

  it('lets the agent write its workspace and HOME', async () => {
    const result = await harness.backend.exec(started.spec.id, { shell: 'echo hi > /workspace/f && mkdir -p "$HOME/.config" && echo ok' });
    expect(result).toMatchObject({ exitCode: 0, stdoutTail: 'ok\n' });
  });

  it('refuses chown to root, as the agent and even as uid 0 without capabilities', async () => {
    const agent = await harness.backend.exec(started.spec.id, { shell: 'touch /workspace/owned && chown root /workspace/owned' });
    expect(agent.exitCode).not.toBe(0);
    expect(agent.stderrTail).toMatch(/Operation not permitted/);
    const root = await harness.backend.exec(started.spec.id, { shell: 'chown root /workspace/owned' }, { user: '0:0' });
    expect(root.exitCode).not.toBe(0);
    expect(root.stderrTail).toMatch(/Operation not permitted/);
  });

  it('refuses raw sockets', async () => {
    const script = 'import socket\ntry:\n    socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)\n    print("raw socket opened")\nexcept PermissionError as e:\n    print("denied", e.errno)\n';
    for (const user of ['1000:1000', '0:0']) {
      const result = await harness.backend.exec(started.spec.id, { argv: ['python3', '-c', script] }, { user });
      expect(result.stdoutTail.trim()).toBe('denied 1');
    }
  });
});

describe('creating a sandbox', () => {
  it('names a missing image and says what to do, without trying to pull', async () => {
    const spec = harness.spec({ image: 'caged/template:no-such-template' });
    const started = Date.now();
    await expect(harness.backend.createContainer(spec, { mode: 'none' }, harness.root)).rejects.toThrow(MissingImageError);
    await expect(harness.backend.createContainer(spec, { mode: 'none' }, harness.root)).rejects.toThrow(
      'image caged/template:no-such-template is not on this Docker engine: run `npm run setup`',
    );
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('refuses mounts that would expose the Docker socket', async () => {
    for (const source of ['/var/run/docker.sock', '/var/run', '/run', '/']) {
      const spec = harness.spec({ mounts: [{ source, target: '/opt/x', readOnly: true }] });
      await expect(harness.backend.createContainer(spec, { mode: 'none' }, harness.root)).rejects.toThrow(UnsafeMountError);
    }
  });

  it('mounts agent binary directories read-only', async () => {
    const { spec } = await startSandbox(harness, { mounts: [{ source: process.execPath.replace(/\/bin\/node$/, '/bin'), target: '/opt/tools', readOnly: true }] });
    const result = await harness.backend.exec(spec.id, { shell: 'test -x /opt/tools/node && touch /opt/tools/x' });
    expect(result.exitCode).not.toBe(0);
    expect(result.stderrTail).toMatch(/Read-only file system/);
  });
});

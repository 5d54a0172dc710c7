import { describe, expect, it } from 'vitest';
import { checkMounts, containerCreateOptions, UnsafeMountError, type HostFeatures } from '../../../src/sandbox/container.js';
import type { ContainerSpec } from '../../../src/sandbox/types.js';

const spec: ContainerSpec = {
  id: 'cage-0123abcd',
  image: 'caged/template:node-20',
  cpus: 0.5,
  memoryMiB: 1536,
  diskGiB: 5,
  pidsLimit: 512,
  env: { CAGED_GATEWAY: 'http://172.20.0.1:4000' },
  mounts: [{ source: '/opt/agents/claude', target: '/opt/claude', readOnly: true }],
  labels: {},
  expiresAt: new Date('2026-11-27T10:00:00Z'),
};
const features: HostFeatures = { storageSize: false, nofile: 8192, dockerSockets: ['/var/run/docker.sock', '/run/docker.sock'], internalRouteOut: false };
const labels = { 'dev.caged.managed': 'true' };

describe('containerCreateOptions', () => {
  it('sets the limits and hardening', () => {
    const options = containerCreateOptions(spec, { kind: 'none' }, '/state/ws/cage-0123abcd', labels, features);
    expect(options).toMatchObject({
      name: 'cage-0123abcd',
      Hostname: 'cage-0123abcd',
      Image: 'caged/template:node-20',
      Entrypoint: ['sleep'],
      Cmd: ['infinity'],
      User: '1000:1000',
      WorkingDir: '/workspace',
      Env: ['HOME=/home/agent', 'CAGED_GATEWAY=http://172.20.0.1:4000'],
      Labels: labels,
    });
    expect(options.HostConfig).toEqual({
      NanoCpus: 500_000_000,
      Memory: 1536 * 2 ** 20,
      MemorySwap: 1536 * 2 ** 20,
      PidsLimit: 512,
      Ulimits: [{ Name: 'nofile', Soft: 8192, Hard: 8192 }],
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges:true'],
      Init: true,
      Privileged: false,
      ReadonlyRootfs: false,
      NetworkMode: 'none',
      Mounts: [
        { Type: 'bind', Source: '/state/ws/cage-0123abcd', Target: '/workspace', ReadOnly: false },
        { Type: 'bind', Source: '/opt/agents/claude', Target: '/opt/claude', ReadOnly: true },
      ],
      Tmpfs: { '/home/agent': 'rw,nosuid,nodev,exec,size=1536m,uid=1000,gid=1000,mode=0700' },
      RestartPolicy: { Name: 'no' },
      AutoRemove: false,
    });
    expect(options.NetworkingConfig).toBeUndefined();
  });

  it('rounds fractional CPUs to whole nano-CPUs', () => {
    expect(containerCreateOptions({ ...spec, cpus: 1 / 3 }, { kind: 'none' }, '/w', labels, features).HostConfig?.NanoCpus).toBe(333_333_333);
  });

  it('lets the task set HOME', () => {
    expect(containerCreateOptions({ ...spec, env: { HOME: '/tmp/h' } }, { kind: 'none' }, '/w', labels, features).Env).toEqual(['HOME=/tmp/h']);
  });

  it('asks the driver for a disk limit only where it can enforce one', () => {
    expect(containerCreateOptions(spec, { kind: 'none' }, '/w', labels, { ...features, storageSize: true }).HostConfig?.StorageOpt).toEqual({ size: '5G' });
    expect(containerCreateOptions({ ...spec, diskGiB: undefined }, { kind: 'none' }, '/w', labels, { ...features, storageSize: true }).HostConfig?.StorageOpt).toBeUndefined();
  });

  it('joins its network, or the holder namespace without a hostname of its own', () => {
    const attached = containerCreateOptions(spec, { kind: 'network', name: 'cage-0123abcd-net' }, '/w', labels, features);
    expect(attached.HostConfig?.NetworkMode).toBe('cage-0123abcd-net');
    expect(attached.NetworkingConfig).toEqual({ EndpointsConfig: { 'cage-0123abcd-net': {} } });
    const held = containerCreateOptions(spec, { kind: 'namespace', holderId: 'abc123' }, '/w', labels, features);
    expect(held.HostConfig?.NetworkMode).toBe('container:abc123');
    expect(held.Hostname).toBeUndefined();
    expect(held.NetworkingConfig).toBeUndefined();
  });
});

describe('checkMounts', () => {
  const sockets = ['/var/run/docker.sock', '/run/docker.sock'];
  it.each(['/var/run/docker.sock', '/var/run', '/run', '/var/run/', '/', '/run/../run'])('refuses a mount of %s (exposes the socket)', (source) => {
    expect(() => checkMounts([{ source, target: '/opt/x', readOnly: true }], sockets)).toThrow(UnsafeMountError);
  });
  it.each(['/workspace', '/workspace/sub', '/home', '/home/agent/.config', '/'])('refuses a mount over %s', (target) => {
    expect(() => checkMounts([{ source: '/opt/tools', target, readOnly: true }], sockets)).toThrow(UnsafeMountError);
  });
  it('accepts ordinary tool directories', () => {
    expect(() => checkMounts([{ source: '/opt/agents', target: '/opt/agents', readOnly: true }, { source: '/run/user/1000/x', target: '/x', readOnly: true }], sockets)).not.toThrow();
  });
});

import { createServer, type Server } from 'node:net';
import { networkInterfaces } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, startSandbox, TEST_IMAGE, type Harness } from '../../support/sandbox-harness.js';
import { internalNetworksRouteOut } from '../../../src/sandbox/netns-holder.js';
import { LABELS } from '../../../src/sandbox/types.js';

let harness: Harness;
const servers: Server[] = [];
/**
 * The host's own IPv4 addresses other than loopback (eth0, docker0): "outside" for a sandbox.
 * Per-network bridges (br-*) come and go with other tests, so they are left out.
 */
function hostIps(except: string[] = []): string[] {
  return Object.entries(networkInterfaces())
    .filter(([name]) => !name.startsWith('br-'))
    .flatMap(([, list]) => list ?? [])
    .filter((address) => address.family === 'IPv4' && !address.internal && !except.includes(address.address))
    .map((address) => address.address);
}
let hostIp: string;

beforeAll(async () => {
  harness = await createHarness();
  hostIp = hostIps()[0]!;
});
afterAll(async () => {
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  await harness?.cleanup();
});

/** A host-side TCP listener that answers with its name. */
async function listen(host: string, name: string): Promise<number> {
  const server = createServer((socket) => socket.end(`${name}\n`));
  servers.push(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, resolve);
  });
  return (server.address() as { port: number }).port;
}

/** Tries a TCP connection from inside the sandbox; returns what the listener said, or the error. */
async function probe(id: string, host: string, port: number): Promise<string> {
  const result = await harness.backend.exec(id, {
    argv: ['timeout', '3', 'bash', '-c', 'exec 3<>"/dev/tcp/$0/$1" && head -n1 <&3', host, String(port)],
  });
  return result.exitCode === 0 ? result.stdoutTail.trim() : `failed: ${result.stderrTail.trim() || `exit ${result.exitCode}`}`;
}

async function interfaces(id: string): Promise<string[]> {
  const result = await harness.backend.exec(id, { shell: 'ls /sys/class/net' });
  return result.stdoutTail.split(/\s+/).filter(Boolean).sort();
}

async function hasDefaultRoute(id: string): Promise<boolean> {
  const result = await harness.backend.exec(id, { shell: 'cat /proc/net/route' });
  return result.stdoutTail.split('\n').slice(1).some((line) => line.split('\t')[1] === '00000000');
}

describe('network mode none', () => {
  it('has no interface but loopback and reaches nothing outside', async () => {
    const { spec, network } = await startSandbox(harness, {}, 'none');
    expect(network).toEqual({ mode: 'none' });
    const hostPort = await listen(hostIp, 'host');
    const loopbackPort = await listen('127.0.0.1', 'loopback');
    expect(await interfaces(spec.id)).toEqual(['lo']);
    expect(await hasDefaultRoute(spec.id)).toBe(false);
    expect(await probe(spec.id, hostIp, hostPort)).toMatch(/^failed: .*Network is unreachable/);
    expect(await probe(spec.id, '127.0.0.1', loopbackPort)).toMatch(/^failed: .*Connection refused/);
  });
});

describe('network mode gateway', () => {
  it.each([
    ['its container starts', {}],
    ['its network is created (as the engine does)', { holderImage: TEST_IMAGE }],
  ])('reaches the host listener on its gateway IP and nothing else, with a netns holder started when %s', async (_when, networkOptions) => {
    const { spec, network } = await startSandbox(harness, {}, 'gateway', networkOptions);
    const needsHolder = internalNetworksRouteOut((await harness.backend.docker.version()).ApiVersion);
    expect(network.holderId !== undefined).toBe(needsHolder && 'holderImage' in networkOptions);
    expect(network.gatewayIp).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(network.subnet).toMatch(/\/\d+$/);
    const gatewayPort = await listen(network.gatewayIp!, 'gateway');
    const loopbackPort = await listen('127.0.0.1', 'loopback');

    expect(await probe(spec.id, network.gatewayIp!, gatewayPort)).toBe('gateway');
    const others = hostIps([network.gatewayIp!]);
    expect(others.length).toBeGreaterThan(0);
    for (const ip of others) {
      expect(await probe(spec.id, ip, await listen(ip, `host ${ip}`))).toMatch(/^failed: .*Network is unreachable/);
    }
    expect(await probe(spec.id, '127.0.0.1', loopbackPort)).toMatch(/^failed: .*Connection refused/);
    expect(await hasDefaultRoute(spec.id)).toBe(false);

    const info = (await harness.backend.docker.getNetwork(network.id!).inspect()) as { Internal: boolean; Labels: Record<string, string> };
    expect(info.Internal).toBe(true);
    expect(info.Labels).toMatchObject({ [LABELS.managed]: 'true', [LABELS.id]: spec.id, [LABELS.owner]: harness.backend.owner, [LABELS.run]: harness.run });
    expect(info.Labels[LABELS.expiresAt]).toBe(spec.expiresAt.toISOString());
  });

  it('removes the network with the sandbox', async () => {
    const { spec, network } = await startSandbox(harness, {}, 'allowlist');
    await harness.backend.destroy(spec.id);
    await expect(harness.backend.docker.getNetwork(network.id!).inspect()).rejects.toMatchObject({ statusCode: 404 });
    expect(await harness.backend.listManaged({ run: harness.run }).then((all) => all.filter((r) => r.sandboxId === spec.id))).toEqual([]);
    await expect(harness.backend.docker.getContainer(spec.id).inspect()).rejects.toMatchObject({ statusCode: 404 });
    // Destroying twice is fine: what is gone counts as done.
    await harness.backend.destroy(spec.id);
  });
});

describe('network mode open', () => {
  it('gets an ordinary bridge network of its own, with a route out', async () => {
    const { spec, network } = await startSandbox(harness, {}, 'open');
    const info = (await harness.backend.docker.getNetwork(network.id!).inspect()) as { Internal: boolean; Driver: string };
    expect(info).toMatchObject({ Internal: false, Driver: 'bridge' });
    expect(await hasDefaultRoute(spec.id)).toBe(true);
    expect(await probe(spec.id, network.gatewayIp!, await listen(network.gatewayIp!, 'open-gateway'))).toBe('open-gateway');
  });
});

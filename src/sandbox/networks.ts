import type Docker from 'dockerode';
import type { NetworkMode } from '../config/schema.js';
import { dockerMessage, dockerStatus } from './docker-errors.js';
import { networkName } from './ids.js';
import type { SandboxNetwork } from './types.js';

/**
 * One Docker network per sandbox. `gateway` and `allowlist` are internal (no route out); the
 * host holds the network's gateway IP, which is where the caged gateway and egress proxy listen.
 * `open` is an ordinary bridge with a route to the outside.
 */
export async function createSandboxNetwork(
  docker: Docker,
  id: string,
  mode: NetworkMode,
  labels: Record<string, string>,
): Promise<SandboxNetwork> {
  if (mode === 'none') return { mode };
  const name = networkName(id);
  let created: Docker.Network;
  try {
    created = await docker.createNetwork({
      Name: name,
      Driver: 'bridge',
      Internal: mode !== 'open',
      CheckDuplicate: true,
      Attachable: false,
      Labels: labels,
    });
  } catch (error) {
    const message = dockerMessage(error);
    if (/address pool/i.test(message)) {
      throw new Error(
        `sandbox ${id}: Docker has no free address range for another network (${message}); ` +
          'run fewer sandboxes at once or widen default-address-pools in the Docker daemon config',
        { cause: error },
      );
    }
    throw new Error(`sandbox ${id}: could not create network ${name}: ${message}`, { cause: error });
  }
  const info = (await created.inspect()) as { Id: string; IPAM?: { Config?: { Gateway?: string; Subnet?: string }[] } };
  const ipv4 = info.IPAM?.Config?.find((config) => config.Gateway && !config.Gateway.includes(':'));
  if (!ipv4?.Gateway) {
    await removeSandboxNetwork(docker, id);
    throw new Error(`sandbox ${id}: network ${name} has no IPv4 gateway address`);
  }
  return { mode, name, id: info.Id, gatewayIp: ipv4.Gateway, ...(ipv4.Subnet ? { subnet: ipv4.Subnet } : {}) };
}

const REMOVE_RETRY_MS = 200;
const REMOVE_PATIENCE_MS = 10_000;

/** Removes a sandbox's network; an endpoint still detaching from a just-removed container gets a few retries. */
export async function removeSandboxNetwork(docker: Docker, id: string): Promise<void> {
  await removeNetwork(docker, networkName(id));
}

export async function removeNetwork(docker: Docker, nameOrId: string): Promise<void> {
  const deadline = Date.now() + REMOVE_PATIENCE_MS;
  for (;;) {
    try {
      await docker.getNetwork(nameOrId).remove();
      return;
    } catch (error) {
      const status = dockerStatus(error);
      if (status === 404) return;
      if (!/active endpoints/i.test(dockerMessage(error)) || Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, REMOVE_RETRY_MS));
    }
  }
}

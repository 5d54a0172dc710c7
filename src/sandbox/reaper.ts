import type Docker from 'dockerode';
import { ignoreGone } from './docker-errors.js';
import { WORKSPACE_PATH } from './container.js';
import { managedResource } from './labels.js';
import { removeNetwork } from './networks.js';
import type { Liveness } from './owner.js';
import { LABELS, type ManagedResource } from './types.js';

export interface ManagedFilter {
  owner?: string;
  run?: string;
}

export interface ListedResource extends ManagedResource {
  /** Containers: the image, which the workspace clean-up can run in. */
  image?: string;
  /** Containers: the host directory mounted at /workspace (a mount, unlike a label, no image can claim). */
  workspace?: string;
}

/** Every container, network and volume carrying dev.caged.managed=true (optionally one owner's or one run's). */
export async function listManagedResources(docker: Docker, filter: ManagedFilter = {}): Promise<ListedResource[]> {
  const label = [`${LABELS.managed}=true`];
  if (filter.owner) label.push(`${LABELS.owner}=${filter.owner}`);
  if (filter.run) label.push(`${LABELS.run}=${filter.run}`);
  const [containers, networks, volumes] = await Promise.all([
    docker.listContainers({ all: true, filters: { label } }),
    docker.listNetworks({ filters: { label } }),
    docker.listVolumes({ filters: { label } }),
  ]);
  const found: ListedResource[] = [];
  for (const container of containers) {
    const resource = managedResource('container', container.Id, container.Labels);
    const workspace = container.Mounts.find((mount) => mount.Type === 'bind' && mount.Destination === WORKSPACE_PATH)?.Source;
    if (resource) found.push({ ...resource, image: container.Image, ...(workspace ? { workspace } : {}) });
  }
  for (const network of networks) {
    const resource = managedResource('network', network.Id, network.Labels);
    if (resource) found.push(resource);
  }
  for (const volume of volumes.Volumes ?? []) {
    const resource = managedResource('volume', volume.Name, volume.Labels);
    if (resource) found.push(resource);
  }
  return found;
}

export type ReapReason = 'all' | 'expired' | 'owner_gone';

/**
 * Why a resource should go, or undefined to keep it. `all` takes everything listed; otherwise
 * a resource goes once it is past its expiry or its controller is gone. An owner on another
 * host cannot be checked and is kept until it expires; so is a sandbox kept on purpose. The
 * orphans of another workspace root are its own controllers' to take (see LABELS.workspaces).
 */
export function reapReason(resource: ManagedResource, context: ReapContext): ReapReason | undefined {
  if (context.all) return 'all';
  if (resource.expiresAt && resource.expiresAt.getTime() <= context.now.getTime()) return 'expired';
  if (resource.labels[LABELS.keep] === 'true') return undefined;
  const root = resource.labels[LABELS.workspaces];
  if (context.workspaceRoot !== undefined && root !== undefined && root !== context.workspaceRoot) return undefined;
  return context.liveness(resource.owner) === 'gone' ? 'owner_gone' : undefined;
}

export interface ReapContext {
  all: boolean;
  now: Date;
  liveness: (owner: string) => Liveness;
  /** Orphans are taken only from this workspace root (undefined: from any). */
  workspaceRoot?: string;
}


/** Containers first: a network cannot go while a container is attached to it. */
export async function removeResources(docker: Docker, resources: ManagedResource[]): Promise<void> {
  const order: ManagedResource['kind'][] = ['container', 'network', 'volume'];
  for (const kind of order) {
    await Promise.all(
      resources
        .filter((resource) => resource.kind === kind)
        .map((resource) => {
          if (kind === 'container') return ignoreGone(() => docker.getContainer(resource.dockerId).remove({ force: true, v: true }));
          if (kind === 'network') return removeNetwork(docker, resource.dockerId);
          return ignoreGone(() => docker.getVolume(resource.dockerId).remove());
        }),
    );
  }
}

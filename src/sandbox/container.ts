import { posix } from 'node:path';
import type Docker from 'dockerode';
import type { ContainerSpec, Mount } from './types.js';

/** The agent user: uid/gid 1000 in every template (`agent`), numeric so any image works. */
export const AGENT_USER = '1000:1000';
export const AGENT_UID = 1000;
export const AGENT_HOME = '/home/agent';
export const WORKSPACE_PATH = '/workspace';
/** Open files per process: ample for agents and builds, and under the hard limit dockerd itself gets on common hosts (20000 here). */
export const DEFAULT_NOFILE = 8_192;
/** The idle main process; work arrives through exec, so the container outlives each command. */
export const IDLE_COMMAND = ['sleep', 'infinity'];

export interface HostFeatures {
  /** The storage driver enforces `StorageOpt.size` (overlay2 on xfs with pquota, btrfs, zfs). */
  storageSize: boolean;
  nofile: number;
  /** Host paths of the Docker socket; no mount may expose them. */
  dockerSockets: string[];
  /** The engine routes internal networks to the host's other addresses (Docker < 25): use a netns holder. */
  internalRouteOut: boolean;
}

export class UnsafeMountError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnsafeMountError';
  }
}

/** Refuses mounts that would hand the sandbox the Docker socket or hide the workspace or HOME. */
export function checkMounts(mounts: Mount[], dockerSockets: string[]): void {
  for (const mount of mounts) {
    const source = posix.resolve(mount.source);
    const target = posix.resolve(mount.target);
    for (const socket of dockerSockets) {
      if (socket === source || socket.startsWith(source === '/' ? '/' : `${source}/`)) {
        throw new UnsafeMountError(`mount ${mount.source} would expose the Docker socket (${socket}) inside the sandbox`);
      }
    }
    for (const reserved of [WORKSPACE_PATH, AGENT_HOME]) {
      if (target === reserved || target === '/' || reserved.startsWith(`${target}/`) || target.startsWith(`${reserved}/`)) {
        throw new UnsafeMountError(`mount target ${mount.target} overlaps ${reserved}, which caged manages`);
      }
    }
  }
}

/** How the container meets its network: none, attached to it, or inside a holder's namespace (see netns-holder.ts). */
export type NetworkAttachment = { kind: 'none' } | { kind: 'network'; name: string } | { kind: 'namespace'; holderId: string };

/** dockerode options for a sandbox container: limits and hardening in one place, so inspect can be checked against them. */
export function containerCreateOptions(
  spec: ContainerSpec,
  attachment: NetworkAttachment,
  workspaceDir: string,
  labels: Record<string, string>,
  features: HostFeatures,
): Docker.ContainerCreateOptions {
  const memoryBytes = spec.memoryMiB * 1024 * 1024;
  const env = { HOME: AGENT_HOME, ...spec.env };
  const networkMode =
    attachment.kind === 'none' ? 'none' : attachment.kind === 'network' ? attachment.name : `container:${attachment.holderId}`;
  return {
    name: spec.id,
    // A container in another's network namespace takes that one's hostname.
    ...(attachment.kind === 'namespace' ? {} : { Hostname: spec.id }),
    Image: spec.image,
    Entrypoint: [IDLE_COMMAND[0]!],
    Cmd: IDLE_COMMAND.slice(1),
    User: AGENT_USER,
    WorkingDir: WORKSPACE_PATH,
    Env: Object.entries(env).map(([key, value]) => `${key}=${value}`),
    Labels: labels,
    AttachStdin: false,
    AttachStdout: false,
    AttachStderr: false,
    Tty: false,
    OpenStdin: false,
    HostConfig: {
      // The engine API wants integers; fractional vCPUs become nano-CPUs.
      NanoCpus: Math.round(spec.cpus * 1e9),
      Memory: memoryBytes,
      MemorySwap: memoryBytes,
      PidsLimit: spec.pidsLimit,
      Ulimits: [{ Name: 'nofile', Soft: features.nofile, Hard: features.nofile }],
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges:true'],
      Init: true,
      Privileged: false,
      ReadonlyRootfs: false,
      NetworkMode: networkMode,
      Mounts: [
        { Type: 'bind', Source: workspaceDir, Target: WORKSPACE_PATH, ReadOnly: false },
        ...spec.mounts.map((mount) => ({ Type: 'bind' as const, Source: mount.source, Target: mount.target, ReadOnly: mount.readOnly })),
      ],
      // Writable HOME whatever the image holds; tmpfs pages count against the memory limit.
      Tmpfs: { [AGENT_HOME]: `rw,nosuid,nodev,exec,size=${spec.memoryMiB}m,uid=${AGENT_UID},gid=${AGENT_UID},mode=0700` },
      RestartPolicy: { Name: 'no' },
      AutoRemove: false,
      ...(features.storageSize && spec.diskGiB !== undefined ? { StorageOpt: { size: `${spec.diskGiB}G` } } : {}),
    },
    ...(attachment.kind === 'network' ? { NetworkingConfig: { EndpointsConfig: { [attachment.name]: {} } } } : {}),
  };
}

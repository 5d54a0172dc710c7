import { realpathSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Docker from 'dockerode';
import type { NetworkMode } from '../config/schema.js';
import { workspaceChanges } from './changes.js';
import { checkMounts, containerCreateOptions, DEFAULT_NOFILE, type HostFeatures, type NetworkAttachment } from './container.js';
import { DEFAULT_LOG_CAP_BYTES } from './capped-log.js';
import { dockerMessage, dockerStatus, ignoreGone } from './docker-errors.js';
import { DockerEventStream } from './events.js';
import { runExec } from './exec.js';
import { isSandboxId } from './ids.js';
import { requireImage } from './image.js';
import { sandboxLabels } from './labels.js';
import { hasDefaultRoute, holderName, internalNetworksRouteOut, readRoutes, startNetnsHolder } from './netns-holder.js';
import { createSandboxNetwork, removeSandboxNetwork } from './networks.js';
import { currentOwner, ownerLiveness } from './owner.js';
import { listManagedResources, reapReason, removeResources, type ReapContext } from './reaper.js';
import { sampleFromStats, type DockerStats } from './stats.js';
import { purgeWorkspace } from './workspace-purge.js';
import { defaultWorkspaceRoot, diskUsage, prepareWorkspace } from './workspace.js';
import {
  LABELS,
  type BackendEvent,
  type BackendSandbox,
  type Command,
  type ContainerSpec,
  type ExecOptions,
  type ExecResult,
  type ManagedResource,
  type PreparedWorkspace,
  type ReapOptions,
  type ReapReport,
  type ResourceSample,
  type SandboxBackend,
  type SandboxIdentity,
  type SandboxNetwork,
  type WorkspaceChanges,
  type WorkspaceSource,
} from './types.js';

export interface DockerBackendOptions {
  /** Default: dockerode's own choice (DOCKER_HOST, else /var/run/docker.sock). */
  docker?: Docker;
  /** Where workspaces are cloned; default `$XDG_STATE_HOME/caged/workspaces`. */
  workspaceRoot?: string;
  /** Default: this process (`host:pid:start`). */
  owner?: string;
  /** Remove leftovers of dead controllers before returning the backend. */
  reapOnStart?: boolean;
  /** Size cap of each exec log file (default 10 MiB). */
  logCapBytes?: number;
  nofile?: number;
  /** Errors of background work (event stream) that have no caller to throw to. */
  onError?: (error: unknown) => void;
}

/** Storage drivers that enforce a per-container `size` (overlay2 only on xfs mounted with pquota). */
function storageSizeSupported(info: { Driver?: string; DriverStatus?: [string, string][] }): boolean {
  if (info.Driver === 'btrfs' || info.Driver === 'zfs') return true;
  if (info.Driver !== 'overlay2') return false;
  return (info.DriverStatus ?? []).some(([key, value]) => key === 'Backing Filesystem' && value === 'xfs');
}

function dockerSocketPaths(docker: Docker): string[] {
  const candidates = ['/var/run/docker.sock', '/run/docker.sock'];
  const socketPath = (docker.modem as { socketPath?: unknown }).socketPath;
  if (typeof socketPath === 'string') candidates.push(socketPath);
  const paths = new Set<string>();
  for (const candidate of candidates) {
    paths.add(candidate);
    try {
      paths.add(realpathSync(candidate));
    } catch {
      // Not on this host.
    }
  }
  return [...paths];
}

function realpathOr(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

export async function createDockerBackend(options: DockerBackendOptions = {}): Promise<DockerBackend> {
  const docker = options.docker ?? new Docker();
  const [info, version] = await Promise.all([
    docker.info() as Promise<{ Driver?: string; DriverStatus?: [string, string][] }>,
    docker.version(),
  ]);
  const backend = new DockerBackend(docker, options, {
    storageSize: storageSizeSupported(info),
    nofile: options.nofile ?? DEFAULT_NOFILE,
    dockerSockets: dockerSocketPaths(docker),
    internalRouteOut: internalNetworksRouteOut(version.ApiVersion),
  });
  if (options.reapOnStart) await backend.reap();
  return backend;
}

/** SandboxBackend over a Docker engine. Stateless per sandbox: everything is found again by name and label. */
export class DockerBackend implements SandboxBackend {
  readonly owner: string;
  readonly workspaceRoot: string;
  private readonly listeners = new Set<(event: BackendEvent) => void>();
  private events: DockerEventStream | undefined;
  private eventsReady: Promise<void> | undefined;

  constructor(
    readonly docker: Docker,
    private readonly options: DockerBackendOptions,
    private features: HostFeatures,
  ) {
    this.owner = options.owner ?? currentOwner();
    // Real path: controllers reaching one state directory through a symlink agree on its label.
    this.workspaceRoot = realpathOr(resolve(options.workspaceRoot ?? defaultWorkspaceRoot()));
  }

  workspaceDir(id: string): string {
    if (!isSandboxId(id)) throw new Error(`not a sandbox id: ${id}`);
    return join(this.workspaceRoot, id);
  }

  labelsFor(identity: SandboxIdentity): Record<string, string> {
    return sandboxLabels(identity, this.owner, this.workspaceRoot);
  }

  async createNetwork(identity: SandboxIdentity, mode: NetworkMode, options: { holderImage?: string } = {}): Promise<SandboxNetwork> {
    const labels = this.labelsFor(identity);
    const network = await createSandboxNetwork(this.docker, identity.id, mode, labels);
    if (!options.holderImage || !this.needsHolder(network)) return network;
    try {
      await requireImage(this.docker, options.holderImage);
      return { ...network, holderId: await startNetnsHolder(this.docker, identity.id, options.holderImage, network, labels) };
    } catch (error) {
      await removeSandboxNetwork(this.docker, identity.id);
      throw error;
    }
  }

  /** Docker before 25 routes internal networks to the host: the sandbox joins a holder's namespace instead. */
  private needsHolder(network: SandboxNetwork): boolean {
    return (network.mode === 'gateway' || network.mode === 'allowlist') && this.features.internalRouteOut;
  }

  prepareWorkspace(id: string, source: WorkspaceSource): Promise<PreparedWorkspace> {
    this.workspaceDir(id);
    return prepareWorkspace(this.workspaceRoot, id, source);
  }

  async createContainer(spec: ContainerSpec, network: SandboxNetwork, workspaceDir: string): Promise<BackendSandbox> {
    const labels = this.labelsFor(spec);
    const internal = network.mode === 'gateway' || network.mode === 'allowlist';
    // A holder started with the network goes too when this fails, whatever the step.
    let holderId = network.holderId;
    let container: Docker.Container | undefined;
    try {
      this.workspaceDir(spec.id);
      // Through symlinks too: /tmp/x -> /run would hand over the socket as surely as /run.
      checkMounts([...spec.mounts, ...spec.mounts.map((mount) => ({ ...mount, source: realpathOr(mount.source) }))], this.features.dockerSockets);
      if (network.mode !== 'none' && !network.name) throw new Error(`sandbox ${spec.id}: network mode ${network.mode} needs its network created first`);
      await requireImage(this.docker, spec.image);
      if (this.needsHolder(network)) holderId ??= await startNetnsHolder(this.docker, spec.id, spec.image, network, labels);
      const attachment: NetworkAttachment =
        network.mode === 'none' ? { kind: 'none' } : holderId ? { kind: 'namespace', holderId } : { kind: 'network', name: network.name! };
      container = await this.createWithStorageFallback(spec, attachment, workspaceDir, labels);
      try {
        await container.start();
      } catch (error) {
        throw new Error(`sandbox ${spec.id} could not start: ${dockerMessage(error)}`, { cause: error });
      }
      // Fail closed: whatever the engine, an internal sandbox must have no route off its subnet.
      if (internal && hasDefaultRoute(await readRoutes(container))) {
        throw new Error(`sandbox ${spec.id}: its internal network still has a default route; refusing to run it`);
      }
    } catch (error) {
      if (container) await ignoreGone(() => container!.remove({ force: true }));
      if (holderId) await ignoreGone(() => this.docker.getContainer(holderId!).remove({ force: true }));
      throw error;
    }
    return { id: spec.id, containerId: container.id, workspaceDir, network };
  }

  private async createWithStorageFallback(
    spec: ContainerSpec,
    attachment: NetworkAttachment,
    workspaceDir: string,
    labels: Record<string, string>,
  ): Promise<Docker.Container> {
    try {
      return await this.docker.createContainer(containerCreateOptions(spec, attachment, workspaceDir, labels, this.features));
    } catch (error) {
      // The driver looked able to limit disk but is not (overlay2 on xfs without pquota): measure instead.
      if (!this.features.storageSize || !/storage-?opt|quota/i.test(dockerMessage(error))) throw error;
      this.features = { ...this.features, storageSize: false };
      return this.docker.createContainer(containerCreateOptions(spec, attachment, workspaceDir, labels, this.features));
    }
  }

  exec(id: string, command: Command, options?: ExecOptions): Promise<ExecResult> {
    return runExec({ docker: this.docker, sandboxId: id, logCapBytes: this.options.logCapBytes ?? DEFAULT_LOG_CAP_BYTES }, command, options);
  }

  /** Stamped with the time of asking: a container seen running then was running at that moment already. */
  async sample(id: string): Promise<ResourceSample> {
    const at = Date.now();
    try {
      const stats = (await this.docker.getContainer(id).stats({ stream: false, 'one-shot': true })) as DockerStats;
      return sampleFromStats(stats, at);
    } catch (error) {
      if (dockerStatus(error) === 404) return { at, running: false, cpuNanos: 0, memoryBytes: 0 };
      throw error;
    }
  }

  workspaceBytes(id: string): Promise<number> {
    return diskUsage(this.workspaceDir(id));
  }

  workspaceChanges(id: string, baseCommit: string, options?: { maxPatchBytes?: number }): Promise<WorkspaceChanges> {
    return workspaceChanges(this.workspaceDir(id), baseCommit, options);
  }

  async kill(id: string): Promise<void> {
    await ignoreGone(() => this.docker.getContainer(id).kill({ signal: 'SIGKILL' }));
  }

  async destroy(id: string, options: { keepWorkspace?: boolean } = {}): Promise<void> {
    const dir = this.workspaceDir(id);
    const container = this.docker.getContainer(id);
    const info = await container.inspect().catch(() => undefined);
    await ignoreGone(() => container.remove({ force: true, v: true }));
    await ignoreGone(() => this.docker.getContainer(holderName(id)).remove({ force: true }));
    await removeSandboxNetwork(this.docker, id);
    if (!options.keepWorkspace) await purgeWorkspace(this.docker, dir, info?.Config.Image, this.cleanupLabels(id));
  }

  /** Subscribes to Docker's event stream on first use; `watchEvents()` tells when it is live. */
  onEvent(listener: (event: BackendEvent) => void): () => void {
    this.listeners.add(listener);
    this.watchEvents().catch((error: unknown) => this.options.onError?.(error));
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Resolves once Docker's event stream is subscribed; events from then on reach `onEvent` listeners. */
  watchEvents(): Promise<void> {
    if (!this.eventsReady) {
      this.events = new DockerEventStream(
        this.docker,
        (event) => {
          for (const listener of this.listeners) listener(event);
        },
        { ...(this.options.onError ? { onError: this.options.onError } : {}) },
      );
      this.eventsReady = this.events.start();
    }
    return this.eventsReady;
  }

  listManaged(filter?: { owner?: string; run?: string }): Promise<ManagedResource[]> {
    return listManagedResources(this.docker, filter);
  }

  async reap(options: ReapOptions = {}): Promise<ReapReport> {
    const resources = await listManagedResources(this.docker, options.run ? { run: options.run } : {});
    const context: ReapContext = {
      all: options.all === true,
      now: options.now ?? new Date(),
      liveness: (owner: string) => ownerLiveness(owner, this.owner),
      ...(options.anyWorkspaceRoot ? {} : { workspaceRoot: this.workspaceRoot }),
    };
    const doomed = resources.filter((resource) => reapReason(resource, context) !== undefined);
    const report = { removed: doomed, kept: resources.length - doomed.length, unpurged: [] };
    if (options.dryRun) return report;
    await removeResources(this.docker, doomed);
    // A sandbox's workspace is where its container mounted it (another state directory's, for
    // `caged reap`); without a container left, where this backend would have put it.
    const mounted = new Map(doomed.filter((r) => r.workspace).map((r) => [r.sandboxId, r.workspace!]));
    const images = new Map(doomed.filter((r) => r.image).map((r) => [r.sandboxId, r.image!]));
    const unpurged: ReapReport['unpurged'] = [];
    for (const sandboxId of new Set(doomed.map((resource) => resource.sandboxId).filter(isSandboxId))) {
      const dir = mounted.get(sandboxId) ?? this.workspaceDir(sandboxId);
      try {
        await purgeWorkspace(this.docker, dir, images.get(sandboxId), this.cleanupLabels(sandboxId));
      } catch (error) {
        unpurged.push({ sandboxId, dir, message: error instanceof Error ? error.message : String(error) });
      }
    }
    return { ...report, unpurged };
  }

  async close(): Promise<void> {
    this.events?.close();
    this.listeners.clear();
  }

  /** The workspace clean-up container is caged's too, and short-lived. */
  private cleanupLabels(id: string): Record<string, string> {
    return { ...this.labelsFor({ id, labels: {}, expiresAt: new Date(Date.now() + 10 * 60_000) }), [LABELS.role]: 'cleanup' };
  }
}

import type { NetworkMode } from '../config/schema.js';

/** Lifecycle of a sandbox. `killed` always means the budget was hit. */
export const SANDBOX_STATUSES = ['creating', 'running', 'completed', 'failed', 'killed', 'timed_out', 'cancelled', 'destroyed'] as const;
export type SandboxStatus = (typeof SANDBOX_STATUSES)[number];
export const FINAL_STATUSES: ReadonlySet<SandboxStatus> = new Set(['completed', 'failed', 'killed', 'timed_out', 'cancelled', 'destroyed']);

/** Labels on every container, network and volume caged creates. */
export const LABELS = {
  managed: 'dev.caged.managed',
  id: 'dev.caged.id',
  owner: 'dev.caged.owner',
  budgetUsd: 'dev.caged.budget_usd',
  expiresAt: 'dev.caged.expires_at',
  run: 'dev.caged.run',
  tenant: 'dev.caged.tenant',
  template: 'dev.caged.template',
  /** Set on caged's helper containers (network holder, clean-up); absent on the sandbox itself. */
  role: 'dev.caged.role',
  /** Kept on purpose (`--keep`): only its expiry or an explicit reap removes it. */
  keep: 'dev.caged.keep',
  /**
   * The workspace root of the controller that made it (one per state directory). A reaper
   * started with another root leaves what a dead controller of this one left, and a reaper that
   * does take it knows where the workspace is.
   */
  workspaces: 'dev.caged.workspaces',
} as const;

export const SANDBOX_ID_PATTERN = /^cage-[0-9a-f]{8}$/;

export interface Mount {
  source: string;
  target: string;
  readOnly: boolean;
}

export interface WorkspaceSource {
  /** https URL, `owner/name` (GitHub), local path or file:// URL; none = an empty git repo. */
  repo?: string;
  ref?: string;
  /** Token for private GitHub repos; reaches git only through a credential helper. */
  gitToken?: string;
}

/** What every resource of one sandbox is labelled with. */
export interface SandboxIdentity {
  id: string;
  /** Extra labels (run id, tenant); the backend adds the dev.caged.* basics itself. */
  labels: Record<string, string>;
  budgetMicros?: number;
  expiresAt: Date;
}

export interface ContainerSpec extends SandboxIdentity {
  /** A Docker image reference; `templateImage(name)` gives a template's. */
  image: string;
  cpus: number;
  memoryMiB: number;
  diskGiB?: number;
  pidsLimit: number;
  /** Environment of the sandbox; never contains a provider key (the engine guarantees it). */
  env: Record<string, string>;
  mounts: Mount[];
}

/** The per-sandbox network; the host side listens on `gatewayIp` (gateway and egress proxy). */
export interface SandboxNetwork {
  mode: NetworkMode;
  name?: string;
  id?: string;
  gatewayIp?: string;
  subnet?: string;
  /** The netns holder already running on it (engines whose internal networks route out). */
  holderId?: string;
}

export interface PreparedWorkspace {
  /** Host directory bind-mounted at /workspace. */
  dir: string;
  /** The commit the workspace started from; diffs are taken against it. */
  baseCommit: string;
}

export interface ChangedFile {
  path: string;
  /** null for binary files. */
  insertions: number | null;
  deletions: number | null;
}

export interface WorkspaceChanges {
  files: ChangedFile[];
  insertions: number;
  deletions: number;
  patch: string;
  /** The patch was cut at the size cap. */
  patchTruncated: boolean;
}

export interface BackendSandbox {
  id: string;
  containerId: string;
  workspaceDir: string;
  network: SandboxNetwork;
}

export type Command = { argv: string[] } | { shell: string };

export interface ExecOptions {
  env?: Record<string, string>;
  workdir?: string;
  /** Default: the agent user (uid 1000). */
  user?: string;
  timeoutMs?: number;
  signal?: AbortSignal;
  onStdout?: (chunk: Buffer) => void;
  onStderr?: (chunk: Buffer) => void;
  /** Bytes of each stream kept in the result's tail (default 64 KiB). */
  tailBytes?: number;
  /** A file on the host that receives the stream too (capped by the backend). */
  logFile?: string;
}

export interface ExecResult {
  exitCode: number | null;
  timedOut: boolean;
  /** `signal` aborted the command. */
  cancelled: boolean;
  /** The container died (killed, OOM) while the command ran. */
  aborted: boolean;
  stdoutTail: string;
  stderrTail: string;
  durationMs: number;
}

export interface ResourceSample {
  at: number;
  running: boolean;
  cpuNanos: number;
  memoryBytes: number;
}

export type BackendEvent =
  | { type: 'oom'; id: string }
  | { type: 'die'; id: string; exitCode: number; oomKilled: boolean };

export interface ManagedResource {
  kind: 'container' | 'network' | 'volume';
  dockerId: string;
  sandboxId: string;
  owner: string;
  expiresAt?: Date;
  labels: Record<string, string>;
}

export interface ReapOptions {
  /** Everything listed goes, live or not. */
  all?: boolean;
  run?: string;
  /** The time expiries are compared with (default: now). */
  now?: Date;
  /**
   * Also take what dead controllers of other state directories left (`caged reap`). Otherwise
   * those are left to their own directory's next controller, or to their expiry.
   */
  anyWorkspaceRoot?: boolean;
  /** Report what would go, remove nothing. */
  dryRun?: boolean;
}

export interface ReapReport {
  removed: ManagedResource[];
  kept: number;
  /** Workspaces that could not be deleted (their containers and networks are gone). */
  unpurged: { sandboxId: string; dir: string; message: string }[];
}

/** The sandbox half of the engine. The Docker implementation lives in docker.ts. */
export interface SandboxBackend {
  /** Identifies this controller in `dev.caged.owner` labels. */
  readonly owner: string;
  /**
   * With `holderImage`, an internal network that needs a netns holder gets it now, in this image,
   * instead of in `createContainer`: the slowest part of a start then overlaps the workspace's.
   */
  createNetwork(identity: SandboxIdentity, mode: NetworkMode, options?: { holderImage?: string }): Promise<SandboxNetwork>;
  prepareWorkspace(id: string, source: WorkspaceSource): Promise<PreparedWorkspace>;
  /** Creates and starts the container (an idle process; work arrives through exec). */
  createContainer(spec: ContainerSpec, network: SandboxNetwork, workspaceDir: string): Promise<BackendSandbox>;
  exec(id: string, command: Command, options?: ExecOptions): Promise<ExecResult>;
  sample(id: string): Promise<ResourceSample>;
  workspaceBytes(id: string): Promise<number>;
  /** Files changed in the workspace since `baseCommit` (committed or not), read on the host. */
  workspaceChanges(id: string, baseCommit: string, options?: { maxPatchBytes?: number }): Promise<WorkspaceChanges>;
  /** Stops the container at once (SIGKILL); the workspace stays. */
  kill(id: string): Promise<void>;
  destroy(id: string, options?: { keepWorkspace?: boolean }): Promise<void>;
  onEvent(listener: (event: BackendEvent) => void): () => void;
  listManaged(filter?: { owner?: string; run?: string }): Promise<ManagedResource[]>;
  /** Removes leftovers whose owner process is gone or that are past expires_at. */
  reap(options?: ReapOptions): Promise<ReapReport>;
  close(): Promise<void>;
}

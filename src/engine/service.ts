import type { AgentConfig, NetworkMode, ResolvedConfig } from '../config/schema.js';
import type { Micros } from '../money.js';
import type { Command, SandboxStatus } from '../sandbox/types.js';

export interface CostBreakdown {
  llm: Micros;
  compute: Micros;
  total: Micros;
}

export interface TokenTotals {
  input: number;
  output: number;
  cache_read: number;
  cache_write: number;
}

export interface Changes {
  files: number;
  insertions: number;
  deletions: number;
}

/** Everything a face shows about one sandbox. Money in integer micro-dollars. */
export interface SandboxInfo {
  id: string;
  name?: string;
  template: string;
  image: string;
  status: SandboxStatus;
  reason?: string;
  repo?: string;
  ref?: string;
  budget: Micros;
  cost: CostBreakdown;
  tokens: TokenTotals;
  /** What the agent itself claimed to spend (never used for the budget). */
  agent_reported_cost?: Micros;
  exit_code?: number | null;
  final_message?: string;
  changes?: Changes;
  resources: { cpu: number; memory: number; disk?: number };
  network_mode: NetworkMode;
  agent?: AgentConfig;
  created_at: string;
  started_at?: string;
  ended_at?: string;
  labels?: Record<string, string>;
}

export interface LogChunk {
  text: string;
  /** The byte offset after `text`; a character still being written is left for the next read. */
  next: number;
}

export interface CreateSandboxRequest {
  config: ResolvedConfig;
  name?: string;
  repo?: string;
  ref?: string;
  /** Token for cloning private GitHub repos; reaches git through a credential helper only. */
  gitToken?: string;
  /** When set, the agent (`config.agent`) runs this prompt as the sandbox's job. */
  prompt?: string;
  /** Or a command as the job. */
  command?: Command;
  /** `--env K=V` values. Provider keys among them go to the gateway, never into the container. */
  env?: Record<string, string>;
  /** Secret values by name (the names come from `config.secrets`). */
  secrets?: Record<string, string>;
  labels?: Record<string, string>;
  keepWorkspace?: boolean;
}

export interface ExecRequestOptions {
  env?: Record<string, string>;
  workdir?: string;
  timeoutMs?: number;
  signal?: AbortSignal;
  onStdout?: (chunk: Buffer) => void;
  onStderr?: (chunk: Buffer) => void;
}

export interface ExecOutcome {
  exitCode: number | null;
  timedOut: boolean;
  /** The sandbox ended while the command ran (budget kill, timeout, OOM). */
  sandboxStatus: SandboxStatus;
  reason?: string;
}

export interface ListFilter {
  status?: SandboxStatus[];
  /** Include destroyed sandboxes. */
  all?: boolean;
  label?: Record<string, string>;
}

export type EngineEvent =
  | { type: 'created'; sandbox: SandboxInfo }
  | { type: 'status'; id: string; status: SandboxStatus; reason?: string }
  | { type: 'output'; id: string; stream: 'stdout' | 'stderr'; text: string }
  /** A short human line about what the agent is doing (its text or tool use). */
  | { type: 'progress'; id: string; text: string }
  | { type: 'cost'; id: string; cost: CostBreakdown; budget: Micros }
  | { type: 'budget_exceeded'; id: string; spent: Micros; budget: Micros; message: string }
  | { type: 'completed'; sandbox: SandboxInfo };

/**
 * The one interface every face (CLI, server, action) uses. `LocalEngine` implements it
 * in-process; `RemoteClient` implements it over the REST API of `caged serve`.
 */
export interface SandboxService {
  create(request: CreateSandboxRequest): Promise<SandboxInfo>;
  exec(id: string, command: Command, options?: ExecRequestOptions): Promise<ExecOutcome>;
  get(id: string): Promise<SandboxInfo>;
  list(filter?: ListFilter): Promise<SandboxInfo[]>;
  /** Resolves when the sandbox reaches a final status (its job ended, or it was killed/cancelled). */
  wait(id: string, options?: { signal?: AbortSignal }): Promise<SandboxInfo>;
  /** The workspace diff against the checkout (git patch text; empty when unchanged). */
  patch(id: string): Promise<string>;
  /** Output of the job and execs from byte `offset` (default 0) on; `next` is where to go on from. */
  logs(id: string, options?: { offset?: number }): Promise<LogChunk>;
  /** Stops a running sandbox (status `cancelled`) and removes its container, network and workspace. */
  destroy(id: string, options?: { force?: boolean; keepWorkspace?: boolean }): Promise<SandboxInfo>;
  subscribe(listener: (event: EngineEvent) => void): () => void;
  close(): Promise<void>;
}

export class SandboxNotFoundError extends Error {
  constructor(readonly id: string) {
    super(`no sandbox ${id}`);
    this.name = 'SandboxNotFoundError';
  }
}

export class SandboxStateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SandboxStateError';
  }
}

import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { resolveAgentBinary, type ResolvedAgentBinary } from '../agents/binaries.js';
import { claudeEnv } from '../agents/claude.js';
import { chooseAgent } from '../agents/registry.js';
import type { OutputReader } from '../agents/types.js';
import { InputError } from '../config/problems.js';
import { startEgressProxy, proxyEnv, type EgressProxy } from '../gateway/egress.js';
import { Gateway, type GatewayListener, type UsageEvent } from '../gateway/gateway.js';
import { Ledger, type ExceededEvent } from '../ledger/ledger.js';
import { formatUsd, type Micros } from '../money.js';
import { computeRatesFrom, unmeteredComputeCost } from '../pricing/compute.js';
import { createPriceBook } from '../pricing/price.js';
import { newSandboxId } from '../sandbox/ids.js';
import { sandboxImage } from '../sandbox/image.js';
import { runInitScript } from '../sandbox/init-script.js';
import { ComputeMeter } from '../sandbox/meter.js';
import {
  FINAL_STATUSES,
  LABELS,
  type BackendEvent,
  type Command,
  type SandboxBackend,
  type SandboxNetwork,
  type SandboxStatus,
} from '../sandbox/types.js';
import { EventHub } from './events.js';
import { checkTimeLimits, cpuIsActive, diskLimitReason } from './limits.js';
import { agentCacheRoot, enginePaths, type EnginePaths } from './paths.js';
import { splitProviderKeys, type ProviderKeys } from './provider-keys.js';
import {
  SandboxNotFoundError,
  SandboxStateError,
  type CreateSandboxRequest,
  type EngineEvent,
  type ExecOutcome,
  type ExecRequestOptions,
  type ListFilter,
  type LogChunk,
  type SandboxInfo,
  type SandboxService,
} from './service.js';
import { readLogChunk } from './log-chunk.js';

export interface LocalEngineOptions {
  backend: SandboxBackend;
  stateRoot: string;
  ledger?: Ledger;
  gateway?: Gateway;
  /** Upstream LLM APIs (default: env CAGED_UPSTREAM_*, else the providers' public APIs). */
  upstreams?: { anthropic?: string; openai?: string };
  agentCache?: string;
  /** How often compute is metered and limits are checked. */
  tickMs?: number;
  /** WARN lines and notices (e.g. an agent download) for humans; default stderr. */
  log?: (line: string) => void;
  /** Labels put on every sandbox of this engine (e.g. the action's run id). */
  labels?: Record<string, string>;
}

const PROMPT_DIR = '/run/caged';
const PROMPT_FILE = `${PROMPT_DIR}/prompt.txt`;
const BASE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const DISK_CHECK_EVERY_TICKS = 5;
const MAX_PATCH_BYTES = 5 * 1024 * 1024;
/** The container ended under the job with no `die` event to say how (e.g. the Docker engine stopped). */
const STOPPED_UNDER_JOB = 'the sandbox stopped while its job ran (its container ended, or the Docker engine went away)';
/** How long `--keep` sandboxes survive the reaper; `caged reap --all` removes them sooner. */
const KEPT_FOR_MS = 7 * 24 * 3600 * 1000;

interface SandboxRecord {
  info: SandboxInfo;
  request: CreateSandboxRequest;
  keys: ProviderKeys;
  network?: SandboxNetwork;
  baseCommit?: string;
  listeners: Array<GatewayListener | EgressProxy>;
  ready: Promise<void>;
  done: Promise<SandboxInfo>;
  resolveDone: (info: SandboxInfo) => void;
  /** Set when caged itself stops the container, so its `die` event is not read as a crash. */
  stopping: boolean;
  meter?: ComputeMeter;
  ticker?: NodeJS.Timeout;
  ticks: number;
  lastActivityAt: number;
  startedAt?: number;
  lastCpuSampleAt?: number;
  execs: Set<AbortController>;
  gatewayUrl?: string;
  token?: string;
  agentBinaries: ResolvedAgentBinary[];
  finishing?: Promise<void>;
}

/** What an adopted sandbox had spent, from its controller's ledger. */
export interface AdoptionSpend {
  llm: Micros;
  compute: Micros;
  /** The time of its last compute charge (epoch ms). */
  computeChargedUntil?: number;
}

/** See `LocalEngine.adoptionState` and `LocalEngine.adopt`. */
export interface AdoptionState {
  request: Omit<CreateSandboxRequest, 'secrets' | 'gitToken'>;
  keys: ProviderKeys;
  baseCommit?: string;
  /** Where the sandbox reaches the gateway (and its egress proxy), and the token it holds. */
  gateway?: { host: string; port: number; token: string; proxyPort?: number };
}

/** The engine every face uses in-process: sandbox backend + gateway + ledger + guard. */
export class LocalEngine implements SandboxService {
  readonly ledger: Ledger;
  readonly gateway: Gateway;
  readonly #backend: SandboxBackend;
  readonly #paths: EnginePaths;
  readonly #hub = new EventHub();
  readonly #records = new Map<string, SandboxRecord>();
  readonly #agentCache: string;
  readonly #tickMs: number;
  readonly #log: (line: string) => void;
  readonly #labels: Record<string, string>;
  readonly #unsubscribe: Array<() => void> = [];
  #closed = false;

  constructor(options: LocalEngineOptions) {
    this.#backend = options.backend;
    this.#paths = enginePaths(options.stateRoot);
    this.ledger = options.ledger ?? new Ledger();
    this.gateway = options.gateway ?? new Gateway({ ledger: this.ledger, upstreams: options.upstreams });
    this.#agentCache = options.agentCache ?? agentCacheRoot();
    this.#tickMs = options.tickMs ?? 1000;
    this.#log = options.log ?? ((line) => process.stderr.write(`${line}\n`));
    this.#labels = options.labels ?? {};

    const onExceeded = (event: ExceededEvent) => void this.#budgetExceeded(event);
    this.ledger.on('exceeded', onExceeded);
    this.#unsubscribe.push(() => this.ledger.off('exceeded', onExceeded));
    const onCharge = (event: { sandboxId: string }) => this.#emitCost(event.sandboxId);
    this.ledger.on('charge', onCharge);
    this.#unsubscribe.push(() => this.ledger.off('charge', onCharge));
    const onUsage = (event: UsageEvent) => this.#recordUsage(event);
    this.gateway.on('usage', onUsage);
    this.#unsubscribe.push(() => this.gateway.off('usage', onUsage));
    const onRequest = (event: { sandboxId: string }) => this.#touch(event.sandboxId);
    this.gateway.on('request', onRequest);
    this.#unsubscribe.push(() => this.gateway.off('request', onRequest));
    this.#unsubscribe.push(this.#backend.onEvent((event) => this.#backendEvent(event)));
  }

  subscribe(listener: (event: EngineEvent) => void): () => void {
    return this.#hub.subscribe(listener);
  }

  async create(request: CreateSandboxRequest): Promise<SandboxInfo> {
    if (this.#closed) throw new SandboxStateError('the engine is shutting down');
    const { config } = request;
    if (config.budget === undefined) {
      throw InputError.at('budget', 'every sandbox needs a budget: set budget in .caged.yaml, the task, or --budget');
    }
    const id = newSandboxId();
    const now = new Date();
    const { keys, env } = splitProviderKeys(request.secrets, request.env);
    const record = this.#newRecord(
      {
        id,
        ...(request.name ? { name: request.name } : {}),
        template: config.template,
        image: sandboxImage({ template: config.template, image: config.image }),
        status: 'creating',
        ...(request.repo ? { repo: request.repo } : {}),
        ...(request.ref ? { ref: request.ref } : {}),
        budget: config.budget,
        cost: { llm: 0, compute: 0, total: 0 },
        tokens: { input: 0, output: 0, cache_read: 0, cache_write: 0 },
        resources: { cpu: config.resources.cpu, memory: config.resources.memory, ...(config.resources.disk ? { disk: config.resources.disk } : {}) },
        network_mode: config.network_mode,
        ...(request.prompt !== undefined || request.command ? { agent: request.command ? { command: commandText(request.command) } : config.agent } : {}),
        created_at: now.toISOString(),
        labels: { ...this.#labels, ...request.labels },
      },
      { ...request, env, secrets: undefined },
      keys,
    );
    this.#records.set(id, record);
    this.ledger.open(id, config.budget);
    this.#hub.emit({ type: 'created', sandbox: this.#snapshot(record) });
    record.ready = this.#provision(record);
    // The job (or the failure) is reported through status; nobody needs to await `ready` here.
    record.ready.then(
      () => this.#startJob(record),
      (error: unknown) => void this.#finish(record, 'failed', errorMessage(error)),
    );
    return this.#snapshot(record);
  }

  /**
   * What a controller keeps (sealed: it holds provider keys and the sandbox's gateway token) to
   * re-adopt a running sandbox with `adopt` after it restarts; undefined until the sandbox runs.
   */
  adoptionState(id: string): AdoptionState | undefined {
    const record = this.#record(id);
    if (record.info.status !== 'running') return undefined;
    const { secrets: _secrets, gitToken: _gitToken, ...request } = record.request;
    const gateway = record.listeners.find((listener): listener is GatewayListener => 'port' in listener && listener.url === record.gatewayUrl);
    const proxy = record.listeners.find((listener) => listener !== gateway);
    return {
      request,
      keys: record.keys,
      ...(record.baseCommit ? { baseCommit: record.baseCommit } : {}),
      ...(gateway && record.token
        ? { gateway: { host: gateway.host, port: gateway.port, token: record.token, ...(proxy ? { proxyPort: Number(new URL(proxy.url).port) } : {}) } }
        : {}),
    };
  }

  /**
   * Takes over a running sandbox of an earlier controller (same host, same state root): the
   * ledger opens with the spend it already had, the gateway serves its token on the same address
   * again, and the guard (budget, compute, idle and wall clock) resumes. Its job, if it had one,
   * cannot be watched again: the caller ends such sandboxes instead.
   *
   * The container ran on while no controller watched it: that time is charged as compute, from
   * `prior.computeChargedUntil` (else its start) to now, before the guard resumes.
   */
  async adopt(info: SandboxInfo, state: AdoptionState, prior: AdoptionSpend): Promise<SandboxInfo> {
    if (this.#closed) throw new SandboxStateError('the engine is shutting down');
    if (this.#records.has(info.id)) throw new SandboxStateError(`sandbox ${info.id} is already this engine's`);
    if (!(await this.#backend.sample(info.id)).running) throw new SandboxStateError(`the container of ${info.id} no longer runs`);
    const { config } = state.request;
    if (config.budget === undefined) throw new SandboxStateError(`sandbox ${info.id} has no budget`);
    const startedAt = Date.parse(info.started_at ?? info.created_at);
    const record = this.#newRecord({ ...structuredClone(info), status: 'running' }, state.request, state.keys, {
      ...(state.baseCommit ? { baseCommit: state.baseCommit } : {}),
      startedAt: Number.isNaN(startedAt) ? Date.now() : startedAt,
    });
    this.#records.set(info.id, record);
    try {
      if (state.gateway) {
        const { host, port, token, proxyPort } = state.gateway;
        this.#registerGateway(record, token);
        const listener = await this.gateway.listen(host, port);
        record.listeners.push(listener);
        record.gatewayUrl = listener.url.replace(/\/$/, '');
        record.token = token;
        if (proxyPort !== undefined) record.listeners.push(await startEgressProxy({ host, port: proxyPort, allowed: config.allowed_hosts }));
      }
    } catch (error) {
      this.gateway.unregister(info.id);
      await Promise.all(record.listeners.map((listener) => listener.close().catch(() => undefined)));
      this.#records.delete(info.id);
      throw error;
    }
    // Opened last: a budget already spent ends the sandbox at once, through the usual path.
    this.ledger.open(info.id, config.budget, { llm: prior.llm, compute: prior.compute });
    const unwatchedMs = Date.now() - (prior.computeChargedUntil ?? record.startedAt ?? Date.now());
    const unwatched = unmeteredComputeCost(config, unwatchedMs);
    if (unwatched > 0) this.ledger.charge(info.id, 'compute', unwatched, { unwatched_ms: unwatchedMs });
    if (!isFinal(record.info.status)) this.#startWatch(record);
    return this.#snapshot(record);
  }

  async #provision(record: SandboxRecord): Promise<void> {
    const { id } = record.info;
    const { config } = record.request;
    const keep = record.request.keepWorkspace === true;
    const identity = {
      id,
      labels: { ...this.#labels, ...record.request.labels, [LABELS.template]: config.template, ...(keep ? { [LABELS.keep]: 'true' } : {}) },
      budgetMicros: config.budget,
      expiresAt: new Date(Date.now() + (keep ? KEPT_FOR_MS : (config.max_duration + 600) * 1000)),
    };
    const runDir = join(this.#paths.sandbox(id), 'run');
    // Network (+ gateway), workspace and agent binaries do not depend on each other.
    const [opened, workspace, agentBinaries] = await allSettledOrThrow([
      this.#backend.createNetwork(identity, config.network_mode, { holderImage: record.info.image }).then(async (network) => {
        record.network = network;
        this.#throwIfEnded(record);
        return { network, env: await this.#openGateway(record, network) };
      }),
      this.#backend.prepareWorkspace(id, { repo: record.request.repo, ref: record.request.ref, gitToken: record.request.gitToken }),
      mkdir(runDir, { recursive: true, mode: 0o755 })
        .then(() => writeFile(join(runDir, 'prompt.txt'), record.request.prompt ?? '', { mode: 0o644 }))
        .then(() =>
          Promise.all(
            config.agents.map((name) =>
              resolveAgentBinary(name, { cacheRoot: this.#agentCache, onInstall: (message) => this.#log(`caged: ${message}`) }, agentVersion(config.agent, name)),
            ),
          ),
        )
        .then((binaries) => binaries.filter((binary): binary is ResolvedAgentBinary => binary !== undefined)),
    ]);
    record.baseCommit = workspace.baseCommit;
    record.agentBinaries = agentBinaries;
    this.#throwIfEnded(record);
    const gatewayEnv = opened.env;

    const env: Record<string, string> = {
      ...config.env,
      ...record.request.env,
      ...(config.agents.includes('claude') ? claudeEnv({}) : {}),
      ...gatewayEnv,
      HOME: '/home/agent',
      PATH: [...record.agentBinaries.map((binary) => binary.pathDir), BASE_PATH].join(':'),
      CAGED_SANDBOX_ID: id,
      CAGED_PROMPT_FILE: PROMPT_FILE,
      ...(record.request.prompt !== undefined ? { CAGED_PROMPT: record.request.prompt } : {}),
    };
    await this.#backend.createContainer(
      {
        ...identity,
        image: record.info.image,
        cpus: config.resources.cpu,
        memoryMiB: config.resources.memory,
        diskGiB: config.resources.disk,
        pidsLimit: config.resources.pids,
        env,
        mounts: [...record.agentBinaries.map((binary) => binary.mount), { source: runDir, target: PROMPT_DIR, readOnly: true }],
      },
      opened.network,
      workspace.dir,
    );
    this.#throwIfEnded(record);
    record.startedAt = Date.now();
    record.lastActivityAt = record.startedAt;
    record.info.started_at = new Date(record.startedAt).toISOString();
    this.#startWatch(record);
    this.#setStatus(record, 'running');

    if (config.init_script) {
      const init = await runInitScript({ exec: (_id, command, options) => this.#run(record, command, options ?? {}) }, id, config.init_script);
      if (!init.ok && !isFinal(record.info.status)) throw new Error(init.reason);
    }
  }

  async #openGateway(record: SandboxRecord, network: SandboxNetwork): Promise<Record<string, string>> {
    const { config } = record.request;
    if (config.network_mode === 'none' || !network.gatewayIp) return {};
    const token = this.#registerGateway(record);
    const listener = await this.gateway.listen(network.gatewayIp);
    record.listeners.push(listener);
    record.gatewayUrl = listener.url.replace(/\/$/, '');
    record.token = token;
    const env: Record<string, string> = {
      ANTHROPIC_BASE_URL: record.gatewayUrl,
      ANTHROPIC_API_KEY: token,
      OPENAI_BASE_URL: `${record.gatewayUrl}/v1`,
      OPENAI_API_KEY: token,
    };
    if (config.network_mode === 'allowlist') {
      const proxy = await startEgressProxy({ host: network.gatewayIp, allowed: config.allowed_hosts });
      record.listeners.push(proxy);
      Object.assign(env, proxyEnv(proxy.url, network.gatewayIp));
    }
    return env;
  }

  #startJob(record: SandboxRecord): void {
    const { request } = record;
    if (request.prompt === undefined && !request.command) return;
    void this.#runJob(record).catch((error: unknown) => this.#finish(record, 'failed', errorMessage(error)));
  }

  async #runJob(record: SandboxRecord): Promise<void> {
    const { request } = record;
    const { config } = request;
    let command: Command;
    let env: Record<string, string> = {};
    let reader: OutputReader | undefined;
    if (request.command) {
      command = request.command;
    } else {
      const choice = chooseAgent(config.agent, config.model);
      const launch = choice.driver.launch({
        prompt: request.prompt ?? '',
        promptFile: PROMPT_FILE,
        model: choice.model,
        args: choice.args,
        remainingBudget: this.ledger.available(record.info.id),
        gateway: record.gatewayUrl && record.token ? { url: record.gatewayUrl, token: record.token } : undefined,
      });
      command = { argv: launch.argv };
      env = launch.env;
      reader = choice.driver.reader();
    }
    const result = await this.#run(record, command, { env, reader });
    if (reader) {
      const agent = reader.result();
      if (agent.finalMessage !== undefined) record.info.final_message = agent.finalMessage;
      if (agent.reportedCost !== undefined) record.info.agent_reported_cost = agent.reportedCost;
      // A sandbox already ended (budget kill, timeout) keeps that reason, even when the agent got to print its own error first.
      if (agent.error && result.exitCode !== 0 && !isFinal(record.info.status)) record.info.reason = agent.error;
    } else {
      const tail = result.stdoutTail.trim();
      if (tail) record.info.final_message = tail.slice(-4000);
    }
    record.info.exit_code = result.exitCode;
    if (isFinal(record.info.status)) return;
    if (result.exitCode === 0) await this.#finish(record, 'completed');
    else await this.#finish(record, 'failed', record.info.reason ?? (result.aborted ? STOPPED_UNDER_JOB : `exit code ${result.exitCode ?? 'unknown'}`));
  }

  async #run(
    record: SandboxRecord,
    command: Command,
    options: { reader?: OutputReader } & ExecRequestOptions,
  ) {
    const controller = new AbortController();
    record.execs.add(controller);
    const abort = () => controller.abort();
    options.signal?.addEventListener('abort', abort, { once: true });
    const stream = (name: 'stdout' | 'stderr', forward?: (chunk: Buffer) => void) => (chunk: Buffer) => {
      this.#touch(record.info.id);
      if (name === 'stdout' && options.reader) {
        for (const text of options.reader.push(chunk)) this.#hub.emit({ type: 'progress', id: record.info.id, text });
      }
      forward?.(chunk);
      this.#hub.emit({ type: 'output', id: record.info.id, stream: name, text: chunk.toString('utf8') });
    };
    try {
      return await this.#backend.exec(record.info.id, command, {
        env: { ...options.env },
        workdir: options.workdir,
        timeoutMs: options.timeoutMs,
        signal: controller.signal,
        onStdout: stream('stdout', options.onStdout),
        onStderr: stream('stderr', options.onStderr),
        logFile: join(this.#paths.sandbox(record.info.id), 'output.log'),
      });
    } finally {
      options.signal?.removeEventListener('abort', abort);
      record.execs.delete(controller);
    }
  }

  async exec(id: string, command: Command, options: ExecRequestOptions = {}): Promise<ExecOutcome> {
    const record = this.#record(id);
    await record.ready.catch(() => undefined);
    if (record.info.status !== 'running') {
      throw new SandboxStateError(`sandbox ${id} is ${record.info.status}${record.info.reason ? ` (${record.info.reason})` : ''}; exec needs a running sandbox`);
    }
    const result = await this.#run(record, command, options);
    return {
      exitCode: result.exitCode,
      timedOut: result.timedOut,
      sandboxStatus: record.info.status,
      ...(record.info.reason ? { reason: record.info.reason } : {}),
    };
  }

  async get(id: string): Promise<SandboxInfo> {
    return this.#snapshot(this.#record(id));
  }

  async list(filter: ListFilter = {}): Promise<SandboxInfo[]> {
    return [...this.#records.values()]
      .map((record) => this.#snapshot(record))
      .filter((info) => (filter.all || info.status !== 'destroyed') && (!filter.status || filter.status.includes(info.status)))
      .filter((info) => Object.entries(filter.label ?? {}).every(([key, value]) => info.labels?.[key] === value));
  }

  async wait(id: string, options: { signal?: AbortSignal } = {}): Promise<SandboxInfo> {
    const record = this.#record(id);
    if (!options.signal) return record.done;
    return new Promise<SandboxInfo>((resolve, reject) => {
      const onAbort = () => reject(options.signal?.reason ?? new Error('aborted'));
      options.signal?.addEventListener('abort', onAbort, { once: true });
      record.done.then((info) => {
        options.signal?.removeEventListener('abort', onAbort);
        resolve(info);
      });
    });
  }

  async patch(id: string): Promise<string> {
    const record = this.#record(id);
    if (record.finishing) await record.finishing;
    try {
      return await readFile(join(this.#paths.sandbox(id), 'changes.patch'), 'utf8');
    } catch {
      if (!record.baseCommit || record.info.status === 'destroyed') return '';
      return (await this.#backend.workspaceChanges(id, record.baseCommit, { maxPatchBytes: MAX_PATCH_BYTES })).patch;
    }
  }

  async logs(id: string, options: { offset?: number } = {}): Promise<LogChunk> {
    const record = this.#record(id);
    return readLogChunk(join(this.#paths.sandbox(id), 'output.log'), options.offset ?? 0, !isFinal(record.info.status));
  }

  async destroy(id: string, options: { force?: boolean; keepWorkspace?: boolean } = {}): Promise<SandboxInfo> {
    const record = this.#record(id);
    if (!isFinal(record.info.status)) {
      if (!options.force) {
        throw new SandboxStateError(`sandbox ${id} is ${record.info.status}; use --force to stop and remove it`);
      }
      await this.#finish(record, 'cancelled', 'destroyed by request');
    }
    if (record.finishing) await record.finishing;
    if (record.info.status !== 'destroyed') {
      // Cancelled while being created: let the provisioning step in flight end first, or the network
      // (or container) it goes on to create outlives the removal.
      await record.ready.catch(() => undefined);
      await this.#backend.destroy(id, { keepWorkspace: options.keepWorkspace ?? record.request.keepWorkspace });
      record.info.status = 'destroyed';
      this.#hub.emit({ type: 'status', id, status: 'destroyed', ...(record.info.reason ? { reason: record.info.reason } : {}) });
    }
    return this.#snapshot(record);
  }

  /** Cancels every sandbox that is still going and removes them all (unless kept). */
  async close(options: { keep?: boolean } = {}): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all(
      [...this.#records.values()].map(async (record) => {
        if (!isFinal(record.info.status)) await this.#finish(record, 'cancelled', 'caged is shutting down');
        if (!options.keep && record.info.status !== 'destroyed') {
          await this.destroy(record.info.id, { force: true }).catch(() => undefined);
        }
      }),
    );
    for (const unsubscribe of this.#unsubscribe) unsubscribe();
    await this.gateway.close();
    await this.#backend.close();
  }

  // --- guard ------------------------------------------------------------------------------

  #startWatch(record: SandboxRecord): void {
    const { id } = record.info;
    const { config } = record.request;
    record.meter = new ComputeMeter({
      cpus: config.resources.cpu,
      memoryMiB: config.resources.memory,
      rates: computeRatesFrom(config.pricing?.compute),
      sample: () => this.#backend.sample(id),
      onCharge: (delta) => {
        if (this.ledger.has(id)) this.ledger.charge(id, 'compute', delta);
      },
      intervalMs: this.#tickMs,
    });
    record.meter.start();
    record.ticker = setInterval(() => void this.#tick(record), this.#tickMs);
    record.ticker.unref();
  }

  async #tick(record: SandboxRecord): Promise<void> {
    if (isFinal(record.info.status)) return;
    const { id } = record.info;
    const { config } = record.request;
    record.ticks += 1;
    const now = Date.now();
    const reading = record.meter?.reading;
    if (reading?.lastSampleAt !== undefined && reading.lastSampleAt !== record.lastCpuSampleAt) {
      record.lastCpuSampleAt = reading.lastSampleAt;
      if (cpuIsActive(reading.cpuPercent, config.resources.cpu)) this.#touch(id);
    }
    if (isFinal(record.info.status)) return;
    const verdict = checkTimeLimits(
      {
        startedAt: record.startedAt ?? now,
        lastActivityAt: record.lastActivityAt,
        idleTimeoutMs: config.timeout * 1000,
        maxDurationMs: config.max_duration * 1000,
      },
      now,
    );
    if (verdict) {
      await this.#finish(record, verdict.status, verdict.reason);
      return;
    }
    if (config.resources.disk && record.ticks % DISK_CHECK_EVERY_TICKS === 0) {
      const reason = diskLimitReason(await this.#backend.workspaceBytes(id).catch(() => 0), config.resources.disk);
      if (reason) await this.#finish(record, 'failed', reason);
    }
  }

  #touch(id: string): void {
    const record = this.#records.get(id);
    if (record) record.lastActivityAt = Date.now();
  }

  async #budgetExceeded(event: ExceededEvent): Promise<void> {
    const record = this.#records.get(event.sandboxId);
    if (!record || isFinal(record.info.status)) return;
    const snapshot = this.ledger.snapshot(event.sandboxId);
    const reason = `budget limit reached (${formatUsd(snapshot.committed)}/${formatUsd(snapshot.budget)})`;
    const message = `WARN: Sandbox ${event.sandboxId} terminated — ${reason}`;
    this.#log(message);
    this.#hub.emit({ type: 'budget_exceeded', id: event.sandboxId, spent: snapshot.committed, budget: snapshot.budget, message });
    await this.#finish(record, 'killed', reason);
  }

  #backendEvent(event: BackendEvent): void {
    const record = this.#records.get(event.id);
    if (!record || record.stopping || isFinal(record.info.status)) return;
    if (event.type === 'oom') {
      void this.#finish(record, 'failed', 'oom: the sandbox ran out of memory');
    } else if (event.type === 'die') {
      void this.#finish(record, 'failed', event.oomKilled ? 'oom: the sandbox ran out of memory' : `the container exited with code ${event.exitCode}`);
    }
  }

  #recordUsage(event: UsageEvent): void {
    const record = this.#records.get(event.sandboxId);
    if (!record) return;
    const tokens = record.info.tokens;
    tokens.input += event.usage.input;
    tokens.output += event.usage.output;
    tokens.cache_read += event.usage.cacheRead;
    tokens.cache_write += event.usage.cacheWrite5m + event.usage.cacheWrite1h;
  }

  /**
   * Ends a sandbox once: the first final status wins. Stops the container at once (a budget
   * kill must land within a second), then meters, revokes the gateway token and saves the diff.
   */
  #finish(record: SandboxRecord, status: SandboxStatus, reason?: string): Promise<void> {
    if (record.finishing) return record.finishing;
    const { id } = record.info;
    record.info.status = status;
    if (reason !== undefined) record.info.reason = reason;
    else if (status === 'completed') delete record.info.reason;
    record.info.ended_at = new Date().toISOString();
    record.stopping = true;
    if (record.ticker) clearInterval(record.ticker);
    record.finishing = (async () => {
      await this.#backend.kill(id).catch(() => undefined);
      for (const controller of record.execs) controller.abort();
      await record.meter?.stop();
      this.gateway.unregister(id);
      await Promise.all(record.listeners.map((listener) => listener.close().catch(() => undefined)));
      record.listeners = [];
      await this.#saveChanges(record);
      this.#hub.emit({ type: 'status', id, status, ...(reason ? { reason } : {}) });
      const info = this.#snapshot(record);
      this.#hub.emit({ type: 'completed', sandbox: info });
      record.resolveDone(info);
    })();
    return record.finishing;
  }

  async #saveChanges(record: SandboxRecord): Promise<void> {
    if (!record.baseCommit) return;
    try {
      const changes = await this.#backend.workspaceChanges(record.info.id, record.baseCommit, { maxPatchBytes: MAX_PATCH_BYTES });
      record.info.changes = { files: changes.files.length, insertions: changes.insertions, deletions: changes.deletions };
      await mkdir(this.#paths.sandbox(record.info.id), { recursive: true });
      await writeFile(join(this.#paths.sandbox(record.info.id), 'changes.patch'), changes.patch);
    } catch (error) {
      this.#log(`caged: could not read the changes of ${record.info.id}: ${errorMessage(error)}`);
    }
  }

  // --- helpers -----------------------------------------------------------------------------

  #newRecord(info: SandboxInfo, request: CreateSandboxRequest, keys: ProviderKeys, extra: Partial<SandboxRecord> = {}): SandboxRecord {
    let resolveDone!: (done: SandboxInfo) => void;
    const done = new Promise<SandboxInfo>((resolve) => {
      resolveDone = resolve;
    });
    return {
      info,
      request,
      keys,
      listeners: [],
      ready: Promise.resolve(),
      done,
      resolveDone,
      stopping: false,
      ticks: 0,
      lastActivityAt: Date.now(),
      execs: new Set(),
      agentBinaries: [],
      ...extra,
    };
  }

  /** Registers the sandbox with the gateway (with its own prices and upstreams); returns its token. */
  #registerGateway(record: SandboxRecord, token?: string): string {
    const { config } = record.request;
    return this.gateway.register(record.info.id, {
      keys: record.keys,
      prices: config.pricing?.models ? createPriceBook(config.pricing.models) : undefined,
      upstreams: { anthropic: config.providers?.anthropic?.base_url, openai: config.providers?.openai?.base_url },
      ...(token ? { token } : {}),
    }).token;
  }

  #setStatus(record: SandboxRecord, status: SandboxStatus): void {
    if (isFinal(record.info.status)) return;
    record.info.status = status;
    this.#hub.emit({ type: 'status', id: record.info.id, status });
  }

  #throwIfEnded(record: SandboxRecord): void {
    if (isFinal(record.info.status)) throw new SandboxStateError(`sandbox ${record.info.id} ended while starting: ${record.info.reason ?? record.info.status}`);
  }

  #emitCost(id: string): void {
    const record = this.#records.get(id);
    if (!record) return;
    const info = this.#snapshot(record);
    this.#hub.emit({ type: 'cost', id, cost: info.cost, budget: info.budget });
  }

  #record(id: string): SandboxRecord {
    const record = this.#records.get(id);
    if (!record) throw new SandboxNotFoundError(id);
    return record;
  }

  #snapshot(record: SandboxRecord): SandboxInfo {
    const info = structuredClone(record.info);
    if (this.ledger.has(info.id)) {
      const spend = this.ledger.snapshot(info.id);
      info.cost = { llm: spend.llm, compute: spend.compute, total: spend.committed };
      record.info.cost = info.cost;
    }
    return info;
  }
}

/**
 * Like Promise.all, but rejects only once every step has settled: clean-up after a failure must
 * not race a step that is still writing (a clone, a network).
 */
async function allSettledOrThrow<T extends readonly unknown[]>(steps: { [K in keyof T]: Promise<T[K]> }): Promise<T> {
  const settled = await Promise.allSettled(steps);
  const failure = settled.find((step): step is PromiseRejectedResult => step.status === 'rejected');
  if (failure) throw failure.reason;
  return settled.map((step) => (step as PromiseFulfilledResult<unknown>).value) as unknown as T;
}

function isFinal(status: SandboxStatus): boolean {
  return FINAL_STATUSES.has(status);
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function commandText(command: Command): string | string[] {
  return 'argv' in command ? command.argv : command.shell;
}

function agentVersion(agent: CreateSandboxRequest['config']['agent'], name: string): string | undefined {
  return typeof agent === 'object' && 'name' in agent && agent.name === name ? agent.version : undefined;
}

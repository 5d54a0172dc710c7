import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError, jsonPath, type Problem } from '../config/problems.js';
import { mergeLayers, type ConfigLayer, type ResolvedConfig } from '../config/schema.js';
import { sandboxToJson } from '../engine/json.js';
import type { AdoptionState, LocalEngine } from '../engine/local-engine.js';
import { enginePaths, type EnginePaths } from '../engine/paths.js';
import { readLogChunk } from '../engine/log-chunk.js';
import {
  SandboxNotFoundError,
  SandboxStateError,
  type EngineEvent,
  type ExecOutcome,
  type ExecRequestOptions,
  type ListFilter,
  type LogChunk,
  type SandboxInfo,
} from '../engine/service.js';
import { toUsd } from '../money.js';
import { unmeteredComputeCost } from '../pricing/compute.js';
import { resolveRepo, RepoSourceError } from '../sandbox/repo-source.js';
import { FINAL_STATUSES, LABELS, type Command, type SandboxStatus } from '../sandbox/types.js';
import type { CreateSandboxBody } from './api-schema.js';
import { isActive, type KeyRecord, type Store, type StoredSandbox } from './store.js';
import { outboundTargetProblem, type WebhookSender } from './webhooks.js';

export interface AppOptions {
  /** Sandboxes a key may run at once unless the key says otherwise. */
  maxConcurrent: number;
  /** Webhooks and provider base URLs may point at loopback and private addresses. */
  allowPrivateTargets: boolean;
  /** Local paths and file:// repos read the server's own disk: only for one-user servers. */
  allowLocalRepos: boolean;
}

export class TooManySandboxesError extends Error {
  constructor(readonly limit: number) {
    super(`this API key may run at most ${limit} sandbox${limit === 1 ? '' : 'es'} at once and ${limit} ${limit === 1 ? 'is' : 'are'} running; wait for one to end or destroy one`);
    this.name = 'TooManySandboxesError';
  }
}

/** Why a sandbox ended when its controller stopped under it (kill -9, crash, host reboot). */
export const RESTART_REASON = 'controller restarted: the caged server stopped while the sandbox ran and could not take it back, so it was ended and removed';

/**
 * The server's domain layer: every operation is scoped to one tenant (API key), keeps the store
 * in step with the engine, and fires webhooks. A sandbox of another tenant is "not found".
 */
export class CagedApp {
  readonly #paths: EnginePaths;
  /** Active sandboxes per tenant, kept in step synchronously so the concurrency check cannot race. */
  readonly #active = new Map<string, Set<string>>();
  /** Sandboxes this server life created (the engine knows only those). */
  readonly #mine = new Set<string>();
  readonly #tenants = new Map<string, string>();

  constructor(
    readonly store: Store,
    readonly engine: LocalEngine,
    readonly webhooks: WebhookSender,
    readonly options: AppOptions,
    stateRoot: string,
  ) {
    this.#paths = enginePaths(stateRoot);
  }

  tenantOf(id: string): string | undefined {
    return this.#tenants.get(id) ?? this.store.sandbox(id)?.tenant;
  }

  async create(key: KeyRecord, body: CreateSandboxBody): Promise<SandboxInfo> {
    const { name, repo, ref, prompt, command, git_token: gitToken, labels, env, ...layer } = body;
    const problems: Problem[] = [];
    // The server calls these from the host: a tenant must not point them inward.
    const outbound: Array<[Array<string>, string | undefined]> = [
      [['on_complete'], body.on_complete],
      [['on_budget_exceeded'], body.on_budget_exceeded],
      [['providers', 'anthropic', 'base_url'], body.providers?.anthropic?.base_url],
      [['providers', 'openai', 'base_url'], body.providers?.openai?.base_url],
    ];
    for (const [path, url] of outbound) {
      const problem = url === undefined ? undefined : outboundTargetProblem(url, this.options.allowPrivateTargets);
      if (problem) problems.push({ location: jsonPath(path), path, message: `${path.join('.')} ${problem}` });
    }
    if (repo !== undefined) {
      try {
        if (resolveRepo(repo).kind === 'local' && !this.options.allowLocalRepos) {
          problems.push({ location: '$.repo', path: ['repo'], message: 'repo must be an https URL or owner/name: this server does not read local paths' });
        }
      } catch (error) {
        if (!(error instanceof RepoSourceError)) throw error;
        problems.push({ location: '$.repo', path: ['repo'], message: error.message });
      }
    }
    const config = mergeLayers(layer as ConfigLayer);
    // Secrets listed in the body's env are already given; the rest come from the tenant's store.
    const wanted = config.secrets.filter((secret) => env?.[secret] === undefined);
    const { values, missing } = this.store.secretValues(key.id, wanted);
    for (const secret of missing) {
      const index = config.secrets.indexOf(secret);
      problems.push({ location: jsonPath(['secrets', index]), path: ['secrets', index], message: `secret ${secret} is not set for this API key (caged secrets set ${secret})` });
    }
    if (problems.length > 0) throw new InputError(problems);

    const limit = key.maxConcurrent ?? this.options.maxConcurrent;
    if ((this.#active.get(key.id)?.size ?? 0) >= limit) throw new TooManySandboxesError(limit);
    const info = await this.engine.create({
      config,
      ...(name ? { name } : {}),
      ...(repo ? { repo } : {}),
      ...(ref ? { ref } : {}),
      ...(gitToken ? { gitToken } : {}),
      ...(prompt !== undefined ? { prompt } : {}),
      ...(command !== undefined ? { command: typeof command === 'string' ? { shell: command } : { argv: command } } : {}),
      // Provider keys among these go to the gateway; the engine never puts them in the container.
      env: env ?? {},
      secrets: values,
      labels: { ...labels, [LABELS.tenant]: key.id },
    });
    this.store.setWebhooks(info.id, { on_complete: body.on_complete, on_budget_exceeded: body.on_budget_exceeded });
    return info;
  }

  async get(tenant: string, id: string): Promise<SandboxInfo> {
    const stored = this.#owned(tenant, id);
    return (await this.#live(id)) ?? stored.info;
  }

  async list(tenant: string, filter: ListFilter = {}): Promise<SandboxInfo[]> {
    const live = new Map((await this.engine.list({ all: true, label: { [LABELS.tenant]: tenant } })).map((info) => [info.id, info]));
    return this.store
      .sandboxes(tenant)
      .map((stored) => live.get(stored.info.id) ?? stored.info)
      .filter((info) => (filter.all || info.status !== 'destroyed') && (!filter.status || filter.status.includes(info.status)))
      .filter((info) => Object.entries(filter.label ?? {}).every(([label, value]) => info.labels?.[label] === value));
  }

  /** The sandbox once it has ended, or as it is when `timeoutMs` passes first. */
  async wait(tenant: string, id: string, timeoutMs: number, signal?: AbortSignal): Promise<SandboxInfo> {
    const info = await this.get(tenant, id);
    if (FINAL_STATUSES.has(info.status)) return info;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    const onAbort = () => controller.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      return await this.engine.wait(id, { signal: controller.signal });
    } catch {
      return this.get(tenant, id);
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Resolves once the sandbox has left `creating` (exec needs it running). */
  async started(tenant: string, id: string, signal?: AbortSignal): Promise<SandboxInfo> {
    for (;;) {
      const info = await this.get(tenant, id);
      if (info.status !== 'creating' || signal?.aborted) return info;
      await new Promise<void>((resolve) => {
        const done = () => {
          unsubscribe();
          signal?.removeEventListener('abort', done);
          resolve();
        };
        const unsubscribe = this.engine.subscribe((event) => {
          if (event.type === 'status' && event.id === id) done();
        });
        signal?.addEventListener('abort', done, { once: true });
      });
    }
  }

  async exec(tenant: string, id: string, command: Command, options: ExecRequestOptions): Promise<ExecOutcome> {
    this.#owned(tenant, id);
    if (!this.#mine.has(id)) throw new SandboxStateError(`sandbox ${id} is ${this.store.sandbox(id)?.info.status}; exec needs a running sandbox`);
    return this.engine.exec(id, command, options);
  }

  async logs(tenant: string, id: string, options: { offset?: number } = {}): Promise<LogChunk> {
    this.#owned(tenant, id);
    if (this.#mine.has(id)) return this.engine.logs(id, options);
    return readLogChunk(join(this.#paths.sandbox(id), 'output.log'), options.offset ?? 0, false);
  }

  async patch(tenant: string, id: string): Promise<string> {
    this.#owned(tenant, id);
    if (this.#mine.has(id)) return this.engine.patch(id);
    return readFile(join(this.#paths.sandbox(id), 'changes.patch'), 'utf8').catch(() => '');
  }

  async destroy(tenant: string, id: string, options: { force?: boolean; keepWorkspace?: boolean }): Promise<SandboxInfo> {
    const stored = this.#owned(tenant, id);
    if (this.#mine.has(id)) return this.engine.destroy(id, options);
    // A sandbox of an earlier server life: its Docker objects went at the restart.
    if (stored.info.status !== 'destroyed') this.store.saveSandbox(tenant, { ...stored.info, status: 'destroyed' });
    return this.store.sandbox(id)!.info;
  }

  async usage(tenant: string) {
    const sandboxes = await this.list(tenant, { all: true });
    const byStatus: Partial<Record<SandboxStatus, number>> = {};
    const sum = { llm: 0, compute: 0, total: 0, budget: 0 };
    const tokens = { input: 0, output: 0, cache_read: 0, cache_write: 0 };
    for (const info of sandboxes) {
      byStatus[info.status] = (byStatus[info.status] ?? 0) + 1;
      sum.llm += info.cost.llm;
      sum.compute += info.cost.compute;
      sum.total += info.cost.total;
      sum.budget += info.budget;
      for (const field of Object.keys(tokens) as Array<keyof typeof tokens>) tokens[field] += info.tokens[field];
    }
    return {
      sandboxes: sandboxes.length,
      active: sandboxes.filter((info) => isActive(info.status)).length,
      by_status: byStatus,
      cost: toUsd(sum.total),
      budget: toUsd(sum.budget),
      cost_breakdown: { llm: toUsd(sum.llm), compute: toUsd(sum.compute), total: toUsd(sum.total) },
      tokens,
    };
  }

  /**
   * Takes a running sandbox of an earlier server life back under guard, with the spend its
   * ledger rows add up to. Throws when it cannot be adopted (the caller ends it instead).
   */
  async adopt(stored: StoredSandbox, state: AdoptionState): Promise<SandboxInfo> {
    const { tenant, info } = stored;
    this.#mine.add(info.id);
    this.#tenants.set(info.id, tenant);
    try {
      const computeChargedUntil = this.store.lastComputeChargeAt(info.id);
      const adopted = await this.engine.adopt(info, state, { ...this.store.spend(info.id), ...(computeChargedUntil !== undefined ? { computeChargedUntil } : {}) });
      // A budget already spent ends it during adoption; only a running one counts as active.
      if (!FINAL_STATUSES.has(adopted.status)) this.#activeOf(tenant).add(info.id);
      this.store.saveSandbox(tenant, adopted);
      return adopted;
    } catch (error) {
      this.#mine.delete(info.id);
      this.#tenants.delete(info.id);
      throw error;
    }
  }

  /** Its container ran on, unmetered, from its last compute charge until it was removed. */
  #chargeUnwatched(info: SandboxInfo, config: ResolvedConfig): void {
    const from = this.store.lastComputeChargeAt(info.id) ?? Date.parse(info.started_at ?? info.created_at);
    const unwatchedMs = Date.now() - from;
    const amount = unmeteredComputeCost(config, unwatchedMs);
    if (!(amount > 0)) return;
    const spend = this.store.spend(info.id);
    this.store.appendCharge({ sandboxId: info.id, kind: 'compute', amount, committed: spend.llm + spend.compute + amount, detail: { unwatched_ms: unwatchedMs } });
  }

  /**
   * Sandboxes left `creating`/`running` by an earlier server life and not adopted: the caller has
   * removed their Docker objects; here they end as `failed` with the reason recorded and their
   * spend as the ledger has it, and their on_complete webhook fires.
   */
  endOrphans(): SandboxInfo[] {
    const ended: SandboxInfo[] = [];
    for (const { tenant, info, webhooks } of this.store.unfinished()) {
      if (this.#mine.has(info.id)) continue;
      const config = this.store.adoption(info.id)?.request.config;
      if (info.status === 'running' && config) this.#chargeUnwatched(info, config);
      this.store.forgetAdoption(info.id);
      const final: SandboxInfo = { ...info, status: 'failed', reason: RESTART_REASON, ended_at: new Date().toISOString() };
      this.store.saveSandbox(tenant, final);
      const saved = this.store.sandbox(info.id)!.info;
      if (webhooks.on_complete) this.webhooks.send({ tenant, sandboxId: info.id, event: 'sandbox.completed', url: webhooks.on_complete, payload: completedPayload(saved) });
      ended.push(saved);
    }
    return ended;
  }

  /** Keeps the store and the concurrency count in step with the engine; fires webhooks. */
  onEngineEvent(event: EngineEvent): void {
    switch (event.type) {
      case 'created': {
        const tenant = event.sandbox.labels?.[LABELS.tenant];
        if (!tenant) return;
        this.#mine.add(event.sandbox.id);
        this.#tenants.set(event.sandbox.id, tenant);
        this.store.saveSandbox(tenant, event.sandbox);
        this.#activeOf(tenant).add(event.sandbox.id);
        return;
      }
      case 'status':
        if (event.status === 'running' && this.#mine.has(event.id)) {
          const state = this.engine.adoptionState(event.id);
          if (state) this.store.saveAdoption(event.id, state);
        }
        this.#save(event.id);
        return;
      case 'cost':
        this.#save(event.id);
        return;
      case 'budget_exceeded': {
        const stored = this.store.sandbox(event.id);
        const url = stored?.webhooks.on_budget_exceeded;
        if (!stored || !url) return;
        // Sent at the kill: the snapshot is taken now, before the sandbox has fully stopped.
        void this.#live(event.id).then((info) =>
          this.webhooks.send({
            tenant: stored.tenant,
            sandboxId: event.id,
            event: 'sandbox.budget_exceeded',
            url,
            payload: { spent: toUsd(event.spent), budget: toUsd(event.budget), message: event.message, sandbox: sandboxToJson(info ?? stored.info) },
          }),
        );
        return;
      }
      case 'completed': {
        const stored = this.store.sandbox(event.sandbox.id);
        if (!stored) return;
        this.store.saveSandbox(stored.tenant, event.sandbox);
        this.store.forgetAdoption(event.sandbox.id);
        this.#active.get(stored.tenant)?.delete(event.sandbox.id);
        if (stored.webhooks.on_complete) {
          this.webhooks.send({
            tenant: stored.tenant,
            sandboxId: event.sandbox.id,
            event: 'sandbox.completed',
            url: stored.webhooks.on_complete,
            payload: completedPayload(event.sandbox),
          });
        }
        return;
      }
      default:
        return;
    }
  }

  #save(id: string): void {
    const tenant = this.#mine.has(id) ? this.tenantOf(id) : undefined;
    if (!tenant) return;
    // get() snapshots synchronously, so saves land in event order.
    this.engine
      .get(id)
      .then((info) => this.store.saveSandbox(tenant, info))
      .catch(() => undefined);
  }

  #activeOf(tenant: string): Set<string> {
    let set = this.#active.get(tenant);
    if (!set) this.#active.set(tenant, (set = new Set()));
    return set;
  }

  #owned(tenant: string, id: string) {
    const stored = this.store.sandbox(id);
    if (!stored || stored.tenant !== tenant) throw new SandboxNotFoundError(id);
    return stored;
  }

  /** The engine's current view, when this server life runs the sandbox. */
  async #live(id: string): Promise<SandboxInfo | undefined> {
    return this.#mine.has(id) ? this.engine.get(id) : undefined;
  }
}

/** What on_complete receivers get: the final sandbox with its status, reason, costs, tokens and exit code. */
export function completedPayload(info: SandboxInfo): Record<string, unknown> {
  const start = Date.parse(info.started_at ?? info.created_at);
  const end = info.ended_at ? Date.parse(info.ended_at) : Date.now();
  return {
    sandbox: sandboxToJson(info),
    status: info.status,
    reason: info.reason ?? null,
    exit_code: info.exit_code ?? null,
    duration_s: Math.max(0, (end - start) / 1000),
  };
}

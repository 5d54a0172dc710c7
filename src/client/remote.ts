import { Agent, request, type Dispatcher } from 'undici';
import { InputError, type Problem } from '../config/problems.js';
import { configToJson } from '../config/resolve.js';
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
} from '../engine/service.js';
import { SseParser } from '../gateway/sse.js';
import { resolveRepo } from '../sandbox/repo-source.js';
import { FINAL_STATUSES, type Command, type SandboxStatus } from '../sandbox/types.js';
import { LOG_NEXT_OFFSET_HEADER } from '../server/routes.js';
import { eventFromJson, sandboxFromJson, type SandboxJsonIn } from './wire.js';

export interface RemoteClientOptions {
  /** Base URL of a caged server, e.g. http://127.0.0.1:7433. */
  apiUrl: string;
  /** `caged_sk_…` */
  apiKey: string;
  dispatcher?: Dispatcher;
  /** Timeout of ordinary calls (default 30 s); streams and long polls have none. */
  timeoutMs?: number;
}

/** An answer of the server that is not a success, or a server that cannot be reached. */
export class RemoteApiError extends Error {
  constructor(
    message: string,
    readonly status: number | undefined,
    readonly code: string,
  ) {
    super(message);
    this.name = 'RemoteApiError';
  }
}

export interface SecretInfo {
  name: string;
  created_at: string;
  updated_at: string;
}

export interface UsageTotals {
  sandboxes: number;
  active: number;
  by_status: Partial<Record<SandboxStatus, number>>;
  cost: number;
  budget: number;
  cost_breakdown: { llm: number; compute: number; total: number };
  tokens: SandboxInfo['tokens'];
}

export interface NewApiKey {
  id: string;
  name: string | null;
  key: string;
  webhook_secret: string;
  admin: boolean;
  max_concurrent: number;
  created_at: string;
}

interface ErrorJson {
  error?: { code?: string; message?: string; path?: string; problems?: Array<{ path: string; message: string }> };
}

type ExecLine =
  | { type: 'stdout' | 'stderr'; data: string }
  | { type: 'exit'; exit_code: number | null; timed_out: boolean; sandbox_status: SandboxStatus; reason?: string }
  | { type: 'error'; error: NonNullable<ErrorJson['error']> };

const WAIT_SECONDS = 60;
const RECONNECT_MS = 1000;

/**
 * `SandboxService` over the REST API of `caged serve`: the CLI and the GitHub Action hold
 * either this or a LocalEngine and cannot tell them apart.
 */
export class RemoteClient implements SandboxService {
  readonly apiUrl: string;
  readonly #apiKey: string;
  readonly #dispatcher: Dispatcher;
  readonly #ownsDispatcher: boolean;
  readonly #timeoutMs: number;
  readonly #listeners = new Set<(event: EngineEvent) => void>();
  #events: AbortController | undefined;
  #closed = false;

  constructor(options: RemoteClientOptions) {
    this.apiUrl = options.apiUrl.replace(/\/+$/, '');
    this.#apiKey = options.apiKey;
    this.#ownsDispatcher = options.dispatcher === undefined;
    this.#dispatcher = options.dispatcher ?? new Agent({ keepAliveTimeout: 10_000 });
    this.#timeoutMs = options.timeoutMs ?? 30_000;
  }

  async create(spec: CreateSandboxRequest): Promise<SandboxInfo> {
    const { env: configEnv, ...config } = configToJson(spec.config);
    const env = { ...(configEnv as Record<string, string>), ...spec.env, ...spec.secrets };
    const repo = spec.repo !== undefined && resolveRepo(spec.repo).kind === 'local' ? resolveRepo(spec.repo).url : spec.repo;
    const body = {
      ...config,
      ...(Object.keys(env).length > 0 ? { env } : {}),
      ...(spec.name !== undefined ? { name: spec.name } : {}),
      ...(repo !== undefined ? { repo } : {}),
      ...(spec.ref !== undefined ? { ref: spec.ref } : {}),
      ...(spec.prompt !== undefined ? { prompt: spec.prompt } : {}),
      ...(spec.command ? { command: commandJson(spec.command) } : {}),
      ...(spec.gitToken ? { git_token: spec.gitToken } : {}),
      ...(spec.labels && Object.keys(spec.labels).length > 0 ? { labels: spec.labels } : {}),
    };
    return sandboxFromJson(await this.#json<SandboxJsonIn>('POST', '/v1/sandboxes', { body }));
  }

  async exec(id: string, command: Command, options: ExecRequestOptions = {}): Promise<ExecOutcome> {
    const body = {
      command: commandJson(command),
      ...(options.env && Object.keys(options.env).length > 0 ? { env: options.env } : {}),
      ...(options.workdir ? { workdir: options.workdir } : {}),
      ...(options.timeoutMs ? { timeout: Math.max(1, Math.ceil(options.timeoutMs / 1000)) } : {}),
    };
    let response: Dispatcher.ResponseData;
    try {
      response = await this.#send('POST', `/v1/sandboxes/${encodeURIComponent(id)}/exec`, { body, signal: options.signal, stream: true, sandboxId: id });
    } catch (error) {
      if (options.signal?.aborted) return this.#abandoned(id);
      throw error;
    }
    let buffered = '';
    try {
      for await (const chunk of response.body) {
        buffered += (chunk as Buffer).toString('utf8');
        let newline = buffered.indexOf('\n');
        while (newline !== -1) {
          const line = JSON.parse(buffered.slice(0, newline)) as ExecLine;
          buffered = buffered.slice(newline + 1);
          newline = buffered.indexOf('\n');
          if (line.type === 'stdout') options.onStdout?.(Buffer.from(line.data, 'base64'));
          else if (line.type === 'stderr') options.onStderr?.(Buffer.from(line.data, 'base64'));
          else if (line.type === 'error') throw errorFromBody(409, { error: line.error }, id);
          else if (line.type === 'exit') {
            return {
              exitCode: line.exit_code,
              timedOut: line.timed_out,
              sandboxStatus: line.sandbox_status,
              ...(line.reason ? { reason: line.reason } : {}),
            };
          }
        }
      }
    } catch (error) {
      if (options.signal?.aborted) return this.#abandoned(id);
      throw error;
    }
    throw new RemoteApiError(`the exec stream of ${id} ended without an exit code`, response.statusCode, 'stream_ended');
  }

  async get(id: string): Promise<SandboxInfo> {
    return sandboxFromJson(await this.#json<SandboxJsonIn>('GET', `/v1/sandboxes/${encodeURIComponent(id)}`, { sandboxId: id }));
  }

  async list(filter: ListFilter = {}): Promise<SandboxInfo[]> {
    const query = new URLSearchParams();
    if (filter.status?.length) query.set('status', filter.status.join(','));
    if (filter.all) query.set('all', 'true');
    for (const [key, value] of Object.entries(filter.label ?? {})) query.append('label', `${key}=${value}`);
    const suffix = query.size > 0 ? `?${query}` : '';
    return (await this.#json<SandboxJsonIn[]>('GET', `/v1/sandboxes${suffix}`)).map(sandboxFromJson);
  }

  async wait(id: string, options: { signal?: AbortSignal } = {}): Promise<SandboxInfo> {
    for (;;) {
      options.signal?.throwIfAborted();
      const info = sandboxFromJson(
        await this.#json<SandboxJsonIn>('GET', `/v1/sandboxes/${encodeURIComponent(id)}/wait?timeout=${WAIT_SECONDS}`, {
          sandboxId: id,
          signal: options.signal,
          stream: true,
        }),
      );
      if (FINAL_STATUSES.has(info.status)) return info;
    }
  }

  patch(id: string): Promise<string> {
    return this.#text('GET', `/v1/sandboxes/${encodeURIComponent(id)}/patch`, id);
  }

  async logs(id: string, options: { offset?: number } = {}): Promise<LogChunk> {
    const offset = options.offset ?? 0;
    const response = await this.#send('GET', `/v1/sandboxes/${encodeURIComponent(id)}/logs?offset=${offset}`, { sandboxId: id });
    const text = await response.body.text();
    const next = Number(response.headers[LOG_NEXT_OFFSET_HEADER]);
    if (!Number.isSafeInteger(next)) throw new Error(`${this.apiUrl} answered logs without ${LOG_NEXT_OFFSET_HEADER}: upgrade caged serve there`);
    return { text, next };
  }

  async destroy(id: string, options: { force?: boolean; keepWorkspace?: boolean } = {}): Promise<SandboxInfo> {
    const query = new URLSearchParams();
    if (options.force) query.set('force', 'true');
    if (options.keepWorkspace) query.set('keep_workspace', 'true');
    const suffix = query.size > 0 ? `?${query}` : '';
    return sandboxFromJson(await this.#json<SandboxJsonIn>('DELETE', `/v1/sandboxes/${encodeURIComponent(id)}${suffix}`, { sandboxId: id, stream: true }));
  }

  /** One event stream per client, opened with the first listener and closed with the last. */
  subscribe(listener: (event: EngineEvent) => void): () => void {
    this.#listeners.add(listener);
    if (!this.#events && !this.#closed) {
      const controller = new AbortController();
      this.#events = controller;
      void this.#followEvents(controller.signal);
    }
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0) {
        this.#events?.abort();
        this.#events = undefined;
      }
    };
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#events?.abort();
    this.#listeners.clear();
    if (this.#ownsDispatcher) await this.#dispatcher.close();
  }

  // --- beyond SandboxService ----------------------------------------------------------------

  health(): Promise<{ status: string; version: string }> {
    return this.#json('GET', '/v1/health');
  }

  usage(): Promise<UsageTotals> {
    return this.#json('GET', '/v1/usage');
  }

  putSecret(name: string, value: string): Promise<SecretInfo> {
    return this.#json('PUT', `/v1/secrets/${encodeURIComponent(name)}`, { body: { value } });
  }

  listSecrets(): Promise<SecretInfo[]> {
    return this.#json('GET', '/v1/secrets');
  }

  async deleteSecret(name: string): Promise<void> {
    await this.#send('DELETE', `/v1/secrets/${encodeURIComponent(name)}`).then((response) => response.body.dump());
  }

  createKey(options: { name?: string; max_concurrent?: number; admin?: boolean } = {}): Promise<NewApiKey> {
    return this.#json('POST', '/v1/keys', { body: options });
  }

  async webhookSecret(): Promise<string> {
    return (await this.#json<{ secret: string }>('GET', '/v1/webhooks/secret')).secret;
  }

  // --- plumbing -----------------------------------------------------------------------------

  async #followEvents(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        const response = await this.#send('GET', '/v1/events', { signal, stream: true });
        const parser = new SseParser();
        for await (const chunk of response.body) {
          for (const frame of parser.push(chunk as Buffer)) this.#dispatch(frame.data);
        }
      } catch {
        // Dropped or refused: reconnect below while someone listens.
      }
      if (signal.aborted) return;
      await new Promise((resolve) => setTimeout(resolve, RECONNECT_MS));
    }
  }

  #dispatch(data: string): void {
    let event: EngineEvent | undefined;
    try {
      event = eventFromJson(JSON.parse(data) as Record<string, unknown>);
    } catch {
      return;
    }
    if (!event) return;
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch {
        // A listener's bug must not end the stream for the others.
      }
    }
  }

  /** The exec was cancelled by its caller: the server stopped the command. */
  async #abandoned(id: string): Promise<ExecOutcome> {
    const info = await this.get(id).catch(() => undefined);
    return { exitCode: null, timedOut: false, sandboxStatus: info?.status ?? 'running', ...(info?.reason ? { reason: info.reason } : {}) };
  }

  async #text(method: 'GET', path: string, sandboxId: string): Promise<string> {
    const response = await this.#send(method, path, { sandboxId });
    return response.body.text();
  }

  async #json<T>(method: Dispatcher.HttpMethod, path: string, options: SendOptions = {}): Promise<T> {
    const response = await this.#send(method, path, options);
    return (await response.body.json()) as T;
  }

  async #send(method: Dispatcher.HttpMethod, path: string, options: SendOptions = {}): Promise<Dispatcher.ResponseData> {
    let response: Dispatcher.ResponseData;
    try {
      response = await request(`${this.apiUrl}${path}`, {
        method,
        dispatcher: this.#dispatcher,
        headers: {
          authorization: `Bearer ${this.#apiKey}`,
          accept: 'application/json',
          ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
        headersTimeout: options.stream ? 0 : this.#timeoutMs,
        bodyTimeout: options.stream ? 0 : this.#timeoutMs,
      });
    } catch (error) {
      if (options.signal?.aborted) throw error;
      throw new RemoteApiError(`cannot reach the caged server at ${this.apiUrl}: ${(error as Error).message}`, undefined, 'unreachable');
    }
    if (response.statusCode < 400) return response;
    const text = await response.body.text();
    let body: ErrorJson;
    try {
      body = JSON.parse(text) as ErrorJson;
    } catch {
      body = { error: { code: 'http_error', message: text.slice(0, 500) || `HTTP ${response.statusCode}` } };
    }
    throw errorFromBody(response.statusCode, body, options.sandboxId);
  }
}

interface SendOptions {
  body?: unknown;
  signal?: AbortSignal;
  /** A stream or long poll: no timeouts. */
  stream?: boolean;
  /** A 404 means this sandbox is not found. */
  sandboxId?: string;
}

function errorFromBody(status: number, body: ErrorJson, sandboxId: string | undefined): Error {
  const error = body.error ?? {};
  const message = error.message ?? `HTTP ${status}`;
  if (status === 400 && error.code === 'invalid_request') {
    const problems: Problem[] = (error.problems ?? [{ path: error.path ?? '$', message }]).map((problem) => ({ location: problem.path, message: problem.message }));
    return new InputError(problems);
  }
  if (status === 404 && sandboxId && error.code === 'not_found') return new SandboxNotFoundError(sandboxId);
  if (status === 409 || error.code === 'conflict') return new SandboxStateError(message);
  return new RemoteApiError(message, status, error.code ?? 'http_error');
}

function commandJson(command: Command): string | string[] {
  return 'argv' in command ? command.argv : command.shell;
}

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { z } from 'zod';
import { issuesToProblems } from '../config/issues.js';
import { InputError, jsonPath } from '../config/problems.js';
import { sandboxToJson } from '../engine/json.js';
import { SandboxNotFoundError, SandboxStateError, type EngineEvent, type ListFilter } from '../engine/service.js';
import { toUsd } from '../money.js';
import { SANDBOX_STATUSES, type SandboxStatus } from '../sandbox/types.js';
import { packageVersion } from '../version.js';
import { createKeyBody, createSandboxBody, execBody, SECRET_NAME, secretBody } from './api-schema.js';
import { TooManySandboxesError, type CagedApp } from './app.js';
import { openApiDocument } from './openapi.js';
import { LOG_NEXT_OFFSET_HEADER, matchPath, ROUTES, type OperationId, type RouteSpec } from './routes.js';
import type { KeyRecord } from './store.js';

const MAX_BODY_BYTES = 1024 * 1024;
const MAX_WAIT_SECONDS = 300;
const HEARTBEAT_MS = 15_000;

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

interface Call {
  req: IncomingMessage;
  res: ServerResponse;
  key: KeyRecord;
  params: Record<string, string>;
  query: URLSearchParams;
  body: unknown;
  /** Aborted when the client goes away. */
  signal: AbortSignal;
}

type Handler = (call: Call) => Promise<void>;

/** The REST API over a CagedApp: bearer auth, JSON in and out, errors as `{error: {code, message, path?}}`. */
export function createApiHandler(app: CagedApp): (req: IncomingMessage, res: ServerResponse) => void {
  const handlers = apiHandlers(app);
  const document = openApiDocument();
  return (req, res) => {
    const controller = new AbortController();
    res.on('close', () => controller.abort());
    void handle(app, handlers, document, req, res, controller.signal).catch((error: unknown) => sendError(res, error));
  };
}

async function handle(
  app: CagedApp,
  handlers: Record<OperationId, Handler>,
  document: Record<string, unknown>,
  req: IncomingMessage,
  res: ServerResponse,
  signal: AbortSignal,
): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://caged.invalid');
  let route: RouteSpec | undefined;
  let params: Record<string, string> | undefined;
  let pathKnown = false;
  for (const candidate of ROUTES as readonly RouteSpec[]) {
    let matched: Record<string, string> | undefined;
    try {
      matched = matchPath(candidate.path, url.pathname);
    } catch {
      throw new HttpError(400, 'invalid_path', 'the path is not valid percent-encoding');
    }
    if (!matched) continue;
    pathKnown = true;
    if (candidate.method === req.method) {
      route = candidate;
      params = matched;
      break;
    }
  }
  if (!route || !params) {
    if (pathKnown) throw new HttpError(405, 'method_not_allowed', `${req.method} is not allowed on ${url.pathname}`);
    throw new HttpError(404, 'not_found', `no route ${req.method} ${url.pathname}`);
  }
  if (route.operationId === 'openapi') return sendJson(res, 200, document);
  if (route.operationId === 'health') return sendJson(res, 200, { status: 'ok', version: packageVersion() });

  const key = authenticate(app, req);
  if (route.admin && !key.admin) throw new HttpError(403, 'forbidden', 'only an admin API key may do this');
  const body = route.body ? parseBody(route.body, await readJson(req)) : undefined;
  await handlers[route.operationId as OperationId]({ req, res, key, params, query: url.searchParams, body, signal });
}

function authenticate(app: CagedApp, req: IncomingMessage): KeyRecord {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
  if (!match) throw new HttpError(401, 'unauthorized', 'send an API key as Authorization: Bearer caged_sk_…');
  const key = app.store.findKey(match[1]!);
  if (!key) throw new HttpError(401, 'unauthorized', 'unknown API key');
  return key;
}

function apiHandlers(app: CagedApp): Record<OperationId, Handler> {
  const notHere: Handler = async () => {
    throw new HttpError(500, 'internal', 'answered before dispatch');
  };
  return {
    health: notHere,
    openapi: notHere,
    createSandbox: async ({ res, key, body }) => {
      const info = await app.create(key, body as z.output<typeof createSandboxBody>);
      sendJson(res, 201, sandboxToJson(info));
    },
    listSandboxes: async ({ res, key, query }) => {
      const list = await app.list(key.id, listFilter(query));
      sendJson(res, 200, list.map(sandboxToJson));
    },
    getSandbox: async ({ res, key, params }) => sendJson(res, 200, sandboxToJson(await app.get(key.id, params.id!))),
    waitSandbox: async ({ res, key, params, query, signal }) => {
      const seconds = Math.min(Number(query.get('timeout') ?? 30) || 0, MAX_WAIT_SECONDS);
      sendJson(res, 200, sandboxToJson(await app.wait(key.id, params.id!, seconds * 1000, signal)));
    },
    execSandbox: async (call) => exec(app, call),
    sandboxLogs: async ({ res, key, params, query }) => {
      const chunk = await app.logs(key.id, params.id!, { offset: logOffset(query) });
      sendText(res, 'text/plain; charset=utf-8', chunk.text, { [LOG_NEXT_OFFSET_HEADER]: String(chunk.next) });
    },
    sandboxPatch: async ({ res, key, params }) => sendText(res, 'text/x-diff; charset=utf-8', await app.patch(key.id, params.id!)),
    destroySandbox: async ({ res, key, params, query }) => {
      const info = await app.destroy(key.id, params.id!, { force: query.get('force') === 'true', keepWorkspace: query.get('keep_workspace') === 'true' });
      sendJson(res, 200, sandboxToJson(info));
    },
    events: async (call) => events(app, call),
    listSecrets: async ({ res, key }) => sendJson(res, 200, app.store.listSecrets(key.id)),
    putSecret: async ({ res, key, params, body }) => {
      const name = secretName(params.name!);
      sendJson(res, 200, app.store.putSecret(key.id, name, (body as z.output<typeof secretBody>).value));
    },
    getSecret: async ({ res, key, params }) => {
      const meta = app.store.secretMeta(key.id, secretName(params.name!));
      if (!meta) throw new HttpError(404, 'not_found', `no secret ${params.name}`);
      sendJson(res, 200, meta);
    },
    deleteSecret: async ({ res, key, params }) => {
      if (!app.store.deleteSecret(key.id, secretName(params.name!))) throw new HttpError(404, 'not_found', `no secret ${params.name}`);
      res.writeHead(204).end();
    },
    usage: async ({ res, key }) => sendJson(res, 200, await app.usage(key.id)),
    createKey: async ({ res, body }) => {
      const options = body as z.output<typeof createKeyBody>;
      const created = app.store.createKey({ name: options.name, admin: options.admin, maxConcurrent: options.max_concurrent });
      sendJson(res, 201, {
        id: created.record.id,
        name: created.record.name,
        key: created.key,
        webhook_secret: created.webhookSecret,
        admin: created.record.admin,
        max_concurrent: created.record.maxConcurrent ?? app.options.maxConcurrent,
        created_at: created.record.createdAt,
      });
    },
    webhookSecret: async ({ res, key }) => sendJson(res, 200, { secret: app.store.webhookSecret(key.id) }),
    webhookDeliveries: async ({ res, key, query }) => sendJson(res, 200, app.store.deliveries(key.id, query.get('sandbox') ?? undefined)),
  };
}

async function exec(app: CagedApp, { res, key, params, body, signal }: Call): Promise<void> {
  const id = params.id!;
  const request = body as z.output<typeof execBody>;
  const info = await app.started(key.id, id, signal);
  if (info.status !== 'running') {
    throw new SandboxStateError(`sandbox ${id} is ${info.status}${info.reason ? ` (${info.reason})` : ''}; exec needs a running sandbox`);
  }
  res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' });
  res.flushHeaders();
  const line = (value: unknown) => {
    if (!res.writableEnded) res.write(`${JSON.stringify(value)}\n`);
  };
  try {
    const outcome = await app.exec(key.id, id, typeof request.command === 'string' ? { shell: request.command } : { argv: request.command }, {
      env: request.env,
      workdir: request.workdir,
      timeoutMs: request.timeout === undefined ? undefined : request.timeout * 1000,
      signal,
      onStdout: (chunk) => line({ type: 'stdout', data: chunk.toString('base64') }),
      onStderr: (chunk) => line({ type: 'stderr', data: chunk.toString('base64') }),
    });
    line({
      type: 'exit',
      exit_code: outcome.exitCode,
      timed_out: outcome.timedOut,
      sandbox_status: outcome.sandboxStatus,
      ...(outcome.reason ? { reason: outcome.reason } : {}),
    });
  } catch (error) {
    line({ type: 'error', error: errorBody(error).body.error });
  }
  res.end();
}

async function events(app: CagedApp, { res, key, query, signal }: Call): Promise<void> {
  const only = query.get('sandbox') ?? undefined;
  if (only) await app.get(key.id, only);
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
  res.write(': caged events\n\n');
  const unsubscribe = app.engine.subscribe((event) => {
    const id = 'id' in event ? event.id : event.sandbox.id;
    if ((only && id !== only) || app.tenantOf(id) !== key.id) return;
    res.write(`event: ${event.type}\ndata: ${JSON.stringify(eventToJson(event))}\n\n`);
  });
  const heartbeat = setInterval(() => res.write(': ping\n\n'), HEARTBEAT_MS);
  await new Promise<void>((resolve) => {
    if (signal.aborted) resolve();
    signal.addEventListener('abort', () => resolve(), { once: true });
  });
  clearInterval(heartbeat);
  unsubscribe();
}

/** An engine event as the API sends it: money in US dollars, sandboxes as their public JSON. */
export function eventToJson(event: EngineEvent): Record<string, unknown> {
  switch (event.type) {
    case 'created':
    case 'completed':
      return { type: event.type, sandbox: sandboxToJson(event.sandbox) };
    case 'cost':
      return {
        type: event.type,
        id: event.id,
        cost: { llm: toUsd(event.cost.llm), compute: toUsd(event.cost.compute), total: toUsd(event.cost.total) },
        budget: toUsd(event.budget),
      };
    case 'budget_exceeded':
      return { type: event.type, id: event.id, spent: toUsd(event.spent), budget: toUsd(event.budget), message: event.message };
    default:
      return { ...event };
  }
}

function logOffset(query: URLSearchParams): number {
  const text = query.get('offset');
  if (text === null) return 0;
  const offset = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(offset)) {
    throw new InputError([{ location: 'offset', message: `offset must be a byte count (0 or more), not "${text}"` }]);
  }
  return offset;
}

function listFilter(query: URLSearchParams): ListFilter {
  const filter: ListFilter = {};
  const status = query.get('status');
  if (status) {
    const statuses = status.split(',').map((value) => value.trim());
    const bad = statuses.find((value) => !(SANDBOX_STATUSES as readonly string[]).includes(value));
    if (bad) throw new InputError([{ location: 'status', message: `unknown status "${bad}"; one of ${SANDBOX_STATUSES.join(', ')}` }]);
    filter.status = statuses as SandboxStatus[];
  }
  if (query.get('all') === 'true') filter.all = true;
  const labels = query.getAll('label');
  if (labels.length > 0) {
    filter.label = {};
    for (const label of labels) {
      const at = label.indexOf('=');
      if (at <= 0) throw new InputError([{ location: 'label', message: `label filter "${label}" must be key=value` }]);
      filter.label[label.slice(0, at)] = label.slice(at + 1);
    }
  }
  return filter;
}

function secretName(name: string): string {
  if (!SECRET_NAME.test(name)) throw new HttpError(400, 'invalid_request', `secret names look like environment variables (ANTHROPIC_API_KEY), not "${name}"`);
  return name;
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, 'body_too_large', `the body is larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') throw new InputError([{ location: '$', path: [], message: 'the body must be a JSON object' }]);
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new InputError([{ location: '$', path: [], message: `the body is not valid JSON: ${(error as Error).message}` }]);
  }
}

function parseBody(schema: z.ZodType, input: unknown): unknown {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw new InputError(issuesToProblems(schema, input, result.error.issues, (path) => ({ location: jsonPath(path) })));
}

function errorBody(error: unknown): { status: number; body: { error: Record<string, unknown> } } {
  if (error instanceof HttpError) return { status: error.status, body: { error: { code: error.code, message: error.message, ...error.extra } } };
  if (error instanceof InputError) {
    const problems = error.problems.map((problem) => ({ path: problem.path ? jsonPath(problem.path) : problem.location, message: problem.message }));
    return { status: 400, body: { error: { code: 'invalid_request', message: error.message, path: problems[0]?.path, problems } } };
  }
  if (error instanceof SandboxNotFoundError) return { status: 404, body: { error: { code: 'not_found', message: error.message } } };
  if (error instanceof SandboxStateError) return { status: 409, body: { error: { code: 'conflict', message: error.message } } };
  if (error instanceof TooManySandboxesError) {
    return { status: 429, body: { error: { code: 'too_many_sandboxes', message: error.message, limit: error.limit } } };
  }
  return { status: 500, body: { error: { code: 'internal', message: (error as Error)?.message ?? String(error) } } };
}

function sendError(res: ServerResponse, error: unknown): void {
  const { status, body } = errorBody(error);
  if (res.headersSent) {
    res.end();
    return;
  }
  sendJson(res, status, body);
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const text = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

function sendText(res: ServerResponse, contentType: string, text: string, headers: Record<string, string> = {}): void {
  res.writeHead(200, { ...headers, 'content-type': contentType, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

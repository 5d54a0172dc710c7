import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';

/**
 * A stand-in for the GitHub REST API on 127.0.0.1. Every request is checked against GitHub's
 * published OpenAPI description (`@octokit/openapi`): the route and method must exist, path and
 * query parameters and the JSON body must match their schemas (no undeclared body keys). Every
 * answer is built from the response schema and checked against it too. It records everything and
 * never judges whether the caller did the right thing: the tests' assertions do.
 */

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Schema = Record<string, unknown>;

interface Operation {
  operationId: string;
  parameters?: Schema[];
  requestBody?: Schema;
  responses: Record<string, Schema>;
}

interface OpenApi {
  paths: Record<string, Record<string, Operation | Schema[]>>;
  components: Record<string, Record<string, Schema>>;
}

export interface GitHubRequest {
  method: string;
  path: string;
  operationId: string | undefined;
  params: Record<string, string>;
  query: Record<string, string>;
  body: unknown;
  status: number;
  authorization: string | undefined;
}

export interface Permission {
  permission: 'admin' | 'write' | 'read' | 'none';
  role_name: string;
}

export interface FakePull {
  number: number;
  head: { ref: string; sha: string; cloneUrl: string; fullName: string };
  base: { ref: string; sha: string; cloneUrl: string; fullName: string };
}

export interface StoredComment {
  id: number;
  issue: number;
  body: string;
  login: string;
  type: 'User' | 'Bot';
  created_at: string;
  updated_at: string;
}

const require = createRequire(import.meta.url);
let cachedSpec: OpenApi | undefined;

function spec(): OpenApi {
  cachedSpec ??= JSON.parse(readFileSync(require.resolve('@octokit/openapi/generated/api.github.com.json'), 'utf8')) as OpenApi;
  return cachedSpec;
}

function deref<T>(value: T, doc: OpenApi): T {
  let current = value as Schema;
  while (current && typeof current.$ref === 'string') {
    const parts = (current.$ref as string).replace(/^#\//, '').split('/');
    current = parts.reduce<Schema>((node, part) => node[part.replace(/~1/g, '/').replace(/~0/g, '~')] as Schema, doc as unknown as Schema);
  }
  return current as T;
}

interface Route {
  method: string;
  template: string;
  pattern: RegExp;
  names: string[];
  operation: Operation;
  shared: Schema[];
}

function routes(doc: OpenApi): Route[] {
  const out: Route[] = [];
  for (const [template, item] of Object.entries(doc.paths)) {
    const names: string[] = [];
    const pattern = new RegExp(`^${template.replace(/\{([^}]+)\}/g, (_, name: string) => (names.push(name), '([^/]+)'))}$`);
    for (const [method, operation] of Object.entries(item)) {
      if (method === 'parameters') continue;
      out.push({ method: method.toUpperCase(), template, pattern, names, operation: operation as Operation, shared: (item.parameters as Schema[] | undefined) ?? [] });
    }
  }
  // Literal segments beat parameters (`/issues/comments/{id}` before `/issues/{number}/...`).
  return out.sort((a, b) => b.template.replace(/\{[^}]+\}/g, '').length - a.template.replace(/\{[^}]+\}/g, '').length);
}

function user(login: string, id: number, type: 'User' | 'Bot', base: string): Json {
  const url = `${base}/users/${encodeURIComponent(login)}`;
  return {
    login,
    id,
    node_id: `U_${id}`,
    avatar_url: `${base}/avatars/${id}`,
    gravatar_id: '',
    url,
    html_url: `${base}/${encodeURIComponent(login)}`,
    followers_url: `${url}/followers`,
    following_url: `${url}/following{/other_user}`,
    gists_url: `${url}/gists{/gist_id}`,
    starred_url: `${url}/starred{/owner}{/repo}`,
    subscriptions_url: `${url}/subscriptions`,
    organizations_url: `${url}/orgs`,
    repos_url: `${url}/repos`,
    events_url: `${url}/events{/privacy}`,
    received_events_url: `${url}/received_events`,
    type,
    site_admin: false,
  };
}

/** A minimal value that satisfies `schema`: required keys only, first enum value, null where allowed. */
function sample(schema: Schema | undefined, doc: OpenApi, depth = 0): Json {
  const node = deref(schema ?? {}, doc);
  if (depth > 12) return null;
  // Objects are built even where null is allowed, so that a test's values can be merged into them.
  if (node.nullable === true && node.type !== 'object' && !node.allOf) return null;
  if (Array.isArray(node.allOf)) return Object.assign({}, ...(node.allOf as Schema[]).map((part) => sample(part, doc, depth + 1) as object)) as Json;
  const choice = (node.oneOf ?? node.anyOf) as Schema[] | undefined;
  if (choice?.length) return sample(choice[0], doc, depth + 1);
  if (Array.isArray(node.enum)) return node.enum[0] as Json;
  switch (node.type) {
    case 'object': {
      const out: Record<string, Json> = {};
      const properties = (node.properties ?? {}) as Record<string, Schema>;
      for (const key of (node.required as string[] | undefined) ?? []) out[key] = sample(properties[key], doc, depth + 1);
      return out;
    }
    case 'array':
      return [];
    case 'integer':
    case 'number':
      return 1;
    case 'boolean':
      return false;
    case 'string':
      if (node.format === 'date-time') return '2026-01-01T00:00:00Z';
      if (node.format === 'uri') return 'https://example.invalid/';
      if (node.format === 'email') return 'nobody@example.invalid';
      return '';
    default:
      return null;
  }
}

function deepMerge(base: Json, over: Json): Json {
  if (over && typeof over === 'object' && !Array.isArray(over) && base && typeof base === 'object' && !Array.isArray(base)) {
    const out: Record<string, Json> = { ...base };
    for (const [key, value] of Object.entries(over)) out[key] = deepMerge(base[key] ?? null, value);
    return out;
  }
  return over;
}

class Reply {
  constructor(
    readonly status: number,
    readonly body: Json | undefined,
    readonly headers: Record<string, string> = {},
  ) {}
}

export interface FakeGitHubOptions {
  owner: string;
  repo: string;
  /** Expected in `Authorization: token …`; anything else is answered 401. */
  token: string;
}

export class FakeGitHub {
  readonly requests: GitHubRequest[] = [];
  /** Requests or answers that broke the OpenAPI description. Tests assert this stays empty. */
  readonly violations: string[] = [];
  readonly comments: StoredComment[] = [];
  readonly reactions: Array<{ commentId: number; content: string }> = [];
  readonly permissions = new Map<string, Permission>();
  readonly pulls = new Map<number, FakePull>();
  readonly createdPulls: Array<{ number: number; head: string; base: string; title: string }> = [];
  url = '';
  #server?: Server;
  #nextId = 1000;
  readonly #doc = spec();
  readonly #routes = routes(this.#doc);
  readonly #ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false, discriminator: false });
  readonly #validators = new Map<string, ValidateFunction>();

  constructor(readonly options: FakeGitHubOptions) {
    (addFormatsModule as unknown as { default: (ajv: Ajv) => void }).default(this.#ajv);
    // GitHub's own format for `owner/name`.
    this.#ajv.addFormat('repo.nwo', /^[^/\s]+\/[^/\s]+$/);
    this.#ajv.addSchema({ components: this.#doc.components }, 'github');
  }

  static async start(options: FakeGitHubOptions): Promise<FakeGitHub> {
    const fake = new FakeGitHub(options);
    await fake.#listen();
    return fake;
  }

  addComment(issue: number, body: string, login: string, type: 'User' | 'Bot' = 'User'): StoredComment {
    const now = new Date().toISOString();
    const comment = { id: this.#nextId++, issue, body, login, type, created_at: now, updated_at: now };
    this.comments.push(comment);
    return comment;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.#server?.close(() => resolve());
      this.#server?.closeAllConnections();
    });
  }

  async #listen(): Promise<void> {
    this.#server = createServer((req, res) => void this.#handle(req, res));
    await new Promise<void>((resolve) => this.#server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  #validator(key: string, schema: Schema): ValidateFunction {
    let validate = this.#validators.get(key);
    if (!validate) {
      const rewritten = JSON.parse(JSON.stringify(schema).replace(/"\$ref":"#\//g, '"$ref":"github#/')) as Schema;
      validate = this.#ajv.compile(rewritten);
      this.#validators.set(key, validate);
    }
    return validate;
  }

  #check(key: string, schema: Schema, value: unknown, what: string): void {
    const validate = this.#validator(key, schema);
    if (!validate(value)) this.violations.push(`${what}: ${this.#ajv.errorsText(validate.errors)}`);
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', this.url);
    const method = req.method ?? 'GET';
    const record: GitHubRequest = {
      method,
      path: url.pathname,
      operationId: undefined,
      params: {},
      query: Object.fromEntries(url.searchParams),
      body: undefined,
      status: 0,
      authorization: req.headers.authorization,
    };
    this.requests.push(record);
    let reply: Reply;
    try {
      reply = this.#route(record, raw);
    } catch (error) {
      this.violations.push(`${method} ${url.pathname}: fake error ${(error as Error).message}`);
      reply = new Reply(500, { message: (error as Error).message });
    }
    record.status = reply.status;
    res.writeHead(reply.status, { 'content-type': 'application/json; charset=utf-8', ...reply.headers });
    res.end(reply.body === undefined ? '' : JSON.stringify(reply.body));
  }

  #route(record: GitHubRequest, raw: string): Reply {
    const what = `${record.method} ${record.path}`;
    const route = this.#routes.find((candidate) => candidate.method === record.method && candidate.pattern.test(record.path));
    if (!route) {
      this.violations.push(`${what}: no such operation in the OpenAPI description`);
      return new Reply(404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest' });
    }
    const { operation } = route;
    const violationsBefore = this.violations.length;
    record.operationId = operation.operationId;
    const values = route.pattern.exec(record.path)!.slice(1).map(decodeURIComponent);
    route.names.forEach((name, index) => (record.params[name] = values[index]!));
    const parameters = [...route.shared, ...(operation.parameters ?? [])].map((parameter) => deref(parameter, this.#doc));
    for (const parameter of parameters) {
      const name = parameter.name as string;
      const where = parameter.in as string;
      const value = where === 'path' ? record.params[name] : where === 'query' ? record.query[name] : undefined;
      if (where !== 'path' && where !== 'query') continue;
      if (value === undefined) {
        if (parameter.required) this.violations.push(`${what}: missing required ${where} parameter ${name}`);
        continue;
      }
      const schema = parameter.schema as Schema;
      const type = deref(schema, this.#doc).type;
      const typed = type === 'integer' || type === 'number' ? Number(value) : type === 'boolean' ? value === 'true' : value;
      this.#check(`${operation.operationId}:${where}:${name}`, schema, typed, `${what}: ${where} parameter ${name}=${value}`);
    }
    const declared = new Set(parameters.filter((parameter) => parameter.in === 'query').map((parameter) => parameter.name as string));
    for (const name of Object.keys(record.query)) if (!declared.has(name)) this.violations.push(`${what}: undeclared query parameter ${name}`);
    const bodySpec = operation.requestBody ? deref(operation.requestBody, this.#doc) : undefined;
    if (raw) {
      try {
        record.body = JSON.parse(raw);
      } catch {
        this.violations.push(`${what}: body is not JSON`);
      }
    }
    if (bodySpec) {
      const schema = ((bodySpec.content as Record<string, Schema> | undefined)?.['application/json']?.schema ?? {}) as Schema;
      if (record.body === undefined && bodySpec.required) this.violations.push(`${what}: missing required body`);
      else if (record.body !== undefined) {
        this.#check(`${operation.operationId}:body`, schema, record.body, `${what}: body`);
        const properties = deref(schema, this.#doc).properties as Record<string, unknown> | undefined;
        if (properties && typeof record.body === 'object' && record.body !== null) {
          for (const key of Object.keys(record.body)) if (!(key in properties)) this.violations.push(`${what}: undeclared body key ${key}`);
        }
      }
    } else if (record.body !== undefined) {
      this.violations.push(`${what}: this operation takes no body`);
    }
    if (record.authorization !== `token ${this.options.token}`) return new Reply(401, { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest' });
    // Like GitHub, an invalid request changes nothing.
    if (this.violations.length > violationsBefore) return new Reply(422, { message: 'Validation Failed', documentation_url: 'https://docs.github.com/rest' });
    const reply = this.#answer(operation.operationId, record);
    const response = operation.responses[String(reply.status)];
    if (!response) this.violations.push(`${what}: answered ${reply.status}, which the description does not list`);
    const schema = this.#responseSchema(response);
    if (schema && reply.body !== undefined) this.#check(`${operation.operationId}:response:${reply.status}`, schema, reply.body, `${what}: fake's own answer`);
    return reply;
  }

  #shaped(operationId: string, status: number, body: Json): Json {
    const route = this.#routes.find((candidate) => candidate.operation.operationId === operationId)!;
    return deepMerge(sample(this.#responseSchema(route.operation.responses[String(status)]), this.#doc), body);
  }

  #responseSchema(response: Schema | undefined): Schema | undefined {
    const content = deref(response ?? {}, this.#doc).content as Record<string, { schema?: Schema }> | undefined;
    return content?.['application/json']?.schema;
  }

  #commentJson(comment: StoredComment): Json {
    const { owner, repo } = this.options;
    const api = `${this.url}/repos/${owner}/${repo}`;
    return this.#shaped('issues/get-comment', 200, {
      id: comment.id,
      node_id: `IC_${comment.id}`,
      url: `${api}/issues/comments/${comment.id}`,
      html_url: `${this.url}/${owner}/${repo}/pull/${comment.issue}#issuecomment-${comment.id}`,
      issue_url: `${api}/issues/${comment.issue}`,
      body: comment.body,
      user: user(comment.login, comment.id, comment.type, this.url),
      created_at: comment.created_at,
      updated_at: comment.updated_at,
      author_association: comment.type === 'Bot' ? 'NONE' : 'COLLABORATOR',
    });
  }

  #pullJson(pull: FakePull, operationId = 'pulls/get', status = 200): Json {
    const { owner, repo } = this.options;
    const side = (end: FakePull['head']) => ({
      ref: end.ref,
      sha: end.sha,
      label: `${end.fullName.split('/')[0]}:${end.ref}`,
      repo: { full_name: end.fullName, name: end.fullName.split('/')[1]!, clone_url: end.cloneUrl, owner: user(end.fullName.split('/')[0]!, 1, 'User', this.url) },
      user: user(end.fullName.split('/')[0]!, 1, 'User', this.url),
    });
    return this.#shaped(operationId, status, {
      number: pull.number,
      id: pull.number,
      state: 'open',
      url: `${this.url}/repos/${owner}/${repo}/pulls/${pull.number}`,
      html_url: `${this.url}/${owner}/${repo}/pull/${pull.number}`,
      head: side(pull.head),
      base: side(pull.base),
    });
  }

  #page(record: GitHubRequest, items: Json[]): Reply {
    const perPage = Math.min(100, Number(record.query.per_page ?? 30));
    const page = Number(record.query.page ?? 1);
    const slice = items.slice((page - 1) * perPage, page * perPage);
    const headers: Record<string, string> = {};
    if (page * perPage < items.length) {
      const next = new URL(`${this.url}${record.path}`);
      for (const [key, value] of Object.entries(record.query)) next.searchParams.set(key, value);
      next.searchParams.set('page', String(page + 1));
      headers.link = `<${next.href}>; rel="next"`;
    }
    return new Reply(200, slice, headers);
  }

  #answer(operationId: string, record: GitHubRequest): Reply {
    const body = (record.body ?? {}) as Record<string, string>;
    const notFound = new Reply(404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest' });
    const { owner, repo } = this.options;
    if (record.params.owner !== undefined && (record.params.owner !== owner || record.params.repo !== repo)) return notFound;
    switch (operationId) {
      case 'issues/list-comments': {
        const issue = Number(record.params.issue_number);
        return this.#page(record, this.comments.filter((comment) => comment.issue === issue).map((comment) => this.#commentJson(comment)));
      }
      case 'issues/create-comment': {
        const comment = this.addComment(Number(record.params.issue_number), body.body!, 'github-actions[bot]', 'Bot');
        return new Reply(201, this.#commentJson(comment));
      }
      case 'issues/update-comment': {
        const comment = this.comments.find((candidate) => candidate.id === Number(record.params.comment_id));
        if (!comment) return notFound;
        comment.body = body.body!;
        comment.updated_at = new Date().toISOString();
        return new Reply(200, this.#commentJson(comment));
      }
      case 'reactions/create-for-issue-comment': {
        const commentId = Number(record.params.comment_id);
        if (!this.comments.some((comment) => comment.id === commentId)) return notFound;
        this.reactions.push({ commentId, content: body.content! });
        return new Reply(201, this.#shaped(operationId, 201, { id: this.#nextId++, node_id: 'R_1', content: body.content!, user: user('github-actions[bot]', 41898282, 'Bot', this.url), created_at: new Date().toISOString() }));
      }
      case 'repos/get-collaborator-permission-level': {
        const permission = this.permissions.get(record.params.username!);
        if (!permission) return notFound;
        return new Reply(200, this.#shaped(operationId, 200, { ...permission, user: { ...(user(record.params.username!, 7, 'User', this.url) as object), permissions: { admin: false, maintain: false, push: false, triage: false, pull: true } } as Json }));
      }
      case 'pulls/get': {
        const pull = this.pulls.get(Number(record.params.pull_number));
        return pull ? new Reply(200, this.#pullJson(pull)) : notFound;
      }
      case 'pulls/create': {
        if (this.createdPulls.some((pull) => pull.head === body.head)) {
          return new Reply(422, { message: 'Validation Failed', errors: [{ resource: 'PullRequest', code: 'custom', message: `A pull request already exists for ${owner}:${body.head}.` }], documentation_url: 'https://docs.github.com/rest' });
        }
        const number = this.#nextId++;
        this.createdPulls.push({ number, head: body.head!, base: body.base!, title: body.title! });
        const end = { ref: body.head!, sha: '0'.repeat(40), cloneUrl: '', fullName: `${owner}/${repo}` };
        return new Reply(201, this.#pullJson({ number, head: end, base: { ...end, ref: body.base! } }, operationId, 201));
      }
      case 'repos/get':
        return new Reply(200, this.#shaped(operationId, 200, { name: repo, full_name: `${owner}/${repo}`, default_branch: 'main', owner: user(owner, 1, 'User', this.url) }));
      default:
        this.violations.push(`${record.method} ${record.path}: the fake does not implement ${operationId}`);
        return new Reply(501, { message: `not implemented in the fake: ${operationId}` });
    }
  }
}

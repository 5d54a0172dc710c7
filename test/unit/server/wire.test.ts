import { describe, expect, it } from 'vitest';
import { eventFromJson, sandboxFromJson } from '../../../src/client/wire.js';
import { sandboxToJson } from '../../../src/engine/json.js';
import type { EngineEvent, SandboxInfo } from '../../../src/engine/service.js';
import { eventToJson } from '../../../src/server/http.js';
import { matchPath, ROUTES } from '../../../src/server/routes.js';

const sandbox: SandboxInfo = {
  id: 'cage-a1b2c3d4',
  template: 'node-20',
  image: 'caged/template:node-20',
  status: 'killed',
  reason: 'budget limit reached ($5.00/$5.00)',
  budget: 5_000_000,
  cost: { llm: 4_987_654, compute: 12_347, total: 5_000_001 },
  tokens: { input: 10, output: 20, cache_read: 30, cache_write: 40 },
  agent_reported_cost: 4_000_000,
  exit_code: null,
  resources: { cpu: 2, memory: 2048 },
  network_mode: 'gateway',
  created_at: '2026-11-27T00:00:00.000Z',
  labels: { 'dev.caged.tenant': 'key_1' },
};

describe('the API\'s JSON and back', () => {
  it('keeps micro-dollars exact through US-dollar numbers', () => {
    const json = JSON.parse(JSON.stringify(sandboxToJson(sandbox)));
    expect(json).toMatchObject({ cost: 5.000001, budget: 5, cost_breakdown: { llm: 4.987654, compute: 0.012347 } });
    expect(sandboxFromJson(json)).toEqual(sandbox);
  });

  it('round-trips every engine event', () => {
    const events: EngineEvent[] = [
      { type: 'created', sandbox },
      { type: 'status', id: sandbox.id, status: 'running' },
      { type: 'output', id: sandbox.id, stream: 'stderr', text: 'x' },
      { type: 'progress', id: sandbox.id, text: 'Editing' },
      { type: 'cost', id: sandbox.id, cost: sandbox.cost, budget: sandbox.budget },
      { type: 'budget_exceeded', id: sandbox.id, spent: 5_000_001, budget: 5_000_000, message: 'WARN: …' },
      { type: 'completed', sandbox },
    ];
    for (const event of events) expect(eventFromJson(JSON.parse(JSON.stringify(eventToJson(event))))).toEqual(event);
    expect(eventFromJson({ type: 'something-new' })).toBeUndefined();
  });
});

describe('routes', () => {
  it('match paths with decoded parameters, and nothing else', () => {
    expect(matchPath('/v1/sandboxes/{id}', '/v1/sandboxes/cage-a1b2c3d4')).toEqual({ id: 'cage-a1b2c3d4' });
    expect(matchPath('/v1/secrets/{name}', '/v1/secrets/MY%5FKEY')).toEqual({ name: 'MY_KEY' });
    expect(matchPath('/v1/sandboxes/{id}', '/v1/sandboxes/a/b')).toBeUndefined();
    expect(matchPath('/v1/openapi.json', '/v1/openapiXjson')).toBeUndefined();
    const keys = ROUTES.map((route) => `${route.method} ${route.path}`);
    expect(new Set(keys).size).toBe(keys.length);
  });
});

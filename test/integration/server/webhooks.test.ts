import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyWebhookSignature } from '../../../src/server/webhooks.js';
import { containersOf } from '../../support/engine-harness.js';
import { startTestServer, type ServerHarness } from './harness.js';

interface Received {
  event: string;
  delivery: string;
  verified: boolean;
  status: number;
  body: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
}

describe('webhooks', () => {
  let h: ServerHarness;
  let receiver: Server;
  let url: string;
  let secret: string;
  const received: Received[] = [];
  const attempts = new Map<string, number>();

  beforeAll(async () => {
    h = await startTestServer({ allowPrivateTargets: true, webhookRetry: { baseDelayMs: 100 } });
    secret = await h.client().webhookSecret();
    // Fails every delivery twice with a 500, then takes it.
    receiver = createServer((req, res) => {
      let raw = '';
      req.on('data', (chunk: Buffer) => (raw += chunk.toString()));
      req.on('end', () => {
        const delivery = String(req.headers['x-caged-delivery']);
        const attempt = (attempts.get(delivery) ?? 0) + 1;
        attempts.set(delivery, attempt);
        const status = attempt <= 2 ? 500 : 200;
        received.push({
          event: String(req.headers['x-caged-event']),
          delivery,
          verified: verifyWebhookSignature(secret, { signature: req.headers['x-caged-signature'] as string, timestamp: req.headers['x-caged-timestamp'] as string }, raw),
          status,
          body: JSON.parse(raw),
        });
        res.writeHead(status).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await h?.close();
    await new Promise((resolve) => receiver?.close(resolve));
  });

  it('signs on_budget_exceeded and on_complete; a receiver that fails twice gets each on a retry; every attempt is recorded', async () => {
    const created = await h.call('POST', '/v1/sandboxes', {
      body: {
        budget: 0.02,
        resources: { cpu: 1, memory: 256 },
        // Compute at a cent per vCPU-second spends the budget in about two seconds.
        pricing: { compute: { vcpu_second: 0.01, gib_second: 0 } },
        command: ['sleep', '300'],
        on_complete: `${url}/done`,
        on_budget_exceeded: `${url}/budget`,
      },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const id = created.body.id as string;
    const final = await h.client().wait(id);
    expect(final.status).toBe('killed');
    // Compute is metered per tick, so the kill may land a tick past the budget.
    expect(final.reason).toMatch(/^budget limit reached \(\$0\.0\d\/\$0\.02\)$/);
    await h.server.app.webhooks.idle();

    for (const event of ['sandbox.budget_exceeded', 'sandbox.completed']) {
      const tries = received.filter((entry) => entry.event === event);
      expect(tries.map((entry) => entry.status), event).toEqual([500, 500, 200]);
      expect(new Set(tries.map((entry) => entry.delivery)).size).toBe(1);
      expect(tries.every((entry) => entry.verified)).toBe(true);
      expect(tries[0]!.body).toMatchObject({ type: event, sandbox: { id, budget: 0.02 } });
    }
    const exceeded = received.find((entry) => entry.event === 'sandbox.budget_exceeded')!.body;
    expect(exceeded).toMatchObject({ budget: 0.02, message: expect.stringMatching(/^WARN: Sandbox cage-[0-9a-f]{8} terminated — budget limit reached/) });
    expect(exceeded.spent).toBeGreaterThanOrEqual(0.02);
    const completed = received.find((entry) => entry.event === 'sandbox.completed')!.body;
    expect(completed).toMatchObject({ status: 'killed', reason: final.reason, sandbox: { status: 'killed', cost: expect.any(Number), cost_breakdown: { llm: 0 }, tokens: { input: 0 } } });
    expect(completed.duration_s).toBeGreaterThan(0);
    expect(completed).toHaveProperty('exit_code');
    // A tampered body does not verify.
    expect(verifyWebhookSignature(secret, { signature: 'sha256=00', timestamp: String(Math.floor(Date.now() / 1000)) }, '{}')).toBe(false);

    const deliveries = await h.call('GET', `/v1/webhooks/deliveries?sandbox=${id}`);
    expect(deliveries.body.map((entry: { event: string; attempt: number; status: number }) => `${entry.event}#${entry.attempt}:${entry.status}`).sort()).toEqual(
      ['sandbox.budget_exceeded#1:500', 'sandbox.budget_exceeded#2:500', 'sandbox.budget_exceeded#3:200', 'sandbox.completed#1:500', 'sandbox.completed#2:500', 'sandbox.completed#3:200'].sort(),
    );
    await h.client().destroy(id);
    expect(await containersOf(id)).toEqual([]);
  });

  it('never lets a silent receiver hold up the engine', async () => {
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const started = Date.now();
      const created = await h.call('POST', '/v1/sandboxes', {
        body: { budget: 1, resources: { cpu: 1, memory: 256 }, command: 'true', on_complete: `http://127.0.0.1:${(silent.address() as AddressInfo).port}/hang` },
      });
      const final = await h.client().wait(created.body.id);
      expect(final.status).toBe('completed');
      expect(Date.now() - started).toBeLessThan(30_000);
      await h.client().destroy(final.id);
    } finally {
      silent.closeAllConnections();
      silent.close();
    }
  });

  it('makes a delivery still owed when the server stopped after its restart, under the same delivery id', async () => {
    const statuses: number[] = [];
    const ids: string[] = [];
    const flaky = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        const status = statuses.length === 0 ? 503 : 200;
        statuses.push(status);
        ids.push(String(req.headers['x-caged-delivery']));
        res.writeHead(status).end();
      });
    });
    await new Promise<void>((resolve) => flaky.listen(0, '127.0.0.1', resolve));
    const first = await startTestServer({ allowPrivateTargets: true, webhookRetry: { baseDelayMs: 600_000 } });
    let second: ServerHarness | undefined;
    try {
      const created = await first.call('POST', '/v1/sandboxes', {
        body: { budget: 1, resources: { cpu: 1, memory: 256 }, command: 'true', on_complete: `http://127.0.0.1:${(flaky.address() as AddressInfo).port}/done` },
      });
      const id = created.body.id as string;
      expect((await first.client().wait(id)).status).toBe('completed');
      for (let waited = 0; statuses.length === 0 && waited < 10_000; waited += 50) await sleep(50);
      await first.close();
      expect(statuses).toEqual([503]);

      second = await startTestServer({ dataDir: first.dataDir, adminKey: first.adminKey, allowPrivateTargets: true, webhookRetry: { baseDelayMs: 100 } });
      await second.server.app.webhooks.idle();
      expect(statuses).toEqual([503, 200]);
      expect(new Set(ids).size).toBe(1);
      const attempts = (await second.call('GET', `/v1/webhooks/deliveries?sandbox=${id}`)).body;
      expect(attempts.map((entry: { attempt: number; status: number }) => [entry.attempt, entry.status])).toEqual([
        [1, 503],
        [2, 200],
      ]);
    } finally {
      await second?.close();
      flaky.close();
    }
  });
});

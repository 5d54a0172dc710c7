import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RemoteClient } from '../../../src/client/remote.js';
import { mergeLayers } from '../../../src/config/schema.js';
import { RESTART_REASON } from '../../../src/server/app.js';
import { processAlive, readServerState } from '../../../src/server/state.js';
import { newApiKey } from '../../../src/server/store.js';
import { CAGED_BIN } from '../../support/cli.js';
import { containersOf, REAL_ANTHROPIC_KEY } from '../../support/engine-harness.js';
import { startFakeAnthropic, type FakeAnthropic } from '../../support/fake-anthropic.js';

/** `caged serve` as its own process (the built CLI), so that it can be killed with SIGKILL. */
async function serve(dataDir: string, key: string, env: NodeJS.ProcessEnv): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [CAGED_BIN, 'serve', '--data-dir', dataDir, '--port', '0'], {
    env: { ...process.env, ...env, CAGED_ADMIN_KEY: key },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  for (let waited = 0; waited < 60_000; waited += 100) {
    const state = readServerState(dataDir);
    if (state && state.pid === child.pid && stderr.includes('listening on')) return { child, url: state.url };
    if (child.exitCode !== null) break;
    await sleep(100);
  }
  throw new Error(`caged serve did not start: ${stderr}`);
}

async function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise((resolve) => child.once('exit', resolve));
}

interface LedgerRow {
  kind: string;
  amount: number;
  detail: string | null;
  at: string;
}

function ledgerRows(dataDir: string, id: string): LedgerRow[] {
  const db = new Database(join(dataDir, 'caged.db'), { readonly: true });
  try {
    return db.prepare('SELECT kind, amount, detail, at FROM ledger WHERE sandbox_id = ? ORDER BY seq').all(id) as LedgerRow[];
  } finally {
    db.close();
  }
}

/**
 * The row charged for the time a sandbox's container ran while no server watched it: the first
 * after the rows of the killed server's life, covering from their last compute charge to a moment
 * while the new server started (1 vCPU at $0.01/s: 10 µ$ a millisecond).
 */
function expectUnwatchedCharge(dataDir: string, id: string, before: LedgerRow[], restartedAt: number, upAt: number): LedgerRow {
  const lastCharged = Date.parse(before.filter((row) => row.kind === 'compute').at(-1)!.at);
  const row = ledgerRows(dataDir, id)[before.length]!;
  const unwatchedMs = (JSON.parse(row.detail ?? '{}') as { unwatched_ms?: number }).unwatched_ms ?? -1;
  expect(row.kind).toBe('compute');
  expect(unwatchedMs).toBeGreaterThanOrEqual(restartedAt - lastCharged);
  expect(unwatchedMs).toBeLessThanOrEqual(upAt - lastCharged);
  expect(row.amount).toBe(unwatchedMs * 10);
  return row;
}

describe('caged serve after kill -9', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'caged-restart-'));
  const key = newApiKey();
  const children: ChildProcess[] = [];
  let fake: FakeAnthropic;

  beforeAll(async () => {
    fake = await startFakeAnthropic({ apiKey: REAL_ANTHROPIC_KEY });
  });
  afterAll(async () => {
    for (const child of children) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exited(child);
      }
    }
    await fake?.close();
  });

  it('adopts a running sandbox with its ledger and budget intact and still guards it; ends one with a job with a recorded reason; leaves no container', async () => {
    const env = { CAGED_UPSTREAM_ANTHROPIC: fake.url };
    const first = await serve(dataDir, key, env);
    children.push(first.child);
    const client = new RemoteClient({ apiUrl: first.url, apiKey: key });
    // A cent per vCPU-second: the $0.20 budget lasts about twenty seconds of running.
    const pricey = { resources: { cpu: 1, memory: 256 }, pricing: { compute: { vcpu_second: 0.01, gib_second: 0 } } };
    const detached = await client.create({ config: mergeLayers({ ...pricey, budget: 200_000 }), env: { ANTHROPIC_API_KEY: REAL_ANTHROPIC_KEY } });
    const withJob = await client.create({ config: mergeLayers({ ...pricey, budget: 5_000_000 }), command: { argv: ['sleep', '600'] } });
    // Both have been metered for a while before the kill.
    let before = await client.get(detached.id);
    let jobBefore = await client.get(withJob.id);
    for (let waited = 0; (before.cost.compute < 10_000 || jobBefore.cost.compute === 0) && waited < 30_000; waited += 100) {
      await sleep(100);
      [before, jobBefore] = await Promise.all([client.get(detached.id), client.get(withJob.id)]);
    }
    expect(before.status).toBe('running');
    expect(jobBefore.status).toBe('running');
    await client.close();

    first.child.kill('SIGKILL');
    await exited(first.child);
    const rows = ledgerRows(dataDir, detached.id);
    const charged = rows.reduce((sum, row) => sum + row.amount, 0);
    expect(charged).toBeGreaterThanOrEqual(before.cost.total);
    const jobRows = ledgerRows(dataDir, withJob.id);
    const jobCharged = jobRows.reduce((sum, row) => sum + row.amount, 0);
    // The controller is gone; its containers are not.
    expect((await containersOf(detached.id)).length).toBeGreaterThan(0);
    expect((await containersOf(withJob.id)).length).toBeGreaterThan(0);

    const restartedAt = Date.now();
    const second = await serve(dataDir, key, env);
    const upAt = Date.now();
    children.push(second.child);
    const again = new RemoteClient({ apiUrl: second.url, apiKey: key });
    try {
      const adopted = await again.get(detached.id);
      expect(adopted).toMatchObject({ status: 'running', budget: 200_000 });
      expect(adopted.cost.total).toBeGreaterThanOrEqual(charged);
      expect(ledgerRows(dataDir, detached.id).slice(0, rows.length)).toEqual(rows);
      // The container ran on while no server watched it: that time is charged at adoption,
      // from the last compute charge on (1 vCPU at $0.01/s: 10 µ$ a millisecond).
      const unwatched = expectUnwatchedCharge(dataDir, detached.id, rows, restartedAt, upAt);

      // It still works, and its gateway token too: an LLM call is metered after the restart.
      let out = '';
      const call = await again.exec(
        detached.id,
        {
          argv: [
            'node',
            '-e',
            "fetch(process.env.ANTHROPIC_BASE_URL + '/v1/messages', { method: 'POST', headers: { 'x-api-key': process.env.ANTHROPIC_API_KEY, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' }, body: JSON.stringify({ model: 'claude-haiku-4-5', max_tokens: 32, messages: [{ role: 'user', content: 'hi' }] }) }).then((r) => console.log(r.status))",
          ],
        },
        { onStdout: (chunk) => (out += chunk.toString()) },
      );
      expect(call.exitCode).toBe(0);
      expect(out.trim()).toBe('200');
      expect((await again.get(detached.id)).cost.llm).toBeGreaterThan(0);

      // The one with a job could not be watched again: ended with the reason recorded, spend intact,
      // and charged for the time its container ran unwatched too.
      const ended = await again.get(withJob.id);
      expect(ended).toMatchObject({ status: 'failed', reason: RESTART_REASON, budget: 5_000_000 });
      const jobUnwatched = expectUnwatchedCharge(dataDir, withJob.id, jobRows, restartedAt, upAt);
      expect(ended.cost.total).toBe(jobCharged + jobUnwatched.amount);
      expect(unwatched.amount).toBeGreaterThan(0);
      expect(await containersOf(withJob.id)).toEqual([]);

      // Still guarded: the budget runs out and the sandbox is killed.
      const final = await again.wait(detached.id);
      expect(final.status).toBe('killed');
      expect(final.reason).toMatch(/^budget limit reached \(\$0\.\d\d\/\$0\.20\)$/);
      expect(ledgerRows(dataDir, detached.id).length).toBeGreaterThan(rows.length);
      expect((await again.destroy(detached.id)).status).toBe('destroyed');
      expect(await containersOf(detached.id)).toEqual([]);
    } finally {
      await again.close();
    }
    second.child.kill('SIGTERM');
    await exited(second.child);
    expect(second.child.exitCode).toBe(0);
    expect(processAlive(second.child.pid!)).toBe(false);
    expect(readServerState(dataDir)).toBeUndefined();
    expect(readFileSync(join(dataDir, 'secrets.key')).length).toBe(32);
  });
});

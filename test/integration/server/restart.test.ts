import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { RemoteClient } from '../../../src/client/remote.js';
import { mergeLayers } from '../../../src/config/schema.js';
import { RESTART_REASON } from '../../../src/server/app.js';
import { processAlive, readServerState } from '../../../src/server/state.js';
import { newApiKey } from '../../../src/server/store.js';
import { CAGED_BIN } from '../../support/cli.js';
import { containersOf } from '../../support/engine-harness.js';

/** `caged serve` as its own process (the built CLI), so that it can be killed with SIGKILL. */
async function serve(dataDir: string, key: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [CAGED_BIN, 'serve', '--data-dir', dataDir, '--port', '0'], {
    env: { ...process.env, CAGED_ADMIN_KEY: key },
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

function ledgerRows(dataDir: string, id: string): Array<{ kind: string; amount: number }> {
  const db = new Database(join(dataDir, 'caged.db'), { readonly: true });
  try {
    return db.prepare('SELECT kind, amount FROM ledger WHERE sandbox_id = ? ORDER BY seq').all(id) as Array<{ kind: string; amount: number }>;
  } finally {
    db.close();
  }
}

describe('caged serve after kill -9', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'caged-restart-'));
  const key = newApiKey();
  const children: ChildProcess[] = [];

  afterAll(async () => {
    for (const child of children) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exited(child);
      }
    }
  });

  it('keeps the ledger and budget, ends the orphaned sandbox with a recorded reason, and leaves no container behind', async () => {
    const first = await serve(dataDir, key);
    children.push(first.child);
    const client = new RemoteClient({ apiUrl: first.url, apiKey: key });
    const sandbox = await client.create({
      config: mergeLayers({ budget: 2_500_000, resources: { cpu: 1, memory: 256 }, pricing: { compute: { vcpu_second: 0.001, gib_second: 0 } } }),
      command: { argv: ['sleep', '600'] },
    });
    // Let compute accrue for a few seconds.
    let before = await client.get(sandbox.id);
    for (let waited = 0; before.cost.compute < 2_000 && waited < 30_000; waited += 250) {
      await sleep(250);
      before = await client.get(sandbox.id);
    }
    expect(before.status).toBe('running');
    expect(before.cost.compute).toBeGreaterThanOrEqual(2_000);
    await client.close();

    first.child.kill('SIGKILL');
    await exited(first.child);
    const rows = ledgerRows(dataDir, sandbox.id);
    const charged = rows.reduce((sum, row) => sum + row.amount, 0);
    expect(charged).toBeGreaterThanOrEqual(before.cost.total);
    // The controller is gone; its container is not (yet).
    expect((await containersOf(sandbox.id)).length).toBeGreaterThan(0);

    const second = await serve(dataDir, key);
    children.push(second.child);
    const again = new RemoteClient({ apiUrl: second.url, apiKey: key });
    try {
      const after = await again.get(sandbox.id);
      expect(after).toMatchObject({ status: 'failed', reason: RESTART_REASON, budget: 2_500_000 });
      expect(after.cost.total).toBe(charged);
      expect(after.ended_at).toBeDefined();
      expect(ledgerRows(dataDir, sandbox.id)).toEqual(rows);
      expect(await containersOf(sandbox.id)).toEqual([]);
      const listed = await again.list();
      expect(listed.map((info) => [info.id, info.status])).toEqual([[sandbox.id, 'failed']]);
      expect((await again.usage()).cost_breakdown.total).toBe(charged / 1_000_000);
      // The restarted server runs sandboxes as before and still guards their budgets.
      const next = await again.create({
        config: mergeLayers({ budget: 10_000, resources: { cpu: 1, memory: 256 }, pricing: { compute: { vcpu_second: 0.01, gib_second: 0 } } }),
        command: { argv: ['sleep', '600'] },
      });
      expect((await again.wait(next.id)).status).toBe('killed');
      expect((await again.destroy(sandbox.id)).status).toBe('destroyed');
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

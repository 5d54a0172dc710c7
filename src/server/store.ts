import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { AdoptionState } from '../engine/local-engine.js';
import type { SandboxInfo } from '../engine/service.js';
import type { ChargeKind } from '../ledger/ledger.js';
import type { Micros } from '../money.js';
import type { SandboxStatus } from '../sandbox/types.js';
import { SecretBox, type Sealed } from './secret-box.js';
import type { QueuedDelivery } from './webhooks.js';

/**
 * The server's durable state in one SQLite file: API keys (hashed), sandboxes, an append-only
 * ledger of every charge, secrets sealed with AES-256-GCM, and every webhook delivery attempt.
 * Writes are synchronous, so a charge is on disk before the engine goes on.
 */

const SCHEMA = `
CREATE TABLE IF NOT EXISTS api_keys (
  id TEXT PRIMARY KEY,
  hash TEXT NOT NULL UNIQUE,
  name TEXT,
  admin INTEGER NOT NULL,
  max_concurrent INTEGER,
  webhook_iv BLOB NOT NULL,
  webhook_data BLOB NOT NULL,
  webhook_tag BLOB NOT NULL,
  created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sandboxes (
  id TEXT PRIMARY KEY,
  tenant TEXT NOT NULL,
  status TEXT NOT NULL,
  info TEXT NOT NULL,
  on_complete TEXT,
  on_budget_exceeded TEXT,
  updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS sandboxes_tenant ON sandboxes (tenant);
CREATE TABLE IF NOT EXISTS ledger (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  sandbox_id TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('llm', 'compute')),
  amount INTEGER NOT NULL CHECK (amount >= 0),
  committed INTEGER NOT NULL,
  detail TEXT,
  at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS ledger_sandbox ON ledger (sandbox_id);
CREATE TRIGGER IF NOT EXISTS ledger_no_update BEFORE UPDATE ON ledger BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
CREATE TRIGGER IF NOT EXISTS ledger_no_delete BEFORE DELETE ON ledger BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
CREATE TABLE IF NOT EXISTS secrets (
  tenant TEXT NOT NULL,
  name TEXT NOT NULL,
  iv BLOB NOT NULL,
  data BLOB NOT NULL,
  tag BLOB NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (tenant, name)
);
CREATE TABLE IF NOT EXISTS webhook_deliveries (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  delivery_id TEXT NOT NULL,
  tenant TEXT NOT NULL,
  sandbox_id TEXT NOT NULL,
  event TEXT NOT NULL,
  url TEXT NOT NULL,
  attempt INTEGER NOT NULL,
  status INTEGER,
  error TEXT,
  at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS deliveries_tenant ON webhook_deliveries (tenant, sandbox_id);
CREATE TABLE IF NOT EXISTS adoptions (
  sandbox_id TEXT PRIMARY KEY,
  iv BLOB NOT NULL,
  data BLOB NOT NULL,
  tag BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS webhook_queue (
  delivery_id TEXT PRIMARY KEY,
  tenant TEXT NOT NULL,
  sandbox_id TEXT NOT NULL,
  event TEXT NOT NULL,
  url TEXT NOT NULL,
  body TEXT NOT NULL,
  settled INTEGER NOT NULL DEFAULT 0
);
`;

export const KEY_PREFIX = 'caged_sk_';

export interface KeyRecord {
  id: string;
  name: string | null;
  admin: boolean;
  maxConcurrent: number | null;
  createdAt: string;
}

export interface NewKey {
  record: KeyRecord;
  key: string;
  webhookSecret: string;
}

export interface Webhooks {
  on_complete?: string;
  on_budget_exceeded?: string;
}

export interface StoredSandbox {
  tenant: string;
  /** With `cost` summed from the ledger, the record of truth. */
  info: SandboxInfo;
  webhooks: Webhooks;
}

export interface SecretMeta {
  name: string;
  created_at: string;
  updated_at: string;
}

export interface DeliveryRecord {
  delivery_id: string;
  sandbox_id: string;
  event: string;
  url: string;
  attempt: number;
  status: number | null;
  error: string | null;
  at: string;
}

interface SandboxRow {
  tenant: string;
  info: string;
  on_complete: string | null;
  on_budget_exceeded: string | null;
  llm: number;
  compute: number;
}

interface KeyRow {
  id: string;
  name: string | null;
  admin: number;
  max_concurrent: number | null;
  created_at: string;
}

const SANDBOX_SELECT = `
SELECT s.tenant, s.info, s.on_complete, s.on_budget_exceeded,
  COALESCE((SELECT SUM(amount) FROM ledger l WHERE l.sandbox_id = s.id AND l.kind = 'llm'), 0) AS llm,
  COALESCE((SELECT SUM(amount) FROM ledger l WHERE l.sandbox_id = s.id AND l.kind = 'compute'), 0) AS compute
FROM sandboxes s`;

export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

export function newApiKey(): string {
  return `${KEY_PREFIX}${randomBytes(24).toString('base64url')}`;
}

export class Store {
  readonly #db: Database.Database;
  readonly #box: SecretBox;

  private constructor(db: Database.Database, box: SecretBox) {
    this.#db = db;
    this.#box = box;
  }

  /** `caged.db` and the secret key file `secrets.key` in `dataDir` (created mode 0700). */
  static open(dataDir: string): Store {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const box = SecretBox.open(join(dataDir, 'secrets.key'));
    const db = new Database(join(dataDir, 'caged.db'));
    db.pragma('journal_mode = WAL');
    // FULL: a charge acknowledged to the engine survives a power cut, not only a kill -9.
    db.pragma('synchronous = FULL');
    db.pragma('busy_timeout = 5000');
    db.exec(SCHEMA);
    return new Store(db, box);
  }

  close(): void {
    this.#db.close();
  }

  // --- keys ---------------------------------------------------------------------------------

  keyCount(): number {
    return (this.#db.prepare('SELECT COUNT(*) AS n FROM api_keys').get() as { n: number }).n;
  }

  /** Mints a key (or registers `key` when given); the plaintext is returned once and never stored. */
  createKey(options: { name?: string; admin?: boolean; maxConcurrent?: number; key?: string } = {}): NewKey {
    const key = options.key ?? newApiKey();
    const id = `key_${randomBytes(6).toString('hex')}`;
    const webhookSecret = `whsec_${randomBytes(24).toString('base64url')}`;
    const sealed = this.#box.seal(webhookSecret, `webhook:${id}`);
    const createdAt = new Date().toISOString();
    this.#db
      .prepare(
        'INSERT INTO api_keys (id, hash, name, admin, max_concurrent, webhook_iv, webhook_data, webhook_tag, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      )
      .run(id, hashKey(key), options.name ?? null, options.admin ? 1 : 0, options.maxConcurrent ?? null, sealed.iv, sealed.data, sealed.tag, createdAt);
    return {
      record: { id, name: options.name ?? null, admin: options.admin === true, maxConcurrent: options.maxConcurrent ?? null, createdAt },
      key,
      webhookSecret,
    };
  }

  findKey(key: string): KeyRecord | undefined {
    const row = this.#db.prepare('SELECT id, name, admin, max_concurrent, created_at FROM api_keys WHERE hash = ?').get(hashKey(key)) as KeyRow | undefined;
    return row && { id: row.id, name: row.name, admin: row.admin === 1, maxConcurrent: row.max_concurrent, createdAt: row.created_at };
  }

  webhookSecret(tenant: string): string {
    const row = this.#db.prepare('SELECT webhook_iv AS iv, webhook_data AS data, webhook_tag AS tag FROM api_keys WHERE id = ?').get(tenant) as Sealed | undefined;
    if (!row) throw new Error(`no key ${tenant}`);
    return this.#box.open(row, `webhook:${tenant}`);
  }

  // --- sandboxes ----------------------------------------------------------------------------

  /** Upserts a sandbox; a late snapshot never takes an ended sandbox back to running. */
  saveSandbox(tenant: string, info: SandboxInfo): void {
    this.#db
      .prepare(
        `INSERT INTO sandboxes (id, tenant, status, info, updated_at) VALUES (@id, @tenant, @status, @info, @at)
         ON CONFLICT (id) DO UPDATE SET status = @status, info = @info, updated_at = @at
         WHERE tenant = @tenant AND NOT (sandboxes.status NOT IN ('creating', 'running') AND @status IN ('creating', 'running'))`,
      )
      .run({ id: info.id, tenant, status: info.status, info: JSON.stringify(info), at: new Date().toISOString() });
  }

  setWebhooks(id: string, webhooks: Webhooks): void {
    this.#db.prepare('UPDATE sandboxes SET on_complete = ?, on_budget_exceeded = ? WHERE id = ?').run(webhooks.on_complete ?? null, webhooks.on_budget_exceeded ?? null, id);
  }

  sandbox(id: string): StoredSandbox | undefined {
    const row = this.#db.prepare(`${SANDBOX_SELECT} WHERE s.id = ?`).get(id) as SandboxRow | undefined;
    return row && fromRow(row);
  }

  sandboxes(tenant: string): StoredSandbox[] {
    return (this.#db.prepare(`${SANDBOX_SELECT} WHERE s.tenant = ? ORDER BY json_extract(s.info, '$.created_at')`).all(tenant) as SandboxRow[]).map(fromRow);
  }

  /** Sandboxes whose last recorded status was not final: their controller stopped under them. */
  unfinished(): StoredSandbox[] {
    return (this.#db.prepare(`${SANDBOX_SELECT} WHERE s.status IN ('creating', 'running')`).all() as SandboxRow[]).map(fromRow);
  }

  /** What re-adopting a running sandbox takes; sealed, as it holds provider keys and the gateway token. */
  saveAdoption(id: string, state: AdoptionState): void {
    const sealed = this.#box.seal(JSON.stringify(state), `adoption:${id}`);
    this.#db
      .prepare('INSERT INTO adoptions (sandbox_id, iv, data, tag) VALUES (?, ?, ?, ?) ON CONFLICT (sandbox_id) DO UPDATE SET iv = excluded.iv, data = excluded.data, tag = excluded.tag')
      .run(id, sealed.iv, sealed.data, sealed.tag);
  }

  adoption(id: string): AdoptionState | undefined {
    const row = this.#db.prepare('SELECT iv, data, tag FROM adoptions WHERE sandbox_id = ?').get(id) as Sealed | undefined;
    return row && (JSON.parse(this.#box.open(row, `adoption:${id}`)) as AdoptionState);
  }

  /** Once a sandbox has ended its adoption state is of no use, and it holds secrets. */
  forgetAdoption(id: string): void {
    this.#db.prepare('DELETE FROM adoptions WHERE sandbox_id = ?').run(id);
  }

  // --- ledger -------------------------------------------------------------------------------

  appendCharge(charge: { sandboxId: string; kind: ChargeKind; amount: Micros; committed: Micros; detail?: Record<string, unknown> }): void {
    this.#db
      .prepare('INSERT INTO ledger (sandbox_id, kind, amount, committed, detail, at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(charge.sandboxId, charge.kind, charge.amount, charge.committed, charge.detail ? JSON.stringify(charge.detail) : null, new Date().toISOString());
  }

  spend(id: string): { llm: Micros; compute: Micros } {
    const rows = this.#db.prepare('SELECT kind, SUM(amount) AS total FROM ledger WHERE sandbox_id = ? GROUP BY kind').all(id) as Array<{ kind: ChargeKind; total: number }>;
    return { llm: rows.find((row) => row.kind === 'llm')?.total ?? 0, compute: rows.find((row) => row.kind === 'compute')?.total ?? 0 };
  }

  /** When compute was last charged to a sandbox (epoch ms), if ever. */
  lastComputeChargeAt(id: string): number | undefined {
    const row = this.#db.prepare("SELECT at FROM ledger WHERE sandbox_id = ? AND kind = 'compute' ORDER BY seq DESC LIMIT 1").get(id) as { at: string } | undefined;
    return row ? Date.parse(row.at) : undefined;
  }

  charges(id: string): Array<{ kind: ChargeKind; amount: Micros; committed: Micros; at: string }> {
    return this.#db.prepare('SELECT kind, amount, committed, at FROM ledger WHERE sandbox_id = ? ORDER BY seq').all(id) as Array<{
      kind: ChargeKind;
      amount: Micros;
      committed: Micros;
      at: string;
    }>;
  }

  // --- secrets ------------------------------------------------------------------------------

  putSecret(tenant: string, name: string, value: string): SecretMeta {
    const sealed = this.#box.seal(value, `secret:${tenant}:${name}`);
    const at = new Date().toISOString();
    this.#db
      .prepare(
        `INSERT INTO secrets (tenant, name, iv, data, tag, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (tenant, name) DO UPDATE SET iv = excluded.iv, data = excluded.data, tag = excluded.tag, updated_at = excluded.updated_at`,
      )
      .run(tenant, name, sealed.iv, sealed.data, sealed.tag, at, at);
    return this.secretMeta(tenant, name)!;
  }

  secretMeta(tenant: string, name: string): SecretMeta | undefined {
    return this.#db.prepare('SELECT name, created_at, updated_at FROM secrets WHERE tenant = ? AND name = ?').get(tenant, name) as SecretMeta | undefined;
  }

  listSecrets(tenant: string): SecretMeta[] {
    return this.#db.prepare('SELECT name, created_at, updated_at FROM secrets WHERE tenant = ? ORDER BY name').all(tenant) as SecretMeta[];
  }

  deleteSecret(tenant: string, name: string): boolean {
    return this.#db.prepare('DELETE FROM secrets WHERE tenant = ? AND name = ?').run(tenant, name).changes > 0;
  }

  /** Secret values by name; names the tenant has not stored are listed in `missing`. */
  secretValues(tenant: string, names: string[]): { values: Record<string, string>; missing: string[] } {
    const values: Record<string, string> = {};
    const missing: string[] = [];
    const select = this.#db.prepare('SELECT iv, data, tag FROM secrets WHERE tenant = ? AND name = ?');
    for (const name of new Set(names)) {
      const row = select.get(tenant, name) as Sealed | undefined;
      if (row) values[name] = this.#box.open(row, `secret:${tenant}:${name}`);
      else missing.push(name);
    }
    return { values, missing };
  }

  // --- webhook deliveries -------------------------------------------------------------------

  recordDelivery(tenant: string, delivery: Omit<DeliveryRecord, 'at'>): void {
    this.#db
      .prepare('INSERT INTO webhook_deliveries (delivery_id, tenant, sandbox_id, event, url, attempt, status, error, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
      .run(delivery.delivery_id, tenant, delivery.sandbox_id, delivery.event, delivery.url, delivery.attempt, delivery.status, delivery.error, new Date().toISOString());
  }

  queueDelivery(delivery: QueuedDelivery): void {
    this.#db
      .prepare('INSERT INTO webhook_queue (delivery_id, tenant, sandbox_id, event, url, body) VALUES (?, ?, ?, ?, ?, ?)')
      .run(delivery.deliveryId, delivery.tenant, delivery.sandboxId, delivery.event, delivery.url, delivery.body);
  }

  settleDelivery(deliveryId: string): void {
    this.#db.prepare('UPDATE webhook_queue SET settled = 1 WHERE delivery_id = ?').run(deliveryId);
  }

  /** Deliveries that neither succeeded nor gave up, with the attempts already made. */
  unsettledDeliveries(): QueuedDelivery[] {
    return this.#db
      .prepare(
        `SELECT q.delivery_id AS deliveryId, q.tenant, q.sandbox_id AS sandboxId, q.event, q.url, q.body,
           COALESCE((SELECT MAX(attempt) FROM webhook_deliveries d WHERE d.delivery_id = q.delivery_id), 0) AS attempts
         FROM webhook_queue q WHERE q.settled = 0 ORDER BY q.rowid`,
      )
      .all() as QueuedDelivery[];
  }

  deliveries(tenant: string, sandboxId?: string): DeliveryRecord[] {
    const sql = `SELECT delivery_id, sandbox_id, event, url, attempt, status, error, at FROM webhook_deliveries WHERE tenant = ?${sandboxId ? ' AND sandbox_id = ?' : ''} ORDER BY seq`;
    return this.#db.prepare(sql).all(...(sandboxId ? [tenant, sandboxId] : [tenant])) as DeliveryRecord[];
  }
}

function fromRow(row: SandboxRow): StoredSandbox {
  const info = JSON.parse(row.info) as SandboxInfo;
  info.cost = { llm: row.llm, compute: row.compute, total: row.llm + row.compute };
  const webhooks: Webhooks = {};
  if (row.on_complete) webhooks.on_complete = row.on_complete;
  if (row.on_budget_exceeded) webhooks.on_budget_exceeded = row.on_budget_exceeded;
  return { tenant: row.tenant, info, webhooks };
}

export function isActive(status: SandboxStatus): boolean {
  return status === 'creating' || status === 'running';
}

import { chmodSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import type { SandboxInfo } from '../../../src/engine/service.js';
import { SecretBox } from '../../../src/server/secret-box.js';
import { hashKey, Store } from '../../../src/server/store.js';

function info(id: string, status: SandboxInfo['status']): SandboxInfo {
  return {
    id,
    template: 'node-20',
    image: 'caged/template:node-20',
    status,
    budget: 5_000_000,
    cost: { llm: 0, compute: 0, total: 0 },
    tokens: { input: 0, output: 0, cache_read: 0, cache_write: 0 },
    resources: { cpu: 2, memory: 2048 },
    network_mode: 'gateway',
    created_at: new Date().toISOString(),
  };
}

describe('SecretBox', () => {
  it('creates its key file 0600, tightens a loose one, and binds ciphertexts to their row', () => {
    const dir = mkdtempSync(join(tmpdir(), 'caged-box-'));
    const path = join(dir, 'secrets.key');
    const box = SecretBox.open(path);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const sealed = box.seal('sk-ant-value', 'secret:a:KEY');
    expect(sealed.data.toString('utf8')).not.toContain('sk-ant');
    expect(box.open(sealed, 'secret:a:KEY')).toBe('sk-ant-value');
    expect(() => box.open(sealed, 'secret:b:KEY')).toThrow();
    chmodSync(path, 0o644);
    expect(SecretBox.open(path).open(sealed, 'secret:a:KEY')).toBe('sk-ant-value');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    writeFileSync(join(dir, 'short.key'), 'x');
    expect(() => SecretBox.open(join(dir, 'short.key'))).toThrow(/not a caged secret key/);
  });
});

describe('Store', () => {
  let opened: Store | undefined;
  afterEach(() => opened?.close());

  function open(): { store: Store; dir: string } {
    const dir = mkdtempSync(join(tmpdir(), 'caged-store-'));
    opened = Store.open(dir);
    return { store: opened, dir };
  }

  it('stores keys hashed and finds them by the plaintext', () => {
    const { store, dir } = open();
    const created = store.createKey({ name: 'ci', maxConcurrent: 3 });
    expect(created.key).toMatch(/^caged_sk_/);
    expect(store.findKey(created.key)).toMatchObject({ id: created.record.id, name: 'ci', admin: false, maxConcurrent: 3 });
    expect(store.findKey(`${created.key}x`)).toBeUndefined();
    expect(store.webhookSecret(created.record.id)).toBe(created.webhookSecret);
    store.close();
    const raw = new Database(join(dir, 'caged.db'), { readonly: true });
    const row = raw.prepare('SELECT hash FROM api_keys').get() as { hash: string };
    raw.close();
    expect(row.hash).toBe(hashKey(created.key));
    expect(readFileSync(join(dir, 'caged.db')).toString('latin1')).not.toContain(created.key);
  });

  it('keeps an append-only ledger and sums each sandbox\'s spend from it', () => {
    const { store, dir } = open();
    store.saveSandbox('t1', info('cage-00000001', 'running'));
    store.appendCharge({ sandboxId: 'cage-00000001', kind: 'llm', amount: 1_250_000, committed: 1_250_000 });
    store.appendCharge({ sandboxId: 'cage-00000001', kind: 'compute', amount: 40, committed: 1_250_040 });
    expect(store.spend('cage-00000001')).toEqual({ llm: 1_250_000, compute: 40 });
    expect(store.sandbox('cage-00000001')!.info.cost).toEqual({ llm: 1_250_000, compute: 40, total: 1_250_040 });
    const raw = new Database(join(dir, 'caged.db'));
    expect(() => raw.prepare('UPDATE ledger SET amount = 0').run()).toThrow(/append-only/);
    expect(() => raw.prepare('DELETE FROM ledger').run()).toThrow(/append-only/);
    raw.close();
  });

  it('scopes sandboxes and secrets by tenant; a late snapshot never revives an ended sandbox', () => {
    const { store } = open();
    store.saveSandbox('t1', info('cage-00000001', 'running'));
    store.saveSandbox('t2', info('cage-00000002', 'running'));
    // Another tenant cannot take a sandbox over by saving under its id.
    store.saveSandbox('t2', info('cage-00000001', 'killed'));
    expect(store.sandbox('cage-00000001')).toMatchObject({ tenant: 't1', info: { status: 'running' } });
    store.saveSandbox('t1', info('cage-00000001', 'killed'));
    store.saveSandbox('t1', info('cage-00000001', 'running'));
    expect(store.sandbox('cage-00000001')!.info.status).toBe('killed');
    store.saveSandbox('t1', info('cage-00000001', 'destroyed'));
    expect(store.sandbox('cage-00000001')!.info.status).toBe('destroyed');
    expect(store.sandboxes('t1').map((stored) => stored.info.id)).toEqual(['cage-00000001']);
    expect(store.unfinished().map((stored) => stored.info.id)).toEqual(['cage-00000002']);

    store.putSecret('t1', 'TOKEN', 'one');
    store.putSecret('t1', 'TOKEN', 'two');
    expect(store.secretValues('t1', ['TOKEN', 'OTHER'])).toEqual({ values: { TOKEN: 'two' }, missing: ['OTHER'] });
    expect(store.secretValues('t2', ['TOKEN'])).toEqual({ values: {}, missing: ['TOKEN'] });
    expect(store.listSecrets('t2')).toEqual([]);
    expect(store.deleteSecret('t2', 'TOKEN')).toBe(false);
    expect(store.deleteSecret('t1', 'TOKEN')).toBe(true);
  });

  it('keeps webhook deliveries queued until settled, with the attempts made so far', () => {
    const { store } = open();
    const queued = { deliveryId: 'dlv_1', tenant: 't1', sandboxId: 'cage-00000001', event: 'sandbox.completed' as const, url: 'https://hooks.example.com/', body: '{}', attempts: 0 };
    store.queueDelivery(queued);
    store.recordDelivery('t1', { delivery_id: 'dlv_1', sandbox_id: 'cage-00000001', event: 'sandbox.completed', url: queued.url, attempt: 1, status: 500, error: 'HTTP 500' });
    store.recordDelivery('t1', { delivery_id: 'dlv_1', sandbox_id: 'cage-00000001', event: 'sandbox.completed', url: queued.url, attempt: 2, status: null, error: 'ECONNREFUSED' });
    expect(store.unsettledDeliveries()).toEqual([{ ...queued, attempts: 2 }]);
    store.settleDelivery('dlv_1');
    expect(store.unsettledDeliveries()).toEqual([]);
    expect(store.deliveries('t1').map((entry) => entry.attempt)).toEqual([1, 2]);
    expect(store.deliveries('t2')).toEqual([]);
  });
});

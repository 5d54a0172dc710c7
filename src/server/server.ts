import { mkdirSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createLocalEngine } from '../engine/create.js';
import type { LocalEngine } from '../engine/local-engine.js';
import { enginePaths } from '../engine/paths.js';
import type { ChargeEvent } from '../ledger/ledger.js';
import { createDockerBackend } from '../sandbox/docker.js';
import { CagedApp } from './app.js';
import { createApiHandler } from './http.js';
import { processAlive, readServerState, SERVER_STATE_FILE, writeServerState } from './state.js';
import { Store, type NewKey } from './store.js';
import { WebhookSender } from './webhooks.js';

export interface ServerOptions {
  dataDir: string;
  host?: string;
  port?: number;
  /** Default sandboxes per key at once (default 8). */
  maxConcurrent?: number;
  allowPrivateTargets?: boolean;
  allowLocalRepos?: boolean;
  webhookRetry?: { attempts?: number; baseDelayMs?: number };
  /** Registered as an admin key when unknown (CAGED_ADMIN_KEY): how a launcher knows its key. */
  adminKey?: string;
  /** Upstream LLM APIs (default: env CAGED_UPSTREAM_*, else the providers'). */
  upstreams?: { anthropic?: string; openai?: string };
  tickMs?: number;
  log?: (line: string) => void;
}

export interface RunningServer {
  url: string;
  port: number;
  app: CagedApp;
  engine: LocalEngine;
  store: Store;
  /** The admin key minted on the first start (print it once). */
  firstKey?: NewKey;
  close(): Promise<void>;
}

/**
 * `caged serve`: the store, a LocalEngine whose state lives in the data dir, webhooks and the
 * REST API. Sandboxes an earlier life of this server left running are ended with a recorded
 * reason and their Docker objects removed before anything new starts.
 */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const { dataDir } = options;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const previous = readServerState(dataDir);
  if (previous && previous.pid !== process.pid && processAlive(previous.pid)) {
    throw new Error(`another caged server (pid ${previous.pid}) uses ${dataDir} at ${previous.url}`);
  }

  const store = Store.open(dataDir);
  let firstKey: NewKey | undefined;
  if (options.adminKey && !store.findKey(options.adminKey)) store.createKey({ key: options.adminKey, admin: true, name: 'admin' });
  if (store.keyCount() === 0) firstKey = store.createKey({ admin: true, name: 'admin' });

  const backend = await createDockerBackend({ workspaceRoot: enginePaths(dataDir).workspaces });
  const orphans = store.unfinished().map((stored) => stored.info.id);
  for (const id of orphans) await backend.destroy(id).catch((error: unknown) => log(`caged: could not remove ${id}: ${(error as Error).message}`));
  const engine = await createLocalEngine({ stateRoot: dataDir, backend, log, upstreams: options.upstreams, tickMs: options.tickMs });

  const webhooks = new WebhookSender({
    secretFor: (tenant) => store.webhookSecret(tenant),
    record: (tenant, attempt) => store.recordDelivery(tenant, attempt),
    queue: { add: (delivery) => store.queueDelivery(delivery), settle: (deliveryId) => store.settleDelivery(deliveryId) },
    allowPrivate: options.allowPrivateTargets,
    ...options.webhookRetry,
  });
  const app = new CagedApp(
    store,
    engine,
    webhooks,
    { maxConcurrent: options.maxConcurrent ?? 8, allowPrivateTargets: options.allowPrivateTargets ?? false, allowLocalRepos: options.allowLocalRepos ?? false },
    dataDir,
  );
  webhooks.resume(store.unsettledDeliveries());
  for (const info of app.endOrphans()) log(`caged: ${info.id} ended: ${info.reason}`);

  const onCharge = (charge: ChargeEvent) => store.appendCharge(charge);
  engine.ledger.on('charge', onCharge);
  const unsubscribe = engine.subscribe((event) => app.onEngineEvent(event));

  const server = createServer(createApiHandler(app));
  const port = await listen(server, options.port ?? 7433, options.host ?? '127.0.0.1');
  const host = options.host ?? '127.0.0.1';
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  writeServerState(dataDir, { url, pid: process.pid, started_at: new Date().toISOString() });

  let closing: Promise<void> | undefined;
  return {
    url,
    port,
    app,
    engine,
    store,
    ...(firstKey ? { firstKey } : {}),
    close() {
      closing ??= (async () => {
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections();
        await stopped;
        await engine.close();
        unsubscribe();
        engine.ledger.off('charge', onCharge);
        await webhooks.close();
        store.close();
        if (readServerState(dataDir)?.pid === process.pid) rmSync(join(dataDir, SERVER_STATE_FILE), { force: true });
      })();
      return closing;
    },
  };
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

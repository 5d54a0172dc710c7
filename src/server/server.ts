import { createHash } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { createLocalEngine } from '../engine/create.js';
import type { LocalEngine } from '../engine/local-engine.js';
import { enginePaths } from '../engine/paths.js';
import type { ChargeEvent } from '../ledger/ledger.js';
import { formatUsd } from '../money.js';
import { createDockerBackend, type DockerBackend } from '../sandbox/docker.js';
import { isSandboxId } from '../sandbox/ids.js';
import { currentOwner } from '../sandbox/owner.js';
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
 * REST API. Sandboxes an earlier life of this server left running (it was killed) are adopted
 * again, or ended with a recorded reason and removed, before anything new starts.
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

  const backend = await createDockerBackend({ workspaceRoot: enginePaths(dataDir).workspaces, owner: serverOwner(dataDir) });
  // Not reaped on open: the sandboxes of an earlier life are to be adopted first.
  const engine = await createLocalEngine({ stateRoot: dataDir, backend, reap: false, log, upstreams: options.upstreams, tickMs: options.tickMs });

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
  const onCharge = (charge: ChargeEvent) => store.appendCharge(charge);
  engine.ledger.on('charge', onCharge);
  const unsubscribe = engine.subscribe((event) => app.onEngineEvent(event));
  await recover(app, backend, log);

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

/**
 * The owner label of this server's Docker objects names its data dir rather than only its
 * process: other caged processes cannot check it and leave the objects to it (or to their
 * expiry), so that after a crash it finds its sandboxes still there to adopt.
 */
function serverOwner(dataDir: string): string {
  const start = currentOwner().split(':').pop();
  const dir = createHash('sha256').update(resolve(dataDir)).digest('hex').slice(0, 8);
  return `${hostname()}/caged-serve-${dir}:${process.pid}:${start}`;
}

/**
 * Sandboxes the store still has as creating/running: a running one without a job of its own is
 * adopted (its job's exit could not be watched again); the others, and any that cannot be
 * adopted, end with a recorded reason. Then every leftover of earlier lives is removed.
 */
async function recover(app: CagedApp, backend: DockerBackend, log: (line: string) => void): Promise<void> {
  const adopted = new Set<string>();
  for (const stored of app.store.unfinished()) {
    const { id } = stored.info;
    const state = app.store.adoption(id);
    const job = state ? state.request.prompt !== undefined || state.request.command !== undefined : true;
    if (!state || job || stored.info.status !== 'running') continue;
    try {
      const info = await app.adopt(stored, state);
      adopted.add(id);
      log(`caged: adopted ${id} (${info.status}, ${formatUsd(info.cost.total)} of ${formatUsd(info.budget)} spent)`);
    } catch (error) {
      log(`caged: could not adopt ${id}: ${(error as Error).message}`);
    }
  }
  for (const stored of app.store.unfinished()) {
    if (adopted.has(stored.info.id)) continue;
    await backend.destroy(stored.info.id).catch((error: unknown) => log(`caged: could not remove ${stored.info.id}: ${(error as Error).message}`));
  }
  for (const info of app.endOrphans()) log(`caged: ${info.id} ended: ${info.reason}`);
  const leftovers = (await backend.reap({ dryRun: true })).removed.filter((resource) => !adopted.has(resource.sandboxId));
  for (const id of new Set(leftovers.map((resource) => resource.sandboxId))) {
    if (isSandboxId(id)) await backend.destroy(id).catch((error: unknown) => log(`caged: could not remove ${id}: ${(error as Error).message}`));
  }
}

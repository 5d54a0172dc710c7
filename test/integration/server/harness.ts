import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { RemoteClient } from '../../../src/client/remote.js';
import { startServer, type RunningServer, type ServerOptions } from '../../../src/server/server.js';

export interface ServerHarness {
  server: RunningServer;
  dataDir: string;
  adminKey: string;
  client(key?: string): RemoteClient;
  /** A raw call: status and parsed JSON (or text). */
  call(method: string, path: string, options?: { key?: string; body?: unknown; raw?: string }): Promise<{ status: number; body: Json; headers: Record<string, unknown> }>;
  close(): Promise<void>;
}

/** JSON answers are read field by field in the tests. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

/** A caged server in this process on a free port, with its own data dir, on the real Docker engine. */
export async function startTestServer(options: Partial<ServerOptions> = {}): Promise<ServerHarness> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'caged-server-'));
  const server = await startServer({ dataDir, port: 0, log: () => undefined, tickMs: 250, ...options });
  const adminKey = server.firstKey?.key ?? options.adminKey!;
  const clients: RemoteClient[] = [];
  return {
    server,
    dataDir,
    adminKey,
    client(key = adminKey) {
      const client = new RemoteClient({ apiUrl: server.url, apiKey: key });
      clients.push(client);
      return client;
    },
    async call(method, path, { key = adminKey, body, raw } = {}) {
      const response = await request(`${server.url}${path}`, {
        method: method as 'GET',
        headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...(body !== undefined || raw !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(raw !== undefined ? { body: raw } : body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      const text = await response.body.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        // Text answers (logs, patch, exec lines) stay text.
      }
      return { status: response.statusCode, body: parsed, headers: response.headers };
    },
    async close() {
      await Promise.all(clients.map((client) => client.close()));
      await server.close();
    },
  };
}

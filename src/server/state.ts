import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** `server.json` in a data dir: where the server that uses it listens. Read by the CLI to find it. */
export interface ServerState {
  url: string;
  pid: number;
  started_at: string;
}

export const SERVER_STATE_FILE = 'server.json';

export function readServerState(dataDir: string): ServerState | undefined {
  try {
    const state = JSON.parse(readFileSync(join(dataDir, SERVER_STATE_FILE), 'utf8')) as ServerState;
    return typeof state.url === 'string' && Number.isInteger(state.pid) ? state : undefined;
  } catch {
    return undefined;
  }
}

export function writeServerState(dataDir: string, state: ServerState): void {
  const path = join(dataDir, SERVER_STATE_FILE);
  writeFileSync(`${path}.tmp`, `${JSON.stringify(state)}\n`, { mode: 0o600 });
  renameSync(`${path}.tmp`, path);
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

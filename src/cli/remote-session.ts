import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { RemoteClient } from '../client/remote.js';
import { cagedHome } from '../engine/paths.js';
import { processAlive, readServerState } from '../server/state.js';
import type { Io } from './output.js';

/**
 * Which caged server the CLI talks to: CAGED_API_URL / CAGED_API_KEY, else what `caged login`
 * saved, else a local server under CAGED_HOME that the CLI starts on first use.
 */

export interface Login {
  api_url: string;
  api_key: string;
}

const START_TIMEOUT_MS = 60_000;
const STALE_LOCK_MS = 90_000;

/** `$XDG_CONFIG_HOME/caged/login.json` (mode 0600). */
export function loginFile(env: NodeJS.ProcessEnv): string {
  return join(env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config'), 'caged', 'login.json');
}

export function readLogin(env: NodeJS.ProcessEnv): Partial<Login> {
  try {
    return JSON.parse(readFileSync(loginFile(env), 'utf8')) as Partial<Login>;
  } catch {
    return {};
  }
}

export function writeLogin(env: NodeJS.ProcessEnv, login: Login): string {
  const path = loginFile(env);
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileSync(path, `${JSON.stringify(login, null, 2)}\n`, { mode: 0o600 });
  return path;
}

/** The data dir of the server the CLI starts by itself. */
export function localServerDir(env: NodeJS.ProcessEnv): string {
  return join(cagedHome(env), 'server');
}

export async function openRemote(io: Io): Promise<RemoteClient> {
  const login = readLogin(io.env);
  const apiUrl = io.env.CAGED_API_URL || login.api_url;
  const apiKey = io.env.CAGED_API_KEY || login.api_key;
  if (apiUrl) {
    if (!apiKey) throw new Error(`no API key for ${apiUrl}: run caged login --api-url ${apiUrl} --api-key … or set CAGED_API_KEY`);
    return new RemoteClient({ apiUrl, apiKey });
  }
  const local = await ensureLocalServer(io);
  return new RemoteClient({ apiUrl: local.url, apiKey: apiKey ?? local.key });
}

/** The local server's URL and key, starting it (once, even under concurrent CLIs) when it is not running. */
async function ensureLocalServer(io: Io): Promise<{ url: string; key: string }> {
  const dir = localServerDir(io.env);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const key = localKey(dir);
  const running = await liveServer(dir);
  if (running) return { url: running, key };

  const lock = join(dir, 'start.lock');
  if (!takeLock(lock)) {
    // Another CLI is starting it: wait for it to come up.
    const url = await waitForServer(dir, undefined);
    return { url, key };
  }
  try {
    const log = openSync(join(dir, 'server.log'), 'a', 0o600);
    const child = spawn(
      process.execPath,
      [cliEntry(), 'serve', '--data-dir', dir, '--host', '127.0.0.1', '--port', '0', '--allow-local-repos', '--allow-private-targets'],
      // Its own cwd: a long-lived server must not pin the directory the first command ran in.
      { detached: true, cwd: dir, stdio: ['ignore', log, log], env: { ...io.env, CAGED_ADMIN_KEY: key } },
    );
    closeSync(log);
    child.unref();
    const url = await waitForServer(dir, child.pid);
    io.stderr.write(`caged: started a local caged server at ${url} (pid ${child.pid}; data and server.log in ${dir}); use caged login to use another\n`);
    return { url, key };
  } finally {
    unlinkSync(lock);
  }
}

function localKey(dir: string): string {
  const path = join(dir, 'cli-key');
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    const key = `caged_sk_${randomBytes(24).toString('base64url')}`;
    try {
      writeFileSync(path, `${key}\n`, { mode: 0o600, flag: 'wx' });
      return key;
    } catch {
      // Another CLI wrote it first.
      return readFileSync(path, 'utf8').trim();
    }
  }
}

function takeLock(path: string): boolean {
  for (let tries = 0; tries < 2; tries += 1) {
    try {
      writeFileSync(path, String(process.pid), { flag: 'wx', mode: 0o600 });
      return true;
    } catch {
      try {
        if (Date.now() - statSync(path).mtimeMs < STALE_LOCK_MS) return false;
        unlinkSync(path);
      } catch {
        // Gone meanwhile: try again.
      }
    }
  }
  return false;
}

async function liveServer(dir: string, pid?: number): Promise<string | undefined> {
  const state = readServerState(dir);
  if (!state || (pid !== undefined && state.pid !== pid) || !processAlive(state.pid)) return undefined;
  const client = new RemoteClient({ apiUrl: state.url, apiKey: '', timeoutMs: 2000 });
  try {
    await client.health();
    return state.url;
  } catch {
    return undefined;
  } finally {
    await client.close();
  }
}

async function waitForServer(dir: string, pid: number | undefined): Promise<string> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const url = await liveServer(dir, pid);
    if (url) return url;
    if (pid !== undefined && !processAlive(pid)) break;
    await sleep(150);
  }
  let tail = '';
  try {
    tail = readFileSync(join(dir, 'server.log'), 'utf8').trim().split('\n').slice(-5).join('\n');
  } catch {
    // No log yet.
  }
  throw new Error(`the local caged server did not start${tail ? `:\n${tail}` : ''}`);
}

/** bin/caged.js of this package (from lib/cli or src/cli alike). */
function cliEntry(): string {
  return fileURLToPath(new URL('../../bin/caged.js', import.meta.url));
}

/** Runs `use` with a client of the configured (or local) server and closes it afterwards. */
export async function withRemote<T>(io: Io, use: (client: RemoteClient) => Promise<T>): Promise<T> {
  const client = await openRemote(io);
  try {
    return await use(client);
  } finally {
    await client.close();
  }
}

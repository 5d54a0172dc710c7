import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { processAlive, readServerState } from '../../../src/server/state.js';

/** Stops the server the CLI started under `cagedHome` (SIGTERM: it cancels and removes its sandboxes). */
export async function stopLocalServer(cagedHome: string): Promise<void> {
  const state = readServerState(join(cagedHome, 'server'));
  if (!state || !processAlive(state.pid)) return;
  process.kill(state.pid, 'SIGTERM');
  for (let waited = 0; processAlive(state.pid) && waited < 60_000; waited += 100) await sleep(100);
  if (processAlive(state.pid)) throw new Error(`the local caged server (pid ${state.pid}) did not stop`);
}

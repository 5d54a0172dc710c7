import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { processAlive, readServerState } from '../../../src/server/state.js';
import { runCli } from '../../support/cli.js';
import { containersOf } from '../../support/engine-harness.js';
import { stopLocalServer } from './local-server.js';

describe('the local server the CLI starts by itself', () => {
  const work = mkdtempSync(join(tmpdir(), 'caged-autostart-'));
  const env: NodeJS.ProcessEnv = { HOME: work, XDG_CONFIG_HOME: join(work, 'config'), CAGED_HOME: join(work, 'home'), CAGED_API_URL: '', CAGED_API_KEY: '' };
  const serverDir = join(work, 'home', 'server');

  afterAll(async () => {
    await stopLocalServer(join(work, 'home'));
  });

  it('starts once for concurrent first commands, says so once, and starts again after a kill -9, adopting its sandbox', async () => {
    const first = await Promise.all([0, 1, 2].map(() => runCli(['list', '--json'], { env, cwd: work })));
    for (const result of first) {
      expect(result.code, result.stderr).toBe(0);
      expect(JSON.parse(result.stdout)).toEqual([]);
    }
    expect(first.map((result) => result.stderr).join('').match(/caged: started a local caged server at http:\/\/127\.0\.0\.1:\d+/g)).toHaveLength(1);
    const state = readServerState(serverDir)!;
    expect((await runCli(['list'], { env, cwd: work })).stderr).toBe('');

    const run = await runCli(['run', '--budget', '1', '--cpus', '1', '--memory', '256', '--json'], { env, cwd: work });
    const { id } = JSON.parse(run.stdout);
    // exec waits until the sandbox runs.
    expect((await runCli(['exec', id, 'true'], { env, cwd: work })).code).toBe(0);
    process.kill(state.pid, 'SIGKILL');
    for (let waited = 0; processAlive(state.pid) && waited < 10_000; waited += 50) await sleep(50);

    const after = await runCli(['list', '--json'], { env, cwd: work });
    expect(after.code, after.stderr).toBe(0);
    expect(after.stderr).toMatch(/^caged: started a local caged server/);
    expect(readServerState(serverDir)!.pid).not.toBe(state.pid);
    // The new server took the running sandbox back: it still runs, and execs work again.
    expect(JSON.parse(after.stdout)).toEqual([expect.objectContaining({ id, status: 'running', budget: 1 })]);
    const exec = await runCli(['exec', id, 'echo back'], { env, cwd: work });
    expect(exec.stdout).toBe('back\n');
    expect((await runCli(['destroy', id, '--force'], { env, cwd: work })).code).toBe(0);
    expect(await containersOf(id)).toEqual([]);
  });
});

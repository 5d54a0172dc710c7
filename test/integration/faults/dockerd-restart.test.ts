import { spawn } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Docker from 'dockerode';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { runBatch } from '../../../src/batch/run-batch.js';
import type { ResolvedTask } from '../../../src/config/resolve.js';
import { FINAL_STATUSES, LABELS } from '../../../src/sandbox/types.js';
import { ownerLiveness } from '../../../src/sandbox/owner.js';
import { listManagedResources } from '../../../src/sandbox/reaper.js';
import { settings, startEngine, type EngineHarness } from '../../support/engine-harness.js';
import { lockDockerd } from './docker-lock.js';

/**
 * dockerd restarted in the middle of a batch: every task still ends, with a reason; nothing hangs;
 * and once dockerd is back and the engine closes, nothing of the run is left. This test stops the
 * machine's Docker engine, so it runs alone — its own vitest project, after all the others, plus a
 * lock against other test runs on the machine (docker-lock.ts explains the protocol).
 */

const docker = new Docker();
const DOCKERD_LOG = process.env.CAGED_DOCKERD_LOG ?? '/var/log/caged-dockerd.log';
const PID_FILE = '/var/run/docker.pid';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

/** Nothing would be hurt by a restart: no running container but leftovers of dead controllers. */
async function dockerIsQuiet(): Promise<boolean> {
  const running = await docker.listContainers({ filters: { status: ['running'] } });
  return running.every((container) => container.Labels[LABELS.managed] === 'true' && ownerLiveness(container.Labels[LABELS.owner] ?? '') === 'gone');
}

/** Stops dockerd (SIGTERM, as a service manager would) and starts it again the same way, with the same argv and environment. */
async function restartDockerd(): Promise<void> {
  const pid = Number(readFileSync(PID_FILE, 'utf8').trim());
  const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  const env = Object.fromEntries(
    readFileSync(`/proc/${pid}/environ`, 'utf8')
      .split('\0')
      .filter(Boolean)
      .map((entry) => [entry.slice(0, entry.indexOf('=')), entry.slice(entry.indexOf('=') + 1)]),
  );
  process.kill(pid, 'SIGTERM');
  await waitFor('dockerd to exit', () => !alive(pid), 60_000);
  const log = openSync(DOCKERD_LOG, 'a');
  const daemon = spawn(argv[0]!, argv.slice(1), { detached: true, stdio: ['ignore', log, log], env });
  daemon.unref();
  closeSync(log);
  await waitFor('/var/run/docker.sock to answer again', () => docker.ping().then(() => true, () => false), 60_000);
}

function task(index: number): ResolvedTask {
  return { index, name: `task ${index}`, prompt: `task ${index}`, config: settings({ budget: 1_000_000, resources: { cpu: 0.5, memory: 256 }, agent: { command: 'sleep 8; echo done' } }) };
}

describe('dockerd restarted mid-batch', () => {
  let harness: EngineHarness | undefined;
  let release: (() => void) | undefined;

  afterAll(async () => {
    await harness?.close().catch(() => undefined);
    if (harness) rmSync(harness.stateRoot, { recursive: true, force: true });
    release?.();
  });

  it('ends every task with a reason, hangs nowhere, and leaves nothing once dockerd is back', { timeout: 20 * 60_000 }, async () => {
    release = await lockDockerd(inject('cagedTestRun'), dockerIsQuiet);
    harness = await startEngine();
    const engine = harness.engine;
    const runId = `run-dockerd-${process.pid}`;
    const batch = runBatch(engine, [0, 1, 2, 3, 4, 5].map(task), { runId, maxParallel: 3 });
    await waitFor('three running sandboxes', async () => (await engine.list({ status: ['running'] })).length === 3, 60_000);

    await restartDockerd();
    const hung = sleep(120_000).then(() => 'hung' as const);
    const report = await Promise.race([batch, hung]);
    expect(report, 'the batch did not end within 2 minutes of the restart').not.toBe('hung');
    if (report === 'hung') return;

    expect(report.results).toHaveLength(6);
    for (const result of report.results) {
      expect(FINAL_STATUSES.has(result.status), `${result.task}: ${result.status}`).toBe(true);
      if (result.status !== 'completed') expect(result.reason, `${result.task} ended ${result.status} without a reason`).toEqual(expect.any(String));
    }
    // The three that were running when dockerd went down failed, saying why (or with the exit code of their stopped container).
    for (const result of report.results.slice(0, 3)) {
      expect(result.status).toBe('failed');
      expect(result.reason).toMatch(/Docker engine went away|the container exited with code/);
    }

    await engine.close();
    expect(await listManagedResources(docker, { run: runId })).toEqual([]);
    expect(readdirSync(join(harness.stateRoot, 'workspaces'))).toEqual([]);
  });
});

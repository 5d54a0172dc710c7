import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { afterAll, describe, expect, it } from 'vitest';
import { listManagedResources } from '../../../src/sandbox/reaper.js';
import { LABELS } from '../../../src/sandbox/types.js';
import { runCli, type CliResult } from '../../support/cli.js';

/**
 * The controller (`caged batch`, the built CLI as its own process) killed mid-batch. SIGTERM: it
 * cancels, removes every container, network and workspace, and still writes the results file with
 * every task's status. SIGKILL: it leaves its sandboxes behind, and the next `caged` invocation
 * with the same state directory reaps them at start because their owner is dead (the reaper itself, with a fixture controller:
 * test/integration/sandbox/reaper.test.ts).
 */

const docker = new Docker();
const dirs: string[] = [];

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** Four tasks that would run a minute, two at a time. */
function batchDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'caged-signals-'));
  dirs.push(dir);
  writeFileSync(join(dir, '.caged.yaml'), 'resources: {cpu: 0.5, memory: 256}\nbudget: 1\nmax_parallel: 2\nagent: {command: "sleep 60"}\n');
  writeFileSync(join(dir, 'tasks.txt'), ['|first|1', '|second|1', '|third|1', '|fourth|1'].join('\n'));
  return dir;
}

/** Everything caged created for the controller with this pid (its owner label is host:pid:start). */
async function leftoversOf(pid: number) {
  return (await listManagedResources(docker)).filter((resource) => resource.owner.startsWith(`${hostname()}:${pid}:`));
}

/** Starts `caged batch` and resolves once two of its sandboxes are running. */
async function startBatch(dir: string): Promise<{ pid: number; done: Promise<CliResult> }> {
  let pid = 0;
  const done = runCli(['batch', 'tasks.txt', '--out', 'out/results.json'], { cwd: dir, env: { CAGED_HOME: join(dir, 'state') }, onSpawn: (child) => (pid = child) });
  await expect
    .poll(
      async () => {
        const containers = await docker.listContainers({ filters: { label: [`${LABELS.managed}=true`], status: ['running'] } });
        return containers.filter((container) => !container.Labels[LABELS.role] && container.Labels[LABELS.owner]?.startsWith(`${hostname()}:${pid}:`)).length;
      },
      { timeout: 60_000, interval: 250 },
    )
    .toBe(2);
  return { pid, done };
}

describe('controller signals', () => {
  it('SIGTERM: every sandbox is stopped and removed, and the results file has every task with a status', async () => {
    const dir = batchDir();
    const { pid, done } = await startBatch(dir);
    process.kill(pid, 'SIGTERM');
    const result = await done;

    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toContain('caged: cancelling the batch');
    const json = JSON.parse(readFileSync(join(dir, 'out/results.json'), 'utf8'));
    expect(json.results.map((task: { task: string }) => task.task)).toEqual(['first', 'second', 'third', 'fourth']);
    for (const task of json.results) {
      expect(task.status).toBe('cancelled');
      expect(task.reason).toEqual(expect.any(String));
    }
    expect(json.results.filter((task: { id: string | null }) => task.id !== null)).toHaveLength(2);
    expect(json.totals).toMatchObject({ tasks: 4, cancelled: 4 });
    expect(await leftoversOf(pid)).toEqual([]);
    expect(readdirSync(join(dir, 'state', 'workspaces'))).toEqual([]);
  });

  it('SIGKILL: the sandboxes stay behind until the next caged invocation reaps them', async () => {
    const dir = batchDir();
    const { pid, done } = await startBatch(dir);
    process.kill(pid, 'SIGKILL');
    const killed = await done;
    expect(killed.code).toBeNull();
    expect(existsSync(join(dir, 'out/results.json'))).toBe(false);

    const left = await leftoversOf(pid);
    expect(left.filter((resource) => resource.kind === 'container' && !resource.labels[LABELS.role])).toHaveLength(2);
    const sandboxes = [...new Set(left.map((resource) => resource.sandboxId))];
    expect(readdirSync(join(dir, 'state', 'workspaces')).sort()).toEqual(sandboxes.sort());

    // Any next invocation reaps on start; here a one-task batch in the same state directory.
    writeFileSync(join(dir, 'next.yaml'), '- prompt: quick\n  agent: {command: "true"}\n');
    const next = await runCli(['batch', 'next.yaml', '--out', 'out/next.json'], { cwd: dir, env: { CAGED_HOME: join(dir, 'state') } });
    expect(next.code, next.stderr).toBe(0);
    expect(await leftoversOf(pid)).toEqual([]);
    expect(readdirSync(join(dir, 'state', 'workspaces'))).toEqual([]);
  });
});

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readServerState } from '../../../src/server/state.js';
import { CAGED_BIN, type CliResult } from '../../support/cli.js';
import { containersOf, makeRepo } from '../../support/engine-harness.js';

/** The built CLI with its own HOME, and optionally standard input. */
function cli(args: string[], env: NodeJS.ProcessEnv, input?: string): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CAGED_BIN, ...args], { cwd: dirname(env.XDG_CONFIG_HOME!), env: { ...process.env, CI: 'true', ...env }, stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    if (input !== undefined) child.stdin!.end(input);
  });
}

describe('the CLI against caged serve', () => {
  const work = mkdtempSync(join(tmpdir(), 'caged-remote-'));
  const dataDir = join(work, 'data');
  const base: NodeJS.ProcessEnv = { HOME: work, XDG_CONFIG_HOME: join(work, 'config'), CAGED_HOME: join(work, 'home'), CAGED_API_URL: '', CAGED_API_KEY: '' };
  let server: ChildProcess;
  let serverOut = '';
  let url = '';
  let adminKey = '';
  const ids: string[] = [];

  async function startServe(): Promise<ChildProcess> {
    const child = spawn(process.execPath, [CAGED_BIN, 'serve', '--data-dir', dataDir, '--port', '0', '--allow-local-repos'], { env: { ...process.env, ...base }, stdio: ['ignore', 'pipe', 'pipe'] });
    serverOut = '';
    child.stdout!.on('data', (chunk: Buffer) => (serverOut += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (serverOut += chunk.toString()));
    for (let waited = 0; waited < 60_000 && !serverOut.includes('listening on'); waited += 100) await sleep(100);
    url = readServerState(dataDir)!.url;
    return child;
  }

  async function stopServe(child: ChildProcess): Promise<void> {
    if (child.exitCode !== null) return;
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
  }

  beforeAll(async () => {
    server = await startServe();
    adminKey = /Admin API key \(shown once, store it now\): (caged_sk_\S+)/.exec(serverOut)?.[1] ?? '';
  });
  afterAll(async () => {
    if (server) await stopServe(server);
    for (const id of ids) expect(await containersOf(id)).toEqual([]);
  });

  it('prints the admin key on the first start only', async () => {
    expect(adminKey).toMatch(/^caged_sk_[A-Za-z0-9_-]{32}$/);
    await stopServe(server);
    server = await startServe();
    expect(serverOut).not.toContain('Admin API key');
    expect(serverOut).not.toContain(adminKey);
  });

  it('logs in (file mode 0600; CAGED_API_URL and CAGED_API_KEY win)', async () => {
    const bad = await cli(['login', '--api-url', url, '--api-key', 'caged_sk_wrong'], base);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('unknown API key');
    const login = await cli(['login', '--api-url', url], base, `${adminKey}\n`);
    expect(login.code, login.stderr).toBe(0);
    const file = join(work, 'config', 'caged', 'login.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ api_url: url, api_key: adminKey });
    const overridden = await cli(['usage'], { ...base, CAGED_API_URL: 'http://127.0.0.1:9' });
    expect(overridden.code).toBe(1);
    expect(overridden.stderr).toContain('cannot reach the caged server at http://127.0.0.1:9');
    expect((await cli(['usage'], { ...base, CAGED_API_KEY: 'caged_sk_env-wins' })).stderr).toContain('unknown API key');
  });

  it('manages secrets (write-only values) and keys (admin only)', async () => {
    expect((await cli(['secrets', 'set', 'MY_TOKEN'], base, 'value-from-stdin\n')).code).toBe(0);
    const listed = await cli(['secrets', 'list'], base);
    expect(listed.stdout).toMatch(/^NAME\s+UPDATED\nMY_TOKEN\s+\d{4}-/);
    expect(listed.stdout).not.toContain('value-from-stdin');
    expect((await cli(['secrets', 'rm', 'MY_TOKEN'], base)).code).toBe(0);
    expect(JSON.parse((await cli(['secrets', 'list', '--json'], base)).stdout)).toEqual([]);
    const missing = await cli(['secrets', 'rm', 'MY_TOKEN'], base);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no secret MY_TOKEN');

    const key = await cli(['keys', 'create', '--name', 'ci', '--max-concurrent', '2', '--json'], base);
    expect(key.code, key.stderr).toBe(0);
    const created = JSON.parse(key.stdout);
    expect(created).toMatchObject({ name: 'ci', max_concurrent: 2, admin: false, key: expect.stringMatching(/^caged_sk_/), webhook_secret: expect.stringMatching(/^whsec_/) });
    const asB = { ...base, CAGED_API_KEY: created.key };
    expect(JSON.parse((await cli(['list', '--json'], asB)).stdout)).toEqual([]);
    const denied = await cli(['keys', 'create'], asB);
    expect(denied.code).toBe(1);
    expect(denied.stderr).toContain('only an admin API key');
  });

  let sandbox: { id: string; status: string };
  let other: { id: string; status: string };

  it('runs detached and execs with streamed output and exit codes', async () => {
    const repo = makeRepo({ 'hello.txt': 'hello from the repo\n' });
    const run = await cli(['run', '--template', 'node-20', '--cpus', '1', '--memory', '512', '--repo', repo, '--budget', '3', '--env', 'GREETING=hi', '--json'], base);
    expect(run.code, run.stderr).toBe(0);
    sandbox = JSON.parse(run.stdout);
    ids.push(sandbox.id);
    expect(sandbox).toMatchObject({ id: expect.stringMatching(/^cage-[0-9a-f]{8}$/), template: 'node-20', budget: 3, cost: 0, resources: { cpu: 1, memory: 512 } });
    expect(['creating', 'running']).toContain(sandbox.status);

    const exec = await cli(['exec', '-e', 'EXTRA=there', sandbox.id, 'cat /workspace/hello.txt; echo "$GREETING $EXTRA"; echo to-stderr >&2; exit 7'], base);
    expect(exec.code).toBe(7);
    expect(exec.stdout).toBe('hello from the repo\nhi there\n');
    expect(exec.stderr).toBe('to-stderr\n');
    const argv = await cli(['exec', sandbox.id, '--', 'sh', '-c', 'printf "%s|" "$0" "$@"', 'a b', 'c'], base);
    expect(argv.code).toBe(0);
    expect(argv.stdout).toBe('a b|c|');
    const options = await cli(['exec', sandbox.id, 'ls', '-a', '/workspace'], base);
    expect(options.code, options.stderr).toBe(0);
    expect(options.stdout.split('\n')).toEqual(expect.arrayContaining(['.git', 'hello.txt']));

    other = JSON.parse((await cli(['run', '--budget', '1', '--cpus', '1', '--memory', '256', '--json'], base)).stdout);
    ids.push(other.id);
  });

  it('lists (table and JSON), shows logs and usage, destroys', async () => {
    const table = await cli(['list'], base);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID\s+TEMPLATE\s+STATUS\s+COST\s+BUDGET\s+UPTIME$/);
    expect(lines.slice(1).map((line) => line.split(/\s+/).slice(0, 5))).toEqual([
      [sandbox.id, 'node-20', 'running', expect.stringMatching(/^\$\d+\.\d+$/), '$3.00'],
      [other.id, 'node-20', expect.stringMatching(/^(creating|running)$/), expect.stringMatching(/^\$\d+\.\d+$/), '$1.00'],
    ]);
    const json = JSON.parse((await cli(['list', '--json'], base)).stdout);
    expect(json.map((entry: { id: string; cost: unknown; budget: unknown }) => [entry.id, typeof entry.cost, entry.budget])).toEqual([
      [sandbox.id, 'number', 3],
      [other.id, 'number', 1],
    ]);
    expect((await cli(['logs', sandbox.id], base)).stdout).toContain('hello from the repo');
    const usage = await cli(['usage'], base);
    expect(usage.stdout).toMatch(/^Sandboxes: 2 \(2 running\)\nSpend:\s+\$\d+\.\d+ of \$4\.00 budgeted/);

    // Following: output shows up while an exec still runs, and the follower ends with the sandbox.
    const follower = spawn(process.execPath, [CAGED_BIN, 'logs', '--follow', sandbox.id], { env: { ...process.env, CI: 'true', ...base }, stdio: ['ignore', 'pipe', 'pipe'] });
    let followed = '';
    follower.stdout!.on('data', (chunk: Buffer) => (followed += chunk.toString()));
    const followerExit = new Promise<number | null>((resolve) => follower.once('close', resolve));
    let execDone = false;
    const slowExec = cli(['exec', sandbox.id, 'echo follow-one; sleep 4; echo follow-two'], base).finally(() => (execDone = true));
    await expect.poll(() => followed, { timeout: 10_000, interval: 100 }).toContain('follow-one\n');
    expect(execDone).toBe(false);
    expect((await slowExec).code).toBe(0);
    await expect.poll(() => followed, { timeout: 10_000, interval: 100 }).toContain('follow-one\nfollow-two\n');

    const refused = await cli(['destroy', sandbox.id], base);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('use --force');
    const destroyed = await cli(['destroy', sandbox.id, other.id, '--force'], base);
    expect(destroyed.code, destroyed.stderr).toBe(0);
    expect(destroyed.stdout).toMatch(new RegExp(`^${sandbox.id} destroyed \\(\\$\\d+\\.\\d+/\\$3\\.00\\)\\n${other.id} destroyed`));
    expect(await followerExit).toBe(0);
    expect(followed).toBe((await cli(['logs', sandbox.id], base)).stdout);
    expect(JSON.parse((await cli(['list', '--json'], base)).stdout)).toEqual([]);
    expect(JSON.parse((await cli(['list', '--json', '--all'], base)).stdout).map((entry: { status: string }) => entry.status)).toEqual(['destroyed', 'destroyed']);
    const gone = await cli(['exec', 'cage-00000000', 'true'], base);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toBe('caged: no sandbox cage-00000000\n');
  });

  it('prints the WARN line and exits 3 when the sandbox is killed by its budget during exec', async () => {
    writeFileSync(join(work, 'pricey.yaml'), 'pricing:\n  compute:\n    vcpu_second: 0.01\n    gib_second: 0\n');
    const run = await cli(['run', '-c', join(work, 'pricey.yaml'), '--cpus', '1', '--memory', '256', '--budget', '0.05', '--json'], base);
    expect(run.code, run.stderr).toBe(0);
    const { id } = JSON.parse(run.stdout);
    ids.push(id);
    const exec = await cli(['exec', id, 'echo started; sleep 120'], base);
    expect(exec.code).toBe(3);
    expect(exec.stdout).toBe('started\n');
    expect(exec.stderr).toMatch(new RegExp(`^WARN: Sandbox ${id} terminated — budget limit reached \\(\\$0\\.\\d\\d/\\$0\\.05\\)\\n$`));
    const listed = JSON.parse((await cli(['list', '--json'], base)).stdout);
    expect(listed).toEqual([expect.objectContaining({ id, status: 'killed', budget: 0.05 })]);
    expect((await cli(['destroy', id], base)).code).toBe(0);
  });

  it('rejects bad flags naming the flag, and starts nothing', async () => {
    const bad = await cli(['run', '--budget', '1', '--memory', '2GB', '--json'], base);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe('--memory: memory is a whole number of MiB, e.g. 2048 (not "2GB")\n');
    const noBudget = await cli(['run', '--json'], { ...base }, undefined);
    expect(noBudget.code).toBe(2);
    expect(noBudget.stderr).toContain('--budget: a budget is required');
    expect(JSON.parse((await cli(['list', '--json', '--all'], base)).stdout).filter((entry: { status: string }) => entry.status !== 'destroyed')).toEqual([]);
  });
});

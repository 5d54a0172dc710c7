import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../support/cli.js';
import { startFakeAnthropic, writeFileAgent, type FakeAnthropic } from '../../support/fake-anthropic.js';
import { makeRepo, REAL_ANTHROPIC_KEY } from '../../support/engine-harness.js';

describe('caged run (foreground)', () => {
  let fake: FakeAnthropic;
  const home = mkdtempSync(join(tmpdir(), 'caged-run-'));

  beforeAll(async () => {
    fake = await startFakeAnthropic({ apiKey: REAL_ANTHROPIC_KEY, respond: writeFileAgent({ filePath: '/workspace/fixed.txt', content: 'fixed\n', finalText: 'All type errors fixed.' }) });
  });
  afterAll(async () => {
    await fake?.close();
  });

  it('streams a command\'s output and exits 1 with its failure, or 0 under fail_on: never', async () => {
    const result = await runCli(['run', '--budget', '1', '--cpus', '1', '--memory', '256', '--', 'sh', '-c', 'echo out; echo err >&2; exit 3'], { env: { CAGED_HOME: home } });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('out\n');
    expect(result.stderr).toContain('err\n');
    expect(result.stderr).toMatch(/caged: cage-[0-9a-f]{8} failed \(exit code 3\) — \$0\.\d+\/\$1\.00/);

    // fail_on decides the exit code, as for a batch.
    const config = join(home, 'never.yaml');
    writeFileSync(config, 'fail_on: never\n');
    const tolerated = await runCli(['run', '--config', config, '--budget', '1', '--cpus', '1', '--memory', '256', '--', 'exit 3'], { env: { CAGED_HOME: home } });
    expect(tolerated.code, tolerated.stderr).toBe(0);
    expect(tolerated.stderr).toMatch(/caged: cage-[0-9a-f]{8} failed \(exit code 3\)/);
  });

  it('runs the agent on a repo with --prompt and prints its final message; the key stays out of the sandbox', async () => {
    const repo = makeRepo({ 'README.md': 'x\n' });
    const result = await runCli(
      ['run', '--template', 'node-20', '--cpus', '2', '--memory', '1024', '--repo', repo, '--budget', '5', '--env', `ANTHROPIC_API_KEY=${REAL_ANTHROPIC_KEY}`, '--prompt', 'Fix all type errors', '--json'],
      { env: { CAGED_HOME: home, CAGED_UPSTREAM_ANTHROPIC: fake.url } },
    );
    expect(result.code, result.stderr).toBe(0);
    const sandbox = JSON.parse(result.stdout);
    expect(sandbox).toMatchObject({ status: 'completed', budget: 5, final_message: 'All type errors fixed.', changes: { files: 1, insertions: 1, deletions: 0 } });
    expect(sandbox.id).toMatch(/^cage-[0-9a-f]{8}$/);
    expect(sandbox.cost).toBeGreaterThan(0);
    expect(sandbox.patch).toContain('+fixed');
    expect(result.stdout + result.stderr).not.toContain(REAL_ANTHROPIC_KEY);
  });

  it('rejects bad flags with the flag named, starting nothing', async () => {
    const result = await runCli(['run', '--budget', '5', '--memory', '2GB', '--', 'true'], { env: { CAGED_HOME: home } });
    expect(result.code).toBe(2);
    expect(result.stderr).toBe('--memory: memory is a whole number of MiB, e.g. 2048 (not "2GB")\n');
    const noBudget = await runCli(['run', '--', 'true'], { env: { CAGED_HOME: home }, cwd: home });
    expect(noBudget.code).toBe(2);
    expect(noBudget.stderr).toBe('--budget: a budget is required: pass --budget 5 or set budget in .caged.yaml\n');
    for (const args of [['--', 'true'], []]) {
      const ssh = await runCli(['run', '--budget', '1', '--repo', 'git@github.com:a/b.git', ...args], { env: { CAGED_HOME: home } });
      expect(ssh.code).toBe(2);
      expect(ssh.stderr).toBe('--repo: repo git@github.com:a/b.git: use an https URL, owner/name (GitHub), a local path or a file:// URL\n');
    }
  });
});

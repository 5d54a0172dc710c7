import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../support/cli.js';

function workdir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'caged-cli-'));
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  return dir;
}

const CONFIG = 'resources: {cpu: 1, memory: 256}\nbudget: 1\n';

describe('caged batch', () => {
  it('runs every task, prints the table and the total, writes results and patches, and exits 0', async () => {
    const dir = workdir({
      '.caged.yaml': CONFIG,
      'tasks.yaml': [
        '- name: write a file',
        '  prompt: add hello.txt',
        '  agent: {command: "echo hello > hello.txt && echo wrote hello.txt"}',
        '- name: read the prompt',
        '  prompt: the prompt travels as data, not code $(touch /tmp/pwned)',
        '  budget: 0.5',
        '  agent: {command: ["sh", "-c", "cat \\"$CAGED_PROMPT_FILE\\"; echo; test ! -e /tmp/pwned"]}',
      ].join('\n'),
    });
    const result = await runCli(['batch', 'tasks.yaml', '--out', 'out/results.json'], { cwd: dir, env: { CAGED_HOME: join(dir, 'state') } });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^ID\s+TASK\s+STATUS\s+COST\s+BUDGET\s+DURATION\s+CHANGES$/m);
    expect(result.stdout).toMatch(/^cage-[0-9a-f]{8}\s+write a file\s+completed\s+\$0\.\d+\s+\$1\.00\s+\S+\s+1 file \+1 -0$/m);
    expect(result.stdout).toMatch(/^cage-[0-9a-f]{8}\s+read the prompt\s+completed\s+\$0\.\d+\s+\$0\.50\s+\S+\s+-$/m);
    expect(result.stdout).toMatch(/^Total: \$0\.\d+ of \$1\.50 budgeted \(LLM \$0\.00, compute \$0\.\d+\) — 2 tasks: 2 completed$/m);
    expect(result.stderr).toMatch(/cage-[0-9a-f]{8} started: write a file \(budget \$1\.00\)/);

    const json = JSON.parse(readFileSync(join(dir, 'out/results.json'), 'utf8'));
    expect(json.totals).toMatchObject({ tasks: 2, completed: 2, budget: 1.5 });
    expect(json.results[0]).toMatchObject({ task: 'write a file', status: 'completed', exit_code: 0, final_message: 'wrote hello.txt', changes: { files: 1, insertions: 1, deletions: 0 } });
    expect(readFileSync(json.results[0].changes.patch_path, 'utf8')).toContain('+hello');
    expect(json.results[1].final_message).toBe('the prompt travels as data, not code $(touch /tmp/pwned)');
    expect(typeof json.results[1].cost.total).toBe('number');
  });

  it('exits 3 when a budget is hit and prints the WARN line; --json prints the results', async () => {
    const dir = workdir({
      '.caged.yaml': `${CONFIG}agent: {command: "sleep 30"}\n`,
      'tasks.txt': '|burns compute|0.0001\n',
    });
    const killed = await runCli(['batch', 'tasks.txt', '--json'], { cwd: dir, env: { CAGED_HOME: join(dir, 'state') } });
    expect(killed.code).toBe(3);
    expect(killed.stderr).toMatch(/^WARN: Sandbox cage-[0-9a-f]{8} terminated — budget limit reached \(\$0\.0001\d\d\/\$0\.0001\)$/m);
    const json = JSON.parse(killed.stdout);
    expect(json.results[0]).toMatchObject({ status: 'killed', budget: 0.0001 });
  });

  it('exits 4 on a timeout, and 2 on bad input without starting anything', async () => {
    const dir = workdir({ '.caged.yaml': `${CONFIG}timeout: 2\nagent: {command: "sleep 30"}\n`, 'tasks.txt': '|idles|1\n' });
    const timedOut = await runCli(['batch', 'tasks.txt'], { cwd: dir, env: { CAGED_HOME: join(dir, 'state') } });
    expect(timedOut.code).toBe(4);
    expect(timedOut.stdout).toMatch(/timed_out/);

    const bad = workdir({ 'tasks.txt': 'repo|fix it|lots\n' });
    const rejected = await runCli(['batch', 'tasks.txt'], { cwd: bad, env: { CAGED_HOME: join(bad, 'state') } });
    expect(rejected.code).toBe(2);
    expect(rejected.stderr).toBe('tasks.txt:1:13: budget: not a US-dollar amount: "lots" (write it like 5, 5.00 or "$5")\n');
  });
});

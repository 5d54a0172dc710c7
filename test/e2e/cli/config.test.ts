import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../support/cli.js';

describe('caged config validate', () => {
  const dir = mkdtempSync(join(tmpdir(), 'caged-config-'));
  const write = (name: string, text: string) => writeFileSync(join(dir, name), text);

  it('prints the resolved settings of a valid config and task list as plain YAML, or as JSON', async () => {
    write('.caged.yaml', 'template: node-20\nallowed_hosts: [registry.example.com]\nbudget: 3\n');
    write('tasks.yaml', '- prompt: Fix all type errors\n  repo: your-org/repo1\n- prompt: Add tests\n  budget: 5\n');
    const plain = await runCli(['config', 'validate', '--tasks', 'tasks.yaml'], { cwd: dir });
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stderr).toBe('.caged.yaml is valid; 2 tasks in tasks.yaml\n');
    expect(plain.stdout).not.toMatch(/[*&]a\d/);
    expect(plain.stdout.match(/registry\.example\.com/g)).toHaveLength(3);
    const json = await runCli(['config', 'validate', '--tasks', 'tasks.yaml', '--json'], { cwd: dir });
    const resolved = JSON.parse(json.stdout) as { tasks: { repo: string | null; config: { budget: number } }[] };
    expect(resolved.tasks.map((task) => [task.repo, task.config.budget])).toEqual([
      ['your-org/repo1', 3],
      [null, 5],
    ]);
  });

  it('refuses what caged batch would refuse, naming the place, unless --budget gives every task one', async () => {
    write('.caged.yaml', 'template: node-20\n');
    write('tasks.txt', 'repo1|Fix all type errors|2\n|Add tests|\n');
    const missing = await runCli(['config', 'validate', '--tasks', 'tasks.txt'], { cwd: dir });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe('tasks.txt: task 2: task "Add tests" has no budget: set budget in .caged.yaml, the task, or --budget\n');
    const given = await runCli(['config', 'validate', '--tasks', 'tasks.txt', '--budget', '4', '--json'], { cwd: dir });
    expect(given.code, given.stderr).toBe(0);
    expect((JSON.parse(given.stdout) as { tasks: { config: { budget: number } }[] }).tasks.map((task) => task.config.budget)).toEqual([4, 4]);

    write('ssh.yaml', '- prompt: Fix it\n  budget: 1\n  repo: git@github.com:your-org/repo1.git\n');
    const ssh = await runCli(['config', 'validate', '--tasks', 'ssh.yaml'], { cwd: dir });
    expect(ssh.code).toBe(2);
    expect(ssh.stderr).toBe('ssh.yaml:3:9: repo git@github.com:your-org/repo1.git: use an https URL, owner/name (GitHub), a local path or a file:// URL\n');
  });
});

import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

it('the demo runs the four documented tasks with the real Claude Code binary; one is killed by its budget', () => {
  const result = spawnSync(process.execPath, [`${root}/node_modules/tsx/dist/cli.mjs`, 'scripts/demo.ts'], { cwd: root, encoding: 'utf8', env: { ...process.env, CI: 'true' }, timeout: 300_000 });
  expect(result.status, result.stderr).toBe(0);
  expect(result.stdout).toContain('OFFLINE: the Anthropic API is a local stand-in');
  for (const task of ['Fix all type errors', 'Add unit tests for utils/', 'Refactor database layer']) {
    expect(result.stdout).toMatch(new RegExp(`^cage-[0-9a-f]{8}  ${task.replace('/', '\\/')}\\s+completed\\s+\\$0\\.\\d\\d\\s+\\$\\d\\.00\\s+\\S+\\s+1 file`, 'm'));
  }
  expect(result.stdout).toMatch(/^cage-[0-9a-f]{8} {2}Update dependencies and fix breaking ch… {2}killed ← budget hit {2}\$[34]\.\d\d {2}\$4\.00/m);
  expect(result.stderr).toMatch(/^WARN: Sandbox cage-[0-9a-f]{8} terminated — budget limit reached \(\$[34]\.\d\d\/\$4\.00\)$/m);
  expect(result.stdout).toContain('3 completed, 1 killed');
});

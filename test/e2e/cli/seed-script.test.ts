import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CAGED_BIN } from '../../support/cli.js';
import { containersOf, makeRepo, REAL_ANTHROPIC_KEY } from '../../support/engine-harness.js';
import { startFakeAnthropic, type AnthropicTurn, type FakeAnthropic } from '../../support/fake-anthropic.js';
import type { RecordedRequest } from '../../support/fake-http.js';
import { stopLocalServer } from './local-server.js';

// The product document's batch script, as written, against the local server the CLI starts by
// itself: repos are local git repos, the real Claude Code binary runs in each sandbox, and the
// Anthropic API is the offline stand-in. "Update dependencies" never finishes, so its sandbox
// runs out of budget and is killed.
const SCRIPT = fileURLToPath(new URL('./batch-agent.sh', import.meta.url));

function firstUserText(request: RecordedRequest): string {
  const body = request.body as { messages?: Array<{ role: string; content: unknown }> };
  return JSON.stringify(body.messages?.find((message) => message.role === 'user')?.content ?? '');
}

/** Each task writes one file and finishes, except "Update dependencies", which thinks at length forever. */
function standIn(request: RecordedRequest): AnthropicTurn {
  const body = request.body as { tools?: Array<{ name?: string }>; messages?: Array<{ content: unknown }> };
  if (!(body.tools ?? []).some((tool) => tool.name === 'Write')) return { content: [{ type: 'text', text: 'Batch task' }] };
  const turns = (body.messages ?? []).filter((message) => JSON.stringify(message.content).includes('tool_result')).length;
  const usage = { input_tokens: 2_000, cache_read_input_tokens: 8_000, output_tokens: 600 };
  if (firstUserText(request).includes('Update dependencies')) {
    return {
      content: [
        { type: 'text', text: `Checking dependency ${turns + 1}.` },
        { type: 'tool_use', name: 'Write', input: { file_path: `/workspace/notes/dep-${turns + 1}.md`, content: `dependency ${turns + 1}\n` } },
      ],
      usage: { ...usage, output_tokens: 20_000 },
    };
  }
  if (turns === 0) return { content: [{ type: 'text', text: 'Editing.' }, { type: 'tool_use', name: 'Write', input: { file_path: '/workspace/DONE.md', content: 'done\n' } }], usage };
  return { content: [{ type: 'text', text: 'Done.' }], usage };
}

describe('the seed\'s batch script against a local caged server', () => {
  let fake: FakeAnthropic;
  const work = mkdtempSync(join(tmpdir(), 'caged-seed-'));
  const home = join(work, 'home');

  beforeAll(async () => {
    fake = await startFakeAnthropic({ apiKey: REAL_ANTHROPIC_KEY, respond: standIn });
    // The script's "$REPOS/$repo": local git repos in one folder.
    mkdirSync(join(work, 'repos'));
    for (const name of ['repo1', 'repo2', 'repo3', 'repo4']) symlinkSync(makeRepo({ 'package.json': `{"name": "${name}"}\n` }), join(work, 'repos', name));
  });
  afterAll(async () => {
    await stopLocalServer(home);
    await fake?.close();
  });

  it('runs as written: the one out of budget is killed, the others report $cost/budget, then all are destroyed', async () => {
    const bin = join(work, 'bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'caged'), `#!/bin/sh\nexec "${process.execPath}" "${CAGED_BIN}" "$@"\n`);
    chmodSync(join(bin, 'caged'), 0o755);
    const repos = join(work, 'repos');

    const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      const child = spawn('bash', [SCRIPT], {
        cwd: work,
        env: {
          ...process.env,
          PATH: `${bin}:${process.env.PATH}`,
          HOME: work,
          XDG_CONFIG_HOME: join(work, 'config'),
          CAGED_HOME: home,
          CAGED_API_URL: '',
          CAGED_API_KEY: '',
          REPOS: repos,
          ANTHROPIC_API_KEY: REAL_ANTHROPIC_KEY,
          CAGED_UPSTREAM_ANTHROPIC: fake.url,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
    expect(result.code, result.stderr).toBe(0);

    const ids = [...result.stdout.matchAll(/^\[(repo\d)\] Sandbox: (cage-[0-9a-f]{8}) \(budget: \$(\d)\)$/gm)].map((match) => ({ repo: match[1]!, id: match[2]!, budget: match[3]! }));
    expect(ids.map((entry) => `${entry.repo}:${entry.budget}`)).toEqual(['repo1:3', 'repo2:5', 'repo3:8', 'repo4:4']);
    const results = result.stdout.split('=== Batch Results ===\n')[1]!.trim().split('\n').slice(0, 5);
    const rows = results.slice(0, 4).map((line) => line.split('\t'));
    for (const { repo, id, budget } of ids) {
      const row = rows.find(([rowId]) => rowId === id);
      expect(row, `${repo} in ${results.join('\n')}`).toBeDefined();
      expect(row![1]).toBe(repo === 'repo4' ? 'killed' : 'running');
      expect(row![2]).toMatch(new RegExp(`^\\$\\d+(\\.\\d+)?/${budget}$`));
      const cost = Number(row![2]!.slice(1).split('/')[0]);
      // Killed once not even a minimal request fits any more: most of the $4, never much beyond it.
      if (repo === 'repo4') expect(cost).toBeGreaterThan(3);
      else expect(cost).toBeGreaterThan(0);
    }
    const total = rows.reduce((sum, row) => sum + Number(row[2]!.slice(1).split('/')[0]), 0);
    const totalLine = /^"Total: \$([\d.]+)"$/.exec(results[4]!);
    expect(totalLine, results[4]).not.toBeNull();
    // The second `caged list` runs a moment later: the running sandboxes have metered a little more compute.
    expect(Number(totalLine![1])).toBeGreaterThanOrEqual(total - 1e-6);
    expect(Number(totalLine![1])).toBeLessThan(total + 0.01);

    const killed = ids.find((entry) => entry.repo === 'repo4')!.id;
    expect(result.stderr).toMatch(new RegExp(`^WARN: Sandbox ${killed} terminated — budget limit reached \\(\\$[34]\\.\\d\\d/\\$4\\.00\\)$`, 'm'));
    expect(result.stderr.match(/started a local caged server/g)).toHaveLength(1);
    expect(result.stdout + result.stderr).not.toContain(REAL_ANTHROPIC_KEY);
    for (const { id } of ids) {
      expect(result.stdout).toContain(`${id} destroyed`);
      expect(await containersOf(id)).toEqual([]);
    }
  });
});

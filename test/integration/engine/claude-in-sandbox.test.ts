import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { costOf, createPriceBook } from '../../../src/pricing/price.js';
import { anthropicUsage } from '../../../src/gateway/usage.js';
import { startFakeAnthropic, writeFileAgent, type FakeAnthropic } from '../../support/fake-anthropic.js';
import { containersOf, makeRepo, REAL_ANTHROPIC_KEY, settings, startEngine, type EngineHarness } from '../../support/engine-harness.js';

const prices = createPriceBook();

function fakeCost(fake: FakeAnthropic): number {
  return fake.answers.reduce((sum, answer) => sum + (answer.usage ? costOf(prices.lookup(answer.model)!, anthropicUsage(answer.usage)!) : 0), 0);
}

describe('the real Claude Code binary in a sandbox, through the gateway', () => {
  let fake: FakeAnthropic;
  let harness: EngineHarness;

  beforeAll(async () => {
    fake = await startFakeAnthropic({
      apiKey: REAL_ANTHROPIC_KEY,
      respond: writeFileAgent({
        filePath: '/workspace/src/greeting.ts',
        content: 'export const greeting = "hello";\nexport const target = "world";\n',
        finalText: 'Created src/greeting.ts.',
        usage: { input_tokens: 1200, output_tokens: 80, cache_read_input_tokens: 3000 },
      }),
    });
    harness = await startEngine({ upstreams: { anthropic: fake.url } });
  });

  afterAll(async () => {
    await harness?.close();
    await fake?.close();
  });

  it('edits the workspace, reports the change and a metered cost equal to price × usage', async () => {
    const repo = makeRepo({ 'README.md': '# demo\n' });
    const created = await harness.engine.create({
      config: settings({ budget: 2_000_000 }),
      repo,
      prompt: 'Create src/greeting.ts exporting a greeting',
      env: { ANTHROPIC_API_KEY: REAL_ANTHROPIC_KEY },
    });
    const info = await harness.engine.wait(created.id);

    expect(info.status, info.reason).toBe('completed');
    expect(info.exit_code).toBe(0);
    expect(info.final_message).toBe('Created src/greeting.ts.');
    expect(info.changes).toEqual({ files: 1, insertions: 2, deletions: 0 });
    const patch = await harness.engine.patch(created.id);
    expect(patch).toContain('+++ b/src/greeting.ts');
    expect(patch).toContain('+export const target = "world";');

    expect(fake.answers.length).toBeGreaterThanOrEqual(2);
    expect(info.cost.llm).toBe(fakeCost(fake));
    expect(info.cost.total).toBe(info.cost.llm + info.cost.compute);
    expect(info.tokens.cache_read).toBe(fake.answers.reduce((sum, answer) => sum + (answer.usage?.cache_read_input_tokens ?? 0), 0));
    expect(info.agent_reported_cost).toBeTypeOf('number');

    // The fake saw the real key on every request; the sandbox only ever had its token.
    expect(fake.requests.every((request) => request.headers['x-api-key'] === REAL_ANTHROPIC_KEY)).toBe(true);
    const log = (await harness.engine.logs(created.id)).text;
    expect(log).not.toContain(REAL_ANTHROPIC_KEY);
    expect(readFileSync(`${harness.stateRoot}/sandboxes/${created.id}/run/prompt.txt`, 'utf8')).toBe('Create src/greeting.ts exporting a greeting');
  });

  it('a plain exec of `claude -p` works in a detached sandbox, and the key is nowhere inside', async () => {
    const created = await harness.engine.create({ config: settings({ budget: 1_000_000 }), env: { ANTHROPIC_API_KEY: REAL_ANTHROPIC_KEY } });
    let output = '';
    const outcome = await harness.engine.exec(created.id, { shell: 'env; cat /proc/*/cmdline 2>/dev/null | tr "\\0" " "; grep -rsl "REAL-engine-key" /home /workspace /tmp /run /etc /opt; claude -p "say hi" --output-format json' }, {
      onStdout: (chunk) => {
        output += chunk.toString();
      },
    });
    expect(outcome.exitCode).toBe(0);
    expect(output).toContain('ANTHROPIC_BASE_URL=http://');
    expect(output).toContain('ANTHROPIC_API_KEY=sk-caged-');
    expect(output).not.toContain(REAL_ANTHROPIC_KEY);
    expect(output).toContain('"type":"result"');
    await harness.engine.destroy(created.id, { force: true });
    expect(await containersOf(created.id)).toEqual([]);
  });
});

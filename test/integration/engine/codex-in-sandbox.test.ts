import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { responsesUsage } from '../../../src/gateway/usage.js';
import { costOf, createPriceBook } from '../../../src/pricing/price.js';
import { shellCommandAgent, startFakeOpenAI, type FakeOpenAI } from '../../support/fake-openai.js';
import { settings, startEngine, type EngineHarness } from '../../support/engine-harness.js';

const REAL_OPENAI_KEY = 'sk-proj-REAL-engine-openai-key-never-inside';
const prices = createPriceBook();

describe('the real Codex binary in a sandbox, through the gateway', () => {
  let fake: FakeOpenAI;
  let harness: EngineHarness;

  beforeAll(async () => {
    fake = await startFakeOpenAI({
      apiKey: REAL_OPENAI_KEY,
      respond: shellCommandAgent({ command: "printf 'from codex\\n' > codex.txt", finalText: 'Wrote codex.txt.', usage: { input_tokens: 5000, cached_tokens: 2048, output_tokens: 250, reasoning_tokens: 64 } }),
    });
    harness = await startEngine({ upstreams: { openai: fake.url } });
  });

  afterAll(async () => {
    await harness?.close();
    await fake?.close();
  });

  it('runs `codex exec` with the gateway as its provider; the change and the exact cost are reported', async () => {
    const created = await harness.engine.create({
      config: settings({ budget: 2_000_000, agent: 'codex' }),
      prompt: 'Create codex.txt',
      secrets: { OPENAI_API_KEY: REAL_OPENAI_KEY },
    });
    const info = await harness.engine.wait(created.id);
    expect(info.status, `${info.reason}\n${(await harness.engine.logs(created.id)).text}`).toBe('completed');
    expect(info.final_message).toBe('Wrote codex.txt.');
    expect(info.changes).toEqual({ files: 1, insertions: 1, deletions: 0 });
    const expected = fake.answers.reduce((sum, answer) => sum + (answer.usage ? costOf(prices.lookup(answer.model)!, responsesUsage({ input_tokens: answer.usage.input_tokens, input_tokens_details: { cached_tokens: answer.usage.cached_tokens }, output_tokens: answer.usage.output_tokens, output_tokens_details: { reasoning_tokens: answer.usage.reasoning_tokens } })!) : 0), 0);
    expect(info.cost.llm).toBe(expected);
    expect(fake.requests.every((request) => request.headers.authorization === `Bearer ${REAL_OPENAI_KEY}`)).toBe(true);
    expect(fake.answers[0]!.model).toBe('gpt-5.1');
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeAnthropic, type AnthropicTurn, type FakeAnthropic } from '../../support/fake-anthropic.js';
import { startFakeOpenAI, type FakeOpenAI, type OpenAITurn } from '../../support/fake-openai.js';
import { anthropicHeaders, bearer, REAL_ANTHROPIC_KEY, REAL_OPENAI_KEY, startHarness, type Harness } from '../gateway/harness.js';

/**
 * A client that goes away does not take the bill with it: the gateway reads the answer to its end
 * and charges what the provider reported. Mid-stream on Anthropic is covered in
 * test/integration/gateway/anthropic-gateway.test.ts ("still charges the reported usage when the
 * client disconnects mid-stream"); these are the other moments and OpenAI's Responses stream.
 */

describe('client disconnects', () => {
  let anthropic: FakeAnthropic;
  let openai: FakeOpenAI;
  let harness: Harness;
  const anthropicTurns: AnthropicTurn[] = [];
  const openaiTurns: OpenAITurn[] = [];

  beforeAll(async () => {
    anthropic = await startFakeAnthropic({ apiKey: REAL_ANTHROPIC_KEY, respond: (_request, index) => anthropicTurns[index]! });
    openai = await startFakeOpenAI({ apiKey: REAL_OPENAI_KEY, respond: (_request, index) => openaiTurns[index]! });
    harness = await startHarness({ anthropic: anthropic.url, openai: openai.url });
  });

  afterAll(async () => {
    await harness?.close();
    await anthropic?.close();
    await openai?.close();
  });

  /** Sends the request, then hangs up once `until` resolves (before any byte, or after the first chunk). */
  async function hangUp(path: string, headers: Record<string, string>, body: unknown, after: 'request' | 'first chunk'): Promise<void> {
    const abort = new AbortController();
    const sent = fetch(`${harness.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body), signal: abort.signal });
    if (after === 'first chunk') {
      const response = await sent;
      await response.body!.getReader().read();
    } else {
      sent.catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    abort.abort();
  }

  it('Anthropic, while the provider has not answered yet (slow headers): charged once the answer arrives', async () => {
    const token = harness.sandbox('cage-0000d001', 1_000_000);
    anthropicTurns.push({ content: [{ type: 'text', text: 'late but billed' }], usage: { input_tokens: 700, output_tokens: 90 }, fault: { kind: 'slow-headers', delayMs: 1500 } });
    await hangUp('/v1/messages', anthropicHeaders(token), { model: 'claude-sonnet-4-5', max_tokens: 1024, stream: true, messages: [{ role: 'user', content: 'hi' }] }, 'request');
    expect(harness.usage.filter((event) => event.sandboxId === 'cage-0000d001')).toEqual([]);
    // claude-sonnet-4-5: $3 in, $15 out per million tokens
    await expect.poll(() => harness.ledger.snapshot('cage-0000d001').llm, { timeout: 10_000 }).toBe(700 * 3 + 90 * 15);
    expect(harness.usage.find((event) => event.sandboxId === 'cage-0000d001')).toMatchObject({ estimated: false });
    expect(harness.ledger.snapshot('cage-0000d001').reserved).toBe(0);
  });

  it('OpenAI Responses, mid-stream: usage arrives only in response.completed, and is still charged', async () => {
    const token = harness.sandbox('cage-0000d002', 1_000_000);
    openaiTurns.push({ output: [{ type: 'message', text: 'streamed slowly '.repeat(40) }], usage: { input_tokens: 1200, cached_tokens: 200, output_tokens: 400 }, shape: { delayMs: 5 } });
    await hangUp('/v1/responses', bearer(token), { model: 'gpt-5', stream: true, input: 'hi' }, 'first chunk');
    // gpt-5: $1.25 in, $0.125 cached, $10 out per million tokens
    const expected = Math.ceil((1000 * 1.25 + 200 * 0.125 + 400 * 10));
    await expect.poll(() => harness.ledger.snapshot('cage-0000d002').llm, { timeout: 10_000 }).toBe(expected);
    expect(harness.usage.find((event) => event.sandboxId === 'cage-0000d002')).toMatchObject({ estimated: false });
    expect(harness.ledger.snapshot('cage-0000d002').reserved).toBe(0);
  });

  it('Chat Completions, non-streamed: the JSON answer is read to its usage after the client left', async () => {
    const token = harness.sandbox('cage-0000d003', 1_000_000);
    openaiTurns.push({ output: [{ type: 'message', text: 'a non-streamed answer' }], usage: { input_tokens: 300, output_tokens: 60 }, fault: { kind: 'slow-headers', delayMs: 1500 } });
    await hangUp('/v1/chat/completions', bearer(token), { model: 'gpt-5', messages: [{ role: 'user', content: 'hi' }] }, 'request');
    await expect.poll(() => harness.ledger.snapshot('cage-0000d003').llm, { timeout: 10_000 }).toBe(Math.ceil(300 * 1.25 + 60 * 10));
    expect(harness.ledger.snapshot('cage-0000d003').reserved).toBe(0);
  });
});

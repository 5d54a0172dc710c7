import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { chatUsage, responsesUsage } from '../../../src/gateway/usage.js';
import { costOf, createPriceBook } from '../../../src/pricing/price.js';
import { startFakeOpenAI, type FakeOpenAI, type OpenAITurn } from '../../support/fake-openai.js';
import { bearer, json, post, REAL_OPENAI_KEY, startHarness, type Harness } from './harness.js';

const prices = createPriceBook();

let fake: FakeOpenAI;
let harness: Harness;
let turns: OpenAITurn[];

beforeEach(async () => {
  turns = [];
  fake = await startFakeOpenAI({ apiKey: REAL_OPENAI_KEY, respond: (_request, index) => turns[index] ?? { output: [{ type: 'message', text: 'default answer' }] } });
  harness = await startHarness({ openai: fake.url });
});

afterEach(async () => {
  await harness.close();
  await fake.close();
});

function fakeCost(): number {
  return fake.answers.reduce((sum, answer) => {
    if (!answer.usage) return sum;
    const { input_tokens, cached_tokens, output_tokens } = answer.usage;
    const usage = answer.api === 'chat' ? chatUsage({ prompt_tokens: input_tokens, completion_tokens: output_tokens, prompt_tokens_details: { cached_tokens } }) : responsesUsage({ input_tokens, output_tokens, input_tokens_details: { cached_tokens } });
    return sum + costOf(prices.lookup(answer.model)!, usage!);
  }, 0);
}

describe('gateway: OpenAI Responses', () => {
  it('streams a Codex-style request through with the real key and charges the exact cost (cached inside input, reasoning inside output)', async () => {
    const token = harness.sandbox('cage-00000101', 5_000_000);
    turns.push({
      output: [
        { type: 'reasoning', summary: 'Listing files first.' },
        { type: 'function_call', name: 'shell', arguments: { command: ['bash', '-lc', 'ls'] } },
      ],
      usage: { input_tokens: 5000, cached_tokens: 4096, output_tokens: 800, reasoning_tokens: 512 },
      shape: { chunkBytes: 11 },
    });
    const body = { model: 'gpt-5', stream: true, store: false, input: [{ role: 'user', content: 'list files' }], tools: [] };
    const answer = await post(`${harness.url}/v1/responses`, bearer(token), body);
    expect(answer.status).toBe(200);
    expect(answer.events.at(-1)?.event).toBe('response.completed');
    expect(answer.events.some((event) => event.event === 'response.output_item.done')).toBe(true);
    expect(fake.requests[0]!.headers.authorization).toBe(`Bearer ${REAL_OPENAI_KEY}`);
    expect(JSON.stringify(fake.requests[0]!.headers)).not.toContain(token);
    // 904×1.25 + 4096×0.125 + 800×10 µ$
    expect(harness.ledger.snapshot('cage-00000101')).toMatchObject({ llm: 9_642, reserved: 0 });
    expect(harness.usage[0]).toMatchObject({ provider: 'openai', model: 'gpt-5', estimated: false, usage: { input: 904, cacheRead: 4096, output: 800 } });
  });

  it('adds max_output_tokens when the budget cannot pay the default allowance, and charges response.incomplete', async () => {
    // $0.05 of gpt-5.2: the small body costs 0.1¢ at most, the rest pays ~3500 output tokens
    const token = harness.sandbox('cage-00000102', 50_000);
    turns.push({ output: [{ type: 'message', text: 'long '.repeat(200) }], usage: { input_tokens: 15, output_tokens: 50_000 } });
    const answer = await post(`${harness.url}/v1/responses`, bearer(token), { model: 'gpt-5.2', stream: true, input: 'write a novel' });
    const sent = fake.requests[0]!.body as { max_output_tokens: number };
    expect(sent.max_output_tokens).toBeGreaterThan(3000);
    expect(sent.max_output_tokens).toBeLessThan(3600);
    expect(answer.events.at(-1)?.event).toBe('response.incomplete');
    expect(fake.answers[0]!.incomplete).toBe(true);
    expect(harness.ledger.snapshot('cage-00000102').llm).toBe(Math.ceil(15 * 1.75 + sent.max_output_tokens * 14));
    expect(harness.ledger.snapshot('cage-00000102').llm).toBeLessThanOrEqual(50_000);
  });

  it('refuses with 429 insufficient_quota when the budget is spent', async () => {
    const token = harness.sandbox('cage-00000103', 1_000_000);
    harness.ledger.charge('cage-00000103', 'llm', 999_000);
    const answer = await post(`${harness.url}/v1/responses`, bearer(token), { model: 'gpt-5', stream: true, input: 'hi' });
    expect(answer.status).toBe(429);
    expect(JSON.parse(answer.text)).toEqual({
      error: { message: expect.stringMatching(/^caged: sandbox cage-00000103 budget limit reached \(\$1\.00\/\$1\.00\)/), type: 'insufficient_quota', param: null, code: 'insufficient_quota' },
    });
    expect(fake.requests).toHaveLength(0);
  });

  it('ends a stream it must cut with response.failed (insufficient_quota), continuing the sequence numbers', async () => {
    const token = harness.sandbox('cage-00000104', 30_000);
    // An upstream that ignores max_output_tokens: far more text than the budget pays for
    turns.push({ output: [{ type: 'message', text: 'w'.repeat(40_000) }], usage: { input_tokens: 10, output_tokens: 1 }, shape: { chunkBytes: 1024 } });
    const answer = await post(`${harness.url}/v1/responses`, bearer(token), { model: 'gpt-5', stream: true, input: 'go' });
    const last = answer.events.at(-1)!;
    const previous = json(answer.events.at(-2)!);
    expect(last.event).toBe('response.failed');
    expect(json(last)).toMatchObject({ type: 'response.failed', sequence_number: (previous.sequence_number as number) + 1, response: { status: 'failed', error: { code: 'insufficient_quota' } } });
    expect((json(last).response as { id: string }).id).toBe((json(answer.events[0]!).response as { id: string }).id);
    const snapshot = harness.ledger.snapshot('cage-00000104');
    expect(snapshot).toMatchObject({ exceeded: true, reserved: 0 });
    expect(snapshot.llm).toBeLessThanOrEqual(30_000 + 10_000);
  });

  it('refuses background responses, which would be fetched later past the meter', async () => {
    const token = harness.sandbox('cage-00000105', 1_000_000);
    const answer = await post(`${harness.url}/v1/responses`, bearer(token), { model: 'gpt-5', background: true, input: 'hi' });
    expect(answer.status).toBe(400);
    expect(fake.requests).toHaveLength(0);
  });

  it('estimates a conversation kept server-side (previous_response_id) at a full context window', async () => {
    const token = harness.sandbox('cage-00000107', 300_000);
    const refused = await post(`${harness.url}/v1/responses`, bearer(token), { model: 'gpt-5', stream: true, previous_response_id: 'resp_123', input: 'next' });
    expect(refused.status).toBe(429);
    expect(JSON.parse(refused.text).error.message).toContain('input estimate');
    expect(fake.requests).toHaveLength(0);
  });

  it('charges non-streamed responses from their usage', async () => {
    const token = harness.sandbox('cage-00000106', 1_000_000);
    turns.push({ output: [{ type: 'message', text: 'ok' }], usage: { input_tokens: 2000, cached_tokens: 1000, output_tokens: 10 } });
    const answer = await post(`${harness.url}/v1/responses`, bearer(token), { model: 'gpt-5-nano', input: 'hi' });
    expect(JSON.parse(answer.text)).toMatchObject({ object: 'response', status: 'completed' });
    expect(harness.ledger.snapshot('cage-00000106').llm).toBe(fakeCost());
    expect(fakeCost()).toBe(Math.ceil(1000 * 0.05 + 1000 * 0.005 + 10 * 0.4));
  });
});

describe('gateway: OpenAI Chat Completions', () => {
  it('asks for usage on a stream and hides the usage chunk from a client that did not ask', async () => {
    const token = harness.sandbox('cage-00000201', 1_000_000);
    turns.push({ output: [{ type: 'message', text: 'Hello there!' }], usage: { input_tokens: 1200, cached_tokens: 1024, output_tokens: 300 }, shape: { chunkBytes: 5 } });
    const answer = await post(`${harness.url}/v1/chat/completions`, bearer(token), { model: 'gpt-5-mini', stream: true, messages: [{ role: 'user', content: 'hi' }] });
    const sent = fake.requests[0]!.body as { stream_options: { include_usage: boolean } };
    expect(sent.stream_options).toEqual({ include_usage: true });
    expect(answer.events.at(-1)?.data).toBe('[DONE]');
    expect(answer.events.some((event) => event.data !== '[DONE]' && (json(event).choices as unknown[]).length === 0)).toBe(false);
    expect(answer.text).not.toContain('prompt_tokens');
    expect(harness.ledger.snapshot('cage-00000201').llm).toBe(670);
  });

  it('keeps the usage chunk for a client that asked for it', async () => {
    const token = harness.sandbox('cage-00000202', 1_000_000);
    turns.push({ output: [{ type: 'message', text: 'Hi' }], usage: { input_tokens: 100, output_tokens: 20 } });
    const answer = await post(`${harness.url}/v1/chat/completions`, bearer(token), { model: 'gpt-5', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'hi' }] });
    const usageChunk = answer.events.find((event) => event.data !== '[DONE]' && (json(event).choices as unknown[]).length === 0);
    expect(json(usageChunk!).usage).toMatchObject({ prompt_tokens: 100, completion_tokens: 20 });
    expect(harness.ledger.snapshot('cage-00000202').llm).toBe(Math.ceil(100 * 1.25 + 20 * 10));
  });

  it('clamps max_completion_tokens, or max_tokens where the client used that, split over n choices', async () => {
    const token = harness.sandbox('cage-00000203', 100_000);
    await post(`${harness.url}/v1/chat/completions`, bearer(token), { model: 'gpt-5', max_tokens: 100_000, n: 2, messages: [{ role: 'user', content: 'hi' }] });
    const sent = fake.requests[0]!.body as { max_tokens: number; max_completion_tokens?: number };
    expect(sent.max_completion_tokens).toBeUndefined();
    expect(sent.max_tokens).toBeLessThan(5000);
    expect(sent.max_tokens * 2 * 10).toBeLessThanOrEqual(100_000);
    await post(`${harness.url}/v1/chat/completions`, bearer(token), { model: 'gpt-5', messages: [{ role: 'user', content: 'hi' }] });
    expect((fake.requests[1]!.body as { max_completion_tokens: number }).max_completion_tokens).toBeGreaterThan(1024);
  });

  it('refuses with 429 insufficient_quota and cuts with an error chunk', async () => {
    const token = harness.sandbox('cage-00000204', 20_000);
    turns.push({ output: [{ type: 'message', text: 'v'.repeat(30_000) }], usage: { input_tokens: 10, output_tokens: 1 }, shape: { chunkBytes: 1024 } });
    const cut = await post(`${harness.url}/v1/chat/completions`, bearer(token), { model: 'gpt-5', stream: true, messages: [{ role: 'user', content: 'go' }] });
    expect(json(cut.events.at(-1)!)).toMatchObject({ error: { type: 'insufficient_quota', code: 'insufficient_quota' } });
    const refused = await post(`${harness.url}/v1/chat/completions`, bearer(token), { model: 'gpt-5', stream: true, messages: [{ role: 'user', content: 'again' }] });
    expect(refused.status).toBe(429);
    expect(JSON.parse(refused.text).error.code).toBe('insufficient_quota');
    expect(harness.ledger.snapshot('cage-00000204').llm).toBeLessThanOrEqual(20_000 + 10_000);
  });

  it('refuses an unknown model with model_not_found naming how to price it', async () => {
    const token = harness.sandbox('cage-00000205', 1_000_000);
    const answer = await post(`${harness.url}/v1/chat/completions`, bearer(token), { model: 'gpt-7-ultra', messages: [] });
    expect(answer.status).toBe(404);
    expect(JSON.parse(answer.text).error).toMatchObject({ code: 'model_not_found', message: expect.stringContaining('pricing: { models: { "gpt-7-ultra"') });
  });
});

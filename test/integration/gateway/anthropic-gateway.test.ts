import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { costOf, createPriceBook } from '../../../src/pricing/price.js';
import { anthropicUsage } from '../../../src/gateway/usage.js';
import { startFakeAnthropic, type AnthropicTurn, type FakeAnthropic } from '../../support/fake-anthropic.js';
import { anthropicHeaders, bearer, json, post, REAL_ANTHROPIC_KEY, startHarness, type Harness } from './harness.js';

const prices = createPriceBook();

let fake: FakeAnthropic;
let harness: Harness;
let turns: AnthropicTurn[];

beforeEach(async () => {
  turns = [];
  fake = await startFakeAnthropic({ apiKey: REAL_ANTHROPIC_KEY, respond: (_request, index) => turns[index] ?? { content: [{ type: 'text', text: 'default answer' }] } });
  harness = await startHarness({ anthropic: fake.url });
});

afterEach(async () => {
  await harness.close();
  await fake.close();
});

function request(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { model: 'claude-sonnet-4-5-20250929', max_tokens: 4096, stream: true, messages: [{ role: 'user', content: 'Write hello.txt' }], ...overrides };
}

/** The exact cost of everything the fake reported. */
function fakeCost(): number {
  return fake.answers.reduce((sum, answer) => sum + (answer.usage ? costOf(prices.lookup(answer.model)!, anthropicUsage(answer.usage)!) : 0), 0);
}

describe('gateway: Anthropic Messages', () => {
  it('streams through, swaps the sandbox token for the real key, passes headers and query, and charges the exact cost', async () => {
    const token = harness.sandbox('cage-00000001', 5_000_000);
    turns.push({
      content: [
        { type: 'text', text: 'Creating the file now.' },
        { type: 'tool_use', name: 'Write', input: { file_path: '/work/hello.txt', content: 'hello\n' } },
      ],
      usage: { input_tokens: 12, output_tokens: 345, cache_read_input_tokens: 20_000, cache_creation: { ephemeral_5m_input_tokens: 3000, ephemeral_1h_input_tokens: 1000 } },
    });
    const answer = await post(`${harness.url}/v1/messages?beta=true`, anthropicHeaders(token, { 'anthropic-beta': 'interleaved-thinking-2025-05-14,fine-grained-tool-streaming-2025-05-14' }), request());

    expect(answer.status).toBe(200);
    expect(answer.events.map((event) => event.event)).toEqual([
      'message_start',
      'content_block_start',
      'ping',
      'content_block_delta',
      'content_block_stop',
      'content_block_start',
      'content_block_delta',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    const seen = fake.requests[0]!;
    expect(seen.url).toBe('/v1/messages?beta=true');
    expect(seen.headers['x-api-key']).toBe(REAL_ANTHROPIC_KEY);
    expect(seen.headers['anthropic-version']).toBe('2023-06-01');
    expect(seen.headers['anthropic-beta']).toBe('interleaved-thinking-2025-05-14,fine-grained-tool-streaming-2025-05-14');
    expect(JSON.stringify(seen.headers)).not.toContain(token);
    expect(seen.rawBody).toBe(JSON.stringify(request()));

    // 12×3 + 3000×3.75 + 1000×6 + 20000×0.30 + 345×15 µ$
    expect(harness.ledger.snapshot('cage-00000001')).toMatchObject({ llm: 28_461, reserved: 0, exceeded: false });
    expect(harness.usage).toEqual([
      { sandboxId: 'cage-00000001', provider: 'anthropic', model: 'claude-sonnet-4-5-20250929', usage: { input: 12, output: 345, cacheWrite5m: 3000, cacheWrite1h: 1000, cacheRead: 20_000 }, cost: 28_461, estimated: false },
    ]);
  });

  it('accepts the token as Authorization: Bearer and forwards an auth token the same way', async () => {
    harness.ledger.open('cage-00000002', 1_000_000);
    const { token } = harness.gateway.register('cage-00000002', { keys: { anthropicAuthToken: REAL_ANTHROPIC_KEY } });
    const answer = await post(`${harness.url}/v1/messages`, { ...bearer(token), 'anthropic-version': '2023-06-01' }, request({ stream: false }));
    expect(answer.status).toBe(200);
    expect(fake.requests[0]!.headers.authorization).toBe(`Bearer ${REAL_ANTHROPIC_KEY}`);
    expect(fake.requests[0]!.headers['x-api-key']).toBeUndefined();
    expect(harness.ledger.snapshot('cage-00000002').llm).toBe(fakeCost());
  });

  it('charges non-streamed answers from their usage', async () => {
    const token = harness.sandbox('cage-00000003', 1_000_000);
    turns.push({ content: [{ type: 'text', text: 'hi' }], usage: { input_tokens: 1000, output_tokens: 50, cache_read_input_tokens: 7 } });
    const answer = await post(`${harness.url}/v1/messages`, anthropicHeaders(token), request({ stream: false }));
    expect(answer.status).toBe(200);
    expect((JSON.parse(answer.text) as { content: unknown[] }).content).toEqual([{ type: 'text', text: 'hi' }]);
    expect(harness.ledger.snapshot('cage-00000003').llm).toBe(3000 + 750 + 3);
  });

  it('passes count_tokens through free', async () => {
    const token = harness.sandbox('cage-00000004', 1_000_000);
    const answer = await post(`${harness.url}/v1/messages/count_tokens?beta=true`, anthropicHeaders(token), { model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'hi' }] });
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.text)).toHaveProperty('input_tokens');
    expect(fake.requests[0]!.headers['x-api-key']).toBe(REAL_ANTHROPIC_KEY);
    expect(harness.ledger.snapshot('cage-00000004').llm).toBe(0);
  });

  it('keeps charging exactly when the stream arrives in 7-byte pieces', async () => {
    const token = harness.sandbox('cage-00000005', 1_000_000);
    turns.push({ content: [{ type: 'text', text: 'ünïcödé ✓ '.repeat(40) }], usage: { input_tokens: 321, output_tokens: 123 }, shape: { chunkBytes: 7 } });
    const answer = await post(`${harness.url}/v1/messages`, anthropicHeaders(token), request());
    expect(answer.events.at(-1)?.event).toBe('message_stop');
    expect(harness.ledger.snapshot('cage-00000005').llm).toBe(321 * 3 + 123 * 15);
  });

  it('refuses an unknown token with a 401 in the Anthropic shape, forwarding nothing', async () => {
    harness.sandbox('cage-00000006', 1_000_000);
    const answer = await post(`${harness.url}/v1/messages`, anthropicHeaders('sk-caged-not-a-token'), request());
    expect(answer.status).toBe(401);
    expect(JSON.parse(answer.text)).toEqual({ type: 'error', error: { type: 'authentication_error', message: 'caged gateway: unknown or revoked sandbox token' } });
    expect(fake.requests).toHaveLength(0);
  });

  it('refuses a model without a price, naming it and how to add one, and charges nothing', async () => {
    const token = harness.sandbox('cage-00000007', 1_000_000);
    const answer = await post(`${harness.url}/v1/messages`, anthropicHeaders(token), request({ model: 'claude-mystery-9' }));
    expect(answer.status).toBe(404);
    const error = (JSON.parse(answer.text) as { error: { type: string; message: string } }).error;
    expect(error.type).toBe('not_found_error');
    expect(error.message).toContain('"claude-mystery-9"');
    expect(error.message).toContain('pricing: { models:');
    expect(fake.requests).toHaveLength(0);
    expect(harness.ledger.snapshot('cage-00000007')).toMatchObject({ llm: 0, exceeded: false });
  });

  it('clamps max_tokens (and a thinking budget with it) to what the budget pays', async () => {
    // $0.20: the ~300-byte body is estimated at 100 tokens × $6 = $0.0006; the rest pays 13293 tokens at $15/Mtok
    const token = harness.sandbox('cage-00000008', 200_000);
    const body = request({ max_tokens: 128_000, thinking: { type: 'enabled', budget_tokens: 31_999 } });
    await post(`${harness.url}/v1/messages`, anthropicHeaders(token), body);
    const sent = fake.requests[0]!.body as { max_tokens: number; thinking: { budget_tokens: number } };
    const inputCost = Math.ceil((Buffer.byteLength(JSON.stringify(body)) / 3)) * 6;
    expect(sent.max_tokens).toBe(Math.floor(((200_000 - inputCost) * 1_000_000) / 15_000_000));
    expect(sent.thinking.budget_tokens).toBe(sent.max_tokens - 1024);
  });

  it('refuses with 402 + x-should-retry: false when not even a minimal answer fits, and marks the sandbox exceeded', async () => {
    const token = harness.sandbox('cage-00000009', 5_000_000);
    harness.ledger.charge('cage-00000009', 'compute', 4_990_000);
    const answer = await post(`${harness.url}/v1/messages`, anthropicHeaders(token), request());
    expect(answer.status).toBe(402);
    expect(answer.headers.get('x-should-retry')).toBe('false');
    const body = JSON.parse(answer.text) as { type: string; error: { type: string; message: string } };
    expect(body.type).toBe('error');
    expect(body.error.type).toBe('billing_error');
    expect(body.error.message).toMatch(/^caged: sandbox cage-00000009 budget limit reached \(\$4\.99\/\$5\.00\)/);
    expect(fake.requests).toHaveLength(0);
    expect(harness.ledger.snapshot('cage-00000009').exceeded).toBe(true);
    expect(harness.refused[0]?.sandboxId).toBe('cage-00000009');
  });

  it('passes upstream errors through unchanged and charges nothing', async () => {
    const token = harness.sandbox('cage-0000000a', 1_000_000);
    turns.push({ content: [], fault: { kind: 'status', status: 529, body: '{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}', headers: { 'x-should-retry': 'true' } } });
    turns.push({ content: [], fault: { kind: 'status', status: 429, headers: { 'retry-after': '7' } } });
    const overloaded = await post(`${harness.url}/v1/messages`, anthropicHeaders(token), request());
    const limited = await post(`${harness.url}/v1/messages`, anthropicHeaders(token), request());
    expect(overloaded.status).toBe(529);
    expect(overloaded.text).toBe('{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}');
    expect(overloaded.headers.get('x-should-retry')).toBe('true');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('7');
    expect(harness.ledger.snapshot('cage-0000000a')).toMatchObject({ llm: 0, reserved: 0 });
    expect(harness.usage).toHaveLength(0);
  });

  it('answers 502 (retryable) when the upstream cannot be reached', async () => {
    const token = harness.sandbox('cage-0000000b', 1_000_000);
    harness.gateway.register('cage-0000000b', { keys: { anthropicApiKey: REAL_ANTHROPIC_KEY }, upstreams: { anthropic: 'http://127.0.0.1:9' } });
    const registered = harness.gateway.register('cage-0000000b', { keys: { anthropicApiKey: REAL_ANTHROPIC_KEY }, upstreams: { anthropic: 'http://127.0.0.1:9' } });
    const stale = await post(`${harness.url}/v1/messages`, anthropicHeaders(token), request());
    expect(stale.status).toBe(401);
    const answer = await post(`${harness.url}/v1/messages`, anthropicHeaders(registered.token), request());
    expect(answer.status).toBe(502);
    expect(answer.headers.get('x-should-retry')).toBe('true');
    expect(harness.ledger.snapshot('cage-0000000b')).toMatchObject({ llm: 0, reserved: 0 });
  });

  it('still charges the reported usage when the client disconnects mid-stream', async () => {
    const token = harness.sandbox('cage-0000000c', 1_000_000);
    turns.push({ content: [{ type: 'text', text: 'x'.repeat(2000) }], usage: { input_tokens: 500, output_tokens: 700 }, shape: { delayMs: 5 } });
    const abort = new AbortController();
    const response = await fetch(`${harness.url}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json', ...anthropicHeaders(token) }, body: JSON.stringify(request()), signal: abort.signal });
    const reader = response.body!.getReader();
    await reader.read();
    abort.abort();
    await expect.poll(() => harness.usage.length, { timeout: 10_000 }).toBe(1);
    expect(harness.usage[0]).toMatchObject({ cost: 500 * 3 + 700 * 15, estimated: false });
    expect(harness.ledger.snapshot('cage-0000000c')).toMatchObject({ llm: 500 * 3 + 700 * 15, reserved: 0 });
  });

  it('charges an estimate when the upstream breaks off mid-event, and breaks the client stream too', async () => {
    const token = harness.sandbox('cage-0000000d', 1_000_000);
    turns.push({ content: [{ type: 'text', text: 'y'.repeat(300) }], usage: { input_tokens: 800, output_tokens: 100 }, fault: { kind: 'cut', afterEvents: 6 } });
    const answer = await post(`${harness.url}/v1/messages`, anthropicHeaders(token), request());
    expect(answer.broken).toBe(true);
    // input as reported by message_start (800 × $3), output counted from the 3 text deltas seen (72 bytes / 3 × $15)
    expect(harness.usage).toEqual([expect.objectContaining({ estimated: true, cost: 800 * 3 + 24 * 15, usage: { input: 800, output: 24, cacheWrite5m: 0, cacheWrite1h: 0, cacheRead: 0 } })]);
    expect(harness.ledger.snapshot('cage-0000000d').reserved).toBe(0);
  });

  it('passes a malformed event through and still charges the final usage', async () => {
    const token = harness.sandbox('cage-0000000e', 1_000_000);
    turns.push({ content: [{ type: 'text', text: 'fine' }], usage: { input_tokens: 10, output_tokens: 5 }, fault: { kind: 'malformed', afterEvents: 3 } });
    const answer = await post(`${harness.url}/v1/messages`, anthropicHeaders(token), request());
    expect(answer.text).toContain('oops');
    expect(harness.ledger.snapshot('cage-0000000e').llm).toBe(10 * 3 + 5 * 15);
  });

  it('cuts a stream whose output runs past what the budget can pay, with an Anthropic error event', async () => {
    // The upstream ignores max_tokens: its text runs far beyond the clamp the budget allowed.
    const token = harness.sandbox('cage-0000000f', 40_000);
    turns.push({ content: [{ type: 'text', text: 'z'.repeat(30_000) }], usage: { input_tokens: 100, output_tokens: 1 }, shape: { chunkBytes: 512 } });
    const answer = await post(`${harness.url}/v1/messages`, anthropicHeaders(token), request({ max_tokens: 64_000 }));
    const last = answer.events.at(-1)!;
    expect(last.event).toBe('error');
    expect(json(last)).toMatchObject({ type: 'error', error: { type: 'billing_error', message: expect.stringContaining('caged: sandbox cage-0000000f budget limit reached') } });
    const snapshot = harness.ledger.snapshot('cage-0000000f');
    expect(snapshot.exceeded).toBe(true);
    expect(snapshot.reserved).toBe(0);
    expect(snapshot.llm).toBeGreaterThan(30_000);
    expect(snapshot.llm).toBeLessThanOrEqual(40_000 + 10_000);
    expect(harness.usage[0]?.estimated).toBe(true);
  });

  it('cuts right after message_start when the real input alone is more than the budget can pay', async () => {
    const token = harness.sandbox('cage-00000010', 100_000);
    turns.push({ content: [{ type: 'text', text: 'never seen' }], usage: { input_tokens: 40_000, output_tokens: 10 } });
    const answer = await post(`${harness.url}/v1/messages`, anthropicHeaders(token), request({ max_tokens: 2000 }));
    expect(answer.events.map((event) => event.event)).toEqual(['message_start', 'error']);
    expect(harness.ledger.snapshot('cage-00000010')).toMatchObject({ llm: 120_000 + 15, exceeded: true, reserved: 0 });
    const next = await post(`${harness.url}/v1/messages`, anthropicHeaders(token), request());
    expect(next.status).toBe(402);
  });

  it('holds a request that only other calls in flight stand in the way of, then lets it through unclamped', async () => {
    // $0.10: the first call holds ~$0.09 for 6000 output tokens; the second cannot get 1024 tokens until it ends
    const token = harness.sandbox('cage-00000011', 100_000);
    turns.push({ content: [{ type: 'text', text: 'first '.repeat(50) }], usage: { input_tokens: 50, output_tokens: 100 }, shape: { delayMs: 20 } });
    turns.push({ content: [{ type: 'text', text: 'second' }], usage: { input_tokens: 50, output_tokens: 10 } });
    const first = post(`${harness.url}/v1/messages`, anthropicHeaders(token), request({ max_tokens: 6000 }));
    await expect.poll(() => fake.requests.length).toBe(1);
    const second = await post(`${harness.url}/v1/messages`, anthropicHeaders(token), request({ max_tokens: 5000 }));
    expect((await first).events.at(-1)?.event).toBe('message_stop');
    expect(second.events.at(-1)?.event).toBe('message_stop');
    expect((fake.requests[1]!.body as { max_tokens: number }).max_tokens).toBe(5000);
    expect(harness.usage[0]?.cost).toBe(50 * 3 + 100 * 15);
    expect(harness.ledger.snapshot('cage-00000011')).toMatchObject({ llm: 50 * 3 + 100 * 15 + 50 * 3 + 10 * 15, exceeded: false, reserved: 0 });
  });

  it('stops serving a sandbox once it is unregistered', async () => {
    const token = harness.sandbox('cage-00000012', 100_000);
    harness.gateway.unregister('cage-00000012');
    const answer = await post(`${harness.url}/v1/messages`, anthropicHeaders(token), request());
    expect(answer.status).toBe(401);
  });
});

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SseParser, type SseEvent } from '../../../src/gateway/sse.js';
import { AnthropicStreamMeter, anthropicUsage, ChatStreamMeter, chatUsage, isChatUsageChunk, ResponsesStreamMeter, responsesUsage, type StreamMeter } from '../../../src/gateway/usage.js';
import { costOf, createPriceBook } from '../../../src/pricing/price.js';

const prices = createPriceBook();

function recorded(name: string): Buffer {
  return readFileSync(new URL(`./streams/${name}`, import.meta.url));
}

/** Splits bytes at the given cut points (anywhere: inside events, lines, UTF-8 sequences). */
function split(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [0, ...cuts.filter((cut) => cut > 0 && cut < bytes.length).sort((a, b) => a - b), bytes.length];
  return points.slice(1).map((end, index) => bytes.subarray(points[index], end));
}

/** Deterministic pseudo-random cut points, so failures reproduce. */
function cutsFor(length: number, seed: number, count: number): number[] {
  let state = seed;
  return Array.from({ length: count }, () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state % length;
  });
}

function meterOver(meter: StreamMeter, chunks: Buffer[]): { meter: StreamMeter; events: SseEvent[] } {
  const parser = new SseParser();
  const events: SseEvent[] = [];
  for (const chunk of chunks) events.push(...parser.push(chunk));
  events.push(...parser.end());
  for (const event of events) meter.push(event);
  return { meter, events };
}

const SPLITS: Array<[string, (bytes: Buffer) => Buffer[]]> = [
  ['whole', (bytes) => [bytes]],
  ['one byte at a time', (bytes) => split(bytes, Array.from({ length: bytes.length }, (_, index) => index))],
  ['random cuts (seed 7)', (bytes) => split(bytes, cutsFor(bytes.length, 7, 40))],
  ['random cuts (seed 99)', (bytes) => split(bytes, cutsFor(bytes.length, 99, 200))],
];

describe.each(SPLITS)('recorded streams split %s', (_name, splitter) => {
  it('Anthropic with 5m/1h cache writes, cache reads and a tool call: exact cost', () => {
    const { meter } = meterOver(new AnthropicStreamMeter(), splitter(recorded('anthropic-cache-tool-use.sse')));
    expect(meter.terminal).toBe(true);
    expect(meter.final).toBe(true);
    expect(meter.reported).toEqual({ input: 12, output: 345, cacheWrite5m: 3000, cacheWrite1h: 1000, cacheRead: 20000 });
    // 12×$3 + 3000×$3.75 + 1000×$6 + 20000×$0.30 + 345×$15 per Mtok = 36 + 11250 + 6000 + 6000 + 5175 µ$
    expect(costOf(prices.lookup('claude-sonnet-4-5-20250929')!, meter.reported!)).toBe(28_461);
  });

  it('Anthropic whose cumulative message_delta updates the input fields: overwritten, not added', () => {
    const { meter } = meterOver(new AnthropicStreamMeter(), splitter(recorded('anthropic-delta-updates-input.sse')));
    expect(meter.reported).toEqual({ input: 10682, output: 510, cacheWrite5m: 0, cacheWrite1h: 0, cacheRead: 0, webSearches: 1 });
    // 10682×$5 + 510×$25 per Mtok + one search at $10/1k = 53410 + 12750 + 10000 µ$
    expect(costOf(prices.lookup('claude-opus-4-5-20251101')!, meter.reported!)).toBe(76_160);
  });

  it('Anthropic whose message_delta restates only output_tokens keeps the input of message_start', () => {
    const { meter } = meterOver(new AnthropicStreamMeter(), splitter(recorded('anthropic-output-only-delta.sse')));
    expect(meter.reported).toEqual({ input: 25, output: 15, cacheWrite5m: 0, cacheWrite1h: 0, cacheRead: 0 });
    expect(costOf(prices.lookup('claude-haiku-4-5-20251001')!, meter.reported!)).toBe(100);
  });

  it('Chat Completions usage chunk with choices: [] (cached inside prompt_tokens): exact cost', () => {
    const { meter, events } = meterOver(new ChatStreamMeter(), splitter(recorded('openai-chat-include-usage.sse')));
    expect(meter.terminal).toBe(true);
    expect(meter.reported).toEqual({ input: 176, output: 300, cacheWrite5m: 0, cacheWrite1h: 0, cacheRead: 1024 });
    // 176×$0.25 + 1024×$0.025 + 300×$2 per Mtok = 44 + 25.6 + 600 = 669.6 → 670 µ$ (rounded up once)
    expect(costOf(prices.lookup('gpt-5-mini-2025-08-07')!, meter.reported!)).toBe(670);
    expect(events.filter(isChatUsageChunk)).toHaveLength(1);
    expect(isChatUsageChunk(events.at(-2)!)).toBe(true);
  });

  it('Responses response.completed (cached inside input, reasoning inside output): exact cost', () => {
    const meter = new ResponsesStreamMeter();
    meterOver(meter, splitter(recorded('openai-responses-completed.sse')));
    expect(meter.terminal).toBe(true);
    expect(meter.responseId).toBe('resp_68af4030592c81938ec0a5fbab4a3e9f');
    expect(meter.lastSequence).toBe(9);
    expect(meter.reported).toEqual({ input: 904, output: 800, cacheWrite5m: 0, cacheWrite1h: 0, cacheRead: 4096 });
    // 904×$1.25 + 4096×$0.125 + 800×$10 per Mtok = 1130 + 512 + 8000 µ$
    expect(costOf(prices.lookup('gpt-5-2025-08-07')!, meter.reported!)).toBe(9_642);
  });

  it('Responses response.incomplete (max_output_tokens) still carries the usage', () => {
    const { meter } = meterOver(new ResponsesStreamMeter(), splitter(recorded('openai-responses-incomplete.sse')));
    expect(meter.final).toBe(true);
    expect(meter.reported).toEqual({ input: 3000, output: 256, cacheWrite5m: 0, cacheWrite1h: 0, cacheRead: 0 });
    expect(costOf(prices.lookup('gpt-5.2-2025-12-11')!, meter.reported!)).toBe(8_834);
  });
});

describe('meters before the end', () => {
  it('Anthropic reports input at message_start and counts output from text, thinking and tool JSON deltas', () => {
    const bytes = recorded('anthropic-cache-tool-use.sse');
    const parser = new SseParser();
    const meter = new AnthropicStreamMeter();
    const events = parser.push(bytes);
    meter.push(events[0]!);
    expect(meter.reported).toEqual({ input: 12, output: 1, cacheWrite5m: 3000, cacheWrite1h: 1000, cacheRead: 20000 });
    expect(meter.final).toBe(false);
    for (const event of events.slice(1, -2)) meter.push(event);
    // text "I'll write the file — ünïcödé ✓ now." is 44 UTF-8 bytes; tool JSON 54 bytes → ceil(98 / 3)
    expect(meter.countedOutput).toBe(33);
    expect(meter.terminal).toBe(false);
  });

  it('OpenAI streams report nothing before their terminal event', () => {
    const meter = new ResponsesStreamMeter();
    const events = new SseParser().push(recorded('openai-responses-completed.sse'));
    for (const event of events.slice(0, -1)) meter.push(event);
    expect(meter.reported).toBeUndefined();
    expect(meter.countedOutput).toBeGreaterThan(0);
  });

  it('an Anthropic error event is terminal without final usage', () => {
    const meter = new AnthropicStreamMeter();
    meter.push({ event: 'message_start', data: '{"type":"message_start","message":{"usage":{"input_tokens":10,"output_tokens":1}}}' });
    meter.push({ event: 'error', data: '{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}' });
    expect(meter.terminal).toBe(true);
    expect(meter.final).toBe(false);
    expect(meter.reported?.input).toBe(10);
  });

  it('a null in a later message_delta does not erase an earlier count', () => {
    const meter = new AnthropicStreamMeter();
    meter.push({ event: 'message_start', data: '{"type":"message_start","message":{"usage":{"input_tokens":10,"cache_read_input_tokens":50,"output_tokens":1}}}' });
    meter.push({ event: 'message_delta', data: '{"type":"message_delta","delta":{},"usage":{"input_tokens":null,"output_tokens":7}}' });
    meter.push({ event: 'message_stop', data: '{"type":"message_stop"}' });
    expect(meter.reported).toEqual({ input: 10, output: 7, cacheWrite5m: 0, cacheWrite1h: 0, cacheRead: 50 });
  });

  it('malformed data lines are skipped, not fatal', () => {
    const meter = new ChatStreamMeter();
    meter.push({ event: undefined, data: '{"choices": [oops' });
    meter.push({ event: undefined, data: '{"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":2}}' });
    expect(meter.reported).toEqual({ input: 5, output: 2, cacheWrite5m: 0, cacheWrite1h: 0, cacheRead: 0 });
  });
});

describe('usage objects', () => {
  it('Anthropic: a cache_creation_input_tokens total without the TTL split counts as 5-minute writes', () => {
    expect(anthropicUsage({ input_tokens: 1, output_tokens: 2, cache_creation_input_tokens: 300 })).toEqual({ input: 1, output: 2, cacheWrite5m: 300, cacheWrite1h: 0, cacheRead: 0 });
  });

  it('Anthropic: the TTL split wins where it accounts for more than the total', () => {
    expect(anthropicUsage({ input_tokens: 1, output_tokens: 2, cache_creation_input_tokens: 100, cache_creation: { ephemeral_5m_input_tokens: 80, ephemeral_1h_input_tokens: 70 } })).toEqual({
      input: 1,
      output: 2,
      cacheWrite5m: 80,
      cacheWrite1h: 70,
      cacheRead: 0,
    });
  });

  it('rejects negative, fractional and missing counts (the caller then charges its estimate)', () => {
    expect(anthropicUsage({ input_tokens: -1, output_tokens: 2 })).toBeUndefined();
    expect(anthropicUsage({ input_tokens: 1.5, output_tokens: 2 })).toBeUndefined();
    expect(anthropicUsage({ output_tokens: 2 })).toBeUndefined();
    expect(chatUsage({ prompt_tokens: 10, completion_tokens: 1, prompt_tokens_details: { cached_tokens: 11 } })).toBeUndefined();
    expect(responsesUsage({ input_tokens: '10', output_tokens: 1 })).toBeUndefined();
    expect(responsesUsage(null)).toBeUndefined();
  });
});

import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { formatSse, SseFramer, SseParser, type SseEvent } from '../../../src/gateway/sse.js';
import { AnthropicStreamMeter, ChatStreamMeter, ResponsesStreamMeter, type StreamMeter } from '../../../src/gateway/usage.js';
import { fuzz, regressions } from './harness.js';
import { chunksOf, sseInput, type SseInput } from './sse-inputs.js';

/**
 * The gateway's SSE parser and framer, and the usage meters behind them, on random streams. They
 * never throw, and keep their invariants whatever the bytes and however they are chunked:
 * - the parser yields exactly the events of a whole-stream reference parse (the WHATWG rules,
 *   written out plainly here), with no CR in any data and no line break in any event name;
 * - the framer loses no byte, and ends every block with a blank line, so forwarding block by
 *   block parses to the same events;
 * - formatSse writes an event back that parses to itself;
 * - meters report only whole, non-negative token counts.
 */

const FIXTURES = fileURLToPath(new URL('./fixtures/sse-parser.json', import.meta.url));

/** The spec's algorithm over the whole stream at once: decode (one BOM stripped), split lines, dispatch on blank ones. */
function referenceEvents(bytes: Buffer): SseEvent[] {
  const lines = new TextDecoder('utf-8').decode(bytes).split(/\r\n|\r|\n/);
  lines.pop(); // the text after the last line break is no complete line
  const events: SseEvent[] = [];
  let event: string | undefined;
  let data: string[] = [];
  for (const line of lines) {
    if (line === '') {
      if (data.length > 0) events.push({ event, data: data.join('\n') });
      event = undefined;
      data = [];
    } else if (!line.startsWith(':')) {
      const colon = line.indexOf(':');
      const field = colon === -1 ? line : line.slice(0, colon);
      const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'data') data.push(value);
      else if (field === 'event') event = value;
    }
  }
  return events;
}

function parseChunked(chunks: Buffer[]): SseEvent[] {
  const parser = new SseParser();
  const events = chunks.flatMap((chunk) => parser.push(chunk));
  return [...events, ...parser.end()];
}

const CR = 0x0d;
const LF = 0x0a;

/** Whether the bytes forwarded so far end with a blank line (only their last bytes matter). */
function endsWithBlankLine(forwarded: Buffer): boolean {
  let end = forwarded.length;
  const last = forwarded[end - 1];
  if (last !== LF && last !== CR) return false;
  end -= last === LF && forwarded[end - 2] === CR ? 2 : 1;
  return end === 0 || forwarded[end - 1] === LF || forwarded[end - 1] === CR;
}

function checkMeter(meter: StreamMeter, events: SseEvent[]): void {
  for (const event of events) meter.push(event);
  assert.ok(Number.isSafeInteger(meter.countedOutput) && meter.countedOutput >= 0, `countedOutput ${meter.countedOutput}`);
  if (meter.reported) {
    for (const [field, value] of Object.entries(meter.reported)) assert.ok(Number.isSafeInteger(value) && value >= 0, `reported ${field} = ${value}`);
  }
  if (meter.final) assert.ok(meter.reported, 'final without reported usage');
}

function check(input: SseInput): void {
  const chunks = chunksOf(input);
  const bytes = Buffer.concat(chunks);
  const expected = referenceEvents(bytes);

  assert.deepEqual(parseChunked(chunks), expected, 'chunked parse differs from the reference');
  for (const event of expected) {
    assert.ok(!event.data.includes('\r'), 'CR in data');
    assert.ok(event.event === undefined || !/[\r\n]/.test(event.event), 'line break in an event name');
    assert.deepEqual(parseChunked([Buffer.from(formatSse(event))]), [event], 'formatSse does not round-trip');
  }

  // The gateway's path: frame, parse each block as it comes, then the rest and the end.
  const framer = new SseFramer();
  const parser = new SseParser();
  const blocks: Buffer[] = [];
  const events: SseEvent[] = [];
  let tail = Buffer.alloc(0);
  for (const chunk of chunks) {
    for (const block of framer.push(chunk)) {
      blocks.push(block);
      assert.ok(block.length > 0, 'an empty block');
      tail = Buffer.concat([tail, block]).subarray(-4);
      assert.ok(endsWithBlankLine(tail), 'a block that does not end with a blank line');
      events.push(...parser.push(block));
    }
  }
  const rest = framer.rest();
  events.push(...parser.push(rest), ...parser.end());
  assert.ok(Buffer.concat([...blocks, rest]).equals(bytes), 'the framer lost or changed bytes');
  assert.deepEqual(events, expected, 'framed parse differs from the reference');

  checkMeter(new AnthropicStreamMeter(), expected);
  checkMeter(new ChatStreamMeter(), expected);
  checkMeter(new ResponsesStreamMeter(), expected);
}

describe('fuzz: SSE parser, framer and usage meters', () => {
  it('replays the saved regression cases', () => {
    for (const { input } of regressions<SseInput>(FIXTURES)) check(input);
  });

  it('never throw and keep their invariants on 10,000 random streams', { timeout: 120_000 }, () => {
    expect(fuzz({ fixtures: FIXTURES, generate: sseInput, check })).toBeGreaterThanOrEqual(10_000);
  });
});

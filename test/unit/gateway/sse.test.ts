import { describe, expect, it } from 'vitest';
import { formatSse, SseFramer, SseParser, type SseEvent } from '../../../src/gateway/sse.js';

function parseChunks(chunks: Array<string | Uint8Array>): SseEvent[] {
  const parser = new SseParser();
  const events = chunks.flatMap((chunk) => parser.push(chunk));
  return [...events, ...parser.end()];
}

const STREAM = 'event: message_start\ndata: {"a":"ü✓"}\n\n: comment\nevent: ping\ndata: {"type": "ping"}\n\ndata: line one\ndata: line two\n\ndata: [DONE]\n\n';
const EXPECTED: SseEvent[] = [
  { event: 'message_start', data: '{"a":"ü✓"}' },
  { event: 'ping', data: '{"type": "ping"}' },
  { event: undefined, data: 'line one\nline two' },
  { event: undefined, data: '[DONE]' },
];

describe('SseParser', () => {
  it('yields the same events for every split point of the byte stream, inside UTF-8 sequences too', () => {
    const bytes = Buffer.from(STREAM);
    for (let cut = 0; cut <= bytes.length; cut += 1) {
      expect(parseChunks([bytes.subarray(0, cut), bytes.subarray(cut)])).toEqual(EXPECTED);
    }
    expect(parseChunks([...bytes].map((byte) => Uint8Array.of(byte)))).toEqual(EXPECTED);
  });

  it('accepts CRLF and lone CR line endings, even with CR and LF in different chunks', () => {
    for (const ending of ['\r\n', '\r']) {
      const bytes = Buffer.from(STREAM.replaceAll('\n', ending));
      for (let cut = 0; cut <= bytes.length; cut += 1) {
        expect(parseChunks([bytes.subarray(0, cut), bytes.subarray(cut)])).toEqual(EXPECTED);
      }
    }
  });

  it('dispatches an event only at its blank line and drops an unterminated one at the end', () => {
    const parser = new SseParser();
    expect(parser.push('data: {"partial":')).toEqual([]);
    expect(parser.push(' true}\n')).toEqual([]);
    expect(parser.push('\n')).toEqual([{ event: undefined, data: '{"partial": true}' }]);
    expect(parser.push('data: cut off mid-ev')).toEqual([]);
    expect(parser.end()).toEqual([]);
  });

  it('follows the field rules: one optional space, no colon means an empty value, unknown fields ignored', () => {
    expect(parseChunks(['data:x\nid: 7\nretry: 10\nfoo: bar\n\ndata\n\nevent: only-type\n\n'])).toEqual([
      { event: undefined, data: 'x' },
      { event: undefined, data: '' },
    ]);
  });

  it('skips a byte-order mark at the start', () => {
    expect(parseChunks([Uint8Array.of(0xef, 0xbb), Uint8Array.of(0xbf), 'data: 1\n\n'])).toEqual([{ event: undefined, data: '1' }]);
  });

  it('joins a long line arriving in many small chunks', () => {
    const line = `data: ${'x'.repeat(200_000)}\n\n`;
    const parser = new SseParser();
    let events: SseEvent[] = [];
    for (let at = 0; at < line.length; at += 100) events = events.concat(parser.push(line.slice(at, at + 100)));
    expect(events).toHaveLength(1);
    expect(events[0]!.data).toHaveLength(200_000);
  });

  it('formatSse round-trips', () => {
    expect(parseChunks(EXPECTED.map(formatSse))).toEqual(EXPECTED);
  });
});

describe('SseFramer', () => {
  function frames(chunks: Buffer[]): { blocks: string[]; rest: string } {
    const framer = new SseFramer();
    const blocks = chunks.flatMap((chunk) => framer.push(chunk)).map((block) => block.toString('utf8'));
    return { blocks, rest: framer.rest().toString('utf8') };
  }

  it('cuts the byte stream into whole events at every split point, keeping the bytes verbatim', () => {
    for (const ending of ['\n', '\r\n', '\r']) {
      const text = STREAM.replaceAll('\n', ending);
      const bytes = Buffer.from(`${text}data: unfinished`);
      const expected = frames([bytes]);
      expect(expected.blocks.join('') + expected.rest).toBe(bytes.toString('utf8'));
      expect(expected.rest).toBe('data: unfinished');
      for (let cut = 0; cut <= bytes.length; cut += 1) {
        const split = frames([bytes.subarray(0, cut), bytes.subarray(cut)]);
        expect(split.blocks.join('') + split.rest).toBe(bytes.toString('utf8'));
        // The same events come out of the blocks whatever the split (a CRLF may straddle two blocks).
        expect(parseChunks(split.blocks.map((block) => Buffer.from(block)))).toEqual(EXPECTED);
      }
    }
  });

  it('gives one block per event, comments riding with the event after them', () => {
    const { blocks } = frames([Buffer.from(STREAM)]);
    expect(blocks).toEqual(['event: message_start\ndata: {"a":"ü✓"}\n\n', ': comment\nevent: ping\ndata: {"type": "ping"}\n\n', 'data: line one\ndata: line two\n\n', 'data: [DONE]\n\n']);
  });
});

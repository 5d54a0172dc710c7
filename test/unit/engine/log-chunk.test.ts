import { appendFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readLogChunk } from '../../../src/engine/log-chunk.js';
import { completeUtf8Length } from '../../../src/sandbox/tail.js';

describe('completeUtf8Length', () => {
  it.each([
    ['ascii', Buffer.from('abc'), 3],
    ['a whole 2-byte character', Buffer.from('aé'), 3],
    ['half of a 2-byte character', Buffer.from('aé').subarray(0, 2), 1],
    ['a whole 4-byte character', Buffer.from('a😀'), 5],
    ['three quarters of a 4-byte character', Buffer.from('a😀').subarray(0, 4), 1],
    ['one byte of a 3-byte character', Buffer.from('a€').subarray(0, 2), 1],
    ['a lone continuation byte (invalid, not ours to hold back)', Buffer.from([0x61, 0x80]), 2],
    ['nothing', Buffer.alloc(0), 0],
  ])('%s', (_, bytes, length) => expect(completeUtf8Length(bytes)).toBe(length));
});

describe('readLogChunk', () => {
  const dir = mkdtempSync(join(tmpdir(), 'caged-log-chunk-'));

  it('reads from an offset to the end, and a follower that resumes at `next` gets every character once', async () => {
    const path = join(dir, 'output.log');
    const text = 'tick 1 — ok\nprix: 5 €\n😀 done\n';
    const bytes = Buffer.from(text);
    writeFileSync(path, '');
    let followed = '';
    let offset = 0;
    // The writer flushes a byte at a time, splitting every multi-byte character across reads.
    for (const byte of bytes) {
      appendFileSync(path, Buffer.from([byte]));
      const chunk = await readLogChunk(path, offset, true);
      followed += chunk.text;
      offset = chunk.next;
    }
    expect(followed).toBe(text);
    expect(offset).toBe(bytes.length);
    expect(await readLogChunk(path, 6, true)).toEqual({ text: text.slice(6), next: bytes.length });
  });

  it('returns a character cut at the end once the sandbox has ended: nothing is held back for ever', async () => {
    const path = join(dir, 'cut.log');
    writeFileSync(path, Buffer.from('ok €').subarray(0, 4));
    expect(await readLogChunk(path, 0, true)).toEqual({ text: 'ok ', next: 3 });
    expect(await readLogChunk(path, 3, false)).toEqual({ text: '\ufffd', next: 4 });
  });

  it('reads a log that is not there yet as empty', async () => {
    expect(await readLogChunk(join(dir, 'missing.log'), 0, true)).toEqual({ text: '', next: 0 });
  });
});

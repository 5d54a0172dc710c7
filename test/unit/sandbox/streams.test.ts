import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CappedLog, truncationMarker } from '../../../src/sandbox/capped-log.js';
import { DockerStreamDemuxer, type StreamKind } from '../../../src/sandbox/demux.js';
import { lastLines, TailBuffer } from '../../../src/sandbox/tail.js';

function frame(type: number, payload: string): Buffer {
  const body = Buffer.from(payload);
  const header = Buffer.alloc(8);
  header[0] = type;
  header.writeUInt32BE(body.length, 4);
  return Buffer.concat([header, body]);
}

describe('DockerStreamDemuxer', () => {
  const stream = Buffer.concat([frame(1, 'out one\n'), frame(2, 'err one\n'), frame(1, ''), frame(1, 'out two\n'), frame(2, 'ü')]);
  const expected = [
    ['stdout', 'out one\n'],
    ['stderr', 'err one\n'],
    ['stdout', 'out two\n'],
    ['stderr', 'ü'],
  ];

  function run(chunks: Buffer[]): [StreamKind, string][] {
    const out: [StreamKind, Buffer][] = [];
    const demuxer = new DockerStreamDemuxer((kind, payload) => out.push([kind, Buffer.from(payload)]));
    for (const chunk of chunks) demuxer.push(chunk);
    // Merge consecutive pieces of one stream, as a reader of the stream would see them.
    const merged: [StreamKind, Buffer][] = [];
    for (const [kind, payload] of out) {
      const last = merged.at(-1);
      if (last && last[0] === kind) last[1] = Buffer.concat([last[1], payload]);
      else merged.push([kind, payload]);
    }
    return merged.map(([kind, payload]) => [kind, payload.toString('utf8')]);
  }

  it('splits whole frames', () => expect(run([stream])).toEqual(expected));

  it('splits frames cut at every possible byte, headers included', () => {
    for (let cut = 1; cut < stream.length; cut += 1) {
      expect(run([stream.subarray(0, cut), stream.subarray(cut)])).toEqual(expected);
    }
    expect(run([...stream].map((byte) => Buffer.from([byte])))).toEqual(expected);
  });
});

describe('TailBuffer', () => {
  it('keeps everything below its capacity', () => {
    const tail = new TailBuffer(10);
    tail.push(Buffer.from('abc'));
    tail.push(Buffer.from('def'));
    expect(tail.toString()).toBe('abcdef');
    expect(tail.truncated).toBe(false);
  });

  it('keeps the last bytes across many pushes and wrap-arounds', () => {
    const tail = new TailBuffer(7);
    let all = '';
    for (let index = 0; index < 100; index += 1) {
      const piece = `${index},`;
      all += piece;
      tail.push(Buffer.from(piece));
      expect(tail.toString()).toBe(all.slice(-7));
    }
    expect(tail.truncated).toBe(true);
  });

  it('keeps the end of a chunk larger than itself', () => {
    const tail = new TailBuffer(4);
    tail.push(Buffer.from('0123456789'));
    expect(tail.toString()).toBe('6789');
  });

  it('does not keep a reference to pushed buffers', () => {
    const tail = new TailBuffer(8);
    const chunk = Buffer.from('abcd');
    tail.push(chunk);
    chunk.fill(0x7a);
    expect(tail.toString()).toBe('abcd');
  });

  it('drops a multi-byte character cut at the front', () => {
    const tail = new TailBuffer(5);
    tail.push(Buffer.from('xé€ab'));
    expect(tail.toString()).toBe('€ab');
  });

  it('keeps nothing at capacity 0', () => {
    const tail = new TailBuffer(0);
    tail.push(Buffer.from('abc'));
    expect(tail.toString()).toBe('');
  });
});

describe('lastLines', () => {
  it('returns the last non-empty lines', () => {
    expect(lastLines('a\n\nb  \nc\n\n', 2)).toBe('b\nc');
    expect(lastLines('', 3)).toBe('');
  });
});

describe('CappedLog', () => {
  it('stops at the cap with one marker, counting what earlier commands wrote', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'caged-log-'));
    try {
      const path = join(dir, 'nested', 'sandbox.log');
      const first = await CappedLog.open(path, 20);
      first.write(Buffer.from('0123456789'));
      await first.close();
      const second = await CappedLog.open(path, 20);
      second.write(Buffer.from('abcdefghij'));
      second.write(Buffer.from('more'));
      await second.close();
      const third = await CappedLog.open(path, 20);
      third.write(Buffer.from('even more'));
      await third.close();
      expect(await readFile(path, 'utf8')).toBe(`0123456789abcdefghij${truncationMarker(20)}`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

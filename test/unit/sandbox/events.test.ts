import { PassThrough } from 'node:stream';
import type Docker from 'dockerode';
import { describe, expect, it } from 'vitest';
import { DockerEventStream, NdjsonSplitter, parseDockerEvent } from '../../../src/sandbox/events.js';
import { LABELS, type BackendEvent } from '../../../src/sandbox/types.js';

const caged = { [LABELS.managed]: 'true', [LABELS.id]: 'cage-0123abcd' };
const event = (Action: string, attributes: Record<string, string> = {}, time = 1_700_000_000, id = 'c1') => ({
  Type: 'container',
  Action,
  time,
  timeNano: time * 1e9 + 1,
  Actor: { ID: id, Attributes: { ...caged, ...attributes } },
});

describe('NdjsonSplitter', () => {
  it('parses lines split anywhere, also inside a multi-byte character, and skips junk', () => {
    const text = `${JSON.stringify({ a: 'é€' })}\n\nnot json\n${JSON.stringify({ b: 2 })}\n{"c":`;
    const bytes = Buffer.from(text);
    for (let cut = 1; cut < bytes.length; cut += 1) {
      const splitter = new NdjsonSplitter();
      const values = [...splitter.push(bytes.subarray(0, cut)), ...splitter.push(bytes.subarray(cut))];
      expect(values).toEqual([{ a: 'é€' }, { b: 2 }]);
      expect(splitter.push('3}\n')).toEqual([{ c: 3 }]);
    }
  });
});

describe('parseDockerEvent', () => {
  it('reads oom and die of caged containers', () => {
    expect(parseDockerEvent(event('oom'))).toEqual({ type: 'oom', id: 'cage-0123abcd', containerId: 'c1' });
    expect(parseDockerEvent(event('die', { exitCode: '137' }))).toEqual({ type: 'die', id: 'cage-0123abcd', containerId: 'c1', exitCode: 137 });
  });

  it('ignores other actions, objects, foreign and helper containers, and junk', () => {
    expect(parseDockerEvent(event('start'))).toBeUndefined();
    expect(parseDockerEvent({ ...event('die'), Type: 'network' })).toBeUndefined();
    expect(parseDockerEvent(event('die', { [LABELS.managed]: 'false' }))).toBeUndefined();
    expect(parseDockerEvent(event('die', { [LABELS.role]: 'netns' }))).toBeUndefined();
    expect(parseDockerEvent(null)).toBeUndefined();
    expect(parseDockerEvent('die')).toBeUndefined();
  });
});

/** A Docker stand-in whose event streams the test writes and ends by hand. */
function fakeDocker(oomKilled: Record<string, boolean> = {}) {
  const streams: PassThrough[] = [];
  const requests: Record<string, unknown>[] = [];
  const docker = {
    getEvents: async (options: Record<string, unknown>) => {
      requests.push(options);
      const stream = new PassThrough();
      streams.push(stream);
      return stream;
    },
    getContainer: (id: string) => ({
      inspect: async () => {
        if (!(id in oomKilled)) throw Object.assign(new Error('no such container'), { statusCode: 404 });
        return { State: { OOMKilled: oomKilled[id] } };
      },
    }),
  } as unknown as Docker;
  return { docker, streams, requests };
}

async function settle(): Promise<void> {
  for (let index = 0; index < 5; index += 1) await new Promise((resolve) => setImmediate(resolve));
}

describe('DockerEventStream', () => {
  it('subscribes to caged oom/die events and reports OOM kills on die', async () => {
    const { docker, streams, requests } = fakeDocker({ c1: true, c2: false });
    const seen: BackendEvent[] = [];
    const events = new DockerEventStream(docker, (e) => seen.push(e));
    await events.start();
    expect(requests[0]).toMatchObject({ filters: { type: ['container'], event: ['oom', 'die'], label: ['dev.caged.managed=true'] } });
    const lines = [event('oom'), event('die', { exitCode: '137' }, 1_700_000_001), event('die', { exitCode: '0' }, 1_700_000_002, 'c2')]
      .map((e) => JSON.stringify(e))
      .join('\n');
    streams[0]!.write(lines.slice(0, 50));
    streams[0]!.write(`${lines.slice(50)}\n`);
    await settle();
    expect(seen).toEqual([
      { type: 'oom', id: 'cage-0123abcd' },
      { type: 'die', id: 'cage-0123abcd', exitCode: 137, oomKilled: true },
      { type: 'die', id: 'cage-0123abcd', exitCode: 0, oomKilled: false },
    ]);
    events.close();
  });

  it('remembers an oom for a die whose container is gone already', async () => {
    const { docker, streams } = fakeDocker();
    const seen: BackendEvent[] = [];
    const events = new DockerEventStream(docker, (e) => seen.push(e));
    await events.start();
    streams[0]!.write(`${JSON.stringify(event('oom'))}\n${JSON.stringify(event('die', { exitCode: '137' }))}\n`);
    await settle();
    expect(seen.at(-1)).toEqual({ type: 'die', id: 'cage-0123abcd', exitCode: 137, oomKilled: true });
    events.close();
  });

  it('reconnects from the last event time when the stream drops, delivering each event once', async () => {
    const { docker, streams, requests } = fakeDocker({ c1: false });
    const seen: BackendEvent[] = [];
    const errors: unknown[] = [];
    const events = new DockerEventStream(docker, (e) => seen.push(e), { retryMs: 10, onError: (error) => errors.push(error) });
    await events.start();
    const first = event('die', { exitCode: '1' }, 1_700_000_005);
    streams[0]!.write(`${JSON.stringify(first)}\n`);
    await settle();
    streams[0]!.destroy(new Error('connection reset'));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(requests).toHaveLength(2);
    expect(requests[1]).toMatchObject({ since: '1700000005' });
    // The engine replays from `since`: the first event again, then a new one.
    streams[1]!.write(`${JSON.stringify(first)}\n${JSON.stringify(event('die', { exitCode: '2' }, 1_700_000_006))}\n`);
    await settle();
    expect(seen.map((e) => (e.type === 'die' ? e.exitCode : e.type))).toEqual([1, 2]);
    expect(errors).toHaveLength(1);
    events.close();
    streams[1]!.end();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(requests).toHaveLength(2);
  });
});

import { spawn } from 'node:child_process';
import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { currentOwner, formatOwner, ownerLiveness, parseOwner, parseProcStat } from '../../../src/sandbox/owner.js';

describe('owner labels', () => {
  it('round-trip host, pid and start', () => {
    const owner = { host: 'runner-1.example', pid: 4242, start: '98765' };
    expect(parseOwner(formatOwner(owner))).toEqual(owner);
    expect(parseOwner('host:with:colons:12:r0a1b2')).toEqual({ host: 'host:with:colons', pid: 12, start: 'r0a1b2' });
  });

  it.each(['', 'host', 'host:12', 'host:0:1', 'host:-1:1', 'host:x:1', 'host:1:'])('rejects %j', (label) => {
    expect(parseOwner(label)).toBeUndefined();
  });

  it('describes this process', () => {
    const me = parseOwner(currentOwner())!;
    expect(me.host).toBe(hostname());
    expect(me.pid).toBe(process.pid);
    expect(currentOwner()).toBe(currentOwner());
  });

  it('reads state and start time from /proc/<pid>/stat, whatever the command name holds', () => {
    const fields = Array.from({ length: 50 }, (_, index) => String(index + 3));
    fields[0] = 'Z';
    fields[19] = '123456';
    expect(parseProcStat(`77 (we) ird (name) ${fields.join(' ')}`)).toEqual({ state: 'Z', startTicks: '123456' });
    expect(parseProcStat('garbage')).toBeUndefined();
  });
});

describe('owner liveness', () => {
  const self = currentOwner();
  const me = parseOwner(self)!;

  it('knows itself alive, and a label nothing could own gone', () => {
    expect(ownerLiveness(self, self)).toBe('alive');
    expect(ownerLiveness('not an owner', self)).toBe('gone');
  });

  it('cannot tell for another host', () => {
    expect(ownerLiveness(formatOwner({ host: `${me.host}-elsewhere`, pid: 1, start: '1' }), self)).toBe('unknown');
  });

  it('sees a live process alive and an exited one gone', async () => {
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)'], { stdio: 'ignore' });
    await new Promise((resolve) => child.once('spawn', resolve));
    const { readFileSync } = await import('node:fs');
    const start = parseProcStat(readFileSync(`/proc/${child.pid}/stat`, 'utf8'))!.startTicks;
    const label = formatOwner({ host: me.host, pid: child.pid!, start });
    expect(ownerLiveness(label, self)).toBe('alive');
    // Same pid, different start time: the pid was recycled by another process.
    expect(ownerLiveness(formatOwner({ host: me.host, pid: child.pid!, start: `${start}1` }), self)).toBe('gone');
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    expect(ownerLiveness(label, self)).toBe('gone');
  });

  it('checks only the pid when the start time was not available', () => {
    expect(ownerLiveness(formatOwner({ host: me.host, pid: process.pid, start: 'r00ff' }), self)).toBe('alive');
  });
});

import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';

/**
 * A controller's identity in `dev.caged.owner`: `host:pid:start`. `start` is the process start
 * time in clock ticks since boot (from /proc), so a recycled pid is not mistaken for the
 * controller; where /proc is missing it is a random nonce (prefix `r`) and only the pid counts.
 */
export interface OwnerId {
  host: string;
  pid: number;
  start: string;
}

export function formatOwner(owner: OwnerId): string {
  return `${owner.host}:${owner.pid}:${owner.start}`;
}

export function parseOwner(label: string): OwnerId | undefined {
  const match = /^(.+):(\d+):([0-9a-z]+)$/.exec(label);
  if (!match) return undefined;
  const pid = Number(match[2]);
  if (!Number.isSafeInteger(pid) || pid <= 0) return undefined;
  return { host: match[1]!, pid, start: match[3]! };
}

export interface ProcStat {
  state: string;
  startTicks: string;
}

/** Fields 3 and 22 of /proc/<pid>/stat; the command name (field 2) may hold spaces and parentheses. */
export function parseProcStat(stat: string): ProcStat | undefined {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const state = fields[0];
  const startTicks = fields[19];
  if (!state || !startTicks || !/^\d+$/.test(startTicks)) return undefined;
  return { state, startTicks };
}

function procStat(pid: number): ProcStat | undefined {
  try {
    return parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

let current: string | undefined;

/** This process's owner label (the same for every backend in the process). */
export function currentOwner(): string {
  current ??= formatOwner({
    host: hostname(),
    pid: process.pid,
    start: procStat(process.pid)?.startTicks ?? `r${randomBytes(6).toString('hex')}`,
  });
  return current;
}

export type Liveness = 'alive' | 'gone' | 'unknown';

/**
 * Whether the controller behind an owner label still runs. Only same-host owners can be
 * checked; an unparseable label counts as gone (nothing would ever claim it).
 */
export function ownerLiveness(label: string, self: string = currentOwner()): Liveness {
  if (label === self) return 'alive';
  const owner = parseOwner(label);
  if (!owner) return 'gone';
  const me = parseOwner(self);
  if (!me || owner.host !== me.host) return 'unknown';
  if (!pidExists(owner.pid)) return 'gone';
  if (owner.start.startsWith('r')) return 'alive';
  const stat = procStat(owner.pid);
  if (!stat) return 'alive';
  // A zombie has exited; a different start time means the pid was recycled.
  return stat.state === 'Z' || stat.state === 'X' || stat.startTicks !== owner.start ? 'gone' : 'alive';
}

/** Whether a process with this pid exists (possibly another user's). */
export function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

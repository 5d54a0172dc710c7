import { mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { TestProject } from 'vitest/node';
import { pidExists } from '../../../src/sandbox/owner.js';

/**
 * Keeps the dockerd restart test (dockerd-restart.test.ts) from breaking other test runs on the
 * same machine, and other runs from starting while dockerd is down. Within one `npm test` the
 * restart test already runs alone: its vitest project comes after every other (vitest.config.ts,
 * sequence.groupOrder). Across runs (two people, or an IDE and a terminal) this file-level protocol
 * does it:
 * - every vitest run with Docker tests marks itself in USERS (this file is their globalSetup); a
 *   run that finds the restart lock held by another run waits for it before marking itself;
 * - the restart test takes LOCK (O_EXCL), then waits until no other live run is marked and no
 *   container runs at all (so also nothing outside the protocol, e.g. `npm run bench`), and only
 *   then restarts dockerd; it releases the lock once dockerd answers again.
 * Stale markers and locks (their process is gone) are cleared on sight.
 */

const ROOT = join(tmpdir(), 'caged-test-docker');
const USERS = join(ROOT, 'users');
const LOCK = join(ROOT, 'dockerd-restart.lock');
const LOCK_WAIT_MS = 15 * 60_000;

declare module 'vitest' {
  export interface ProvidedContext {
    /** The pid of the vitest run (its main process), which marks the run as a Docker user. */
    cagedTestRun: number;
  }
}

/** The run holding the restart lock, if a live one does (a stale lock is removed). */
function lockHolder(): number | undefined {
  let text: string;
  try {
    text = readFileSync(LOCK, 'utf8');
  } catch {
    return undefined;
  }
  const [test, run] = text.split(' ').map(Number);
  if (test && pidExists(test)) return run;
  rmSync(LOCK, { force: true });
  return undefined;
}

/** Live runs marked as Docker users, other than `self`; stale markers are removed. */
export function otherDockerRuns(self: number): number[] {
  mkdirSync(USERS, { recursive: true });
  return readdirSync(USERS)
    .map(Number)
    .filter((pid) => {
      if (pid === self) return false;
      if (pidExists(pid)) return true;
      rmSync(join(USERS, String(pid)), { force: true });
      return false;
    });
}

/** globalSetup of every project that uses Docker. */
export default async function markDockerUser(project: TestProject): Promise<() => void> {
  const run = process.pid;
  const marker = join(USERS, String(run));
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    mkdirSync(USERS, { recursive: true });
    writeFileSync(marker, '');
    const holder = lockHolder();
    if (holder === undefined || holder === run) break;
    rmSync(marker, { force: true });
    if (Date.now() > deadline) throw new Error(`another test run (pid ${holder}) is restarting dockerd and did not finish within ${LOCK_WAIT_MS / 60_000} minutes`);
    await sleep(1000);
  }
  project.provide('cagedTestRun', run);
  return () => rmSync(marker, { force: true });
}

/**
 * Takes the restart lock for test process `test` of run `run`, then waits until Docker is quiet:
 * no other marked run alive, and no running container. Returns the release function.
 */
export async function lockDockerd(run: number, quiet: () => Promise<boolean>): Promise<() => void> {
  mkdirSync(ROOT, { recursive: true });
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      const fd = openSync(LOCK, 'wx');
      writeFileSync(fd, `${process.pid} ${run}`);
      closeSync(fd);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      lockHolder();
    }
    if (Date.now() > deadline) throw new Error('the dockerd restart lock stayed taken');
    await sleep(1000);
  }
  const release = () => rmSync(LOCK, { force: true });
  try {
    while (otherDockerRuns(run).length > 0 || !(await quiet())) {
      if (Date.now() > deadline) throw new Error(`Docker stayed busy (other test runs: ${otherDockerRuns(run).join(', ') || 'none'}); not restarting dockerd under them`);
      await sleep(1000);
    }
  } catch (error) {
    release();
    throw error;
  }
  return release;
}

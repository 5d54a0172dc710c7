import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, startSandbox, type Harness } from '../../support/sandbox-harness.js';
import type { BackendEvent } from '../../../src/sandbox/types.js';

let harness: Harness;
beforeAll(async () => {
  harness = await createHarness();
});
afterAll(async () => {
  await harness?.cleanup();
});

async function until<T>(probe: () => T | undefined, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('memory limit', () => {
  it('OOM-kills a process that allocates past it; the sandbox then dies with oomKilled', async () => {
    const events: BackendEvent[] = [];
    harness.backend.onEvent((event) => events.push(event));
    await harness.backend.watchEvents();
    const { spec } = await startSandbox(harness, { memoryMiB: 64 });

    const hog = await harness.backend.exec(spec.id, { argv: ['perl', '-e', '$x = "a" x (256 * 1024 * 1024); print "survived\\n"'] });
    expect(hog.exitCode).toBe(137);
    expect(hog.stdoutTail).toBe('');
    await until(() => events.find((event) => event.type === 'oom' && event.id === spec.id), 10_000);

    // What the engine does on `oom`: stop the sandbox; its die then reports the OOM kill.
    await harness.backend.kill(spec.id);
    const die = await until(() => events.find((event) => event.type === 'die' && event.id === spec.id), 10_000);
    expect(die).toEqual({ type: 'die', id: spec.id, exitCode: 137, oomKilled: true });
  });
});

describe('pids limit', () => {
  it('holds a fork bomb while the host stays responsive', async () => {
    const { spec } = await startSandbox(harness, { cpus: 0.5, pidsLimit: 64 });
    let worstLagMs = 0;
    let last = Date.now();
    const ticker = setInterval(() => {
      const now = Date.now();
      worstLagMs = Math.max(worstLagMs, now - last - 100);
      last = now;
    }, 100);
    try {
      const bomb = harness.backend.exec(spec.id, { argv: ['bash', '-c', 'bomb() { bomb | bomb & }; bomb; sleep 30'] }, { timeoutMs: 4_000 });
      await new Promise((resolve) => setTimeout(resolve, 2_500));
      const stats = (await harness.backend.docker.getContainer(spec.id).stats({ stream: false, 'one-shot': true })) as {
        pids_stats?: { current?: number };
      };
      const pingStarted = Date.now();
      await harness.backend.docker.ping();
      const pingMs = Date.now() - pingStarted;
      const result = await bomb;

      expect(stats.pids_stats?.current).toBeGreaterThan(32);
      expect(stats.pids_stats?.current).toBeLessThanOrEqual(64);
      expect(result.timedOut).toBe(true);
      expect(pingMs).toBeLessThan(1_000);
      expect(worstLagMs).toBeLessThan(500);
      expect(result.durationMs).toBeLessThan(4_000 + 2_500);
    } finally {
      clearInterval(ticker);
    }
    await harness.backend.destroy(spec.id);
  });
});

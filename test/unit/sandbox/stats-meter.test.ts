import { describe, expect, it } from 'vitest';
import { ComputeMeter } from '../../../src/sandbox/meter.js';
import { sampleFromStats } from '../../../src/sandbox/stats.js';
import type { ResourceSample } from '../../../src/sandbox/types.js';

describe('sampleFromStats', () => {
  it('reads cgroup v1 stats (inactive file cache as total_inactive_file)', () => {
    expect(
      sampleFromStats(
        { read: '2026-11-26T23:48:16.2Z', cpu_stats: { cpu_usage: { total_usage: 40_608_233 } }, memory_stats: { usage: 2_080_768, stats: { total_inactive_file: 1_191_936, inactive_file: 1 } } },
        5,
      ),
    ).toEqual({ at: 5, running: true, cpuNanos: 40_608_233, memoryBytes: 888_832 });
  });

  it('reads cgroup v2 stats (inactive_file)', () => {
    expect(sampleFromStats({ read: '2026-11-26T23:48:16Z', cpu_stats: { cpu_usage: { total_usage: 7 } }, memory_stats: { usage: 1000, stats: { inactive_file: 400 } } }, 1)).toMatchObject({
      running: true,
      memoryBytes: 600,
    });
  });

  it('sees a stopped container in its zero read time', () => {
    expect(sampleFromStats({ read: '0001-01-01T00:00:00Z', cpu_stats: { cpu_usage: { total_usage: 0 } }, memory_stats: {} }, 9)).toEqual({
      at: 9,
      running: false,
      cpuNanos: 0,
      memoryBytes: 0,
    });
  });
});

/** A meter over a scripted container: a clock we move by hand and samples we dictate. */
function scripted(cpus = 2, memoryMiB = 2048) {
  let now = 1_000_000;
  let next: Omit<ResourceSample, 'at'> = { running: true, cpuNanos: 0, memoryBytes: 0 };
  const charges: number[] = [];
  const meter = new ComputeMeter({
    cpus,
    memoryMiB,
    now: () => now,
    sample: async () => ({ at: now, ...next }),
    onCharge: (delta, total) => {
      charges.push(delta);
      expect(total).toBe(charges.reduce((sum, value) => sum + value, 0));
    },
  });
  return {
    meter,
    charges,
    advance: (ms: number) => {
      now += ms;
    },
    set: (sample: Partial<Omit<ResourceSample, 'at'>>) => {
      next = { ...next, ...sample };
    },
  };
}

describe('ComputeMeter', () => {
  it('charges 37 µ$ per running second for 2 vCPU + 2 GiB, in deltas that add up', async () => {
    const { meter, charges, advance } = scripted();
    expect(meter.hourlyMicros).toBe(133_200);
    meter.start();
    for (let second = 0; second < 10; second += 1) {
      advance(1_000);
      await meter.tick();
    }
    expect(meter.reading).toMatchObject({ runningMs: 10_000, costMicros: 370, samples: 10 });
    expect(charges).toEqual(Array(10).fill(37));
    await meter.stop();
  });

  it('rounds the running total, so fractions never pile up', async () => {
    // 0.25 vCPU + 64 MiB: 12,600 + 1,012.5 → 13,613 µ$/h, 3.78 µ$/s.
    const { meter, charges, advance } = scripted(0.25, 64);
    meter.start();
    for (let tick = 0; tick < 1000; tick += 1) {
      advance(333);
      await meter.tick();
    }
    expect(meter.reading.runningMs).toBe(333_000);
    expect(meter.reading.costMicros).toBe(Math.floor((13_613 * 333_000) / 3_600_000));
    expect(charges.reduce((sum, delta) => sum + delta, 0)).toBe(meter.reading.costMicros);
  });

  it('stops charging once a sample sees the container stopped, counting up to that sample', async () => {
    const { meter, advance, set } = scripted();
    meter.start();
    advance(1_000);
    await meter.tick();
    set({ running: false });
    advance(1_000);
    await meter.tick();
    advance(5_000);
    await meter.tick();
    expect(meter.reading).toMatchObject({ runningMs: 2_000, costMicros: 74, running: false, memoryBytes: 0 });
    set({ running: true });
    advance(1_000);
    await meter.tick();
    advance(1_000);
    await meter.tick();
    expect(meter.reading.runningMs).toBe(3_000);
  });

  it('tracks CPU use and memory for idle detection', async () => {
    const { meter, advance, set } = scripted();
    meter.start();
    set({ cpuNanos: 1_000_000_000, memoryBytes: 5_000 });
    advance(1_000);
    await meter.tick();
    expect(meter.reading.cpuPercent).toBeUndefined();
    set({ cpuNanos: 2_500_000_000, memoryBytes: 7_000 });
    advance(1_000);
    await meter.tick();
    expect(meter.reading).toMatchObject({ cpuPercent: 150, memoryBytes: 7_000 });
    advance(2_000);
    await meter.tick();
    expect(meter.reading.cpuPercent).toBe(0);
  });

  it('rides over failed samples and charges nothing after stop', async () => {
    let fail = false;
    let now = 0;
    const errors: unknown[] = [];
    const meter = new ComputeMeter({
      cpus: 1,
      memoryMiB: 1024,
      now: () => now,
      sample: async () => {
        if (fail) throw new Error('engine busy');
        return { at: now, running: true, cpuNanos: 0, memoryBytes: 0 };
      },
      onCharge: () => {},
      onError: (error) => errors.push(error),
    });
    meter.start();
    fail = true;
    now += 1_000;
    await meter.tick();
    expect(errors).toHaveLength(1);
    fail = false;
    now += 1_000;
    const final = await meter.stop();
    expect(final.runningMs).toBe(2_000);
    now += 10_000;
    await meter.tick();
    expect(meter.reading.runningMs).toBe(2_000);
  });

  it('samples on its own at least once a second', async () => {
    let samples = 0;
    const meter = new ComputeMeter({
      cpus: 1,
      memoryMiB: 1024,
      intervalMs: 5_000,
      sample: async () => {
        samples += 1;
        return { at: Date.now(), running: true, cpuNanos: 0, memoryBytes: 0 };
      },
      onCharge: () => {},
    });
    meter.start();
    await new Promise((resolve) => setTimeout(resolve, 2_300));
    await meter.stop();
    expect(samples).toBeGreaterThanOrEqual(3);
  });
});

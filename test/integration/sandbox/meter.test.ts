import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, startSandbox, type Harness } from '../../support/sandbox-harness.js';
import { ComputeMeter } from '../../../src/sandbox/meter.js';
import { computeCost } from '../../../src/pricing/compute.js';

let harness: Harness;
beforeAll(async () => {
  harness = await createHarness();
});
afterAll(async () => {
  await harness?.cleanup();
});

/** Samples come about once a second, later when two shared cores are busy: wait for them, not for the clock. */
async function samplesReach(meter: ComputeMeter, count: number): Promise<void> {
  while (meter.reading.samples < count) await new Promise((resolve) => setTimeout(resolve, 50));
}

describe('compute metering', () => {
  it('charges running seconds × allocated vCPU and GiB rates (2 vCPU + 2 GiB = 37 µ$/s), within one sample', async () => {
    const { spec } = await startSandbox(harness, { cpus: 2, memoryMiB: 2048 });
    const charges: number[] = [];
    const sampledAt: number[] = [];
    const meter = new ComputeMeter({
      cpus: 2,
      memoryMiB: 2048,
      sample: async () => {
        const sample = await harness.backend.sample(spec.id);
        sampledAt.push(sample.at);
        return sample;
      },
      onCharge: (delta) => charges.push(delta),
    });
    expect(meter.hourlyMicros).toBe(37 * 3600);
    meter.start();

    // One CPU busy for a while, so the meter's CPU figure has something to show; then idle.
    const busy = harness.backend.exec(spec.id, { shell: 'timeout 4 sh -c "while :; do :; done"; true' });
    await samplesReach(meter, 3);
    const whileBusy = meter.reading;
    await busy;
    await samplesReach(meter, meter.reading.samples + 2);
    const whileIdle = meter.reading;
    await harness.backend.kill(spec.id);
    // Let a sample see the container stopped; later samples must add nothing.
    await samplesReach(meter, meter.reading.samples + 2);
    const reading = await meter.stop();

    const state = (await harness.backend.docker.getContainer(spec.id).inspect()).State;
    const ranMs = Date.parse(state.FinishedAt) - Date.parse(state.StartedAt);
    const longestIntervalMs = Math.max(...sampledAt.map((at, index) => (index === 0 ? 0 : at - sampledAt[index - 1]!)));
    console.log(
      `ran ${ranMs} ms; metered ${reading.runningMs} ms in ${reading.samples} samples (longest interval ${longestIntervalMs} ms); charged ${reading.costMicros} µ$`,
    );

    expect(reading.running).toBe(false);
    expect(charges.reduce((sum, delta) => sum + delta, 0)).toBe(reading.costMicros);
    expect(reading.costMicros).toBe(computeCost(37 * 3600, reading.runningMs));
    // Errs by at most one interval (the stop is charged up to the sample that notices it), never in the sandbox's favour
    // beyond the moment between the container's start and the meter's.
    expect(reading.runningMs).toBeGreaterThanOrEqual(ranMs - 100);
    expect(reading.runningMs).toBeLessThanOrEqual(ranMs + longestIntervalMs);
    expect(Math.abs(reading.costMicros - (37 * ranMs) / 1000)).toBeLessThanOrEqual((37 * longestIntervalMs) / 1000);
    // Two cores shared with other tests: a busy loop gets some of one, an idle sandbox next to none.
    expect(whileBusy.cpuPercent).toBeGreaterThan(10);
    expect(whileIdle.cpuPercent).toBeLessThan(5);
    expect(whileBusy.memoryBytes).toBeGreaterThan(0);
    expect(whileBusy.memoryBytes).toBeLessThan(2048 * 2 ** 20);
  });
});

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

describe('compute metering', () => {
  it('charges running seconds × allocated vCPU and GiB rates (2 vCPU + 2 GiB = 37 µ$/s), within one sample', async () => {
    const { spec } = await startSandbox(harness, { cpus: 2, memoryMiB: 2048 });
    const charges: number[] = [];
    const meter = new ComputeMeter({
      cpus: 2,
      memoryMiB: 2048,
      sample: () => harness.backend.sample(spec.id),
      onCharge: (delta) => charges.push(delta),
    });
    expect(meter.hourlyMicros).toBe(37 * 3600);
    meter.start();

    // One CPU busy for a while, so the meter's CPU figure has something to show.
    const busy = harness.backend.exec(spec.id, { shell: 'timeout 2.5 sh -c "while :; do :; done"; true' });
    await new Promise((resolve) => setTimeout(resolve, 2_200));
    const whileBusy = meter.reading;
    await busy;
    await new Promise((resolve) => setTimeout(resolve, 1_600));
    const whileIdle = meter.reading;
    await harness.backend.kill(spec.id);
    // Let a sample see the container stopped; later samples must add nothing.
    await new Promise((resolve) => setTimeout(resolve, 2_200));
    const reading = await meter.stop();

    const state = (await harness.backend.docker.getContainer(spec.id).inspect()).State;
    const ranMs = Date.parse(state.FinishedAt) - Date.parse(state.StartedAt);
    console.log(`ran ${ranMs} ms; metered ${reading.runningMs} ms in ${reading.samples} samples; charged ${reading.costMicros} µ$`);

    expect(reading.running).toBe(false);
    expect(charges.reduce((sum, delta) => sum + delta, 0)).toBe(reading.costMicros);
    expect(reading.costMicros).toBe(computeCost(37 * 3600, reading.runningMs));
    // Errs by at most one interval (the stop is charged up to the sample that notices it), never in the sandbox's favour.
    expect(reading.runningMs).toBeGreaterThanOrEqual(ranMs - 100);
    expect(reading.runningMs).toBeLessThanOrEqual(ranMs + 1_000);
    expect(Math.abs(reading.costMicros - (37 * ranMs) / 1000)).toBeLessThanOrEqual(37);
    expect(reading.samples).toBeGreaterThanOrEqual(Math.floor(ranMs / 1000));
    // Two cores shared with other tests: a busy loop gets some of one, an idle sandbox next to none.
    expect(whileBusy.cpuPercent).toBeGreaterThan(10);
    expect(whileIdle.cpuPercent).toBeLessThan(5);
    expect(whileBusy.memoryBytes).toBeGreaterThan(0);
    expect(whileBusy.memoryBytes).toBeLessThan(2048 * 2 ** 20);
  });
});

import { describe, expect, it } from 'vitest';
import { ComputeMeter } from '../../../src/engine/compute-meter.js';
import { checkTimeLimits, cpuWasActive, diskLimitReason } from '../../../src/engine/limits.js';
import { splitProviderKeys } from '../../../src/engine/provider-keys.js';
import { DEFAULT_COMPUTE_RATES, hourlyMicros } from '../../../src/pricing/compute.js';

describe('provider keys', () => {
  it('takes provider keys out of the sandbox environment', () => {
    const split = splitProviderKeys(
      { ANTHROPIC_API_KEY: 'sk-ant-secret', GITHUB_TOKEN: 'ghp_x' },
      { OPENAI_API_KEY: 'sk-openai', FORCE_COLOR: '0', CLAUDE_CODE_OAUTH_TOKEN: 'oauth' },
    );
    expect(split.keys).toEqual({ anthropicApiKey: 'sk-ant-secret', openaiApiKey: 'sk-openai', anthropicAuthToken: 'oauth' });
    expect(split.env).toEqual({ GITHUB_TOKEN: 'ghp_x', FORCE_COLOR: '0' });
  });
});

describe('limits', () => {
  const base = { startedAt: 0, lastActivityAt: 0, idleTimeoutMs: 900_000, maxDurationMs: 3_600_000 };
  it('times out when idle for the idle timeout', () => {
    expect(checkTimeLimits(base, 899_999)).toBeUndefined();
    expect(checkTimeLimits(base, 900_000)).toEqual({ status: 'timed_out', reason: 'idle timeout (900 s without output, LLM requests or CPU use)' });
  });
  it('times out at max_duration even while active', () => {
    expect(checkTimeLimits({ ...base, lastActivityAt: 3_600_000 }, 3_600_000)).toEqual({ status: 'timed_out', reason: 'max_duration reached (3600 s)' });
  });
  it('counts CPU use of 5 % of the allocation as activity', () => {
    const at = (ms: number, cpuNanos: number) => ({ at: ms, running: true, cpuNanos, memoryBytes: 0 });
    expect(cpuWasActive(at(0, 0), at(1000, 0.1e9), 2)).toBe(true);
    expect(cpuWasActive(at(0, 0), at(1000, 0.09e9), 2)).toBe(false);
  });
  it('names the disk limit', () => {
    expect(diskLimitReason(5 * 1024 ** 3, 5)).toBeUndefined();
    expect(diskLimitReason(6 * 1024 ** 3, 5)).toBe('disk_limit: workspace uses 6.00 GiB of 5 GiB');
  });
});

describe('compute meter', () => {
  it('charges 37 µ$ per second for 2 vCPU + 2 GiB, exactly, in whole-micro-dollar deltas', () => {
    const charges: number[] = [];
    const meter = new ComputeMeter(hourlyMicros(DEFAULT_COMPUTE_RATES, 2, 2048), (amount) => charges.push(amount));
    meter.start(0);
    for (let t = 100; t <= 10_000; t += 100) meter.advance(t);
    meter.stop(10_000);
    expect(charges.every((amount) => Number.isInteger(amount) && amount > 0)).toBe(true);
    expect(charges.reduce((a, b) => a + b, 0)).toBe(370);
    expect(meter.runningMs).toBe(10_000);
  });
});

import { describe, expect, it } from 'vitest';
import { checkTimeLimits, cpuIsActive, diskLimitReason } from '../../../src/engine/limits.js';
import { splitProviderKeys } from '../../../src/engine/provider-keys.js';

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
    expect(cpuIsActive(10, 2)).toBe(true);
    expect(cpuIsActive(9.9, 2)).toBe(false);
    expect(cpuIsActive(undefined, 2)).toBe(false);
  });
  it('names the disk limit', () => {
    expect(diskLimitReason(5 * 1024 ** 3, 5)).toBeUndefined();
    expect(diskLimitReason(6 * 1024 ** 3, 5)).toBe('disk_limit: workspace uses 6.00 GiB of 5 GiB');
  });
});

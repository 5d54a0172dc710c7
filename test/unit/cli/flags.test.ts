import { describe, expect, it } from 'vitest';
import { parseEnvFlags, settingsFromFlags } from '../../../src/cli/flags.js';

describe('CLI flags', () => {
  it('turns setting flags into a validated config layer', () => {
    expect(settingsFromFlags({ cpus: '2', memory: '1024', budget: '5', template: 'python-312' })).toEqual({
      resources: { cpu: 2, memory: 1024 },
      budget: 5_000_000,
      template: 'python-312',
    });
  });

  it('names the flag in errors', () => {
    expect(() => settingsFromFlags({ memory: '2GB' })).toThrow('--memory: memory is a whole number of MiB, e.g. 2048 (not "2GB")');
    expect(() => settingsFromFlags({ budget: '-3' })).toThrow('--budget: amount must not be negative');
    expect(() => settingsFromFlags({ network: 'host' })).toThrow('--network: network_mode must be one of');
  });

  it('reads --env K=V and takes a bare --env K from the environment', () => {
    expect(parseEnvFlags(['A=1=2', 'B'], { B: 'from-env' })).toEqual({ A: '1=2', B: 'from-env' });
    expect(() => parseEnvFlags(['MISSING'], {})).toThrow('--env: MISSING has no value and is not set in this environment');
    expect(() => parseEnvFlags(['1X=y'], {})).toThrow('--env: "1X" is not an environment variable name');
  });
});

import type { ResourceSample } from '../sandbox/types.js';

/** CPU use at or above this share of the allocation counts as activity for the idle timeout. */
export const ACTIVE_CPU_SHARE = 0.05;

export interface LimitState {
  startedAt: number;
  lastActivityAt: number;
  idleTimeoutMs: number;
  maxDurationMs: number;
}

export type LimitVerdict = { status: 'timed_out'; reason: string } | undefined;

/** Wall clock first: a sandbox that is both idle and over time reports the harder limit. */
export function checkTimeLimits(state: LimitState, now: number): LimitVerdict {
  if (now - state.startedAt >= state.maxDurationMs) {
    return { status: 'timed_out', reason: `max_duration reached (${Math.round(state.maxDurationMs / 1000)} s)` };
  }
  if (now - state.lastActivityAt >= state.idleTimeoutMs) {
    return {
      status: 'timed_out',
      reason: `idle timeout (${Math.round(state.idleTimeoutMs / 1000)} s without output, LLM requests or CPU use)`,
    };
  }
  return undefined;
}

/** Did the sandbox use at least ACTIVE_CPU_SHARE of its allocated vCPUs between two samples? */
export function cpuWasActive(previous: ResourceSample, next: ResourceSample, cpus: number): boolean {
  const elapsedNs = (next.at - previous.at) * 1e6;
  if (elapsedNs <= 0) return false;
  const used = next.cpuNanos - previous.cpuNanos;
  return used / (elapsedNs * cpus) >= ACTIVE_CPU_SHARE;
}

export function diskLimitReason(usedBytes: number, limitGiB: number): string | undefined {
  const limit = limitGiB * 1024 ** 3;
  if (usedBytes <= limit) return undefined;
  return `disk_limit: workspace uses ${(usedBytes / 1024 ** 3).toFixed(2)} GiB of ${limitGiB} GiB`;
}

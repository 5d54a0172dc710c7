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

/** Is CPU use (percent of one CPU, as the compute meter reads it) at least ACTIVE_CPU_SHARE of the allocation? */
export function cpuIsActive(cpuPercent: number | undefined, cpus: number): boolean {
  return cpuPercent !== undefined && cpuPercent >= ACTIVE_CPU_SHARE * 100 * cpus;
}

export function diskLimitReason(usedBytes: number, limitGiB: number): string | undefined {
  const limit = limitGiB * 1024 ** 3;
  if (usedBytes <= limit) return undefined;
  return `disk_limit: workspace uses ${(usedBytes / 1024 ** 3).toFixed(2)} GiB of ${limitGiB} GiB`;
}

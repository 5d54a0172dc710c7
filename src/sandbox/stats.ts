import type { ResourceSample } from './types.js';

/** The parts of Docker's stats answer we read; cgroup v1 and v2 name the memory counters differently. */
export interface DockerStats {
  read?: string;
  cpu_stats?: { cpu_usage?: { total_usage?: number } };
  memory_stats?: { usage?: number; stats?: Record<string, number | undefined> };
}

/**
 * A one-shot stats answer as a sample. A stopped container answers with a zero `read` time.
 * Memory is what `docker stats` shows: usage minus the reclaimable inactive file cache.
 */
export function sampleFromStats(stats: DockerStats, at: number): ResourceSample {
  const running = typeof stats.read === 'string' && !stats.read.startsWith('0001-');
  const usage = stats.memory_stats?.usage ?? 0;
  const counters = stats.memory_stats?.stats ?? {};
  const inactiveFile = counters.total_inactive_file ?? counters.inactive_file ?? 0;
  return {
    at,
    running,
    cpuNanos: stats.cpu_stats?.cpu_usage?.total_usage ?? 0,
    memoryBytes: Math.max(0, usage - inactiveFile),
  };
}

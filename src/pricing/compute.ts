import type { Micros } from '../money.js';

/** Allocated-resource rates in integer micro-dollars per hour, so sub-micro-dollar per-second rates stay exact. */
export interface ComputeRates {
  vcpuHourMicros: number;
  gibHourMicros: number;
}

/** E2B/Daytona list prices: $0.000014 per vCPU-second, $0.0000045 per GiB-second. */
export const DEFAULT_COMPUTE_RATES: ComputeRates = { vcpuHourMicros: 50_400, gibHourMicros: 16_200 };

const MS_PER_HOUR = 3_600_000;

export function computeRatesFrom(overrides?: { vcpu_second?: number; gib_second?: number }): ComputeRates {
  return {
    vcpuHourMicros: overrides?.vcpu_second === undefined ? DEFAULT_COMPUTE_RATES.vcpuHourMicros : Math.round(overrides.vcpu_second * 1e6 * 3600),
    gibHourMicros: overrides?.gib_second === undefined ? DEFAULT_COMPUTE_RATES.gibHourMicros : Math.round(overrides.gib_second * 1e6 * 3600),
  };
}

/** Micro-dollars per hour for an allocation of `cpus` vCPUs and `memoryMiB` MiB. */
export function hourlyMicros(rates: ComputeRates, cpus: number, memoryMiB: number): number {
  return Math.round(cpus * rates.vcpuHourMicros + (memoryMiB / 1024) * rates.gibHourMicros);
}

/**
 * Compute cost of `runningMs` milliseconds at an hourly rate, rounded down; callers charge the
 * difference between successive totals, so rounding never accumulates.
 */
export function computeCost(hourly: number, runningMs: number): Micros {
  return Math.floor((hourly * runningMs) / MS_PER_HOUR);
}

/**
 * What a sandbox's allocation costs for `runningMs` at its configured rates: the charge for time
 * its container ran while no controller metered it (a controller crash).
 */
export function unmeteredComputeCost(
  config: { resources: { cpu: number; memory: number }; pricing?: { compute?: { vcpu_second?: number; gib_second?: number } } },
  runningMs: number,
): Micros {
  return computeCost(hourlyMicros(computeRatesFrom(config.pricing?.compute), config.resources.cpu, config.resources.memory), Math.max(0, runningMs));
}

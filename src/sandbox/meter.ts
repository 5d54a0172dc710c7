import type { Micros } from '../money.js';
import { computeCost, DEFAULT_COMPUTE_RATES, hourlyMicros, type ComputeRates } from '../pricing/compute.js';
import type { ResourceSample } from './types.js';

export interface ComputeMeterOptions {
  cpus: number;
  memoryMiB: number;
  rates?: ComputeRates;
  sample: () => Promise<ResourceSample>;
  /** Called with each new charge; `total` is everything charged so far. */
  onCharge: (delta: Micros, total: Micros) => void;
  /** At most 1000 (the issue asks for a sample at least once a second). */
  intervalMs?: number;
  onError?: (error: unknown) => void;
  now?: () => number;
}

export interface MeterReading {
  runningMs: number;
  costMicros: Micros;
  /** CPU use between the last two samples, in percent of one CPU (2 busy CPUs = 200). */
  cpuPercent: number | undefined;
  memoryBytes: number | undefined;
  running: boolean;
  lastSampleAt: number | undefined;
  samples: number;
}

/**
 * Charges a sandbox for its allocated vCPUs and memory while its container runs.
 *
 * Time between two samples counts as running when the earlier sample saw the container
 * running, so a stop is charged up to the sample that notices it: the meter errs by at most
 * one interval, and never in the sandbox's favour. Costs come from the running total
 * (rounded down), and each charge is the difference to what was charged before, so
 * rounding never accumulates.
 */
export class ComputeMeter {
  private readonly hourly: number;
  private readonly intervalMs: number;
  private readonly now: () => number;
  private runningMs = 0;
  private charged: Micros = 0;
  private lastAt: number | undefined;
  private lastRunning = false;
  private lastCpuNanos: number | undefined;
  private cpuPercent: number | undefined;
  private memoryBytes: number | undefined;
  private lastSampleAt: number | undefined;
  private samples = 0;
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  private stopping = false;
  private stopped = false;

  constructor(private readonly options: ComputeMeterOptions) {
    this.hourly = hourlyMicros(options.rates ?? DEFAULT_COMPUTE_RATES, options.cpus, options.memoryMiB);
    this.intervalMs = Math.min(1000, Math.max(10, options.intervalMs ?? 1000));
    this.now = options.now ?? Date.now;
  }

  /** Micro-dollars per hour for this allocation. */
  get hourlyMicros(): number {
    return this.hourly;
  }

  /** Starts metering; the container is taken to be running from now (call it right after start). */
  start(): void {
    if (this.lastAt !== undefined) return;
    this.lastAt = this.now();
    this.lastRunning = true;
    this.schedule(this.intervalMs);
  }

  /** Takes one sample now (the timer calls this too); concurrent calls share one sample. */
  tick(): Promise<void> {
    this.inFlight ??= this.takeSample().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  /** A last sample, then no more; returns the final reading. */
  async stop(): Promise<MeterReading> {
    if (!this.stopping) {
      this.stopping = true;
      if (this.timer) clearTimeout(this.timer);
      // A sample already under way may predate the stop: take a fresh one after it.
      await this.inFlight;
      await this.tick();
      this.stopped = true;
    }
    return this.reading;
  }

  get reading(): MeterReading {
    return {
      runningMs: this.runningMs,
      costMicros: this.charged,
      cpuPercent: this.cpuPercent,
      memoryBytes: this.memoryBytes,
      running: this.lastRunning,
      lastSampleAt: this.lastSampleAt,
      samples: this.samples,
    };
  }

  private schedule(delay: number): void {
    if (this.stopping) return;
    this.timer = setTimeout(() => {
      const began = this.now();
      void this.tick().then(() => this.schedule(Math.max(0, this.intervalMs - (this.now() - began))));
    }, delay);
    this.timer.unref();
  }

  private async takeSample(): Promise<void> {
    if (this.stopped || this.lastAt === undefined) return;
    let sample: ResourceSample;
    try {
      sample = await this.options.sample();
    } catch (error) {
      // The next good sample covers the gap.
      this.options.onError?.(error);
      return;
    }
    if (this.stopped) return;
    const elapsed = Math.max(0, sample.at - this.lastAt);
    if (this.lastRunning) this.runningMs += elapsed;
    if (sample.running && this.lastCpuNanos !== undefined && elapsed > 0 && sample.cpuNanos >= this.lastCpuNanos) {
      this.cpuPercent = ((sample.cpuNanos - this.lastCpuNanos) / (elapsed * 1e6)) * 100;
    }
    this.lastCpuNanos = sample.running ? sample.cpuNanos : undefined;
    this.memoryBytes = sample.running ? sample.memoryBytes : 0;
    this.lastAt = sample.at;
    this.lastRunning = sample.running;
    this.lastSampleAt = sample.at;
    this.samples += 1;
    const total = computeCost(this.hourly, this.runningMs);
    if (total > this.charged) {
      const delta = total - this.charged;
      this.charged = total;
      this.options.onCharge(delta, total);
    }
  }
}

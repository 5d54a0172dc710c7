import type { Micros } from '../money.js';
import { computeCost } from '../pricing/compute.js';

/**
 * Turns running time into compute charges at an allocated-resources rate. Charges are the
 * difference between successive whole totals, so rounding never accumulates.
 */
export class ComputeMeter {
  #runningMs = 0;
  #since: number | undefined;
  #charged: Micros = 0;

  constructor(
    private readonly hourlyMicros: number,
    private readonly charge: (amount: Micros) => void,
  ) {}

  get runningMs(): number {
    return this.#runningMs;
  }

  get charged(): Micros {
    return this.#charged;
  }

  start(at: number): void {
    this.#since ??= at;
  }

  advance(now: number): void {
    if (this.#since === undefined || now <= this.#since) return;
    this.#runningMs += now - this.#since;
    this.#since = now;
    const total = computeCost(this.hourlyMicros, this.#runningMs);
    const delta = total - this.#charged;
    if (delta > 0) {
      this.#charged = total;
      this.charge(delta);
    }
  }

  stop(now: number): void {
    this.advance(now);
    this.#since = undefined;
  }
}

import { EventEmitter } from 'node:events';
import type { Micros } from '../money.js';

export type ChargeKind = 'llm' | 'compute';

export interface Reservation {
  readonly key: number;
  readonly sandboxId: string;
  readonly amount: Micros;
}

export interface SpendSnapshot {
  budget: Micros;
  llm: Micros;
  compute: Micros;
  /** llm + compute: what has really been spent. */
  committed: Micros;
  /** Held for requests in flight. */
  reserved: Micros;
  /** budget - committed - reserved, never below 0. */
  available: Micros;
  exceeded: boolean;
}

export interface ChargeEvent {
  sandboxId: string;
  kind: ChargeKind;
  amount: Micros;
  /** Committed spend after this charge. */
  committed: Micros;
  detail?: Record<string, unknown>;
}

export interface ExceededEvent {
  sandboxId: string;
  snapshot: SpendSnapshot;
  reason: string;
}

interface Account {
  budget: Micros;
  llm: Micros;
  compute: Micros;
  reservations: Map<number, Micros>;
  reserved: Micros;
  exceeded: boolean;
}

export class UnknownSandboxError extends Error {}

/**
 * Per-sandbox spend in integer micro-dollars. Every method is synchronous, so a
 * check-and-reserve can never interleave with another request's (the race that lets
 * concurrent calls overshoot in check-then-forward gateways).
 */
export class Ledger extends EventEmitter<{ charge: [ChargeEvent]; exceeded: [ExceededEvent] }> {
  readonly #accounts = new Map<string, Account>();
  #nextKey = 1;

  open(sandboxId: string, budget: Micros, prior: { llm?: Micros; compute?: Micros } = {}): void {
    assertMicros(budget, 'budget');
    const account: Account = {
      budget,
      llm: prior.llm ?? 0,
      compute: prior.compute ?? 0,
      reservations: new Map(),
      reserved: 0,
      exceeded: false,
    };
    this.#accounts.set(sandboxId, account);
    if (account.llm + account.compute >= budget) this.#markExceeded(sandboxId, account, 'budget already spent');
  }

  has(sandboxId: string): boolean {
    return this.#accounts.has(sandboxId);
  }

  close(sandboxId: string): void {
    this.#accounts.delete(sandboxId);
  }

  snapshot(sandboxId: string): SpendSnapshot {
    return snapshotOf(this.#account(sandboxId));
  }

  available(sandboxId: string): Micros {
    return snapshotOf(this.#account(sandboxId)).available;
  }

  /** Holds `amount` if it fits in what is left, else returns undefined and holds nothing. */
  reserve(sandboxId: string, amount: Micros): Reservation | undefined {
    assertMicros(amount, 'reservation');
    const account = this.#account(sandboxId);
    if (account.exceeded || amount > snapshotOf(account).available) return undefined;
    const key = this.#nextKey++;
    account.reservations.set(key, amount);
    account.reserved += amount;
    return { key, sandboxId, amount };
  }

  /**
   * Changes a hold to `amount`: shrinking always succeeds, growing only if the extra fits in what
   * is left, plus `overdraft` past the budget (for a call already in flight, whose tokens are being
   * paid for anyway). Returns the updated reservation, or undefined (the hold unchanged) when it cannot grow.
   */
  resize(reservation: Reservation, amount: Micros, overdraft: Micros = 0): Reservation | undefined {
    assertMicros(amount, 'reservation');
    assertMicros(overdraft, 'overdraft');
    const account = this.#accounts.get(reservation.sandboxId);
    const held = account?.reservations.get(reservation.key);
    if (!account || held === undefined) return undefined;
    const room = account.budget + overdraft - account.llm - account.compute - account.reserved;
    if (amount > held && (account.exceeded || amount - held > room)) return undefined;
    account.reservations.set(reservation.key, amount);
    account.reserved += amount - held;
    return { key: reservation.key, sandboxId: reservation.sandboxId, amount };
  }

  /** Releases the hold and charges what the request really cost (which may exceed the hold). */
  commit(reservation: Reservation, actual: Micros, detail?: Record<string, unknown>): void {
    this.release(reservation);
    this.charge(reservation.sandboxId, 'llm', actual, detail);
  }

  release(reservation: Reservation): void {
    const account = this.#accounts.get(reservation.sandboxId);
    const held = account?.reservations.get(reservation.key);
    if (!account || held === undefined) return;
    account.reservations.delete(reservation.key);
    account.reserved -= held;
  }

  charge(sandboxId: string, kind: ChargeKind, amount: Micros, detail?: Record<string, unknown>): void {
    assertMicros(amount, 'charge');
    const account = this.#accounts.get(sandboxId);
    if (!account) throw new UnknownSandboxError(`no ledger account for ${sandboxId}`);
    if (amount === 0) return;
    account[kind] += amount;
    const committed = account.llm + account.compute;
    this.emit('charge', { sandboxId, kind, amount, committed, detail });
    if (committed >= account.budget) this.#markExceeded(sandboxId, account, 'budget limit reached');
  }

  /** The gateway declares the budget spent when not even a minimal request fits any more. */
  markExceeded(sandboxId: string, reason: string): void {
    const account = this.#accounts.get(sandboxId);
    if (account) this.#markExceeded(sandboxId, account, reason);
  }

  #markExceeded(sandboxId: string, account: Account, reason: string): void {
    if (account.exceeded) return;
    account.exceeded = true;
    this.emit('exceeded', { sandboxId, snapshot: snapshotOf(account), reason });
  }

  #account(sandboxId: string): Account {
    const account = this.#accounts.get(sandboxId);
    if (!account) throw new UnknownSandboxError(`no ledger account for ${sandboxId}`);
    return account;
  }
}

function snapshotOf(account: Account): SpendSnapshot {
  const committed = account.llm + account.compute;
  return {
    budget: account.budget,
    llm: account.llm,
    compute: account.compute,
    committed,
    reserved: account.reserved,
    available: Math.max(0, account.budget - committed - account.reserved),
    exceeded: account.exceeded,
  };
}

function assertMicros(value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${what} must be a non-negative integer of micro-dollars, got ${value}`);
}

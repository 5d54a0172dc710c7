/**
 * Money inside caged is an integer count of micro-dollars (1 USD = 1,000,000 µ$).
 * Floats appear only at the edges: parsing user input and rendering JSON/text.
 */
export type Micros = number;

export const MICROS_PER_USD = 1_000_000;

const USD_PATTERN = /^\$?\s*(\d+)(?:\.(\d{0,6})\d*)?$/;

export class MoneyError extends Error {}

/**
 * Parses "5", "5.00", "$5", "$0.25" or a JSON number into micro-dollars.
 * Digits beyond the sixth decimal are truncated (a budget never rounds up).
 */
export function parseUsd(input: string | number): Micros {
  if (typeof input === 'number') {
    if (!Number.isFinite(input)) throw new MoneyError(`not a finite amount: ${input}`);
    if (input < 0) throw new MoneyError(`amount must not be negative: ${input}`);
    return parseUsd(numberToPlainString(input));
  }
  const text = input.trim();
  if (text.startsWith('-') || text.startsWith('$-')) {
    throw new MoneyError(`amount must not be negative: "${input}"`);
  }
  const match = USD_PATTERN.exec(text);
  if (!match) {
    throw new MoneyError(`not a US-dollar amount: "${input}" (write it like 5, 5.00 or "$5")`);
  }
  const whole = Number(match[1]);
  const fraction = Number((match[2] ?? '').padEnd(6, '0'));
  const micros = whole * MICROS_PER_USD + fraction;
  if (!Number.isSafeInteger(micros)) throw new MoneyError(`amount too large: "${input}"`);
  return micros;
}

function numberToPlainString(value: number): string {
  // toFixed avoids exponent notation ("1e-7") and float tails ("0.30000000000000004").
  return value.toFixed(7).replace(/0+$/, '').replace(/\.$/, '');
}

/**
 * "$1.23" for cent amounts and above; sub-cent amounts keep their significant digits
 * ("$0.0042") so that small spends never read as "$0.00".
 */
export function formatUsd(micros: Micros): string {
  const sign = micros < 0 ? '-' : '';
  const abs = Math.abs(micros);
  const whole = Math.floor(abs / MICROS_PER_USD);
  const fraction = String(abs % MICROS_PER_USD).padStart(6, '0');
  if (abs === 0 || abs >= 10_000) {
    const cents = Math.round(abs / 10_000);
    return `${sign}$${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`;
  }
  const trimmed = fraction.replace(/0+$/, '');
  return `${sign}$${whole}.${trimmed.length < 2 ? trimmed.padEnd(2, '0') : trimmed}`;
}

/** The JSON/edge representation: a float with at most six decimals. */
export function toUsd(micros: Micros): number {
  return Math.round(micros) / MICROS_PER_USD;
}

export function sumMicros(values: Iterable<Micros>): Micros {
  let total = 0;
  for (const value of values) total += value;
  return total;
}

/** Integer division rounding up, for charges: a fraction of a micro-dollar is charged whole. */
export function ceilDiv(numerator: number, denominator: number): number {
  // Float division can land a hair above an exact quotient (3.0000000000000004 → 4):
  // correct the estimate with exact integer products instead of trusting Math.ceil.
  let quotient = Math.floor(numerator / denominator);
  while (quotient * denominator < numerator) quotient += 1;
  while (quotient > 0 && (quotient - 1) * denominator >= numerator) quotient -= 1;
  return quotient;
}

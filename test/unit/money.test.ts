import { describe, expect, it } from 'vitest';
import { ceilDiv, formatUsd, parseUsd, toUsd } from '../../src/money.js';

describe('money', () => {
  it.each([
    [5, 5_000_000],
    ['5', 5_000_000],
    ['5.00', 5_000_000],
    ['$5', 5_000_000],
    ['$0.25', 250_000],
    [0.1, 100_000],
    [0.3, 300_000],
    ['1.2345678', 1_234_567],
    [1e-7, 0],
  ])('parses %j as integer micro-dollars', (input, micros) => {
    expect(parseUsd(input)).toBe(micros);
  });

  it.each(['-1', '$-1', 'five', '5 USD', '', '1e3', '$'])('rejects %j', (input) => {
    expect(() => parseUsd(input)).toThrow();
  });

  it.each([
    [0, '$0.00'],
    [5_000_000, '$5.00'],
    [1_230_000, '$1.23'],
    [4_200, '$0.0042'],
    [37, '$0.000037'],
    [100_000, '$0.10'],
    [9_999, '$0.009999'],
    [10_000, '$0.01'],
    [4_995_000, '$5.00'],
  ])('formats %d µ$ as %s', (micros, text) => {
    expect(formatUsd(micros)).toBe(text);
  });

  it('sums ten cents thirty times to exactly three dollars (no float drift)', () => {
    let total = 0;
    for (let i = 0; i < 30; i += 1) total += parseUsd(0.1);
    expect(total).toBe(3_000_000);
    expect(toUsd(total)).toBe(3);
  });

  it('rounds charges up exactly', () => {
    expect(ceilDiv(3_000_000, 1_000_000)).toBe(3);
    expect(ceilDiv(3_000_001, 1_000_000)).toBe(4);
    expect(ceilDiv(0, 7)).toBe(0);
    expect(ceilDiv(300_000 * 7, 1_000_000)).toBe(3);
  });
});

import { describe, expect, it } from 'vitest';
import { DEFAULT_OUTPUT_CAP, estimatedUsage, MIN_OUTPUT_TOKENS, overdraftFor, planReservation, reserveWithKnownInput, runningCost, toleranceFor } from '../../../src/gateway/estimate.js';
import { createPriceBook } from '../../../src/pricing/price.js';

const book = createPriceBook();
const opus = book.lookup('claude-opus-4-6')!;
const sonnet = book.lookup('claude-sonnet-4-5')!;
const gpt5 = book.lookup('gpt-5')!;

describe('planReservation', () => {
  it('estimates input at bytes / 3 tokens priced at the dearest input bucket (1h cache writes)', () => {
    const result = planReservation(opus, 30_000, 1000, 5_000_000);
    expect(result.ok && result.plan).toEqual({ inputTokens: 10_000, inputCost: 100_000, outputTokens: 1000, clamped: false, reserve: 125_000 });
  });

  it('keeps the asked-for max_tokens when the budget can pay it', () => {
    // Claude Code asks 128000 every turn: $3.20 of Opus output fits a $5 budget
    const result = planReservation(opus, 60_000, 128_000, 5_000_000);
    expect(result.ok && result.plan).toMatchObject({ outputTokens: 128_000, clamped: false, reserve: 200_000 + 3_200_000 });
  });

  it('clamps max_tokens to what the rest of the budget pays for, instead of refusing or reserving the worst case', () => {
    // $1 left: $0.20 input estimate, $0.80 at $25/Mtok = 32000 tokens
    const result = planReservation(opus, 60_000, 128_000, 1_000_000);
    expect(result.ok && result.plan).toEqual({ inputTokens: 20_000, inputCost: 200_000, outputTokens: 32_000, clamped: true, reserve: 1_000_000 });
  });

  it('never reserves more than is available', () => {
    for (const available of [30_000, 123_457, 999_999, 4_321_987]) {
      const result = planReservation(sonnet, 12_345, 64_000, available);
      if (result.ok) expect(result.plan.reserve).toBeLessThanOrEqual(available);
    }
  });

  it(`refuses below ${MIN_OUTPUT_TOKENS} affordable output tokens, naming what a minimal request needs`, () => {
    // input 10000 tokens × $10 = $0.10, 1024 × $25 = $0.0256
    expect(planReservation(opus, 30_000, 128_000, 125_599)).toEqual({ ok: false, needed: 125_600, inputCost: 100_000, minOutput: MIN_OUTPUT_TOKENS });
    expect(planReservation(opus, 30_000, 128_000, 125_600).ok).toBe(true);
    expect(planReservation(opus, 30_000, 128_000, 0).ok).toBe(false);
  });

  it('lets a request that asks for fewer tokens than the minimum through with just that', () => {
    const result = planReservation(opus, 300, 1, 1025);
    expect(result.ok && result.plan).toMatchObject({ outputTokens: 1, clamped: false, reserve: 1000 + 25 });
  });

  it('raises the floor for a request that needs more room (extended thinking)', () => {
    expect(planReservation(opus, 300, 32_000, 1000 + 25 * 2047, 2048).ok).toBe(false);
    expect(planReservation(opus, 300, 32_000, 1000 + 25 * 2048, 2048).ok).toBe(true);
  });

  it(`reserves ${DEFAULT_OUTPUT_CAP} output tokens when the request names no limit, clamped the same way`, () => {
    const full = planReservation(gpt5, 3000, undefined, 10_000_000);
    expect(full.ok && full.plan).toMatchObject({ outputTokens: DEFAULT_OUTPUT_CAP, clamped: false });
    const clamped = planReservation(gpt5, 3000, undefined, 500_000);
    expect(clamped.ok && clamped.plan).toMatchObject({ outputTokens: 49_875, clamped: true });
  });

  it('uses the long-context tier when the estimate passes its threshold', () => {
    const result = planReservation(sonnet, 3 * 200_001, 1000, 10_000_000);
    expect(result.ok && result.plan.inputCost).toBe(200_001 * 12);
  });
});

describe('running cost of a call in flight', () => {
  const plan = { inputTokens: 10_000, inputCost: 100_000, outputTokens: 4000, clamped: false, reserve: 200_000 };

  it('uses the estimate until the provider reports input, then the report', () => {
    expect(runningCost(opus, plan, undefined, 400)).toBe(100_000 + 10_000);
    const reported = { input: 10, output: 1, cacheWrite5m: 0, cacheWrite1h: 0, cacheRead: 8000 };
    expect(runningCost(opus, plan, reported, 400)).toBe(50 + 4000 + 10_000);
    expect(reserveWithKnownInput(opus, plan, reported)).toBe(50 + 4000 + 100_000);
  });

  it('records an estimate with the larger of reported and counted output', () => {
    expect(estimatedUsage(plan, undefined, 77)).toEqual({ input: 10_000, output: 77, cacheWrite5m: 0, cacheWrite1h: 0, cacheRead: 0 });
    expect(estimatedUsage(plan, { input: 1, output: 90, cacheWrite5m: 2, cacheWrite1h: 3, cacheRead: 4 }, 77)).toEqual({ input: 1, output: 90, cacheWrite5m: 2, cacheWrite1h: 3, cacheRead: 4 });
  });
});

describe('tolerance', () => {
  it('is max($0.01, 1 % of the budget); calls in flight may use half of it', () => {
    expect(toleranceFor(200_000)).toBe(10_000);
    expect(toleranceFor(5_000_000)).toBe(50_000);
    expect(toleranceFor(1_000_001)).toBe(10_001);
    expect(overdraftFor(5_000_000)).toBe(25_000);
    expect(overdraftFor(0)).toBe(5_000);
  });
});

import { describe, expect, it } from 'vitest';
import table from '../../../src/pricing/prices.json' with { type: 'json' };
import { costOf, createPriceBook } from '../../../src/pricing/price.js';
import { ZERO_USAGE } from '../../../src/pricing/types.js';

const book = createPriceBook();

describe('price table', () => {
  it('has every entry dated and sourced, with the families the agents use', () => {
    for (const [model, entry] of Object.entries(table.models)) {
      expect(entry.effective_date, model).toMatch(/^\d{4}-\d{2}-\d{2}$/);
      expect(entry.source, model).not.toBe('');
    }
    for (const model of ['claude-opus-4-5', 'claude-opus-4-6', 'claude-opus-4-7', 'claude-opus-4-8', 'claude-sonnet-4', 'claude-sonnet-4-5', 'claude-haiku-4-5', 'claude-opus-5-5', 'gpt-5', 'gpt-5.1', 'gpt-5.2', 'gpt-5-mini', 'gpt-5-nano']) {
      expect(book.lookup(model), model).toBeDefined();
    }
  });

  it('stores prices as integer micro-dollars per million tokens', () => {
    expect(book.lookup('claude-opus-4-5')).toMatchObject({ input: 5_000_000, output: 25_000_000, cacheWrite5m: 6_250_000, cacheWrite1h: 10_000_000, cacheRead: 500_000, webSearch: 10_000 });
    expect(book.lookup('claude-sonnet-4-5')).toMatchObject({ input: 3_000_000, output: 15_000_000, cacheWrite5m: 3_750_000, cacheWrite1h: 6_000_000, cacheRead: 300_000 });
    expect(book.lookup('claude-haiku-4-5')).toMatchObject({ input: 1_000_000, output: 5_000_000, cacheRead: 100_000 });
    expect(book.lookup('claude-opus-5-5')).toMatchObject({ input: 4_000_000, output: 20_000_000, cacheWrite5m: 5_000_000, cacheWrite1h: 8_000_000, cacheRead: 200_000 });
    expect(book.lookup('gpt-5')).toMatchObject({ input: 1_250_000, output: 10_000_000, cacheRead: 125_000 });
    expect(book.lookup('gpt-5.2')).toMatchObject({ input: 1_750_000, output: 14_000_000, cacheRead: 175_000 });
    expect(book.lookup('gpt-5-nano')).toMatchObject({ input: 50_000, output: 400_000, cacheRead: 5_000 });
  });

  it('resolves dated and aliased ids to their family, case-insensitively', () => {
    expect(book.lookup('claude-sonnet-4-5-20250929')?.model).toBe('claude-sonnet-4-5');
    expect(book.lookup('claude-haiku-4-5-20251001')?.model).toBe('claude-haiku-4-5');
    expect(book.lookup('claude-sonnet-4-20250514')?.model).toBe('claude-sonnet-4');
    expect(book.lookup('claude-sonnet-4-0')?.model).toBe('claude-sonnet-4');
    expect(book.lookup('Claude-Opus-4-1-20250805')?.model).toBe('claude-opus-4-1');
    expect(book.lookup('gpt-5-2025-08-07')?.model).toBe('gpt-5');
    expect(book.lookup('gpt-5-mini-2025-08-07')?.model).toBe('gpt-5-mini');
    expect(book.lookup('gpt-5.1-chat-latest')?.model).toBe('gpt-5.1');
  });

  it('knows no price for unknown models (callers fail closed) and never guesses by prefix', () => {
    expect(book.lookup('claude-sonnet-9')).toBeUndefined();
    expect(book.lookup('gpt-5-turbo-preview')).toBeUndefined();
    expect(book.lookup('claude-opus-4-5-experimental')).toBeUndefined();
    expect(book.lookup('')).toBeUndefined();
  });
});

describe('costOf', () => {
  it('multiplies each bucket by its own price exactly and rounds up once per call', () => {
    const sonnet = book.lookup('claude-sonnet-4-5')!;
    // 1234×3 + 567×15 + 2000×3.75 + 100×6 + 50000×0.3 = 35307 µ$, exactly
    expect(costOf(sonnet, { input: 1234, output: 567, cacheWrite5m: 2000, cacheWrite1h: 100, cacheRead: 50000 })).toBe(35_307);
    const nano = book.lookup('gpt-5-nano')!;
    // 7 × $0.05/Mtok = 0.35 µ$ → 1 µ$; 3 reads × $0.005 = 0.015 µ$: summed before rounding, still 1 µ$
    expect(costOf(nano, { ...ZERO_USAGE, input: 7 })).toBe(1);
    expect(costOf(nano, { ...ZERO_USAGE, input: 7, cacheRead: 3 })).toBe(1);
    expect(costOf(nano, ZERO_USAGE)).toBe(0);
  });

  it('has no float drift on sums that drift in floating point', () => {
    const mini = book.lookup('gpt-5-mini')!;
    // 0.1 + 0.2 style: 1e6 tokens at $0.025 plus 1e6 at $0.25 is exactly 275000 µ$
    expect(costOf(mini, { ...ZERO_USAGE, input: 1_000_000, cacheRead: 1_000_000 })).toBe(275_000);
    // Sums far beyond 2^53 µ$×tokens stay exact
    const opus = book.lookup('claude-opus-4-1')!;
    expect(costOf(opus, { input: 900_000_000, output: 900_000_000, cacheWrite5m: 900_000_000, cacheWrite1h: 900_000_000, cacheRead: 900_000_000 })).toBe(900 * (15 + 75 + 18.75 + 30 + 1.5) * 1_000_000);
  });

  it('prices the whole call at the long-context tier once total input passes the threshold', () => {
    const sonnet = book.lookup('claude-sonnet-4-5')!;
    expect(costOf(sonnet, { ...ZERO_USAGE, input: 200_000, output: 1000 })).toBe(600_000 + 15_000);
    expect(costOf(sonnet, { ...ZERO_USAGE, input: 150_000, cacheRead: 50_001, output: 1000 })).toBe(900_000 + 30_000.6 + 22_500 + 0.4);
  });

  it('adds web searches at their per-search price', () => {
    expect(costOf(book.lookup('claude-haiku-4-5')!, { ...ZERO_USAGE, webSearches: 3 })).toBe(30_000);
  });
});

describe('overrides from .caged.yaml pricing.models', () => {
  it('converts USD-per-million floats to exact integers and adds new models', () => {
    const custom = createPriceBook({ 'my-model': { input: 0.3, output: 1.1, cache_read: 0.03 } });
    expect(custom.lookup('my-model')).toMatchObject({ input: 300_000, output: 1_100_000, cacheRead: 30_000, source: '.caged.yaml pricing.models' });
  });

  it('fails safe on a new model without cache prices: full input price for reads, 1.25x / 2x for writes', () => {
    expect(createPriceBook({ 'x-1': { input: 2, output: 8 } }).lookup('x-1')).toMatchObject({ input: 2_000_000, cacheRead: 2_000_000, cacheWrite5m: 2_500_000, cacheWrite1h: 4_000_000 });
  });

  it('replaces a built-in entry field by field, and applies to its dated ids', () => {
    const custom = createPriceBook({ 'claude-sonnet-4-5': { input: 2, output: 10 } });
    expect(custom.lookup('claude-sonnet-4-5-20250929')).toMatchObject({ input: 2_000_000, output: 10_000_000, cacheRead: 300_000 });
    expect(book.lookup('claude-sonnet-4-5')?.input).toBe(3_000_000);
  });

  it('lets a dated override win over its family', () => {
    const custom = createPriceBook({ 'gpt-5-2025-08-07': { input: 1, output: 2 } });
    expect(custom.lookup('gpt-5-2025-08-07')?.input).toBe(1_000_000);
    expect(custom.lookup('gpt-5')?.input).toBe(1_250_000);
  });
});

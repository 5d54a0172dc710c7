import { ceilDiv, parseUsd, type Micros } from '../money.js';
import table from './prices.json' with { type: 'json' };
import { totalInput, type ModelPrice, type TokenRates, type TokenUsage } from './types.js';

/** One model's prices as written in prices.json or `.caged.yaml` `pricing.models`: USD per million tokens. */
export interface UsdModelPrice {
  input: number;
  output: number;
  cache_write_5m?: number;
  cache_write_1h?: number;
  cache_read?: number;
  /** USD per 1,000 server-side web searches. */
  web_search_per_1k?: number;
  long_context?: { above_input_tokens: number; input: number; output: number; cache_write_5m?: number; cache_write_1h?: number; cache_read?: number };
  effective_date?: string;
  source?: string;
}

export interface PriceBook {
  /** The price of `model` (dated ids resolve to their family), or undefined: callers must then refuse, never price at $0. */
  lookup(model: string): ModelPrice | undefined;
}

const TOKENS_PER_PRICE_UNIT = 1_000_000n;

/**
 * The built-in table with `.caged.yaml` overrides on top. An override replaces a built-in entry
 * field by field; a new model's missing cache prices fail safe: reads cost the full input price,
 * writes Anthropic's 1.25x (5m) and 2x (1h) of it.
 */
export function createPriceBook(overrides: Record<string, UsdModelPrice> = {}): PriceBook {
  const builtIn = table.models as Record<string, UsdModelPrice>;
  const aliases = table.aliases as Record<string, string>;
  const merged = new Map<string, ModelPrice>();
  for (const [model, usd] of Object.entries(builtIn)) merged.set(model, toModelPrice(model, usd));
  for (const [key, usd] of Object.entries(overrides)) {
    const model = key.trim().toLowerCase();
    const base = builtIn[aliases[model] ?? model];
    merged.set(model, toModelPrice(model, base ? { ...base, ...usd, source: usd.source ?? '.caged.yaml pricing.models' } : { ...usd, source: usd.source ?? '.caged.yaml pricing.models' }));
  }
  return {
    lookup(model) {
      for (const candidate of candidateIds(model)) {
        const price = merged.get(candidate) ?? merged.get(aliases[candidate] ?? '');
        if (price) return price;
      }
      return undefined;
    },
  };
}

/** The id as sent, then without a release-date suffix (`-20250929`, `-2025-08-07`, `@20250929`). */
function candidateIds(model: string): string[] {
  const id = model.trim().toLowerCase();
  const family = id.replace(/(?:[-@]\d{8}|-\d{4}-\d{2}-\d{2})$/, '');
  return family === id ? [id] : [id, family];
}

function toModelPrice(model: string, usd: UsdModelPrice): ModelPrice {
  const rates = toRates(usd);
  const price: ModelPrice = { model, ...rates };
  if (usd.long_context) price.longContext = { aboveInputTokens: usd.long_context.above_input_tokens, ...toRates(usd.long_context) };
  if (usd.web_search_per_1k !== undefined) price.webSearch = ceilDiv(perMillion(usd.web_search_per_1k), 1000);
  if (usd.effective_date) price.effectiveDate = usd.effective_date;
  if (usd.source) price.source = usd.source;
  return price;
}

function toRates(usd: Omit<UsdModelPrice, 'long_context'>): TokenRates {
  const input = perMillion(usd.input);
  return {
    input,
    output: perMillion(usd.output),
    cacheWrite5m: usd.cache_write_5m === undefined ? ceilDiv(input * 5, 4) : perMillion(usd.cache_write_5m),
    cacheWrite1h: usd.cache_write_1h === undefined ? input * 2 : perMillion(usd.cache_write_1h),
    cacheRead: usd.cache_read === undefined ? input : perMillion(usd.cache_read),
  };
}

/** USD per million tokens (a float at the edge) → integer micro-dollars per million tokens. */
function perMillion(usd: number): number {
  return parseUsd(usd);
}

/** The rates that apply to a call with this usage (a long-context tier prices the whole call). */
export function ratesFor(price: ModelPrice, usage: TokenUsage): TokenRates {
  return price.longContext && totalInput(usage) > price.longContext.aboveInputTokens ? price.longContext : price;
}

/** Exact cost of one call: integer products, rounded up once, to a whole micro-dollar. */
export function costOf(price: ModelPrice, usage: TokenUsage): Micros {
  const rates = ratesFor(price, usage);
  const scaled =
    BigInt(usage.input) * BigInt(rates.input) +
    BigInt(usage.output) * BigInt(rates.output) +
    BigInt(usage.cacheWrite5m) * BigInt(rates.cacheWrite5m) +
    BigInt(usage.cacheWrite1h) * BigInt(rates.cacheWrite1h) +
    BigInt(usage.cacheRead) * BigInt(rates.cacheRead);
  const tokens = Number((scaled + TOKENS_PER_PRICE_UNIT - 1n) / TOKENS_PER_PRICE_UNIT);
  return tokens + (usage.webSearches ?? 0) * (price.webSearch ?? 0);
}

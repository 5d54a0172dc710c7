/** Token counts of one LLM call, each bucket billed at its own price. */
export interface TokenUsage {
  /** Uncached input tokens (Anthropic `input_tokens`; OpenAI input minus cached). */
  input: number;
  output: number;
  cacheWrite5m: number;
  cacheWrite1h: number;
  cacheRead: number;
  /** Server-side web searches (Anthropic `server_tool_use.web_search_requests`), billed per search. */
  webSearches?: number;
}

export const ZERO_USAGE: TokenUsage = { input: 0, output: 0, cacheWrite5m: 0, cacheWrite1h: 0, cacheRead: 0 };

export function addUsage(a: TokenUsage, b: TokenUsage): TokenUsage {
  const sum: TokenUsage = {
    input: a.input + b.input,
    output: a.output + b.output,
    cacheWrite5m: a.cacheWrite5m + b.cacheWrite5m,
    cacheWrite1h: a.cacheWrite1h + b.cacheWrite1h,
    cacheRead: a.cacheRead + b.cacheRead,
  };
  const searches = (a.webSearches ?? 0) + (b.webSearches ?? 0);
  if (searches > 0) sum.webSearches = searches;
  return sum;
}

/** All input-side tokens of a call: uncached, cache writes and cache reads. */
export function totalInput(usage: TokenUsage): number {
  return usage.input + usage.cacheWrite5m + usage.cacheWrite1h + usage.cacheRead;
}

/** Per-bucket rates in integer micro-dollars per million tokens ($3/Mtok = 3_000_000). */
export interface TokenRates {
  input: number;
  output: number;
  cacheWrite5m: number;
  cacheWrite1h: number;
  cacheRead: number;
}

/** Absolute prices of one model in integer micro-dollars per million tokens. */
export interface ModelPrice extends TokenRates {
  model: string;
  /** Rates for the whole call once its total input exceeds `aboveInputTokens` (long-context tiers). */
  longContext?: TokenRates & { aboveInputTokens: number };
  /** Micro-dollars per server-side web search. */
  webSearch?: number;
  effectiveDate?: string;
  source?: string;
}

import { ceilDiv, type Micros } from '../money.js';
import { costOf } from '../pricing/price.js';
import type { ModelPrice, TokenRates, TokenUsage } from '../pricing/types.js';

/**
 * Conservative bytes-per-token ratio for estimates. Real tokenizers average 3.5-4 bytes per
 * token on English, code and JSON, so dividing by 3 over-counts: a reservation made with it covers
 * the real input in practice, and the provider's reported usage replaces it at the end.
 */
export const BYTES_PER_TOKEN = 3;

/**
 * The smallest answer worth forwarding a request for. Below this many affordable output tokens the
 * gateway refuses instead of clamping: a coding agent cannot do useful work in fewer, and a
 * trickle of tiny requests would only burn input tokens. A request that itself asks for fewer
 * (a title, a probe) needs only what it asks for.
 */
export const MIN_OUTPUT_TOKENS = 1024;

/** Output reserved for requests that name no limit (OpenAI's GPT-5 family caps output at 128k). */
export const DEFAULT_OUTPUT_CAP = 128_000;

const PER_MILLION = 1_000_000;

/** The documented overshoot a sandbox's spend may reach past its budget: max($0.01, 1 % of the budget). */
export function toleranceFor(budget: Micros): Micros {
  return Math.max(10_000, ceilDiv(budget, 100));
}

/**
 * How far a call already in flight may grow its hold past the budget when its real input turns out
 * larger than estimated: half the tolerance (the other half covers the event that crosses the line
 * before the cut). New calls are admitted only within the budget; cutting a call that is nearly
 * paid for would waste it.
 */
export function overdraftFor(budget: Micros): Micros {
  return Math.floor(toleranceFor(budget) / 2);
}

export function estimateTokens(bytes: number): number {
  return ceilDiv(bytes, BYTES_PER_TOKEN);
}

export function estimateTextTokens(text: string): number {
  return estimateTokens(Buffer.byteLength(text, 'utf8'));
}

export interface ReservationPlan {
  /** Estimated input tokens of the request. */
  inputTokens: number;
  /** Their cost at the most expensive input bucket (cache writes cost more than plain input). */
  inputCost: Micros;
  /** The output limit to send upstream: the request's own, or less if the budget cannot pay it. */
  outputTokens: number;
  /** Whether `outputTokens` is below what the request asked for (or DEFAULT_OUTPUT_CAP). */
  clamped: boolean;
  /** inputCost + outputTokens at the output price: what to hold in the ledger. */
  reserve: Micros;
}

export type PlanResult = { ok: true; plan: ReservationPlan } | { ok: false; needed: Micros; inputCost: Micros; minOutput: number };

/**
 * Plans the hold for one request against `available` micro-dollars: input estimated from the body
 * size, output clamped to what is left after the input. Never reserves the worst case blindly —
 * a clamp keeps a 128k `max_tokens` from starving a small budget — and never below a useful answer.
 */
export function planReservation(
  price: ModelPrice,
  bodyBytes: number,
  requestedOutput: number | undefined,
  available: Micros,
  usefulOutput = MIN_OUTPUT_TOKENS,
): PlanResult {
  const inputTokens = estimateTokens(bodyBytes);
  const rates = tierFor(price, inputTokens);
  const inputCost = ceilDiv(inputTokens * maxInputRate(rates), PER_MILLION);
  const wanted = requestedOutput ?? DEFAULT_OUTPUT_CAP;
  const minOutput = Math.min(wanted, usefulOutput);
  const left = available - inputCost;
  const affordable = left <= 0 ? 0 : rates.output === 0 ? wanted : Number((BigInt(left) * BigInt(PER_MILLION)) / BigInt(rates.output));
  const outputTokens = Math.min(wanted, affordable);
  if (outputTokens < minOutput) {
    return { ok: false, needed: inputCost + outputCost(rates, minOutput), inputCost, minOutput };
  }
  return { ok: true, plan: { inputTokens, inputCost, outputTokens, clamped: outputTokens < wanted, reserve: inputCost + outputCost(rates, outputTokens) } };
}

/**
 * What the call has cost so far by the best knowledge at hand: the provider's reported usage where
 * it has reported it (Anthropic reports input at the start), the plan's input estimate where not,
 * and output as the larger of reported and counted-from-deltas tokens.
 */
export function runningCost(price: ModelPrice, plan: ReservationPlan, reported: TokenUsage | undefined, countedOutput: number): Micros {
  if (reported) return costOf(price, { ...reported, output: Math.max(reported.output, countedOutput) });
  return plan.inputCost + outputCost(tierFor(price, plan.inputTokens), countedOutput);
}

/** The usage to record when the provider never reported it: the plan's estimate plus counted output. */
export function estimatedUsage(plan: ReservationPlan, reported: TokenUsage | undefined, countedOutput: number): TokenUsage {
  if (reported) return { ...reported, output: Math.max(reported.output, countedOutput) };
  return { input: plan.inputTokens, output: countedOutput, cacheWrite5m: 0, cacheWrite1h: 0, cacheRead: 0 };
}

/** The hold a call needs once its input cost is known exactly: that plus its whole output allowance. */
export function reserveWithKnownInput(price: ModelPrice, plan: ReservationPlan, reported: TokenUsage): Micros {
  return costOf(price, { ...reported, output: plan.outputTokens });
}

function outputCost(rates: TokenRates, tokens: number): Micros {
  return ceilDiv(tokens * rates.output, PER_MILLION);
}

function maxInputRate(rates: TokenRates): number {
  return Math.max(rates.input, rates.cacheWrite5m, rates.cacheWrite1h, rates.cacheRead);
}

function tierFor(price: ModelPrice, inputTokens: number): TokenRates {
  return price.longContext && inputTokens > price.longContext.aboveInputTokens ? price.longContext : price;
}

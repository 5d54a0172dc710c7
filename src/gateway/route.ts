import type { TokenUsage } from '../pricing/types.js';
import type { Provider } from './refusal.js';
import type { SseEvent } from './sse.js';
import type { StreamMeter } from './usage.js';

export type JsonObject = Record<string, unknown>;

/** One metered call as the gateway sees it: what to plan for, how to rewrite it, how to meter its answer. */
export interface MeteredCall {
  model: string;
  /** The output limit the request asks for (all choices together), if it names one. */
  requestedOutput: number | undefined;
  /** The smallest output worth forwarding for (more when extended thinking needs its own share). */
  minOutput?: number;
  /** Input the body does not show (server-side conversation state), in tokens, for the estimate. */
  hiddenInputTokens?: number;
  /** The body to send: clamped to `outputTokens` if `clamped`, plus any field the metering needs. */
  prepare(outputTokens: number, clamped: boolean): JsonObject;
  meter(): StreamMeter;
  /** Usage from a non-streamed JSON answer. */
  usageOf(body: unknown): TokenUsage | undefined;
  /**
   * Set when some events of the answer must not reach the client (usage the gateway asked for on
   * its own); the stream is then re-framed event by event instead of passed through byte for byte.
   */
  hides?: (event: SseEvent) => boolean;
  /** The event that ends a stream the gateway cuts at the budget. */
  cutEvent(message: string, meter: StreamMeter): string;
}

/** A metered endpoint reads each request body; a free one (token counting) passes through as is. */
export type Route =
  | {
      provider: Provider;
      metered: true;
      /** Reads the request body, or names what is wrong with it. */
      parse(body: JsonObject): MeteredCall | { error: string };
    }
  | { provider: Provider; metered: false };

export function positiveInt(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0 ? value : undefined;
}

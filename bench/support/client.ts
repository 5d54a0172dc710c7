import { Agent, request, type Dispatcher } from 'undici';
import { SseParser, type SseEvent } from '../../src/gateway/sse.js';

/** The client side of the benchmarks: keep-alive connections, bodies read to the end, times in ms. */
export interface Outcome {
  status: number;
  /** Request sent → first body byte. */
  ttfbMs: number;
  /** Request sent → body read to its end. */
  totalMs: number;
  /** SSE events of a streamed answer (empty for JSON). */
  events: SseEvent[];
  /** The body broke off instead of ending (or no answer came: status 0). */
  broken: boolean;
  error?: string;
}

export function keepAliveAgent(connections: number): Agent {
  return new Agent({ connections, pipelining: 1, keepAliveTimeout: 30_000, headersTimeout: 600_000, bodyTimeout: 600_000 });
}

export async function call(dispatcher: Agent, url: string, headers: Record<string, string>, body: string, options: { parse?: boolean } = {}): Promise<Outcome> {
  const started = performance.now();
  let response: Dispatcher.ResponseData;
  try {
    response = await request(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body, dispatcher });
  } catch (error) {
    // Refused or reset before an answer: status 0, like a browser's network error.
    return { status: 0, ttfbMs: Number.NaN, totalMs: performance.now() - started, events: [], broken: true, error: (error as Error).message };
  }
  const parser = options.parse ? new SseParser() : undefined;
  const events: SseEvent[] = [];
  let ttfbMs = Number.NaN;
  try {
    for await (const chunk of response.body) {
      if (Number.isNaN(ttfbMs)) ttfbMs = performance.now() - started;
      if (parser) events.push(...parser.push(chunk as Buffer));
    }
    if (parser) events.push(...parser.end());
  } catch (error) {
    return { status: response.statusCode, ttfbMs, totalMs: performance.now() - started, events, broken: true, error: (error as Error).message };
  }
  return { status: response.statusCode, ttfbMs, totalMs: performance.now() - started, events, broken: false };
}

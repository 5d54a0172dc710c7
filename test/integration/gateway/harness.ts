import { Gateway, type UsageEvent } from '../../../src/gateway/gateway.js';
import { SseParser, type SseEvent } from '../../../src/gateway/sse.js';
import { Ledger } from '../../../src/ledger/ledger.js';
import { createPriceBook } from '../../../src/pricing/price.js';

export const REAL_ANTHROPIC_KEY = 'sk-ant-api03-REAL-KEY-never-in-a-sandbox-0123456789';
export const REAL_OPENAI_KEY = 'sk-proj-REAL-OPENAI-KEY-never-in-a-sandbox-9876543210';

export interface Harness {
  ledger: Ledger;
  gateway: Gateway;
  url: string;
  usage: UsageEvent[];
  refused: Array<{ sandboxId: string; reason: string }>;
  /** Opens a ledger account and registers the sandbox; returns its token. */
  sandbox(id: string, budgetMicros: number): string;
  close(): Promise<void>;
}

/** A ledger and a gateway on 127.0.0.1 whose upstreams are the given local fakes. */
export async function startHarness(upstreams: { anthropic?: string; openai?: string }): Promise<Harness> {
  const ledger = new Ledger();
  const gateway = new Gateway({ ledger, prices: createPriceBook(), upstreams: { anthropic: upstreams.anthropic ?? 'http://127.0.0.1:9', openai: upstreams.openai ?? 'http://127.0.0.1:9' } });
  const listener = await gateway.listen('127.0.0.1');
  const usage: UsageEvent[] = [];
  const refused: Array<{ sandboxId: string; reason: string }> = [];
  gateway.on('usage', (event) => usage.push(event));
  gateway.on('refused', (event) => refused.push(event));
  return {
    ledger,
    gateway,
    url: listener.url,
    usage,
    refused,
    sandbox(id, budgetMicros) {
      ledger.open(id, budgetMicros);
      return gateway.register(id, { keys: { anthropicApiKey: REAL_ANTHROPIC_KEY, openaiApiKey: REAL_OPENAI_KEY } }).token;
    },
    close: () => gateway.close(),
  };
}

export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  events: SseEvent[];
  /** The body broke off (connection error) instead of ending. */
  broken: boolean;
}

/** POSTs JSON and reads the whole answer, parsing SSE when it is a stream. */
export async function post(url: string, headers: Record<string, string>, body: unknown): Promise<Answer> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const parser = new SseParser();
  const events: SseEvent[] = [];
  let text = '';
  let broken = false;
  const decoder = new TextDecoder();
  try {
    for await (const chunk of response.body ?? []) {
      text += decoder.decode(chunk as Uint8Array, { stream: true });
      events.push(...parser.push(chunk as Uint8Array));
    }
    events.push(...parser.end());
  } catch {
    broken = true;
  }
  return { status: response.status, headers: response.headers, text, events, broken };
}

export function anthropicHeaders(token: string, extra: Record<string, string> = {}): Record<string, string> {
  return { 'x-api-key': token, 'anthropic-version': '2023-06-01', ...extra };
}

export function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

export function json(event: SseEvent): Record<string, unknown> {
  return JSON.parse(event.data) as Record<string, unknown>;
}

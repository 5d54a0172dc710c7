import type { TokenUsage } from '../pricing/types.js';
import { estimateTokens } from './estimate.js';
import type { SseEvent } from './sse.js';

/**
 * Reads usage from provider responses. Each meter is fed the SSE events of one streamed call and
 * keeps what the provider has reported so far, whether the stream reached its terminal event, and
 * an estimate of the output produced (from the text of the deltas) for mid-stream budget checks.
 */
export interface StreamMeter {
  push(event: SseEvent): void;
  /** Usage as reported so far (Anthropic reports input up front; OpenAI only at the end). */
  readonly reported: TokenUsage | undefined;
  /** The provider's final usage has arrived. */
  readonly final: boolean;
  /** A terminal event (completion or error) has arrived: nothing billable follows. */
  readonly terminal: boolean;
  /** Output tokens estimated from the deltas seen. */
  readonly countedOutput: number;
}

type Json = Record<string, unknown>;

function asObject(value: unknown): Json | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : undefined;
}

/** A token count, or undefined when absent; NaN marks a present but malformed value. */
function count(value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined;
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : Number.NaN;
}

function parseJson(data: string): Json | undefined {
  try {
    return asObject(JSON.parse(data));
  } catch {
    return undefined;
  }
}

function valid(usage: TokenUsage): TokenUsage | undefined {
  return Object.values(usage).every((n) => Number.isSafeInteger(n) && n >= 0) ? usage : undefined;
}

/**
 * Anthropic `usage`: `input_tokens` excludes cache tokens; `cache_creation` splits writes by TTL.
 * When only the total `cache_creation_input_tokens` is given the writes count as 5-minute ones.
 */
export function anthropicUsage(raw: unknown): TokenUsage | undefined {
  const usage = asObject(raw);
  if (!usage) return undefined;
  const input = count(usage.input_tokens);
  const output = count(usage.output_tokens);
  if (input === undefined || output === undefined) return undefined;
  const creation = asObject(usage.cache_creation);
  const writes1h = count(creation?.ephemeral_1h_input_tokens) ?? 0;
  const writes5m = count(creation?.ephemeral_5m_input_tokens) ?? 0;
  const writesTotal = count(usage.cache_creation_input_tokens) ?? writes1h + writes5m;
  const searches = count(asObject(usage.server_tool_use)?.web_search_requests) ?? 0;
  const result: TokenUsage = {
    input,
    output,
    cacheWrite5m: Math.max(writes5m, writesTotal - writes1h),
    cacheWrite1h: writes1h,
    cacheRead: count(usage.cache_read_input_tokens) ?? 0,
  };
  if (searches !== 0) result.webSearches = searches;
  return valid(result);
}

/** OpenAI Chat Completions `usage`: cached tokens are inside `prompt_tokens`, reasoning inside `completion_tokens`. */
export function chatUsage(raw: unknown): TokenUsage | undefined {
  const usage = asObject(raw);
  if (!usage) return undefined;
  return openAiUsage(count(usage.prompt_tokens), count(asObject(usage.prompt_tokens_details)?.cached_tokens), count(usage.completion_tokens));
}

/** OpenAI Responses `usage`: cached tokens are inside `input_tokens`, reasoning inside `output_tokens`. */
export function responsesUsage(raw: unknown): TokenUsage | undefined {
  const usage = asObject(raw);
  if (!usage) return undefined;
  return openAiUsage(count(usage.input_tokens), count(asObject(usage.input_tokens_details)?.cached_tokens), count(usage.output_tokens));
}

function openAiUsage(input: number | undefined, cached: number | undefined, output: number | undefined): TokenUsage | undefined {
  if (input === undefined || output === undefined) return undefined;
  const cacheRead = cached ?? 0;
  if (cacheRead > input) return undefined;
  return valid({ input: input - cacheRead, output, cacheWrite5m: 0, cacheWrite1h: 0, cacheRead });
}

abstract class BaseMeter implements StreamMeter {
  reported: TokenUsage | undefined;
  final = false;
  terminal = false;
  #deltaBytes = 0;

  get countedOutput(): number {
    return estimateTokens(this.#deltaBytes);
  }

  protected countDelta(text: unknown): void {
    if (typeof text === 'string') this.#deltaBytes += Buffer.byteLength(text, 'utf8');
  }

  abstract push(event: SseEvent): void;
}

/**
 * Anthropic Messages stream: `message_start` carries the first usage, each `message_delta` usage
 * is cumulative and may restate input fields, so fields are overwritten, never added.
 */
export class AnthropicStreamMeter extends BaseMeter {
  #raw: Json = {};

  push(event: SseEvent): void {
    const data = parseJson(event.data);
    if (!data) return;
    switch (data.type) {
      case 'message_start':
        this.#merge(asObject(asObject(data.message)?.usage));
        break;
      case 'message_delta':
        this.#merge(asObject(data.usage));
        break;
      case 'content_block_delta': {
        const delta = asObject(data.delta);
        this.countDelta(delta?.text ?? delta?.thinking ?? delta?.partial_json);
        break;
      }
      case 'message_stop':
        this.terminal = true;
        this.final = this.reported !== undefined;
        break;
      case 'error':
        this.terminal = true;
        break;
    }
  }

  #merge(usage: Json | undefined): void {
    if (!usage) return;
    // A null in a later event means "not restated", not zero.
    for (const [key, value] of Object.entries(usage)) if (value !== null && value !== undefined) this.#raw[key] = value;
    this.reported = anthropicUsage(this.#raw);
  }
}

/** Chat Completions stream: usage arrives in a last chunk with `choices: []` (when `include_usage` is on). */
export class ChatStreamMeter extends BaseMeter {
  push(event: SseEvent): void {
    if (event.data.trim() === '[DONE]') {
      this.terminal = true;
      return;
    }
    const data = parseJson(event.data);
    if (!data) return;
    if (data.error !== undefined) {
      this.terminal = true;
      return;
    }
    if (data.usage !== undefined && data.usage !== null) {
      this.reported = chatUsage(data.usage);
      this.final = this.reported !== undefined;
    }
    for (const choice of Array.isArray(data.choices) ? data.choices : []) {
      const delta = asObject(asObject(choice)?.delta);
      if (!delta) continue;
      this.countDelta(delta.content);
      this.countDelta(delta.reasoning_content);
      this.countDelta(delta.refusal);
      for (const call of Array.isArray(delta.tool_calls) ? delta.tool_calls : []) this.countDelta(asObject(asObject(call)?.function)?.arguments);
    }
  }
}

/** The usage-only last chunk of a Chat Completions stream. */
export function isChatUsageChunk(event: SseEvent): boolean {
  const data = parseJson(event.data);
  return data !== undefined && Array.isArray(data.choices) && data.choices.length === 0 && asObject(data.usage) !== undefined;
}

const RESPONSES_TERMINAL = new Set(['response.completed', 'response.incomplete', 'response.failed']);

/** Responses stream: usage only in the terminal `response.completed` / `response.incomplete` / `response.failed`. */
export class ResponsesStreamMeter extends BaseMeter {
  /** The id from `response.created`, and the last `sequence_number`, to continue the stream coherently. */
  responseId: string | undefined;
  lastSequence = -1;

  push(event: SseEvent): void {
    const data = parseJson(event.data);
    if (!data) return;
    const type = typeof data.type === 'string' ? data.type : (event.event ?? '');
    if (typeof data.sequence_number === 'number') this.lastSequence = Math.max(this.lastSequence, data.sequence_number);
    const id = asObject(data.response)?.id;
    if (typeof id === 'string') this.responseId ??= id;
    if (RESPONSES_TERMINAL.has(type)) {
      this.terminal = true;
      this.reported = responsesUsage(asObject(data.response)?.usage);
      this.final = this.reported !== undefined;
    } else if (type === 'error') {
      this.terminal = true;
    } else if (type.endsWith('.delta') && !type.startsWith('response.audio')) {
      this.countDelta(data.delta);
    }
  }
}

import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { header, pieces, roughTokens, sendJson, sendSse, startFakeServer, type FakeFault, type RecordedRequest, type SseFrame, type StreamShape } from './fake-http.js';

/**
 * A scriptable stand-in for the Anthropic Messages API on a local port. It speaks the published
 * wire format: the SSE event sequence message_start → content_block_start/delta/stop →
 * message_delta → message_stop (with ping), non-streamed messages, tool_use blocks, usage with cache
 * tokens, `max_tokens` enforcement, the error shape, and `count_tokens`. Every request is recorded
 * with its headers; every answer with the usage it reported, so tests can price it exactly.
 */

export interface AnthropicUsage {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
  cache_creation: { ephemeral_5m_input_tokens: number; ephemeral_1h_input_tokens: number };
  server_tool_use?: { web_search_requests: number };
}

export type AnthropicBlock =
  | { type: 'text'; text: string }
  | { type: 'thinking'; thinking: string; signature?: string }
  | { type: 'tool_use'; name: string; input: Record<string, unknown>; id?: string };

export interface AnthropicTurn {
  content: AnthropicBlock[];
  /** Usage to report; missing input/output default to rough counts of the request and the content. */
  usage?: Partial<Omit<AnthropicUsage, 'cache_creation'>> & { cache_creation?: Partial<AnthropicUsage['cache_creation']> };
  /** What `message_start` reports when it differs from the final usage (the final one wins, restated in `message_delta`). */
  startUsage?: Partial<Omit<AnthropicUsage, 'cache_creation' | 'output_tokens'>>;
  /** `message_delta` restates the input fields (cumulative usage), as current API versions do. Default true. */
  restateInput?: boolean;
  stopReason?: 'end_turn' | 'tool_use' | 'max_tokens' | 'stop_sequence' | 'pause_turn' | 'refusal';
  fault?: FakeFault;
  /** Stream shape for this turn (overrides the server's). */
  shape?: StreamShape;
}

export type AnthropicResponder = (request: RecordedRequest, index: number) => AnthropicTurn | Promise<AnthropicTurn>;

export interface AnthropicAnswer {
  request: RecordedRequest;
  model: string;
  stream: boolean;
  status: number;
  /** The usage reported to the client (after `max_tokens` truncation); undefined for errors. */
  usage?: AnthropicUsage;
  stopReason?: string;
}

export interface FakeAnthropicOptions {
  host?: string;
  port?: number;
  /** When set, requests must carry it as `x-api-key` or `Authorization: Bearer` (else 401). */
  apiKey?: string;
  /** Turns in order (the last one repeats), or a function of the request. Default: a short text answer. */
  respond?: AnthropicResponder | AnthropicTurn[];
  shape?: StreamShape;
  /** Characters per text/JSON delta. Default 24. */
  deltaChars?: number;
}

export interface FakeAnthropic {
  url: string;
  /** Every request, in arrival order (count_tokens included). */
  requests: RecordedRequest[];
  /** Every /v1/messages answer, in order. */
  answers: AnthropicAnswer[];
  respond: AnthropicResponder;
  close(): Promise<void>;
}

const ERROR_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  402: 'billing_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  500: 'api_error',
  529: 'overloaded_error',
};

export function anthropicErrorBody(status: number, message: string): { type: 'error'; error: { type: string; message: string } } {
  return { type: 'error', error: { type: ERROR_TYPES[status] ?? 'api_error', message } };
}

export async function startFakeAnthropic(options: FakeAnthropicOptions = {}): Promise<FakeAnthropic> {
  const requests: RecordedRequest[] = [];
  const answers: AnthropicAnswer[] = [];
  const fake: FakeAnthropic = {
    url: '',
    requests,
    answers,
    respond: Array.isArray(options.respond) ? scripted(options.respond) : (options.respond ?? (() => ({ content: [{ type: 'text', text: 'Hello from the fake Anthropic API.' }] }))),
    close: async () => undefined,
  };
  let messageIndex = 0;
  const server = await startFakeServer(options.host ?? '127.0.0.1', options.port ?? 0, async (_req, res, request) => {
    requests.push(request);
    const refused = checkRequest(request, options.apiKey);
    if (refused) {
      sendJson(res, refused.status, anthropicErrorBody(refused.status, refused.message));
      return;
    }
    if (request.method === 'POST' && request.path === '/v1/messages/count_tokens') {
      sendJson(res, 200, { input_tokens: roughTokens(request.rawBody) });
      return;
    }
    if (request.method !== 'POST' || request.path !== '/v1/messages') {
      sendJson(res, 404, anthropicErrorBody(404, `Not found: ${request.method} ${request.path}`));
      return;
    }
    const body = request.body as Record<string, unknown> | undefined;
    if (!body || typeof body.model !== 'string' || typeof body.max_tokens !== 'number') {
      sendJson(res, 400, anthropicErrorBody(400, 'model and max_tokens: fields required'));
      return;
    }
    const turn = await fake.respond(request, messageIndex++);
    await answer(res, request, body, turn, options, answers);
  });
  fake.url = server.url;
  fake.close = server.close;
  return fake;
}

function checkRequest(request: RecordedRequest, apiKey: string | undefined): { status: number; message: string } | undefined {
  if (apiKey !== undefined) {
    const presented = header(request, 'x-api-key') ?? header(request, 'authorization')?.replace(/^Bearer\s+/i, '');
    if (presented !== apiKey) return { status: 401, message: 'invalid x-api-key' };
  }
  if (header(request, 'anthropic-version') === undefined) return { status: 400, message: 'anthropic-version: header is required' };
  return undefined;
}

async function answer(res: ServerResponse, request: RecordedRequest, body: Record<string, unknown>, turn: AnthropicTurn, options: FakeAnthropicOptions, answers: AnthropicAnswer[]): Promise<void> {
  const model = body.model as string;
  const stream = body.stream === true;
  if (turn.fault?.kind === 'status') {
    const fault = turn.fault;
    answers.push({ request, model, stream, status: fault.status });
    const text = fault.body ?? JSON.stringify(anthropicErrorBody(fault.status, `fake fault ${fault.status}`));
    res.writeHead(fault.status, { 'content-type': 'application/json', 'request-id': requestId(), ...fault.headers });
    res.end(text);
    return;
  }
  const content = turn.content.map((block) => (block.type === 'tool_use' ? { ...block, id: block.id ?? `toolu_${randomBytes(12).toString('hex')}` } : block));
  const maxTokens = body.max_tokens as number;
  const wanted = turn.usage?.output_tokens ?? roughTokens(JSON.stringify(content));
  const truncated = wanted > maxTokens;
  const usage: AnthropicUsage = {
    input_tokens: turn.usage?.input_tokens ?? roughTokens(request.rawBody),
    output_tokens: Math.min(wanted, maxTokens),
    cache_creation_input_tokens: turn.usage?.cache_creation_input_tokens ?? (turn.usage?.cache_creation?.ephemeral_5m_input_tokens ?? 0) + (turn.usage?.cache_creation?.ephemeral_1h_input_tokens ?? 0),
    cache_read_input_tokens: turn.usage?.cache_read_input_tokens ?? 0,
    cache_creation: {
      ephemeral_5m_input_tokens: turn.usage?.cache_creation?.ephemeral_5m_input_tokens ?? turn.usage?.cache_creation_input_tokens ?? 0,
      ephemeral_1h_input_tokens: turn.usage?.cache_creation?.ephemeral_1h_input_tokens ?? 0,
    },
  };
  if (turn.usage?.server_tool_use) usage.server_tool_use = turn.usage.server_tool_use;
  const stopReason = truncated ? 'max_tokens' : (turn.stopReason ?? (content.some((block) => block.type === 'tool_use') ? 'tool_use' : 'end_turn'));
  const id = `msg_${randomBytes(12).toString('hex')}`;
  const completes = turn.fault === undefined || turn.fault.kind === 'slow-headers' || turn.fault.kind === 'malformed';
  answers.push({ request, model, stream, status: 200, usage: completes ? usage : undefined, stopReason });
  const headers = { 'request-id': requestId() };

  if (!stream) {
    if (turn.fault?.kind === 'slow-headers') await sleep(turn.fault.delayMs);
    sendJson(res, 200, { id, type: 'message', role: 'assistant', model, content, stop_reason: stopReason, stop_sequence: null, usage }, headers);
    return;
  }

  const startUsage = { ...usage, ...turn.startUsage, output_tokens: 1, service_tier: 'standard' };
  const frames: SseFrame[] = [
    { event: 'message_start', data: { type: 'message_start', message: { id, type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null, usage: startUsage } } },
  ];
  const size = options.deltaChars ?? 24;
  for (const [index, block] of content.entries()) {
    if (block.type === 'text') {
      frames.push({ event: 'content_block_start', data: { type: 'content_block_start', index, content_block: { type: 'text', text: '' } } });
      if (index === 0) frames.push({ event: 'ping', data: { type: 'ping' } });
      for (const text of pieces(block.text, size)) frames.push({ event: 'content_block_delta', data: { type: 'content_block_delta', index, delta: { type: 'text_delta', text } } });
    } else if (block.type === 'thinking') {
      frames.push({ event: 'content_block_start', data: { type: 'content_block_start', index, content_block: { type: 'thinking', thinking: '', signature: '' } } });
      for (const thinking of pieces(block.thinking, size)) frames.push({ event: 'content_block_delta', data: { type: 'content_block_delta', index, delta: { type: 'thinking_delta', thinking } } });
      frames.push({ event: 'content_block_delta', data: { type: 'content_block_delta', index, delta: { type: 'signature_delta', signature: block.signature ?? randomBytes(32).toString('base64') } } });
    } else {
      frames.push({ event: 'content_block_start', data: { type: 'content_block_start', index, content_block: { type: 'tool_use', id: block.id, name: block.name, input: {} } } });
      for (const partial of pieces(JSON.stringify(block.input), size)) {
        frames.push({ event: 'content_block_delta', data: { type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: partial } } });
      }
    }
    frames.push({ event: 'content_block_stop', data: { type: 'content_block_stop', index } });
  }
  const { cache_creation: _creation, ...inputFields } = usage;
  const deltaUsage = turn.restateInput === false ? { output_tokens: usage.output_tokens } : { ...inputFields, output_tokens: usage.output_tokens };
  frames.push({ event: 'message_delta', data: { type: 'message_delta', delta: { stop_reason: stopReason, stop_sequence: null }, usage: deltaUsage } });
  frames.push({ event: 'message_stop', data: { type: 'message_stop' } });
  await sendSse(res, frames, turn.shape ?? options.shape ?? {}, turn.fault, headers);
}

function requestId(): string {
  return `req_${randomBytes(12).toString('hex')}`;
}

/** Answers with the turns in order; once they run out, the last one repeats. */
export function scripted(turns: AnthropicTurn[]): AnthropicResponder {
  if (turns.length === 0) throw new Error('scripted() needs at least one turn');
  return (_request, index) => turns[Math.min(index, turns.length - 1)]!;
}

/**
 * An agent session in the Claude Code style: while the conversation holds no tool result yet, ask
 * for the `Write` tool to create `filePath` with `content`; once it does, finish with `finalText`.
 * Requests that offer no Write tool (side calls such as titles) get a one-line answer.
 */
export function writeFileAgent(options: { filePath: string; content: string; finalText?: string; usage?: AnthropicTurn['usage'] }): AnthropicResponder {
  return (request) => {
    const body = request.body as { tools?: Array<{ name?: string }>; messages?: Array<{ role: string; content: unknown }> };
    const offersWrite = (body.tools ?? []).some((tool) => tool.name === 'Write');
    if (!offersWrite) return { content: [{ type: 'text', text: 'File writing task' }], usage: options.usage };
    const hasResult = (body.messages ?? []).some((message) => Array.isArray(message.content) && message.content.some((block: { type?: string }) => block.type === 'tool_result'));
    if (hasResult) return { content: [{ type: 'text', text: options.finalText ?? 'Done: the file is written.' }], usage: options.usage };
    return {
      content: [
        { type: 'text', text: `I'll create ${options.filePath}.` },
        { type: 'tool_use', name: 'Write', input: { file_path: options.filePath, content: options.content } },
      ],
      usage: options.usage,
    };
  };
}

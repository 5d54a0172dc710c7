import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { header, pieces, roughTokens, sendJson, sendSse, startFakeServer, type FakeFault, type RecordedRequest, type SseFrame, type StreamShape } from './fake-http.js';

/**
 * A scriptable stand-in for the OpenAI Responses and Chat Completions APIs on a local port, in the
 * published wire formats: Responses streams (response.created … response.output_item.done …
 * response.completed / response.incomplete with usage), Chat Completions streams (the usage chunk
 * with `choices: []` when `stream_options.include_usage` is set, then `[DONE]`), non-streamed
 * answers, function calls, output limits, and the error shape. Requests and reported usage are recorded.
 */

export type OpenAIItem =
  | { type: 'message'; text: string }
  | { type: 'function_call'; name: string; arguments: string | Record<string, unknown>; callId?: string }
  | { type: 'custom_tool_call'; name: string; input: string; callId?: string }
  | { type: 'reasoning'; summary?: string };

export interface OpenAIUsageSpec {
  /** All input tokens, cached ones included. */
  input_tokens?: number;
  cached_tokens?: number;
  /** All output tokens, reasoning included. */
  output_tokens?: number;
  reasoning_tokens?: number;
}

export interface OpenAITurn {
  output: OpenAIItem[];
  usage?: OpenAIUsageSpec;
  fault?: FakeFault;
  shape?: StreamShape;
}

export type OpenAIResponder = (request: RecordedRequest, index: number) => OpenAITurn | Promise<OpenAITurn>;

export interface OpenAIAnswer {
  request: RecordedRequest;
  api: 'responses' | 'chat';
  model: string;
  stream: boolean;
  status: number;
  /** Usage as reported to the client, normalised (undefined for errors, cut streams, or chat streams without include_usage). */
  usage?: Required<OpenAIUsageSpec>;
  incomplete: boolean;
}

export interface FakeOpenAIOptions {
  host?: string;
  port?: number;
  /** When set, requests must carry `Authorization: Bearer <apiKey>` (else 401). */
  apiKey?: string;
  respond?: OpenAIResponder | OpenAITurn[];
  shape?: StreamShape;
  deltaChars?: number;
}

export interface FakeOpenAI {
  url: string;
  requests: RecordedRequest[];
  answers: OpenAIAnswer[];
  respond: OpenAIResponder;
  close(): Promise<void>;
}

const ERROR_CODES: Record<number, { type: string; code: string | null }> = {
  400: { type: 'invalid_request_error', code: null },
  401: { type: 'invalid_request_error', code: 'invalid_api_key' },
  404: { type: 'invalid_request_error', code: 'model_not_found' },
  429: { type: 'requests', code: 'rate_limit_exceeded' },
  500: { type: 'server_error', code: null },
  503: { type: 'server_error', code: null },
};

export function openaiErrorBody(status: number, message: string): { error: { message: string; type: string; param: null; code: string | null } } {
  const shape = ERROR_CODES[status] ?? { type: 'server_error', code: null };
  return { error: { message, type: shape.type, param: null, code: shape.code } };
}

export async function startFakeOpenAI(options: FakeOpenAIOptions = {}): Promise<FakeOpenAI> {
  const requests: RecordedRequest[] = [];
  const answers: OpenAIAnswer[] = [];
  const fake: FakeOpenAI = {
    url: '',
    requests,
    answers,
    respond: Array.isArray(options.respond) ? scriptedOpenAI(options.respond) : (options.respond ?? (() => ({ output: [{ type: 'message', text: 'Hello from the fake OpenAI API.' }] }))),
    close: async () => undefined,
  };
  let index = 0;
  const server = await startFakeServer(options.host ?? '127.0.0.1', options.port ?? 0, async (_req, res, request) => {
    requests.push(request);
    if (options.apiKey !== undefined && header(request, 'authorization') !== `Bearer ${options.apiKey}`) {
      sendJson(res, 401, openaiErrorBody(401, 'Incorrect API key provided.'));
      return;
    }
    const api = request.method === 'POST' && request.path === '/v1/responses' ? 'responses' : request.method === 'POST' && request.path === '/v1/chat/completions' ? 'chat' : undefined;
    if (!api) {
      sendJson(res, 404, openaiErrorBody(404, `Unknown request URL: ${request.method} ${request.path}.`));
      return;
    }
    const body = request.body as Record<string, unknown> | undefined;
    if (!body || typeof body.model !== 'string') {
      sendJson(res, 400, openaiErrorBody(400, "Missing required parameter: 'model'."));
      return;
    }
    const turn = await fake.respond(request, index++);
    if (turn.fault?.kind === 'status') {
      answers.push({ request, api, model: body.model, stream: body.stream === true, status: turn.fault.status, incomplete: false });
      res.writeHead(turn.fault.status, { 'content-type': 'application/json', 'x-request-id': requestId(), ...turn.fault.headers });
      res.end(turn.fault.body ?? JSON.stringify(openaiErrorBody(turn.fault.status, `fake fault ${turn.fault.status}`)));
      return;
    }
    if (turn.fault?.kind === 'slow-headers' && body.stream !== true) await sleep(turn.fault.delayMs);
    if (api === 'responses') await answerResponses(res, request, body, turn, options, answers);
    else await answerChat(res, request, body, turn, options, answers);
  });
  fake.url = server.url;
  fake.close = server.close;
  return fake;
}

function usageFor(request: RecordedRequest, turn: OpenAITurn, limit: number | undefined): { usage: Required<OpenAIUsageSpec>; incomplete: boolean } {
  const wanted = turn.usage?.output_tokens ?? roughTokens(JSON.stringify(turn.output));
  const output = limit === undefined ? wanted : Math.min(wanted, limit);
  return {
    usage: {
      input_tokens: turn.usage?.input_tokens ?? roughTokens(request.rawBody),
      cached_tokens: turn.usage?.cached_tokens ?? 0,
      output_tokens: output,
      reasoning_tokens: Math.min(turn.usage?.reasoning_tokens ?? 0, output),
    },
    incomplete: output < wanted,
  };
}

function completes(fault: FakeFault | undefined): boolean {
  return fault === undefined || fault.kind === 'slow-headers' || fault.kind === 'malformed';
}

async function answerResponses(res: ServerResponse, request: RecordedRequest, body: Record<string, unknown>, turn: OpenAITurn, options: FakeOpenAIOptions, answers: OpenAIAnswer[]): Promise<void> {
  const model = body.model as string;
  const stream = body.stream === true;
  const { usage, incomplete } = usageFor(request, turn, typeof body.max_output_tokens === 'number' ? body.max_output_tokens : undefined);
  answers.push({ request, api: 'responses', model, stream, status: 200, usage: completes(turn.fault) ? usage : undefined, incomplete });
  const id = `resp_${randomBytes(12).toString('hex')}`;
  const items = turn.output.map(toResponseItem);
  const wireUsage = {
    input_tokens: usage.input_tokens,
    input_tokens_details: { cached_tokens: usage.cached_tokens },
    output_tokens: usage.output_tokens,
    output_tokens_details: { reasoning_tokens: usage.reasoning_tokens },
    total_tokens: usage.input_tokens + usage.output_tokens,
  };
  const base = {
    id,
    object: 'response',
    created_at: Math.floor(Date.now() / 1000),
    model,
    parallel_tool_calls: true,
    store: body.store ?? true,
    tools: body.tools ?? [],
    error: null,
  };
  const final = {
    ...base,
    status: incomplete ? 'incomplete' : 'completed',
    incomplete_details: incomplete ? { reason: 'max_output_tokens' } : null,
    output: items.map((item) => item.done),
    usage: wireUsage,
  };
  if (!stream) {
    sendJson(res, 200, final, { 'x-request-id': requestId() });
    return;
  }
  const frames: SseFrame[] = [];
  const push = (type: string, data: Record<string, unknown>) => frames.push({ event: type, data: { type, sequence_number: frames.length, ...data } });
  const pending = { ...base, status: 'in_progress', incomplete_details: null, output: [], usage: null };
  push('response.created', { response: pending });
  push('response.in_progress', { response: pending });
  const size = options.deltaChars ?? 24;
  for (const [outputIndex, item] of items.entries()) {
    push('response.output_item.added', { output_index: outputIndex, item: item.added });
    const itemId = item.done.id;
    if (item.kind === 'message') {
      const part = { type: 'output_text', text: '', annotations: [] };
      push('response.content_part.added', { item_id: itemId, output_index: outputIndex, content_index: 0, part });
      for (const delta of pieces(item.text, size)) push('response.output_text.delta', { item_id: itemId, output_index: outputIndex, content_index: 0, delta, logprobs: [] });
      push('response.output_text.done', { item_id: itemId, output_index: outputIndex, content_index: 0, text: item.text, logprobs: [] });
      push('response.content_part.done', { item_id: itemId, output_index: outputIndex, content_index: 0, part: { ...part, text: item.text } });
    } else if (item.kind === 'function_call') {
      for (const delta of pieces(item.text, size)) push('response.function_call_arguments.delta', { item_id: itemId, output_index: outputIndex, delta });
      push('response.function_call_arguments.done', { item_id: itemId, output_index: outputIndex, arguments: item.text });
    } else if (item.kind === 'custom_tool_call') {
      for (const delta of pieces(item.text, size)) push('response.custom_tool_call_input.delta', { item_id: itemId, output_index: outputIndex, delta });
      push('response.custom_tool_call_input.done', { item_id: itemId, output_index: outputIndex, input: item.text });
    } else if (item.text !== '') {
      push('response.reasoning_summary_part.added', { item_id: itemId, output_index: outputIndex, summary_index: 0, part: { type: 'summary_text', text: '' } });
      for (const delta of pieces(item.text, size)) push('response.reasoning_summary_text.delta', { item_id: itemId, output_index: outputIndex, summary_index: 0, delta });
      push('response.reasoning_summary_text.done', { item_id: itemId, output_index: outputIndex, summary_index: 0, text: item.text });
      push('response.reasoning_summary_part.done', { item_id: itemId, output_index: outputIndex, summary_index: 0, part: { type: 'summary_text', text: item.text } });
    }
    push('response.output_item.done', { output_index: outputIndex, item: item.done });
  }
  push(incomplete ? 'response.incomplete' : 'response.completed', { response: final });
  await sendSse(res, frames, turn.shape ?? options.shape ?? {}, turn.fault, { 'x-request-id': requestId() });
}

interface ResponseItem {
  kind: OpenAIItem['type'];
  /** The streamed text of the item (message text, call arguments, tool input, reasoning summary). */
  text: string;
  added: Record<string, unknown>;
  done: Record<string, unknown> & { id: string };
}

function toResponseItem(item: OpenAIItem): ResponseItem {
  switch (item.type) {
    case 'message': {
      const id = `msg_${randomBytes(12).toString('hex')}`;
      return {
        kind: 'message',
        text: item.text,
        added: { id, type: 'message', status: 'in_progress', role: 'assistant', content: [] },
        done: { id, type: 'message', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: item.text, annotations: [], logprobs: [] }] },
      };
    }
    case 'function_call': {
      const id = `fc_${randomBytes(12).toString('hex')}`;
      const callId = item.callId ?? `call_${randomBytes(12).toString('hex')}`;
      const args = typeof item.arguments === 'string' ? item.arguments : JSON.stringify(item.arguments);
      return {
        kind: 'function_call',
        text: args,
        added: { id, type: 'function_call', status: 'in_progress', arguments: '', call_id: callId, name: item.name },
        done: { id, type: 'function_call', status: 'completed', arguments: args, call_id: callId, name: item.name },
      };
    }
    case 'custom_tool_call': {
      const id = `ctc_${randomBytes(12).toString('hex')}`;
      const callId = item.callId ?? `call_${randomBytes(12).toString('hex')}`;
      return {
        kind: 'custom_tool_call',
        text: item.input,
        added: { id, type: 'custom_tool_call', status: 'in_progress', call_id: callId, name: item.name, input: '' },
        done: { id, type: 'custom_tool_call', status: 'completed', call_id: callId, name: item.name, input: item.input },
      };
    }
    case 'reasoning': {
      const id = `rs_${randomBytes(12).toString('hex')}`;
      const summary = item.summary ?? '';
      return {
        kind: 'reasoning',
        text: summary,
        added: { id, type: 'reasoning', summary: [] },
        done: { id, type: 'reasoning', summary: summary === '' ? [] : [{ type: 'summary_text', text: summary }] },
      };
    }
  }
}

async function answerChat(res: ServerResponse, request: RecordedRequest, body: Record<string, unknown>, turn: OpenAITurn, options: FakeOpenAIOptions, answers: OpenAIAnswer[]): Promise<void> {
  const model = body.model as string;
  const stream = body.stream === true;
  const limit = typeof body.max_completion_tokens === 'number' ? body.max_completion_tokens : typeof body.max_tokens === 'number' ? body.max_tokens : undefined;
  const { usage, incomplete } = usageFor(request, turn, limit);
  const includeUsage = stream && (body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true;
  answers.push({ request, api: 'chat', model, stream, status: 200, usage: completes(turn.fault) && (!stream || includeUsage) ? usage : undefined, incomplete });
  const id = `chatcmpl-${randomBytes(12).toString('hex')}`;
  const created = Math.floor(Date.now() / 1000);
  const text = turn.output.flatMap((item) => (item.type === 'message' ? [item.text] : [])).join('');
  const calls = turn.output.flatMap((item) =>
    item.type === 'function_call'
      ? [{ id: item.callId ?? `call_${randomBytes(12).toString('hex')}`, type: 'function', function: { name: item.name, arguments: typeof item.arguments === 'string' ? item.arguments : JSON.stringify(item.arguments) } }]
      : [],
  );
  const finish = incomplete ? 'length' : calls.length > 0 ? 'tool_calls' : 'stop';
  const wireUsage = {
    prompt_tokens: usage.input_tokens,
    completion_tokens: usage.output_tokens,
    total_tokens: usage.input_tokens + usage.output_tokens,
    prompt_tokens_details: { cached_tokens: usage.cached_tokens, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: usage.reasoning_tokens, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
  };
  if (!stream) {
    const message = { role: 'assistant', content: text === '' ? null : text, refusal: null, annotations: [], ...(calls.length > 0 ? { tool_calls: calls } : {}) };
    sendJson(
      res,
      200,
      { id, object: 'chat.completion', created, model, choices: [{ index: 0, message, logprobs: null, finish_reason: finish }], usage: wireUsage, service_tier: 'default', system_fingerprint: null },
      { 'x-request-id': requestId() },
    );
    return;
  }
  const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) => ({
    data: { id, object: 'chat.completion.chunk', created, model, service_tier: 'default', system_fingerprint: null, choices, ...(includeUsage ? { usage: null } : {}), ...extra },
  });
  const delta = (value: Record<string, unknown>, finishReason: string | null = null) => ({ index: 0, delta: value, logprobs: null, finish_reason: finishReason });
  const frames: SseFrame[] = [chunk([delta({ role: 'assistant', content: '', refusal: null })])];
  for (const piece of text === '' ? [] : pieces(text, options.deltaChars ?? 24)) frames.push(chunk([delta({ content: piece })]));
  for (const [index, call] of calls.entries()) {
    frames.push(chunk([delta({ tool_calls: [{ index, id: call.id, type: 'function', function: { name: call.function.name, arguments: '' } }] })]));
    for (const piece of pieces(call.function.arguments, options.deltaChars ?? 24)) frames.push(chunk([delta({ tool_calls: [{ index, function: { arguments: piece } }] })]));
  }
  frames.push(chunk([delta({}, finish)]));
  if (includeUsage) frames.push(chunk([], { usage: wireUsage }));
  frames.push({ data: '[DONE]' });
  await sendSse(res, frames, turn.shape ?? options.shape ?? {}, turn.fault, { 'x-request-id': requestId() });
}

function requestId(): string {
  return `req_${randomBytes(16).toString('hex')}`;
}

export function scriptedOpenAI(turns: OpenAITurn[]): OpenAIResponder {
  if (turns.length === 0) throw new Error('scriptedOpenAI() needs at least one turn');
  return (_request, index) => turns[Math.min(index, turns.length - 1)]!;
}

/**
 * An agent session in the Codex style: until the input holds a tool result, ask the shell tool
 * Codex offers (`exec_command` with `cmd`, or the older `shell` with `command` argv) to run
 * `command`; once it has run, finish with `finalText`.
 */
export function shellCommandAgent(options: { command: string; finalText?: string; usage?: OpenAIUsageSpec }): OpenAIResponder {
  return (request) => {
    const body = request.body as { tools?: Array<{ name?: string }>; input?: unknown };
    const input = Array.isArray(body.input) ? (body.input as Array<{ type?: string }>) : [];
    if (input.some((item) => item.type === 'function_call_output')) {
      return { output: [{ type: 'message', text: options.finalText ?? 'Done: the command ran.' }], usage: options.usage };
    }
    const names = (body.tools ?? []).map((tool) => tool.name);
    const call: OpenAIItem = names.includes('exec_command')
      ? { type: 'function_call', name: 'exec_command', arguments: { cmd: options.command } }
      : { type: 'function_call', name: 'shell', arguments: { command: ['bash', '-lc', options.command] } };
    return { output: [{ type: 'reasoning', summary: 'Running the command.' }, call], usage: options.usage };
  };
}

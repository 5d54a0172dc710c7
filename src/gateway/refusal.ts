import { formatSse } from './sse.js';

export type Provider = 'anthropic' | 'openai';

/** Why the gateway answers a request itself instead of forwarding it. */
export type RefusalKind =
  /** The sandbox's budget cannot pay for a useful answer: the agent must stop, not retry. */
  | 'budget'
  /** The bearer of an unknown or revoked sandbox token. */
  | 'auth'
  /** No price for the model: fail closed rather than meter at $0. */
  | 'unknown_model'
  | 'bad_request'
  | 'not_found'
  | 'too_large'
  /** The upstream could not be reached or did not answer in time (clients retry these). */
  | 'upstream';

export interface Refusal {
  status: number;
  headers: Record<string, string>;
  body: string;
}

const ANTHROPIC: Record<RefusalKind, { status: number; type: string; retry: boolean }> = {
  // 402 + x-should-retry:false: Claude Code makes no further request and shows the message.
  budget: { status: 402, type: 'billing_error', retry: false },
  auth: { status: 401, type: 'authentication_error', retry: false },
  unknown_model: { status: 404, type: 'not_found_error', retry: false },
  bad_request: { status: 400, type: 'invalid_request_error', retry: false },
  not_found: { status: 404, type: 'not_found_error', retry: false },
  too_large: { status: 413, type: 'request_too_large', retry: false },
  upstream: { status: 502, type: 'api_error', retry: true },
};

const OPENAI: Record<RefusalKind, { status: number; type: string; code: string | null; retry: boolean }> = {
  // 429 + insufficient_quota: Codex and the OpenAI SDKs treat it as final (a 402 makes Codex retry).
  budget: { status: 429, type: 'insufficient_quota', code: 'insufficient_quota', retry: false },
  auth: { status: 401, type: 'invalid_request_error', code: 'invalid_api_key', retry: false },
  unknown_model: { status: 404, type: 'invalid_request_error', code: 'model_not_found', retry: false },
  bad_request: { status: 400, type: 'invalid_request_error', code: null, retry: false },
  not_found: { status: 404, type: 'invalid_request_error', code: null, retry: false },
  too_large: { status: 413, type: 'invalid_request_error', code: null, retry: false },
  upstream: { status: 502, type: 'server_error', code: null, retry: true },
};

/** An HTTP error response shaped like the provider's own, so agents handle it as they would the real one. */
export function refusal(provider: Provider, kind: RefusalKind, message: string): Refusal {
  if (provider === 'anthropic') {
    const shape = ANTHROPIC[kind];
    return {
      status: shape.status,
      headers: jsonHeaders(shape.retry),
      body: JSON.stringify({ type: 'error', error: { type: shape.type, message } }),
    };
  }
  const shape = OPENAI[kind];
  return {
    status: shape.status,
    headers: jsonHeaders(shape.retry),
    body: JSON.stringify({ error: { message, type: shape.type, param: null, code: shape.code } }),
  };
}

function jsonHeaders(retry: boolean): Record<string, string> {
  return { 'content-type': 'application/json', 'x-should-retry': String(retry) };
}

/** The terminal `error` event that ends an Anthropic stream cut at the budget. */
export function anthropicStreamError(message: string): string {
  return formatSse({ event: 'error', data: JSON.stringify({ type: 'error', error: { type: 'billing_error', message } }) });
}

/** The error chunk that ends a Chat Completions stream cut at the budget (the SDKs raise it as an API error). */
export function chatStreamError(message: string): string {
  return formatSse({ event: undefined, data: JSON.stringify({ error: { message, type: 'insufficient_quota', param: null, code: 'insufficient_quota' } }) });
}

/**
 * The `response.failed` event that ends a Responses stream cut at the budget; its
 * `insufficient_quota` code makes Codex stop instead of retrying.
 */
export function responsesStreamError(message: string, responseId: string | undefined, sequenceNumber: number): string {
  const response = {
    id: responseId ?? 'resp_caged_budget',
    object: 'response',
    status: 'failed',
    error: { code: 'insufficient_quota', message },
    incomplete_details: null,
    output: [],
    usage: null,
  };
  return formatSse({ event: 'response.failed', data: JSON.stringify({ type: 'response.failed', sequence_number: sequenceNumber, response }) });
}

import { describe, expect, it } from 'vitest';
import { anthropicStreamError, chatStreamError, refusal, responsesStreamError } from '../../../src/gateway/refusal.js';
import { SseParser } from '../../../src/gateway/sse.js';

describe('provider-shaped refusals', () => {
  it('Anthropic budget: 402 billing_error, x-should-retry false, the Messages error envelope', () => {
    const answer = refusal('anthropic', 'budget', 'caged: sandbox cage-1 budget limit reached ($4.99/$5.00)');
    expect(answer.status).toBe(402);
    expect(answer.headers['x-should-retry']).toBe('false');
    expect(JSON.parse(answer.body)).toEqual({ type: 'error', error: { type: 'billing_error', message: 'caged: sandbox cage-1 budget limit reached ($4.99/$5.00)' } });
  });

  it('OpenAI budget: 429 insufficient_quota in the OpenAI error envelope', () => {
    const answer = refusal('openai', 'budget', 'over');
    expect(answer.status).toBe(429);
    expect(answer.headers['x-should-retry']).toBe('false');
    expect(JSON.parse(answer.body)).toEqual({ error: { message: 'over', type: 'insufficient_quota', param: null, code: 'insufficient_quota' } });
  });

  it('unknown tokens get 401 in each provider shape; upstream trouble stays retryable', () => {
    expect(refusal('anthropic', 'auth', 'x').status).toBe(401);
    expect(JSON.parse(refusal('openai', 'auth', 'x').body).error.code).toBe('invalid_api_key');
    expect(refusal('openai', 'upstream', 'x').headers['x-should-retry']).toBe('true');
  });

  it('stream cut events parse as the providers send them', () => {
    const [anthropic] = new SseParser().push(anthropicStreamError('m'));
    expect(anthropic).toEqual({ event: 'error', data: JSON.stringify({ type: 'error', error: { type: 'billing_error', message: 'm' } }) });
    const [chat] = new SseParser().push(chatStreamError('m'));
    expect(JSON.parse(chat!.data).error.code).toBe('insufficient_quota');
    const [failed] = new SseParser().push(responsesStreamError('m', 'resp_1', 12));
    expect(failed!.event).toBe('response.failed');
    expect(JSON.parse(failed!.data)).toMatchObject({ type: 'response.failed', sequence_number: 12, response: { id: 'resp_1', status: 'failed', error: { code: 'insufficient_quota', message: 'm' } } });
  });
});

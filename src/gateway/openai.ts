import { DEFAULT_OUTPUT_CAP } from './estimate.js';
import { chatStreamError, responsesStreamError } from './refusal.js';
import { positiveInt, type JsonObject, type MeteredCall, type Route } from './route.js';
import { ChatStreamMeter, chatUsage, isChatUsageChunk, ResponsesStreamMeter, responsesUsage } from './usage.js';

/**
 * Tokens assumed for a conversation kept on OpenAI's side (`previous_response_id`, `conversation`):
 * the body does not show it, so the estimate takes a full GPT-5 context window.
 */
export const HIDDEN_CONTEXT_TOKENS = 400_000;

/** `POST /v1/responses`: metered; `max_output_tokens` (reasoning included) is clamped or added. */
export const openaiResponses: Route = {
  provider: 'openai',
  metered: true,
  parse(body) {
    if (typeof body.model !== 'string' || body.model === '') return { error: "Missing required parameter: 'model'." };
    // A background response is fetched later by id: its usage would bypass the gateway.
    if (body.background === true) return { error: 'caged: background responses cannot be metered; send the request without "background": true' };
    const serverState = typeof body.previous_response_id === 'string' || body.conversation !== undefined;
    const call: MeteredCall = {
      model: body.model,
      requestedOutput: positiveInt(body.max_output_tokens),
      hiddenInputTokens: serverState ? HIDDEN_CONTEXT_TOKENS : undefined,
      prepare: (outputTokens, clamped) => (clamped ? { ...body, max_output_tokens: outputTokens } : body),
      meter: () => new ResponsesStreamMeter(),
      usageOf: (answer) => responsesUsage((answer as JsonObject | null)?.usage),
      cutEvent(message, meter) {
        const responses = meter as ResponsesStreamMeter;
        return responsesStreamError(message, responses.responseId, responses.lastSequence + 1);
      },
    };
    return call;
  },
};

/**
 * `POST /v1/chat/completions`: metered; `max_completion_tokens` / `max_tokens` clamped (split
 * over `n` choices), and a stream asks for usage — the extra usage chunk is hidden from a client
 * that did not ask for it.
 */
export const openaiChatCompletions: Route = {
  provider: 'openai',
  metered: true,
  parse(body) {
    if (typeof body.model !== 'string' || body.model === '') return { error: "Missing required parameter: 'model'." };
    const choices = positiveInt(body.n) ?? 1;
    const perChoice = positiveInt(body.max_completion_tokens) ?? positiveInt(body.max_tokens);
    const streamOptions = typeof body.stream_options === 'object' && body.stream_options !== null ? (body.stream_options as JsonObject) : {};
    const injectUsage = body.stream === true && streamOptions.include_usage !== true;
    const call: MeteredCall = {
      model: body.model,
      requestedOutput: (perChoice ?? DEFAULT_OUTPUT_CAP) * choices,
      prepare(outputTokens, clamped) {
        const sent: JsonObject = { ...body };
        if (injectUsage) sent.stream_options = { ...streamOptions, include_usage: true };
        if (clamped) {
          const limit = Math.max(1, Math.floor(outputTokens / choices));
          // gpt-5 and the o-series reject max_tokens: add the current field unless the client used the old one.
          if (body.max_tokens !== undefined) sent.max_tokens = limit;
          if (body.max_completion_tokens !== undefined || body.max_tokens === undefined) sent.max_completion_tokens = limit;
        }
        return sent;
      },
      meter: () => new ChatStreamMeter(),
      usageOf: (answer) => chatUsage((answer as JsonObject | null)?.usage),
      hides: injectUsage ? isChatUsageChunk : undefined,
      cutEvent: (message) => chatStreamError(message),
    };
    return call;
  },
};

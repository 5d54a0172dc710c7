import { MIN_OUTPUT_TOKENS } from './estimate.js';
import { anthropicStreamError } from './refusal.js';
import { positiveInt, type JsonObject, type MeteredCall, type Route } from './route.js';
import { AnthropicStreamMeter, anthropicUsage } from './usage.js';

/** Extended thinking's smallest budget (the API rejects `budget_tokens` below it). */
const MIN_THINKING_TOKENS = 1024;

/** `POST /v1/messages`: metered; `max_tokens` is clamped, and a thinking budget with it. */
export const anthropicMessages: Route = {
  provider: 'anthropic',
  metered: true,
  parse(body) {
    if (typeof body.model !== 'string' || body.model === '') return { error: 'model: field required' };
    const model = body.model;
    const thinking = thinkingBudget(body);
    const call: MeteredCall = {
      model,
      requestedOutput: positiveInt(body.max_tokens),
      // The API needs max_tokens > budget_tokens >= 1024: room for a minimal thought and answer.
      minOutput: thinking === undefined ? undefined : MIN_THINKING_TOKENS + MIN_OUTPUT_TOKENS,
      prepare(outputTokens, clamped) {
        if (!clamped) return body;
        const sent: JsonObject = { ...body, max_tokens: outputTokens };
        if (thinking !== undefined && thinking >= outputTokens) {
          sent.thinking = { ...(body.thinking as JsonObject), budget_tokens: Math.max(MIN_THINKING_TOKENS, outputTokens - MIN_OUTPUT_TOKENS) };
        }
        return sent;
      },
      meter: () => new AnthropicStreamMeter(),
      usageOf: (answer) => anthropicUsage((answer as JsonObject | null)?.usage),
      cutEvent: (message) => anthropicStreamError(message),
    };
    return call;
  },
};

/** `POST /v1/messages/count_tokens` is free: passed through unmetered. */
export const anthropicCountTokens: Route = { provider: 'anthropic', metered: false };

function thinkingBudget(body: JsonObject): number | undefined {
  const thinking = body.thinking;
  if (typeof thinking !== 'object' || thinking === null) return undefined;
  const { type, budget_tokens: budget } = thinking as JsonObject;
  return type === 'enabled' ? positiveInt(budget) : undefined;
}

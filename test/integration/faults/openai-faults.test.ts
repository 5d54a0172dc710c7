import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chatUsage, responsesUsage } from '../../../src/gateway/usage.js';
import { costOf, createPriceBook } from '../../../src/pricing/price.js';
import type { FakeFault } from '../../support/fake-http.js';
import { openaiErrorBody, startFakeOpenAI, type FakeOpenAI, type OpenAIAnswer, type OpenAITurn } from '../../support/fake-openai.js';
import { bearer, post, REAL_OPENAI_KEY, startHarness, type Harness } from '../gateway/harness.js';

/**
 * Upstream faults for OpenAI callers (Codex uses Responses; SDK clients Chat Completions), at the
 * gateway: errors reach the client as OpenAI sent them and cost nothing; a slow or malformed
 * answer is charged its reported usage; a cut stream breaks the client's stream too (so it
 * retries) and is charged the gateway's estimate. The Anthropic side runs under the real Claude
 * Code in upstream-faults.test.ts.
 */

const prices = createPriceBook();
const USAGE = { input_tokens: 2000, cached_tokens: 500, output_tokens: 300 };

const FAULTS: Array<[string, FakeFault]> = [
  ['500', { kind: 'status', status: 500 }],
  ['429', { kind: 'status', status: 429, headers: { 'retry-after': '3' } }],
  ['slow headers', { kind: 'slow-headers', delayMs: 1500 }],
  ['cut mid-event', { kind: 'cut', afterEvents: 5 }],
  ['malformed SSE', { kind: 'malformed', afterEvents: 2 }],
];

const APIS = [
  { api: 'responses', path: '/v1/responses', body: { model: 'gpt-5', stream: true, store: false, input: [{ role: 'user', content: 'fix the bug' }] } },
  { api: 'chat', path: '/v1/chat/completions', body: { model: 'gpt-5', stream: true, messages: [{ role: 'user', content: 'fix the bug' }] } },
] as const;

function billed(answer: OpenAIAnswer): number {
  const { input_tokens, cached_tokens, output_tokens } = answer.usage!;
  const usage = answer.api === 'chat' ? chatUsage({ prompt_tokens: input_tokens, completion_tokens: output_tokens, prompt_tokens_details: { cached_tokens } }) : responsesUsage({ input_tokens, output_tokens, input_tokens_details: { cached_tokens } });
  return costOf(prices.lookup(answer.model)!, usage!);
}

describe('upstream faults through the gateway (OpenAI Responses and Chat Completions)', () => {
  let fake: FakeOpenAI;
  let harness: Harness;
  const turns = new Map<string, OpenAITurn>();
  let next = 0;

  beforeAll(async () => {
    // Each case's request names its sandbox in the prompt; the fake looks its turn up by that.
    fake = await startFakeOpenAI({ apiKey: REAL_OPENAI_KEY, respond: (request) => turns.get(/case (cage-[0-9a-f]+)/.exec(request.rawBody)?.[1] ?? '')! });
    harness = await startHarness({ openai: fake.url });
  });

  afterAll(async () => {
    await harness?.close();
    await fake?.close();
  });

  for (const { api, path, body } of APIS) {
    for (const [name, fault] of FAULTS) {
      it(`${api}: ${name}`, async () => {
        const id = `cage-0000f${String(next++).padStart(3, '0')}`;
        turns.set(id, { output: [{ type: 'message', text: 'The bug is fixed. '.repeat(8) }], usage: USAGE, fault });
        const token = harness.sandbox(id, 1_000_000);
        const request = JSON.parse(JSON.stringify(body).replace('fix the bug', `fix the bug (case ${id})`));
        const answer = await post(`${harness.url}${path}`, bearer(token), request);
        const upstream = fake.answers.find((candidate) => candidate.request.rawBody.includes(`case ${id}`))!;
        const spend = harness.ledger.snapshot(id);
        const events = harness.usage.filter((event) => event.sandboxId === id);
        expect(spend.reserved).toBe(0);

        if (fault.kind === 'status') {
          // The provider's error, status, shape and headers unchanged: the client's SDK decides about retries.
          expect(answer.status).toBe(fault.status);
          expect(JSON.parse(answer.text)).toEqual(openaiErrorBody(fault.status, `fake fault ${fault.status}`));
          if (fault.headers) expect(answer.headers.get('retry-after')).toBe(fault.headers['retry-after']);
          expect(spend.llm).toBe(0);
          expect(events).toEqual([]);
        } else if (fault.kind === 'cut') {
          expect(answer.status).toBe(200);
          expect(answer.broken).toBe(true);
          expect(events).toEqual([expect.objectContaining({ estimated: true })]);
          expect(spend.llm).toBe(events[0]!.cost);
          // No usage came: the estimate is the request's input estimate plus the output counted so far.
          expect(events[0]!.cost).toBeGreaterThan(0);
        } else {
          expect(answer.status).toBe(200);
          expect(answer.broken).toBe(false);
          if (fault.kind === 'malformed') expect(answer.text).toContain('oops');
          expect(events).toEqual([expect.objectContaining({ estimated: false })]);
          expect(spend.llm).toBe(billed(upstream));
        }
      });
    }
  }
});

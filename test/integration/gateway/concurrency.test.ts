import { afterEach, describe, expect, it } from 'vitest';
import { startFakeAnthropic, type AnthropicTurn, type FakeAnthropic } from '../../support/fake-anthropic.js';
import { anthropicHeaders, json, post, startHarness, type Answer, type Harness } from './harness.js';

let fake: FakeAnthropic | undefined;
let harness: Harness | undefined;

afterEach(async () => {
  await harness?.close();
  await fake?.close();
});

/** The tolerance: committed spend may pass the budget by at most max($0.01, 1 %). */
function tolerance(budget: number): number {
  return Math.max(10_000, Math.ceil(budget / 100));
}

type Outcome = 'completed' | 'refused' | 'cut';

function outcome(answer: Answer): Outcome {
  if (answer.status === 402) {
    expect(answer.headers.get('x-should-retry')).toBe('false');
    expect(JSON.parse(answer.text)).toMatchObject({ type: 'error', error: { type: 'billing_error', message: expect.stringContaining('budget limit reached') } });
    return 'refused';
  }
  expect(answer.status).toBe(200);
  const last = answer.events.at(-1)!;
  if (last.event === 'message_stop') return 'completed';
  expect(last.event).toBe('error');
  expect(json(last)).toMatchObject({ type: 'error', error: { type: 'billing_error' } });
  return 'cut';
}

async function run(budget: number, turn: AnthropicTurn, body: Record<string, unknown>): Promise<{ outcomes: Outcome[]; committed: number; harness: Harness }> {
  fake = await startFakeAnthropic({ respond: () => turn, deltaChars: 120, shape: { delayMs: 2 } });
  harness = await startHarness({ anthropic: fake.url });
  const token = harness.sandbox('cage-0000c0c0', budget);
  const answers = await Promise.all(Array.from({ length: 8 }, () => post(`${harness!.url}/v1/messages`, anthropicHeaders(token), body)));
  const snapshot = harness.ledger.snapshot('cage-0000c0c0');
  expect(snapshot.reserved).toBe(0);
  expect(snapshot.exceeded).toBe(true);
  return { outcomes: answers.map(outcome), committed: snapshot.committed, harness };
}

function requestBody(model: string, maxTokens: number): Record<string, unknown> {
  // ~3 kB of conversation: estimated at 1000 input tokens
  return { model, max_tokens: maxTokens, stream: true, messages: [{ role: 'user', content: 'p'.repeat(2900) }] };
}

describe('8 concurrent streams against a budget that affords about 3', () => {
  it('honest usage: three complete, the rest are refused, and spend stays within the budget', async () => {
    // 800 × $3 + 4000 × $15 = $0.0624 a call; the text is ~3 bytes a token, as the gateway counts
    const turn: AnthropicTurn = { content: [{ type: 'text', text: 'a'.repeat(11_400) }], usage: { input_tokens: 800, output_tokens: 4000 } };
    const budget = 200_000;
    const { outcomes, committed } = await run(budget, turn, requestBody('claude-sonnet-4-5', 4000));
    expect(outcomes.filter((o) => o === 'completed')).toHaveLength(3);
    expect(outcomes.filter((o) => o === 'refused')).toHaveLength(5);
    expect(committed).toBe(3 * 62_400);
    expect(committed).toBeLessThanOrEqual(budget + tolerance(budget));
    expect(fake!.answers).toHaveLength(3);
  });

  it('input somewhat larger than estimated: holds grow into the tolerance instead of cutting nearly-paid answers', async () => {
    // The real input (2500 tokens at $3 = $0.0075) costs more than its estimate (1000 tokens at the
    // $6 cache-write price = $0.006): 3 × $0.0675 passes $0.20 by $0.0025
    const turn: AnthropicTurn = { content: [{ type: 'text', text: 'b'.repeat(11_400) }], usage: { input_tokens: 2500, output_tokens: 4000 } };
    const budget = 200_000;
    const { outcomes, committed } = await run(budget, turn, requestBody('claude-sonnet-4-5', 4000));
    expect(outcomes.filter((o) => o === 'completed')).toHaveLength(3);
    expect(outcomes.filter((o) => o === 'refused')).toHaveLength(5);
    expect(committed).toBe(3 * 67_500);
    expect(committed).toBeLessThanOrEqual(budget + tolerance(budget));
  });

  it('input far larger than estimated: streams whose holds cannot grow are cut, and spend stays within tolerance', async () => {
    // 12000 real input tokens ($0.036) against a 1000-token estimate: no hold can grow by $0.03
    const turn: AnthropicTurn = { content: [{ type: 'text', text: 'b'.repeat(11_400) }], usage: { input_tokens: 12_000, output_tokens: 4000 } };
    const budget = 200_000;
    const { outcomes, committed, harness: used } = await run(budget, turn, requestBody('claude-sonnet-4-5', 4000));
    expect(outcomes.filter((o) => o === 'cut')).toHaveLength(3);
    expect(outcomes.filter((o) => o === 'refused')).toHaveLength(5);
    expect(committed).toBeLessThanOrEqual(budget + tolerance(budget));
    expect(committed).toBeGreaterThan(budget - 96_000);
    expect(used.usage.filter((event) => event.estimated).length).toBe(outcomes.filter((o) => o === 'cut').length);
  });

  it('Claude Code style max_tokens 128000 on Opus: clamped, not starved, and the budget holds', async () => {
    // 2000 × $25 + 1000 × $5 = $0.055 a call against $0.17
    const turn: AnthropicTurn = { content: [{ type: 'text', text: 'c'.repeat(5_700) }], usage: { input_tokens: 1000, output_tokens: 2000 } };
    const budget = 170_000;
    const { outcomes, committed } = await run(budget, turn, requestBody('claude-opus-4-6', 128_000));
    expect(outcomes.filter((o) => o === 'completed').length).toBeGreaterThanOrEqual(2);
    expect(outcomes.filter((o) => o !== 'completed').length).toBeGreaterThanOrEqual(4);
    expect(committed).toBeLessThanOrEqual(budget + tolerance(budget));
    for (const answer of fake!.answers) expect((answer.request.body as { max_tokens: number }).max_tokens).toBeLessThanOrEqual(128_000);
  });
});

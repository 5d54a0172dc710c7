import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UsageEvent } from '../../../src/gateway/gateway.js';
import { anthropicUsage } from '../../../src/gateway/usage.js';
import { costOf, createPriceBook } from '../../../src/pricing/price.js';
import { startFakeAnthropic, writeFileAgent, type FakeAnthropic } from '../../support/fake-anthropic.js';
import type { FakeFault, RecordedRequest } from '../../support/fake-http.js';
import { makeRepo, REAL_ANTHROPIC_KEY, settings, startEngine, type EngineHarness } from '../../support/engine-harness.js';

/**
 * The real Claude Code binary in sandboxes through the engine, while the provider misbehaves:
 * each sandbox's session meets one fault. Claude Code must get the provider's own answer (so it
 * retries or reports as it would against the real API), and the ledger must hold exactly what the
 * provider billed: nothing for errors, the reported usage for completed answers, the gateway's
 * estimate (reported input + counted output) for a stream that broke off.
 * The same faults for OpenAI callers, at the gateway level: openai-faults.test.ts.
 */

const prices = createPriceBook();
const USAGE = { input_tokens: 1000, output_tokens: 50 };

/** Fault name → what the provider does to the first request of that sandbox's session (or to all, `always`). */
const FAULTS: Record<string, { fault: FakeFault; always?: boolean }> = {
  'http-500': { fault: { kind: 'status', status: 500, headers: { 'x-should-retry': 'false' } }, always: true },
  'http-429': { fault: { kind: 'status', status: 429, headers: { 'retry-after': '0' } } },
  'slow-headers': { fault: { kind: 'slow-headers', delayMs: 2000 } },
  'cut-mid-event': { fault: { kind: 'cut', afterEvents: 4 } },
  'malformed-sse': { fault: { kind: 'malformed', afterEvents: 3 } },
};

/** The scenario a request belongs to: the prompt carries its marker into every request of the session. */
function scenarioOf(request: RecordedRequest): string | undefined {
  return Object.keys(FAULTS).find((name) => request.rawBody.includes(`[scenario ${name}]`));
}

describe('upstream faults under the real Claude Code in a sandbox', () => {
  let fake: FakeAnthropic;
  let harness: EngineHarness;
  const usage: UsageEvent[] = [];
  const outcomes = new Map<string, Awaited<ReturnType<EngineHarness['engine']['wait']>>>();
  const repos: string[] = [];

  beforeAll(async () => {
    const agent = writeFileAgent({ filePath: '/workspace/hello.txt', content: 'hello\n', finalText: 'Wrote hello.txt.', usage: USAGE });
    const faulted = new Set<string>();
    fake = await startFakeAnthropic({
      apiKey: REAL_ANTHROPIC_KEY,
      respond: async (request, index) => {
        const turn = await agent(request, index);
        const name = scenarioOf(request);
        if (!name || (faulted.has(name) && !FAULTS[name]!.always)) return turn;
        faulted.add(name);
        return { ...turn, fault: FAULTS[name]!.fault };
      },
    });
    harness = await startEngine({ upstreams: { anthropic: fake.url } });
    harness.engine.gateway.on('usage', (event) => usage.push(event));
    // One sandbox per fault, side by side.
    await Promise.all(
      Object.keys(FAULTS).map(async (name) => {
        const repo = makeRepo({ 'README.md': '# faults\n' });
        repos.push(repo);
        const created = await harness.engine.create({
          config: settings({ budget: 2_000_000 }),
          repo,
          prompt: `[scenario ${name}] Create hello.txt saying hello`,
          env: { ANTHROPIC_API_KEY: REAL_ANTHROPIC_KEY },
        });
        outcomes.set(name, await harness.engine.wait(created.id));
      }),
    );
  });

  afterAll(async () => {
    await harness?.close();
    await fake?.close();
    for (const dir of [...repos, harness?.stateRoot]) if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const answersOf = (name: string) => fake.answers.filter((answer) => scenarioOf(answer.request) === name);
  const exactCost = (name: string) => answersOf(name).reduce((sum, answer) => sum + (answer.usage ? costOf(prices.lookup(answer.model)!, anthropicUsage(answer.usage)!) : 0), 0);

  /** The ledger holds what the provider billed: exact for completed answers, the estimate for broken ones, no hold left. */
  function expectSpendCorrect(name: string, estimatedAnswers: number): void {
    const info = outcomes.get(name)!;
    const events = usage.filter((event) => event.sandboxId === info.id);
    const estimated = events.filter((event) => event.estimated);
    expect(estimated).toHaveLength(estimatedAnswers);
    expect(events.filter((event) => !event.estimated).reduce((sum, event) => sum + event.cost, 0)).toBe(exactCost(name));
    expect(info.cost.llm).toBe(exactCost(name) + estimated.reduce((sum, event) => sum + event.cost, 0));
    expect(harness.engine.ledger.has(info.id) ? harness.engine.ledger.snapshot(info.id).reserved : 0).toBe(0);
  }

  it('500 (x-should-retry: false): Claude Code reports the provider\'s error message, and nothing is charged', () => {
    const info = outcomes.get('http-500')!;
    expect(info.status).toBe('failed');
    expect(info.reason).toContain('API Error: 500 fake fault 500');
    expect(answersOf('http-500').every((answer) => answer.status === 500)).toBe(true);
    expect(info.cost.llm).toBe(0);
    expectSpendCorrect('http-500', 0);
  });

  it('429 with retry-after: Claude Code retries and completes; only the answers it got are charged', () => {
    const info = outcomes.get('http-429')!;
    expect(info.status, info.reason).toBe('completed');
    expect(info.final_message).toBe('Wrote hello.txt.');
    expect(answersOf('http-429')[0]!.status).toBe(429);
    expect(answersOf('http-429').length).toBeGreaterThanOrEqual(3);
    expectSpendCorrect('http-429', 0);
  });

  it('slow headers (2 s): the session waits and completes at the exact cost', () => {
    const info = outcomes.get('slow-headers')!;
    expect(info.status, info.reason).toBe('completed');
    expect(info.changes).toEqual({ files: 1, insertions: 1, deletions: 0 });
    expectSpendCorrect('slow-headers', 0);
  });

  it('a stream cut mid-event: the client stream breaks too, Claude Code retries, the cut answer is charged its estimate', () => {
    const info = outcomes.get('cut-mid-event')!;
    expect(info.status, info.reason).toBe('completed');
    expect(info.changes).toEqual({ files: 1, insertions: 1, deletions: 0 });
    expectSpendCorrect('cut-mid-event', 1);
    // The estimate: the input message_start reported, plus the output counted before the cut.
    const cut = usage.find((event) => event.sandboxId === info.id && event.estimated)!;
    expect(cut.usage.input).toBe(USAGE.input_tokens);
    expect(cut.usage.output).toBeGreaterThan(0);
    expect(cut.usage.output).toBeLessThanOrEqual(USAGE.output_tokens);
  });

  it('a malformed SSE event: passed through; the answer is still charged its reported usage', async () => {
    const info = outcomes.get('malformed-sse')!;
    expect(info.status, info.reason).toBe('completed');
    expect(await harness.engine.patch(info.id)).toContain('+hello');
    expectSpendCorrect('malformed-sse', 0);
  });
});

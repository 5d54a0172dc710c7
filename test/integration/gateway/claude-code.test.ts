import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startEgressProxy, type EgressDecision, type EgressProxy } from '../../../src/gateway/egress.js';
import { anthropicUsage } from '../../../src/gateway/usage.js';
import { costOf, createPriceBook } from '../../../src/pricing/price.js';
import { startFakeAnthropic, writeFileAgent, type AnthropicResponder, type FakeAnthropic } from '../../support/fake-anthropic.js';
import { agentDir, claudeBinary, removeAgentDirs, runAgent } from './agents.js';
import { REAL_ANTHROPIC_KEY, startHarness, type Harness } from './harness.js';

/**
 * The real Claude Code binary (pinned devDependency) as a host process, talking to the gateway,
 * whose upstream is the fake Anthropic server. A proxy that allows nothing stands in as
 * HTTP(S)_PROXY so any traffic Claude Code tried outside the gateway would be caught.
 */

const prices = createPriceBook();

interface Session {
  code: number | null;
  result: { total_cost_usd: number; num_turns: number; subtype: string; is_error: boolean; result: string; modelUsage: Record<string, unknown> };
  env: Record<string, string>;
  home: string;
  work: string;
  stray: EgressDecision[];
  stderr: string;
}

let fake: FakeAnthropic | undefined;
let harness: Harness | undefined;
let trap: EgressProxy | undefined;

afterEach(async () => {
  await harness?.close();
  await fake?.close();
  await trap?.close();
  removeAgentDirs();
  fake = undefined;
  harness = undefined;
  trap = undefined;
});

async function runClaude(respond: (work: string) => AnthropicResponder, budgetMicros: number, prepare?: (h: Harness) => void): Promise<Session> {
  const work = agentDir('caged-claude-work-');
  const home = agentDir('caged-claude-home-');
  fake = await startFakeAnthropic({ apiKey: REAL_ANTHROPIC_KEY, respond: respond(work) });
  harness = await startHarness({ anthropic: fake.url });
  const token = harness.sandbox('cage-0000cc01', budgetMicros);
  prepare?.(harness);
  const stray: EgressDecision[] = [];
  trap = await startEgressProxy({ host: '127.0.0.1', allowed: [], onDecision: (decision) => stray.push(decision) });
  const env = {
    PATH: '/usr/local/bin:/usr/bin:/bin',
    HOME: home,
    ANTHROPIC_BASE_URL: harness.url,
    ANTHROPIC_API_KEY: token,
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    HTTPS_PROXY: trap.url,
    HTTP_PROXY: trap.url,
    NO_PROXY: '127.0.0.1,localhost',
  };
  const run = await runAgent([claudeBinary(), '-p', 'Create hello.txt saying hello', '--output-format', 'json', '--dangerously-skip-permissions'], env, work);
  return { code: run.code, result: JSON.parse(run.stdout) as Session['result'], env, home, work, stray, stderr: run.stderr };
}

/** Every file under `dir` (Claude Code's HOME: settings, session transcripts). */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((name) => join(dir, name))
    .filter((path) => statSync(path).isFile());
}

const USAGE = { input_tokens: 1500, output_tokens: 120, cache_read_input_tokens: 40_000, cache_creation: { ephemeral_5m_input_tokens: 20_000, ephemeral_1h_input_tokens: 3000 } };
// $4 × 1500 + $5 × 20000 + $8 × 3000 + $0.20 × 40000 + $20 × 120 per Mtok (claude-opus-5-5, Claude Code's default model)
const TURN_COST = 6000 + 100_000 + 24_000 + 8000 + 2400;

describe('Claude Code through the gateway', () => {
  it('completes a multi-turn session with a Write tool call; the ledger is price × usage; the key never reaches Claude', async () => {
    const session = await runClaude((work) => writeFileAgent({ filePath: join(work, 'hello.txt'), content: 'hello\n', usage: USAGE }), 5_000_000);

    expect(session.code, session.stderr).toBe(0);
    expect(session.result).toMatchObject({ subtype: 'success', is_error: false, num_turns: 2, result: 'Done: the file is written.' });
    expect(readFileSync(join(session.work, 'hello.txt'), 'utf8')).toBe('hello\n');

    const calls = fake!.requests.filter((request) => request.path === '/v1/messages');
    expect(calls).toHaveLength(2);
    for (const call of calls) {
      expect(call.url).toBe('/v1/messages?beta=true');
      expect(call.body).toMatchObject({ model: 'claude-opus-5-5', stream: true, max_tokens: 128_000 });
      expect(call.headers['anthropic-beta']).toContain('claude-code-20250219');
    }

    // The ledger holds exactly the fake's usage priced by the table.
    const expected = fake!.answers.reduce((sum, answer) => sum + costOf(prices.lookup(answer.model)!, anthropicUsage(answer.usage)!), 0);
    expect(expected).toBe(2 * TURN_COST);
    expect(harness!.ledger.snapshot('cage-0000cc01')).toMatchObject({ llm: expected, reserved: 0, exceeded: false });
    expect(harness!.usage.every((event) => !event.estimated)).toBe(true);
    // Claude Code's own figure, recorded next to ours: its built-in table agrees for this model.
    expect(Math.round(session.result.total_cost_usd * 1_000_000)).toBe(expected);

    // The real key: at the fake in every request, set by the gateway; never in Claude's env, files or requests.
    const token = session.env.ANTHROPIC_API_KEY!;
    for (const request of fake!.requests) {
      expect(request.headers['x-api-key']).toBe(REAL_ANTHROPIC_KEY);
      expect(request.rawBody).not.toContain(REAL_ANTHROPIC_KEY);
      expect(JSON.stringify(request)).not.toContain(token);
    }
    expect(JSON.stringify(session.env)).not.toContain(REAL_ANTHROPIC_KEY);
    for (const file of [...filesUnder(session.home), ...filesUnder(session.work)]) expect(readFileSync(file, 'utf8'), file).not.toContain(REAL_ANTHROPIC_KEY);
    expect(session.stray).toEqual([]);
  });

  it('stops after one request with our message when the budget refuses it (402, x-should-retry: false)', async () => {
    const session = await runClaude((work) => writeFileAgent({ filePath: join(work, 'hello.txt'), content: 'hello\n', usage: USAGE }), 5_000_000, (h) => h.ledger.charge('cage-0000cc01', 'compute', 4_990_000));

    expect(session.code).toBe(1);
    expect(session.result.is_error).toBe(true);
    expect(session.result.result).toContain('402');
    expect(session.result.result).toContain('caged: sandbox cage-0000cc01 budget limit reached ($4.99/$5.00)');
    expect(fake!.requests).toHaveLength(0);
    expect(harness!.refused).toHaveLength(1);
    expect(harness!.ledger.snapshot('cage-0000cc01')).toMatchObject({ llm: 0, exceeded: true });
  });

  it('stops when the budget runs out mid-session: the first turn is charged, the second refused', async () => {
    // Claude Code's ~49 kB request is estimated at ~16.4k input tokens × $8 (1h cache writes) = $0.13;
    // with 1024 output tokens that fits $0.25, but after the first turn's $0.1404 it no longer does.
    const session = await runClaude((work) => writeFileAgent({ filePath: join(work, 'hello.txt'), content: 'hello\n', usage: USAGE }), 250_000);

    expect(session.code).toBe(1);
    expect(session.result.result).toContain('caged: sandbox cage-0000cc01 budget limit reached ($0.14/$0.25)');
    expect(fake!.answers).toHaveLength(1);
    expect((fake!.requests[0]!.body as { max_tokens: number }).max_tokens).toBeLessThan(128_000);
    expect(readFileSync(join(session.work, 'hello.txt'), 'utf8')).toBe('hello\n');
    expect(harness!.ledger.snapshot('cage-0000cc01')).toMatchObject({ llm: TURN_COST, exceeded: true, reserved: 0 });
    expect(Math.round(session.result.total_cost_usd * 1_000_000)).toBe(TURN_COST);
  });

  it('stops after a stream cut at the budget: the error event, one refused retry, our message', async () => {
    // An upstream that ignores max_tokens and streams ~20k tokens of text against a $0.25 budget
    const session = await runClaude(() => () => ({ content: [{ type: 'text', text: 'z'.repeat(60_000) }], usage: { input_tokens: 10, output_tokens: 1 } }), 250_000);

    expect(session.code).toBe(1);
    expect(session.result.result).toContain('caged: sandbox cage-0000cc01 budget limit reached');
    expect(fake!.requests).toHaveLength(1);
    expect(harness!.refused.map((event) => event.reason)).toEqual([expect.stringContaining('answer cut'), expect.stringContaining('budget limit reached')]);
    const snapshot = harness!.ledger.snapshot('cage-0000cc01');
    expect(snapshot).toMatchObject({ exceeded: true, reserved: 0 });
    expect(snapshot.llm).toBeLessThanOrEqual(250_000 + 10_000);
  });
});

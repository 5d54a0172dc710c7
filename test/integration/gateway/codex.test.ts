import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Docker from 'dockerode';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startEgressProxy, type EgressDecision, type EgressProxy } from '../../../src/gateway/egress.js';
import { Gateway, type GatewayListener } from '../../../src/gateway/gateway.js';
import { responsesUsage } from '../../../src/gateway/usage.js';
import { Ledger } from '../../../src/ledger/ledger.js';
import { costOf, createPriceBook } from '../../../src/pricing/price.js';
import { createSandboxNetwork, removeSandboxNetwork } from '../../../src/sandbox/networks.js';
import { currentOwner } from '../../../src/sandbox/owner.js';
import { LABELS, type SandboxNetwork } from '../../../src/sandbox/types.js';
import { shellCommandAgent, startFakeOpenAI, type FakeOpenAI, type OpenAIResponder } from '../../support/fake-openai.js';
import { agentDir, CODEX_BINARY, removeAgentDirs, runInContainer, type ContainerRun } from './agents.js';
import { REAL_OPENAI_KEY } from './harness.js';

/**
 * The real Codex binary, in a hardened container on an internal Docker network (REFERENCE: Codex
 * looks up public hosts unless told not to, so it only runs where such lookups go nowhere),
 * talking to the gateway on the network's gateway IP; the gateway's upstream is the fake
 * Responses server. A proxy allowing nothing catches any other traffic.
 */

const IMAGE = 'caged/base:bookworm';
const docker = new Docker();
const prices = createPriceBook();
const sandboxId = `cage-${randomBytes(4).toString('hex')}`;
const labels = { [LABELS.managed]: 'true', [LABELS.id]: sandboxId, [LABELS.owner]: currentOwner(), [LABELS.expiresAt]: new Date(Date.now() + 3_600_000).toISOString() };
let network: SandboxNetwork;

let fake: FakeOpenAI | undefined;
let gateway: Gateway | undefined;
let trap: EgressProxy | undefined;

beforeAll(async () => {
  network = await createSandboxNetwork(docker, sandboxId, 'gateway', labels);
});

afterAll(async () => {
  await removeSandboxNetwork(docker, sandboxId);
});

afterEach(async () => {
  await trap?.close();
  await gateway?.close();
  await fake?.close();
  removeAgentDirs();
});

interface CodexSession {
  run: ContainerRun;
  ledger: Ledger;
  token: string;
  work: string;
  stray: EgressDecision[];
  refused: string[];
  /** Codex's own `turn.completed` usage events. */
  turns: Array<{ input_tokens: number; cached_input_tokens: number; output_tokens: number }>;
}

async function runCodex(respond: OpenAIResponder, budgetMicros: number, prepare?: (ledger: Ledger) => void): Promise<CodexSession> {
  fake = await startFakeOpenAI({ apiKey: REAL_OPENAI_KEY, respond });
  const ledger = new Ledger();
  gateway = new Gateway({ ledger, prices, upstreams: { openai: fake.url, anthropic: fake.url } });
  const listener: GatewayListener = await gateway.listen(network.gatewayIp!);
  ledger.open(sandboxId, budgetMicros);
  prepare?.(ledger);
  const { token } = gateway.register(sandboxId, { keys: { openaiApiKey: REAL_OPENAI_KEY } });
  const refused: string[] = [];
  gateway.on('refused', (event) => refused.push(event.reason));
  const stray: EgressDecision[] = [];
  trap = await startEgressProxy({ host: network.gatewayIp!, allowed: [], onDecision: (decision) => stray.push(decision) });
  const work = agentDir('caged-codex-work-');
  const run = await runInContainer(docker, {
    image: IMAGE,
    network: network.name!,
    binary: CODEX_BINARY,
    work,
    labels,
    env: { HOME: '/tmp/home', OPENAI_API_KEY: token, HTTPS_PROXY: trap.url, HTTP_PROXY: trap.url, NO_PROXY: network.gatewayIp! },
    argv: [
      'exec',
      '--json',
      '--skip-git-repo-check',
      '--dangerously-bypass-approvals-and-sandbox',
      '--disable',
      'plugins',
      '-c',
      'analytics.enabled=false',
      '-c',
      'model_provider=gateway',
      '-c',
      'model_providers.gateway.name=gateway',
      '-c',
      `model_providers.gateway.base_url=${listener.url}/v1`,
      '-c',
      'model_providers.gateway.env_key=OPENAI_API_KEY',
      '-c',
      'model_providers.gateway.wire_api=responses',
      '-m',
      'gpt-5',
      'Create hello.txt saying hello',
    ],
  });
  const turns = run.stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { type: string; usage?: CodexSession['turns'][number] })
    .flatMap((event) => (event.type === 'turn.completed' && event.usage ? [event.usage] : []));
  return { run, ledger, token, work, stray, refused, turns };
}

const USAGE = { input_tokens: 6000, cached_tokens: 4096, output_tokens: 300, reasoning_tokens: 128 };

describe('Codex through the gateway', () => {
  it('completes a run that writes a file with its shell tool; the ledger is price × usage; the key stays outside', async () => {
    const session = await runCodex(shellCommandAgent({ command: "printf 'hello\\n' > hello.txt", finalText: 'Created hello.txt.', usage: USAGE }), 5_000_000);

    expect(session.run.code, session.run.stderr).toBe(0);
    expect(readFileSync(join(session.work, 'hello.txt'), 'utf8')).toBe('hello\n');
    expect(fake!.requests.length).toBe(2);
    for (const request of fake!.requests) {
      expect(request.path).toBe('/v1/responses');
      expect(request.body).toMatchObject({ model: 'gpt-5', stream: true, store: false });
      expect(request.headers.authorization).toBe(`Bearer ${REAL_OPENAI_KEY}`);
      expect(JSON.stringify(request)).not.toContain(session.token);
    }
    const expected = fake!.answers.reduce((sum, answer) => sum + costOf(prices.lookup(answer.model)!, responsesUsage({ input_tokens: answer.usage!.input_tokens, output_tokens: answer.usage!.output_tokens, input_tokens_details: { cached_tokens: answer.usage!.cached_tokens } })!), 0);
    // 2 × (1904 × $1.25 + 4096 × $0.125 + 300 × $10) per Mtok
    expect(expected).toBe(2 * (2380 + 512 + 3000));
    expect(session.ledger.snapshot(sandboxId)).toMatchObject({ llm: expected, reserved: 0, exceeded: false });
    // Codex reports tokens, never a cost: its token counts agree with what was charged.
    expect(session.turns).toHaveLength(1);
    expect(session.turns[0]).toMatchObject({ input_tokens: 2 * 6000, cached_input_tokens: 2 * 4096, output_tokens: 2 * 300 });
    expect(session.stray).toEqual([]);
  });

  it('stops after one request when the budget refuses it (429 insufficient_quota)', async () => {
    const session = await runCodex(shellCommandAgent({ command: 'true' }), 1_000_000, (ledger) => ledger.charge(sandboxId, 'compute', 995_000));

    expect(session.run.code).not.toBe(0);
    expect(fake!.requests).toHaveLength(0);
    expect(session.refused).toHaveLength(1);
    expect(session.refused[0]).toContain(`caged: sandbox ${sandboxId} budget limit reached ($1.00/$1.00)`);
    // Codex shows its own text for insufficient_quota, not the error message: the reason is the gateway's to report.
    expect(session.run.stdout).toContain('"type":"turn.failed","error":{"message":"Quota exceeded. Check your plan and billing details."}');
    expect(session.ledger.snapshot(sandboxId)).toMatchObject({ llm: 0, exceeded: true });
  });

  it('stops after a stream cut at the budget with response.failed (insufficient_quota)', async () => {
    // An upstream that ignores max_output_tokens, against a $0.05 budget
    const session = await runCodex(() => ({ output: [{ type: 'message', text: 'q'.repeat(30_000) }], usage: { input_tokens: 100, output_tokens: 1 } }), 50_000);

    expect(session.run.code).not.toBe(0);
    expect(fake!.requests).toHaveLength(1);
    expect(session.refused[0]).toContain('answer cut');
    expect(session.refused).toHaveLength(1);
    expect(session.run.stdout).toContain('"type":"turn.failed"');
    const snapshot = session.ledger.snapshot(sandboxId);
    expect(snapshot).toMatchObject({ exceeded: true, reserved: 0 });
    expect(snapshot.llm).toBeLessThanOrEqual(50_000 + 10_000);
  });
});

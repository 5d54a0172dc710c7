import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import pLimit from 'p-limit';
import { mergeLayers } from '../src/config/schema.js';
import { createLocalEngine } from '../src/engine/create.js';
import type { LocalEngine } from '../src/engine/local-engine.js';
import { toleranceFor } from '../src/gateway/estimate.js';
import { Gateway } from '../src/gateway/gateway.js';
import { Ledger } from '../src/ledger/ledger.js';
import { LABELS } from '../src/sandbox/types.js';
import { NdjsonSplitter } from '../src/sandbox/events.js';
import { startFakeAnthropic, type AnthropicTurn } from '../test/support/fake-anthropic.js';
import type { RecordedRequest } from '../test/support/fake-http.js';
import { startFakeOpenAI, type OpenAITurn } from '../test/support/fake-openai.js';
import { caseSeed, Random } from '../test/unit/fuzz/random.js';
import { call, keepAliveAgent } from './support/client.js';
import { figure, type BenchResult } from './support/figures.js';
import { table } from './support/markdown.js';
import { percentile, round, summarize, wallMs } from './support/stats.js';

/**
 * Budget precision: seeded random agent workloads against budgets of $0.01–$5, each trial one
 * sandbox account with 1–16 streams in flight, through caged's gateway to the fake providers, until
 * the budget stops the agent. Overshoot = final spend − budget. A subset runs in real sandboxes
 * through the engine, timing the kill from the ledger's `exceeded` event to Docker's `die` event.
 */

const KEYS = { anthropic: 'sk-ant-bench-precision', openai: 'sk-proj-bench-precision' };
const MODELS = { anthropic: ['claude-opus-4-5', 'claude-sonnet-4-5', 'claude-haiku-4-5'], openai: ['gpt-5', 'gpt-5.2', 'gpt-5-mini'] };
const MAX_TOKENS = [1024, 4096, 8192, 16_000, 32_000, 64_000];
const REQUEST_CAP = 400;
const WORDS = 'the agent edits the file and runs the tests again before it answers ';

/** What the provider does with one request (drawn from the trial's seed, applied by the fake). */
interface TurnSpec {
  /** All input tokens, as a fraction of the request's bytes / 4. */
  inputFactor: number;
  cacheRead: number;
  cacheWrite: number;
  cacheWrite1h: boolean;
  outputWanted: number;
  /** The upstream ignores max_tokens and streams all it wanted (the gateway must cut it). */
  runaway: boolean;
}

interface TrialPlan {
  index: number;
  seed: number;
  budget: number;
  concurrency: number;
  provider: 'anthropic' | 'openai';
  model: string;
  engine: boolean;
}

export interface TrialResult extends Omit<TrialPlan, 'seed'> {
  seed: number;
  spent: number;
  overshoot: number;
  tolerance: number;
  requests: number;
  completed: number;
  refused: number;
  cut: number;
  broken: number;
  reserved_after: number;
  status?: string;
  kill_ms?: number;
}

function planTrial(seed: number, index: number, engine: boolean): TrialPlan {
  const random = new Random(caseSeed(seed, index));
  const provider = random.chance(0.75) ? 'anthropic' : 'openai';
  return {
    index,
    seed: caseSeed(seed, index),
    budget: Math.floor(random.logUniform(0.01, 5) * 1_000_000),
    concurrency: random.int(1, 16),
    provider,
    model: random.pick(MODELS[provider]),
    engine,
  };
}

function turnSpec(random: Random, maxTokens: number): TurnSpec {
  return {
    inputFactor: 0.6 + random.next() * 0.9,
    cacheRead: random.chance(0.6) ? random.next() * 0.9 : 0,
    cacheWrite: random.chance(0.4) ? random.next() * 0.3 : 0,
    cacheWrite1h: random.chance(0.3),
    outputWanted: Math.round(random.logUniform(20, maxTokens * 1.5)),
    runaway: random.chance(0.1),
  };
}

function text(tokens: number): string {
  return WORDS.repeat(Math.ceil((tokens * 4) / WORDS.length)).slice(0, tokens * 4);
}

/** Transport errors seen by the agents (reported: the gateway should not cause any). */
const errors = new Set<string>();

/** The fakes look each request's spec up by a header the client sets (the gateway passes it through). */
const specs = new Map<string, TurnSpec>();

function specOf(request: RecordedRequest): TurnSpec {
  const key = request.headers['x-bench-turn'];
  const spec = typeof key === 'string' ? specs.get(key) : undefined;
  if (!spec) throw new Error('request without a bench turn');
  specs.delete(key as string);
  return spec;
}

function anthropicTurn(request: RecordedRequest): AnthropicTurn {
  const spec = specOf(request);
  const body = request.body as { max_tokens: number };
  const total = Math.round((request.rawBody.length / 4) * spec.inputFactor);
  const read = Math.round(total * spec.cacheRead);
  const write = Math.round(total * spec.cacheWrite);
  const shown = spec.runaway ? spec.outputWanted : Math.min(spec.outputWanted, body.max_tokens);
  return {
    content: [{ type: 'text', text: text(shown) }],
    usage: {
      input_tokens: Math.max(1, total - read - write),
      cache_read_input_tokens: read,
      cache_creation: spec.cacheWrite1h ? { ephemeral_1h_input_tokens: write } : { ephemeral_5m_input_tokens: write },
      output_tokens: spec.outputWanted,
    },
  };
}

function openaiTurn(request: RecordedRequest): OpenAITurn {
  const spec = specOf(request);
  const body = request.body as { max_output_tokens?: number };
  const total = Math.round((request.rawBody.length / 4) * spec.inputFactor);
  const shown = spec.runaway || body.max_output_tokens === undefined ? spec.outputWanted : Math.min(spec.outputWanted, body.max_output_tokens);
  return { output: [{ type: 'message', text: text(shown) }], usage: { input_tokens: total, cached_tokens: Math.round(total * spec.cacheRead), output_tokens: spec.outputWanted } };
}

interface Target {
  url: string;
  token: string;
}

/** The agents of one trial: `concurrency` workers sending requests until the budget stops them. */
async function drive(plan: TrialPlan, target: Target): Promise<Pick<TrialResult, 'requests' | 'completed' | 'refused' | 'cut' | 'broken'>> {
  const dispatcher = keepAliveAgent(plan.concurrency);
  const counts = { requests: 0, completed: 0, refused: 0, cut: 0, broken: 0 };
  const anthropic = plan.provider === 'anthropic';
  const worker = async (w: number) => {
    for (let k = 0; counts.requests < REQUEST_CAP; k += 1) {
      const random = new Random(caseSeed(plan.seed, w * 10_000 + k + 1));
      const maxTokens = random.pick(MAX_TOKENS);
      const prompt = 'x'.repeat(Math.round(random.logUniform(2_000, 120_000)));
      const key = `${plan.seed}/${w}/${k}`;
      specs.set(key, turnSpec(random, maxTokens));
      const body = anthropic
        ? { model: plan.model, max_tokens: maxTokens, stream: true, messages: [{ role: 'user', content: prompt }] }
        : { model: plan.model, stream: true, store: false, input: [{ role: 'user', content: prompt }] };
      const headers: Record<string, string> = anthropic ? { 'x-api-key': target.token, 'anthropic-version': '2023-06-01' } : { authorization: `Bearer ${target.token}` };
      counts.requests += 1;
      const outcome = await call(dispatcher, `${target.url}${anthropic ? '/v1/messages' : '/v1/responses'}`, { ...headers, 'x-bench-turn': key }, JSON.stringify(body), { parse: true });
      specs.delete(key);
      const last = outcome.events.at(-1);
      if (outcome.status === 0) {
        // No gateway to talk to: in a sandbox, it was killed and its listener closed with it.
        counts.broken += 1;
        errors.add(`${plan.engine ? 'in a sandbox (after its kill)' : 'gateway'}: ${outcome.error ?? 'no answer'}`);
        return;
      }
      if (outcome.status !== 200) {
        // 402/429: the budget refused; an agent stops there (Claude Code and Codex do).
        counts.refused += 1;
        return;
      }
      if (outcome.broken) {
        counts.broken += 1;
      } else if (last?.event === 'error' || last?.event === 'response.failed') {
        // Cut at the budget: Claude Code tries once more, and stops when that is refused.
        counts.cut += 1;
      } else {
        counts.completed += 1;
      }
    }
  };
  await Promise.all(Array.from({ length: plan.concurrency }, (_, w) => worker(w)));
  await dispatcher.close();
  return counts;
}

function result(plan: TrialPlan, spent: number, reserved: number, counts: Awaited<ReturnType<typeof drive>>): TrialResult {
  return { ...plan, spent, overshoot: spent - plan.budget, tolerance: toleranceFor(plan.budget), reserved_after: reserved, ...counts };
}

/** Real sandboxes: each trial's agents talk to its sandbox's gateway listener; the kill is timed from the ledger to Docker. */
async function engineTrials(plans: TrialPlan[], upstreams: { anthropic: string; openai: string }): Promise<TrialResult[]> {
  const stateRoot = mkdtempSync(join(tmpdir(), 'caged-bench-engine-'));
  const runId = `bench-precision-${process.pid}`;
  const docker = new Docker();
  const engine: LocalEngine = await createLocalEngine({ stateRoot, upstreams, labels: { [LABELS.run]: runId }, log: () => undefined });
  const exceededAt = new Map<string, number>();
  const diedAt = new Map<string, number>();
  engine.ledger.on('exceeded', (event) => exceededAt.set(event.sandboxId, wallMs()));
  const events = (await docker.getEvents({ filters: { type: ['container'], event: ['die'], label: [`${LABELS.run}=${runId}`] } })) as NodeJS.ReadableStream & { destroy(): void };
  const splitter = new NdjsonSplitter();
  events.on('data', (chunk: Buffer) => {
    for (const value of splitter.push(chunk)) {
      const message = value as { timeNano?: number; Actor?: { Attributes?: Record<string, string> } };
      const attributes = message.Actor?.Attributes ?? {};
      if (attributes[LABELS.role] || !attributes[LABELS.id] || !message.timeNano) continue;
      diedAt.set(attributes[LABELS.id]!, message.timeNano / 1e6);
    }
  });
  try {
    const limit = pLimit(4);
    return await Promise.all(
      plans.map((plan) =>
        limit(async () => {
          const created = await engine.create({
            config: mergeLayers({ budget: plan.budget, resources: { cpu: 0.5, memory: 256 } }),
            command: { argv: ['sleep', '600'] },
            env: { ANTHROPIC_API_KEY: KEYS.anthropic, OPENAI_API_KEY: KEYS.openai },
          });
          await waitRunning(engine, created.id);
          const env = (await docker.getContainer(created.id).inspect()).Config.Env;
          const read = (name: string) => env.find((entry) => entry.startsWith(`${name}=`))!.slice(name.length + 1);
          const counts = await drive(plan, { url: read('ANTHROPIC_BASE_URL'), token: read('ANTHROPIC_API_KEY') });
          const info = await engine.wait(created.id);
          // Streams cut off by the kill are still read to their end and charged: wait for their holds to go.
          const snapshot = await settled(engine.ledger, created.id);
          const trial = result(plan, snapshot.committed, snapshot.reserved, counts);
          trial.status = info.status;
          await waitFor(() => diedAt.has(created.id) || info.status !== 'killed', 10_000);
          if (exceededAt.has(created.id) && diedAt.has(created.id)) trial.kill_ms = round(diedAt.get(created.id)! - exceededAt.get(created.id)!, 1);
          await engine.destroy(created.id, { force: true });
          return trial;
        }),
      ),
    );
  } finally {
    events.destroy();
    await engine.close();
    rmSync(stateRoot, { recursive: true, force: true });
  }
}

/** The account once no hold is left (every call in flight committed or released), or after 30 s. */
async function settled(ledger: Ledger, id: string) {
  await waitFor(() => ledger.snapshot(id).reserved === 0, 30_000);
  return ledger.snapshot(id);
}

async function waitRunning(engine: LocalEngine, id: string): Promise<void> {
  await waitFor(async () => {
    const info = await engine.get(id);
    if (info.status !== 'creating' && info.status !== 'running') throw new Error(`sandbox ${id} ${info.status}: ${info.reason}`);
    return info.status === 'running';
  }, 60_000);
}

async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check()) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
}

export async function benchPrecision(options: { seed: number; quick: boolean }): Promise<BenchResult> {
  const started = Date.now();
  errors.clear();
  const gatewayTrials = options.quick ? 60 : 200;
  const sandboxTrials = options.quick ? 8 : 20;
  const anthropic = await startFakeAnthropic({ deltaChars: 400, respond: anthropicTurn });
  const openai = await startFakeOpenAI({ deltaChars: 400, respond: openaiTurn });
  // The fakes record every request; these runs send thousands of large ones.
  const forget = setInterval(() => {
    for (const fake of [anthropic, openai]) {
      fake.requests.length = 0;
      fake.answers.length = 0;
    }
  }, 500);
  const upstreams = { anthropic: anthropic.url, openai: openai.url };
  const ledger = new Ledger();
  const gateway = new Gateway({ ledger, upstreams });
  const listener = await gateway.listen('127.0.0.1');
  let trials: TrialResult[];
  try {
    const limit = pLimit(4);
    const viaGateway = Promise.all(
      Array.from({ length: gatewayTrials }, (_, index) => planTrial(options.seed, index, false)).map((plan) =>
        limit(async () => {
          const id = `cage-${(0xb0000000 + plan.index).toString(16)}`;
          ledger.open(id, plan.budget);
          const { token } = gateway.register(id, { keys: { anthropicApiKey: KEYS.anthropic, openaiApiKey: KEYS.openai } });
          const counts = await drive(plan, { url: listener.url, token });
          const snapshot = await settled(ledger, id);
          return result(plan, snapshot.committed, snapshot.reserved, counts);
        }),
      ),
    );
    const inSandboxes = engineTrials(
      Array.from({ length: sandboxTrials }, (_, index) => planTrial(options.seed, gatewayTrials + index, true)),
      upstreams,
    );
    trials = [...(await viaGateway), ...(await inSandboxes)];
  } finally {
    clearInterval(forget);
    await gateway.close();
    await anthropic.close();
    await openai.close();
  }

  const overshoots = trials.map((trial) => Math.max(0, trial.overshoot));
  const ratios = trials.map((trial) => Math.max(0, trial.overshoot) / trial.tolerance);
  const worst = trials.reduce((a, b) => (Math.max(0, b.overshoot) / b.tolerance > Math.max(0, a.overshoot) / a.tolerance ? b : a));
  const kills = trials.filter((trial) => trial.kill_ms !== undefined).map((trial) => trial.kill_ms!);
  const over = trials.filter((trial) => trial.overshoot > trial.tolerance);
  const spentShare = summarize(trials.map((trial) => trial.spent / trial.budget));
  const killSummary = summarize(kills);
  const figures = [
    figure({
      id: 'precision.overshoot_over_tolerance.max',
      label: 'Max overshoot ÷ tolerance (tolerance = max($0.01, 1 % of budget))',
      value: round(Math.max(...ratios), 3),
      unit: '×',
      target: 1,
      better: 'lower',
      how: `${trials.length} trials; worst: $${(worst.overshoot / 1e6).toFixed(6)} over a $${(worst.budget / 1e6).toFixed(2)} budget`,
      plan: 'Find the trial (seed in results.json) and replay it; the overshoot comes from holds grown into the overdraft or events past the cut.',
    }),
    figure({ id: 'precision.overshoot_over_tolerance.p99', label: 'p99 overshoot ÷ tolerance', value: round(summarize(ratios).p99, 3), unit: '×', target: 1, better: 'lower', how: 'per-trial overshoot (0 when under budget) ÷ its tolerance, 99th percentile', plan: 'As for the maximum.' }),
    figure({ id: 'precision.trials_over_tolerance', label: 'Trials over tolerance', value: over.length, unit: 'trials', target: 0, better: 'lower', how: `of ${trials.length}`, plan: 'As for the maximum.' }),
    figure({
      id: 'precision.kill_ms.p99',
      label: 'Budget crossed → container dead, p99',
      value: round(killSummary.p99, 1),
      unit: 'ms',
      target: 1000,
      better: 'lower',
      how: `${kills.length} real sandboxes: ledger \`exceeded\` event → Docker \`die\` event`,
      plan: 'The kill is one Docker API call (SIGKILL); if it is slow, the daemon is: measure `docker kill` alone on the machine and compare.',
    }),
  ];
  const details = {
    overshoot_usd: { p50: round(summarize(overshoots).p50 / 1e6, 6), p99: round(summarize(overshoots).p99 / 1e6, 6), max: round(Math.max(...overshoots) / 1e6, 6) },
    spend_share_of_budget: { p10: round(percentile(trials.map((t) => t.spent / t.budget), 10), 3), p50: round(spentShare.p50, 3), max: round(spentShare.max, 3) },
    kill_ms: { n: killSummary.n, p50: round(killSummary.p50, 1), p99: round(killSummary.p99, 1), max: round(killSummary.max, 1) },
    sandbox_statuses: Object.fromEntries([...new Set(trials.filter((t) => t.engine).map((t) => t.status))].map((status) => [status, trials.filter((t) => t.status === status).length])),
    transport_errors: [...errors],
    holds_left_after_trials: trials.filter((trial) => trial.reserved_after !== 0).length,
    requests: { total: trials.reduce((sum, t) => sum + t.requests, 0), completed: trials.reduce((sum, t) => sum + t.completed, 0), cut: trials.reduce((sum, t) => sum + t.cut, 0), refused: trials.reduce((sum, t) => sum + t.refused, 0), broken: trials.reduce((sum, t) => sum + t.broken, 0) },
    trials,
  };
  return {
    name: 'precision',
    title: 'Budget precision',
    command: `npm run bench -- --only precision --seed ${options.seed}${options.quick ? ' --quick' : ''}`,
    duration_s: round((Date.now() - started) / 1000, 1),
    figures,
    method:
      `${gatewayTrials} trials through the gateway (4 at a time) and ${sandboxTrials} in real sandboxes through the engine (4 at a time). Each trial draws, from its seed: a budget ` +
      '(log-uniform $0.01–$5), 1–16 concurrent streaming agents, a provider and model (75 % Anthropic: Opus/Sonnet/Haiku 4.5; 25 % OpenAI Responses: GPT-5/5.2/5-mini). ' +
      'Each request draws its size (2–120 kB, log-uniform), max_tokens (1k–64k), the usage the provider reports (input 0.6–1.5× bytes/4, cache reads and 5m/1h writes, ' +
      'output log-uniform up to 1.5× max_tokens) and, for 10 % of requests, an upstream that ignores max_tokens. Agents go on after a cut stream and stop when refused (402/429), as Claude Code does; ' +
      `a trial ends when all have stopped (or after ${REQUEST_CAP} requests). Overshoot = ledger spend − budget (spend includes compute in sandboxes). ` +
      'Inputs are seeded; the interleaving of concurrent streams is not, so reruns differ slightly.',
    details,
    detailsMarkdown: [
      table(
        ['measure', 'value'],
        [
          ['trials', trials.length],
          ['overshoot p50 / p99 / max', `$${details.overshoot_usd.p50} / $${details.overshoot_usd.p99} / $${details.overshoot_usd.max}`],
          ['kill latency p50 / p99 / max (sandboxes)', `${details.kill_ms.p50} / ${details.kill_ms.p99} / ${details.kill_ms.max} ms (n = ${details.kill_ms.n})`],
          ['sandbox outcomes', Object.entries(details.sandbox_statuses).map(([status, n]) => `${n} ${status}`).join(', ')],
          ['share of the budget spent when the agents stopped, p10 / p50 / max', `${details.spend_share_of_budget.p10} / ${details.spend_share_of_budget.p50} / ${details.spend_share_of_budget.max}`],
          ['requests: total / completed / cut at the budget / refused / broken', Object.values(details.requests).join(' / ')],
          ['holds left in the ledger after a trial', details.holds_left_after_trials],
          ['transport errors seen by agents', details.transport_errors.length > 0 ? details.transport_errors.join('; ') : 'none'],
        ],
      ),
      'A spend share below 1 is budget the agents did not get to use. A request is refused (and the sandbox ends) once what is left cannot pay its input, ' +
        'estimated from its size at the dearest input rate (1-hour cache writes), plus 1,024 output tokens; so a small budget meeting a large request spends little ' +
        'or nothing, and a heavily cached conversation is stopped while its real next call (mostly cache reads) would still fit. That is the price of never ' +
        'overshooting; a per-sandbox estimate from the cache split the provider reported on earlier calls would narrow it. Per-trial rows (seed, budget, model, ' +
        'concurrency, spend) are in results.json.',
    ].join('\n\n'),
  };
}


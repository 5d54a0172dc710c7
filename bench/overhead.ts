import { availableParallelism } from 'node:os';
import { call, keepAliveAgent, type Outcome } from './support/client.js';
import { figure, type BenchResult } from './support/figures.js';
import { table } from './support/markdown.js';
import { startServer } from './support/processes.js';
import { round, summarize } from './support/stats.js';

/**
 * Gateway overhead: the same fake Anthropic API called directly and through the gateway, 16
 * requests in flight, streamed and not. Client, gateway and fake each run in their own process
 * (as in production, where the agent, caged and the provider are apart); the rounds alternate
 * direct and gateway so that drift in the machine's load hits both alike.
 */

const CONCURRENCY = 16;
const KEY = 'sk-ant-bench-upstream-key';

interface Phase {
  latencies: number[];
  ttfbs: number[];
  wallMs: number;
  requests: number;
  errors: number;
}

async function phase(url: string, headers: Record<string, string>, stream: boolean, requests: number): Promise<Phase> {
  const dispatcher = keepAliveAgent(CONCURRENCY);
  const body = JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 1024, stream, messages: [{ role: 'user', content: 'Make the failing test pass. '.repeat(40) }] });
  const outcomes: Outcome[] = [];
  let errors = 0;
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < requests) {
        next += 1;
        const outcome = await call(dispatcher, `${url}/v1/messages`, headers, body);
        if (outcome.status !== 200 || outcome.broken) errors += 1;
        outcomes.push(outcome);
      }
    }),
  );
  const wallMs = performance.now() - started;
  await dispatcher.close();
  return { latencies: outcomes.map((o) => o.totalMs), ttfbs: outcomes.map((o) => o.ttfbMs), wallMs, requests: outcomes.length, errors };
}

function merge(phases: Phase[]): Phase {
  return {
    latencies: phases.flatMap((p) => p.latencies),
    ttfbs: phases.flatMap((p) => p.ttfbs),
    wallMs: phases.reduce((sum, p) => sum + p.wallMs, 0),
    requests: phases.reduce((sum, p) => sum + p.requests, 0),
    errors: phases.reduce((sum, p) => sum + p.errors, 0),
  };
}

type Table = Record<string, { requests: number; errors: number; rps: number; latency_ms: { p50: number; p99: number; mean: number }; ttfb_ms: { p50: number; p99: number } }>;

/** One load regime: alternating direct and gateway phases against a fresh fake and gateway. */
async function regime(pace: number, rounds: number, perPhase: number): Promise<{ table: Table; gatewayCpuMsPerRequest: number }> {
  const upstream = await startServer<{ url: string }>('fake-upstream.ts', { BENCH_UPSTREAM_KEY: KEY, BENCH_PACE_MS: String(pace) });
  const gateway = await startServer<{ url: string; token: string }>('gateway.ts', { BENCH_UPSTREAM_URL: upstream.info.url, BENCH_UPSTREAM_KEY: KEY });
  const proxy = await startServer<{ url: string }>('bare-proxy.ts', { BENCH_UPSTREAM_URL: upstream.info.url });
  const targets = {
    direct: { url: upstream.info.url, headers: { 'x-api-key': KEY, 'anthropic-version': '2023-06-01' } },
    gateway: { url: gateway.info.url, headers: { 'x-api-key': gateway.info.token, 'anthropic-version': '2023-06-01' } },
    'bare proxy': { url: proxy.info.url, headers: { 'x-api-key': KEY, 'anthropic-version': '2023-06-01' } },
  };
  const names = Object.keys(targets) as Array<keyof typeof targets>;
  const runs: Record<string, Phase[]> = Object.fromEntries(names.flatMap((name) => [[`${name} json`, []], [`${name} stream`, []]]));
  let gatewayCpu = 0;
  try {
    // Warm-up: connections, JIT, the proxies' upstream pools.
    for (const target of Object.values(targets)) for (const stream of [false, true]) await phase(target.url, target.headers, stream, 100);
    for (let round = 0; round < rounds; round += 1) {
      for (const stream of [false, true]) {
        const kind = stream ? 'stream' : 'json';
        // Rotate which goes first, so that none always follows another.
        const order = names.map((_, i) => names[(i + round) % names.length]!);
        for (const which of order) {
          const target = targets[which];
          const cpuBefore = gateway.cpuSeconds();
          runs[`${which} ${kind}`]!.push(await phase(target.url, target.headers, stream, perPhase));
          if (which === 'gateway') gatewayCpu += gateway.cpuSeconds() - cpuBefore;
        }
      }
    }
  } finally {
    await proxy.stop();
    await gateway.stop();
    await upstream.stop();
  }
  const table: Table = {};
  for (const [name, phases] of Object.entries(runs)) {
    const p = merge(phases);
    const latency = summarize(p.latencies);
    const ttfb = summarize(p.ttfbs);
    table[name] = { requests: p.requests, errors: p.errors, rps: round(p.requests / (p.wallMs / 1000), 0), latency_ms: { p50: round(latency.p50), p99: round(latency.p99), mean: round(latency.mean) }, ttfb_ms: { p50: round(ttfb.p50), p99: round(ttfb.p99) } };
  }
  const gatewayRequests = table['gateway json']!.requests + table['gateway stream']!.requests;
  return { table, gatewayCpuMsPerRequest: round((gatewayCpu / gatewayRequests) * 1000, 3) };
}

/** Time to the provider's first byte in the paced regime (real APIs take longer still). */
function modesTable(modes: Table): string {
  return table(
    ['mode', 'requests', 'errors', 'req/s', 'latency p50 ms', 'latency p99 ms', 'TTFB p50 ms', 'TTFB p99 ms'],
    Object.entries(modes).map(([mode, m]) => [mode, m.requests, m.errors, m.rps, m.latency_ms.p50, m.latency_ms.p99, m.ttfb_ms.p50, m.ttfb_ms.p99]),
  );
}

const PACE_MS = 100;

export async function benchOverhead(options: { quick: boolean }): Promise<BenchResult> {
  const started = Date.now();
  const rounds = options.quick ? 2 : 3;
  const saturated = await regime(0, rounds, options.quick ? 400 : 1000);
  const paced = await regime(PACE_MS, rounds, options.quick ? 160 : 320);

  const added = (table: Table, kind: 'json' | 'stream', p: 'p50' | 'p99', via = 'gateway') => round(table[`${via} ${kind}`]!.latency_ms[p] - table[`direct ${kind}`]!.latency_ms[p]);
  const ratio = (table: Table, kind: 'json' | 'stream', via = 'gateway') => round(table[`${via} ${kind}`]!.rps / table[`direct ${kind}`]!.rps, 3);
  const vsProxy = (kind: 'json' | 'stream') => round(saturated.table[`gateway ${kind}`]!.rps / saturated.table[`bare proxy ${kind}`]!.rps, 2);
  const cpuPlan =
    `A plain Node reverse proxy that only pipes bytes reaches ${ratio(saturated.table, 'json', 'bare proxy')}× (JSON) and ${ratio(saturated.table, 'stream', 'bare proxy')}× (stream) of direct ` +
    `on this machine; the gateway reaches ${vsProxy('json')}× and ${vsProxy('stream')}× of that proxy, at ${saturated.gatewayCpuMsPerRequest} ms CPU per request. So the gap is the ` +
    `extra process hop (an HTTP server plus an HTTP client in Node) on ${availableParallelism()} cores shared by client, gateway and fake, not the metering. ` +
    'Plan: measure on a machine that gives the three processes a core each; then, if still short, serve the gateway from a faster HTTP stack (uWebSockets.js or a ' +
    'small native proxy) with the metering kept in Node. An agent waits seconds per LLM call, so this ceiling (~1,000 calls/s per core) does not bind a batch.'
  const latencyPlan =
    `The bare proxy adds ${added(paced.table, 'json', 'p50', 'bare proxy')} ms (JSON) and ${added(paced.table, 'stream', 'p50', 'bare proxy')} ms (stream) at p50 in the same regime: ` +
    'one more process hop, each waking on a shared core. Plan: as for the throughput ratio.';

  const figures = [
    figure({ id: 'overhead.json.p50_added_ms', label: 'Added latency p50, non-streaming', value: added(paced.table, 'json', 'p50'), unit: 'ms', target: 1, better: 'lower', how: `16 in flight, provider-paced fake; p50 through the gateway − p50 direct`, plan: latencyPlan }),
    figure({ id: 'overhead.json.p99_added_ms', label: 'Added latency p99, non-streaming', value: added(paced.table, 'json', 'p99'), unit: 'ms', target: 5, better: 'lower', how: 'as above, p99', plan: latencyPlan }),
    figure({ id: 'overhead.stream.p50_added_ms', label: 'Added latency p50, streaming (whole stream)', value: added(paced.table, 'stream', 'p50'), unit: 'ms', target: 1, better: 'lower', how: '16 in flight, provider-paced fake; p50 through − p50 direct', plan: latencyPlan }),
    figure({ id: 'overhead.stream.p99_added_ms', label: 'Added latency p99, streaming', value: added(paced.table, 'stream', 'p99'), unit: 'ms', target: 5, better: 'lower', how: 'as above, p99', plan: latencyPlan }),
    figure({
      id: 'overhead.stream.ttfb_added_ms',
      label: 'Added time to first byte p50, streaming',
      value: round(paced.table['gateway stream']!.ttfb_ms.p50 - paced.table['direct stream']!.ttfb_ms.p50),
      unit: 'ms',
      target: 1,
      better: 'lower',
      how: 'first body byte, p50 through − p50 direct',
      plan: latencyPlan,
    }),
    figure({ id: 'overhead.json.throughput_ratio', label: 'Throughput ratio, non-streaming (saturated)', value: ratio(saturated.table, 'json'), unit: '×', target: 0.7, better: 'higher', how: '16 in flight, fake answers at once: requests/s through the gateway ÷ direct', plan: cpuPlan }),
    figure({ id: 'overhead.stream.throughput_ratio', label: 'Throughput ratio, streaming (saturated)', value: ratio(saturated.table, 'stream'), unit: '×', target: 0.7, better: 'higher', how: 'as above, streamed', plan: cpuPlan }),
  ];
  return {
    name: 'overhead',
    title: 'Gateway overhead',
    command: `npm run bench -- --only overhead${options.quick ? ' --quick' : ''}`,
    duration_s: round((Date.now() - started) / 1000, 1),
    figures,
    method:
      `Client (this process), gateway (caged's Gateway + Ledger, one registered sandbox, metering and charging every answer) and a fake Anthropic API each run in their own Node process; ` +
      `${CONCURRENCY} requests in flight on keep-alive connections; ${rounds} rounds per mode, direct and gateway phases alternating. Two regimes: ` +
      `**saturated** — the fake answers at once, so the run is CPU-bound and measures throughput; **provider-paced** — the fake sends its head after ${PACE_MS} ms and one SSE event every 2 ms ` +
      '(~130 ms a stream, a short real answer), so the machine is not saturated and the difference is the latency the gateway adds. ' +
      'Streamed answers: message_start, 11 text deltas, message_delta with usage, message_stop; non-streamed: the same message as JSON. ' +
      '"bare proxy" is a floor for comparison: a plain Node reverse proxy (node:http in, undici out, bytes piped, nothing parsed) in its own process.',
    details: {
      saturated: saturated.table,
      paced: paced.table,
      gateway_cpu_ms_per_request: saturated.gatewayCpuMsPerRequest,
      gateway_vs_bare_proxy_throughput: { json: vsProxy('json'), stream: vsProxy('stream') },
      paced_throughput_ratio: { json: ratio(paced.table, 'json'), stream: ratio(paced.table, 'stream') },
    },
    detailsMarkdown: [
      '**Provider-paced** (the latency figures):',
      modesTable(paced.table),
      '**Saturated** (the throughput figures):',
      modesTable(saturated.table),
      `Gateway CPU per request (saturated): ${saturated.gatewayCpuMsPerRequest} ms. Saturated throughput, gateway ÷ bare proxy: ${vsProxy('json')}× (JSON), ${vsProxy('stream')}× (stream). ` +
        `Throughput ratio when provider-paced: ${ratio(paced.table, 'json')}× (JSON), ${ratio(paced.table, 'stream')}× (stream).`,
    ].join('\n\n'),
  };
}

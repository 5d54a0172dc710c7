// caged's gateway and ledger in their own process for the overhead benchmark, as `caged` runs
// them: one sandbox registered with a budget that never runs out. Prints {"url", "token"}.
import { Gateway } from '../../src/gateway/gateway.js';
import { Ledger } from '../../src/ledger/ledger.js';

const ledger = new Ledger();
const gateway = new Gateway({ ledger, upstreams: { anthropic: process.env.BENCH_UPSTREAM_URL! } });
ledger.open('cage-0000be01', 1_000_000 * 1_000_000);
const { token } = gateway.register('cage-0000be01', { keys: { anthropicApiKey: process.env.BENCH_UPSTREAM_KEY! } });
const listener = await gateway.listen('127.0.0.1');
process.stdout.write(`${JSON.stringify({ url: listener.url, token })}\n`);
process.on('SIGTERM', () => void gateway.close().then(() => process.exit(0)));

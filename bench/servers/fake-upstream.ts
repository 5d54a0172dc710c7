// A fake Anthropic API in its own process for the overhead benchmark (so that neither the client's
// nor the gateway's work shares its event loop). Prints {"url": ...} once listening.
import { startFakeAnthropic } from '../../test/support/fake-anthropic.js';

const key = process.env.BENCH_UPSTREAM_KEY ?? '';
const text = 'The change is made and the tests pass. '.repeat(10);
// BENCH_PACE_MS paces answers like a provider: the head after that long, then one event per 2 ms.
const pace = Number(process.env.BENCH_PACE_MS ?? 0);
const fake = await startFakeAnthropic({
  apiKey: key,
  deltaChars: 40,
  respond: () => ({
    content: [{ type: 'text', text }],
    usage: { input_tokens: 1200, output_tokens: 100 },
    ...(pace > 0 ? { fault: { kind: 'slow-headers' as const, delayMs: pace }, shape: { delayMs: 2 } } : {}),
  }),
});
// The fake records every request; a benchmark sends tens of thousands.
setInterval(() => {
  fake.requests.length = 0;
  fake.answers.length = 0;
}, 1000).unref();
process.stdout.write(`${JSON.stringify({ url: fake.url })}\n`);
process.on('SIGTERM', () => void fake.close().then(() => process.exit(0)));

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exitCodeFor } from '../../../src/batch/results.js';
import { runBatch } from '../../../src/batch/run-batch.js';
import type { ResolvedTask } from '../../../src/config/resolve.js';
import type { ConfigLayer } from '../../../src/config/schema.js';
import { startFakeAnthropic, type FakeAnthropic } from '../../support/fake-anthropic.js';
import { containersOf, REAL_ANTHROPIC_KEY, settings, startEngine, type EngineHarness } from '../../support/engine-harness.js';

function task(index: number, name: string, layer: ConfigLayer): ResolvedTask {
  return { index, name, prompt: name, config: settings(layer) };
}

describe('budget kills and timeouts in a batch', () => {
  let fake: FakeAnthropic;
  let harness: EngineHarness;
  let turn = 0;

  beforeAll(async () => {
    // An agent that never finishes: every answer asks for one more file, at 30k input tokens a turn.
    fake = await startFakeAnthropic({
      apiKey: REAL_ANTHROPIC_KEY,
      respond: () => {
        turn += 1;
        return {
          content: [{ type: 'tool_use', name: 'Write', input: { file_path: `/workspace/note-${turn}.txt`, content: `note ${turn}\n` } }],
          usage: { input_tokens: 30_000, output_tokens: 60 },
        };
      },
    });
    harness = await startEngine({ upstreams: { anthropic: fake.url } });
  });

  afterAll(async () => {
    await harness?.close();
    await fake?.close();
  });

  it('kills the task that spends past its budget within tolerance; the others finish normally', async () => {
    const budget = 500_000;
    const report = await runBatch(
      harness.engine,
      [
        task(0, 'runaway agent', { budget, agent: 'claude' }),
        task(1, 'quick command', { agent: { command: 'echo done > /workspace/out.txt' } }),
        task(2, 'second command', { agent: { command: 'sleep 2; echo ok' } }),
      ],
      { runId: 'run-limits', maxParallel: 3, env: { ANTHROPIC_API_KEY: REAL_ANTHROPIC_KEY } },
    );
    const [runaway, quick, second] = report.results;
    expect(runaway!.status, runaway!.reason ?? '').toBe('killed');
    expect(runaway!.reason).toMatch(/^budget limit reached \(\$0\.\d\d\/\$0\.50\)$/);
    const tolerance = Math.max(10_000, budget / 100);
    expect(runaway!.cost.total).toBeLessThanOrEqual(budget + tolerance);
    expect(runaway!.cost.llm).toBeGreaterThan(0);
    expect(harness.warnings).toContain(`WARN: Sandbox ${runaway!.id} terminated — ${runaway!.reason}`);
    expect(await containersOf(runaway!.id!)).toEqual([]);

    expect(quick).toMatchObject({ status: 'completed', exit_code: 0, changes: { files: 1, insertions: 1, deletions: 0 } });
    expect(second).toMatchObject({ status: 'completed', final_message: 'ok' });
    expect(exitCodeFor(report.results, 'error')).toBe(3);
  });

  it('ends an idle sandbox and a sandbox over max_duration as timed_out with the reason', async () => {
    const report = await runBatch(
      harness.engine,
      [
        task(0, 'sleeper', { timeout: 2, agent: { command: 'sleep 60' } }),
        task(1, 'chatty', { max_duration: 3, agent: { command: 'while true; do echo tick; sleep 0.3; done' } }),
        task(2, 'fine', { agent: { command: 'true' } }),
      ],
      { runId: 'run-timeouts', maxParallel: 3 },
    );
    const [sleeper, chatty, fine] = report.results;
    expect(sleeper).toMatchObject({ status: 'timed_out', reason: 'idle timeout (2 s without output, LLM requests or CPU use)' });
    expect(sleeper!.duration_s).toBeLessThan(20);
    expect(chatty).toMatchObject({ status: 'timed_out', reason: 'max_duration reached (3 s)' });
    expect(fine!.status).toBe('completed');
    expect(exitCodeFor(report.results, 'error')).toBe(4);
    expect(exitCodeFor(report.results, 'budget')).toBe(0);
  });

  it('kills a sandbox whose compute alone reaches the budget', async () => {
    const report = await runBatch(harness.engine, [task(0, 'compute hog', { budget: 150, agent: { command: 'sleep 60' } })], { runId: 'run-compute' });
    const [hog] = report.results;
    expect(hog!.status).toBe('killed');
    expect(hog!.reason).toMatch(/^budget limit reached \(\$0\.0001\d{2}\/\$0\.00015\)$/);
    // Compute is charged per sample (1 s): the kill lands within one sample's worth (16.25 µ$/s for 1 vCPU + 512 MiB).
    expect(hog!.cost.compute).toBeGreaterThanOrEqual(150);
    expect(hog!.cost.compute).toBeLessThanOrEqual(150 + 2 * 17);
    expect(hog!.cost.llm).toBe(0);
  });
});

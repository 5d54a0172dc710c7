import { describe, expect, it } from 'vitest';
import { exitCodeFor, outcomeFromInfo, reportToJson, totalsOf, type TaskOutcome } from '../../../src/batch/results.js';
import type { SandboxStatus } from '../../../src/sandbox/types.js';

function outcome(status: SandboxStatus, total = 1_000_000): TaskOutcome {
  return {
    ...outcomeFromInfo({ index: 0, task: 't', prompt: 'p', budget: 3_000_000 }, undefined, 1500, null),
    status,
    cost: { llm: total - 100, compute: 100, total },
  };
}

describe('batch verdict', () => {
  it.each<[SandboxStatus[], 'error' | 'budget' | 'never', number]>([
    [['completed', 'completed'], 'error', 0],
    [['completed', 'killed', 'timed_out'], 'error', 3],
    [['completed', 'timed_out', 'failed'], 'error', 4],
    [['completed', 'failed'], 'error', 1],
    [['cancelled'], 'error', 1],
    [['failed', 'timed_out'], 'budget', 0],
    [['killed'], 'budget', 3],
    [['killed', 'failed'], 'never', 0],
  ])('%j with fail_on %s exits %d', (statuses, failOn, code) => {
    expect(exitCodeFor(statuses.map((status) => outcome(status)), failOn)).toBe(code);
  });

  it('totals money exactly and renders USD only at the JSON edge', () => {
    const results = [outcome('completed', 100_000), outcome('killed', 200_000)];
    const totals = totalsOf(results);
    expect(totals.cost.total).toBe(300_000);
    expect(totals).toMatchObject({ tasks: 2, completed: 1, killed: 1 });
    const json = reportToJson({ run_id: 'r', started_at: '', ended_at: '', results, totals });
    expect(json.totals.cost.total).toBe(0.3);
    expect(json.results[1]!.budget).toBe(3);
  });
});

import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { outcomeFromInfo, totalsOf, type BatchReport } from '../../../src/batch/results.js';
import { mergeLayers } from '../../../src/config/schema.js';
import type { ResolvedTask } from '../../../src/config/resolve.js';
import { mergeResultsFiles, parseShard, resultsFileJson, selectShard } from '../../../src/action/shard.js';

const tasks: ResolvedTask[] = Array.from({ length: 7 }, (_, index) => ({ index, name: `t${index + 1}`, prompt: `p${index + 1}`, config: mergeLayers({ budget: 1_000_000 }) }));

function shardReport(indexes: number[], endedAt: string, status: 'completed' | 'failed' = 'completed'): BatchReport {
  const results = indexes.map((index) => ({
    ...outcomeFromInfo({ index, task: `t${index + 1}`, prompt: `p${index + 1}`, budget: 1_000_000 }, undefined, 1000, null),
    status,
    cost: { llm: 123, compute: 4_567, total: 4_690 },
  }));
  return { run_id: `run-${indexes[0]}`, started_at: '2026-01-01T00:00:00Z', ended_at: endedAt, results, totals: totalsOf(results) };
}

describe('shards', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
  });

  it('parses i/n with a 0-based index', () => {
    expect(parseShard(' 2 / 3 ')).toEqual({ index: 2, total: 3 });
    expect(() => parseShard('3/3')).toThrow('shard index is 0-based and must be below the total; got 3/3');
    expect(() => parseShard('1/0')).toThrow('shard total must be from 1 to 256');
    expect(() => parseShard('first')).toThrow('shard must look like i/n');
  });

  it('gives every task to exactly one shard, the same way every time, evenly', () => {
    const shares = [0, 1, 2].map((index) => selectShard(tasks, { index, total: 3 }).map((task) => task.index));
    expect(shares).toEqual([
      [0, 3, 6],
      [1, 4],
      [2, 5],
    ]);
    expect(selectShard(tasks, undefined)).toBe(tasks);
  });

  it('merges shard files into one report in task order, money exact, a re-run shard winning', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'caged-shards-'));
    dirs.push(dir);
    await mkdir(join(dir, 'a'));
    await mkdir(join(dir, 'b'));
    await writeFile(join(dir, 'a', 'results.json'), JSON.stringify(resultsFileJson(shardReport([0, 2], '2026-01-01T00:05:00Z', 'failed'), { index: 0, total: 2 }, 4)));
    await writeFile(join(dir, 'b', 'results.json'), JSON.stringify(resultsFileJson(shardReport([1, 3], '2026-01-01T00:06:00Z'), { index: 1, total: 2 }, 4)));
    await writeFile(join(dir, 'rerun.json'), JSON.stringify(resultsFileJson(shardReport([0, 2], '2026-01-01T00:09:00Z'), { index: 0, total: 2 }, 4)));
    await writeFile(join(dir, 'unrelated.json'), '{"name": "something else"}');
    const merged = await mergeResultsFiles([dir]);
    expect(merged.files).toHaveLength(3);
    expect(merged.missing).toEqual([]);
    expect(merged.report.results.map((result) => [result.index, result.status])).toEqual([
      [0, 'completed'],
      [1, 'completed'],
      [2, 'completed'],
      [3, 'completed'],
    ]);
    expect(merged.report.totals.cost).toEqual({ llm: 492, compute: 18_268, total: 18_760 });
    expect(merged.report.ended_at).toBe('2026-01-01T00:09:00Z');
  });

  it('says which tasks no shard reported, and fails when there is nothing to merge', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'caged-shards-'));
    dirs.push(dir);
    await writeFile(join(dir, 'one.json'), JSON.stringify(resultsFileJson(shardReport([1, 3], '2026-01-01T00:06:00Z'), { index: 1, total: 2 }, 5)));
    expect((await mergeResultsFiles([join(dir, 'one.json')])).missing).toEqual([1, 3, 5]);
    await expect(mergeResultsFiles([join(dir, 'nothing-here')])).rejects.toThrow('no caged results files found under');
  });
});

import { copyFile, mkdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { actionSuite, CONFIG, dispatchEvent, pullRequestEvent, runAction, TOKEN } from './harness.js';

const TASKS = ['one', 'two', 'three', 'four', 'five'].map((word) => `|Echo ${word}|1`).join('\n');
const CONFIG_WITH_AGENT = `${CONFIG}agent: {command: 'echo "$CAGED_PROMPT"'}\n`;

interface ResultsJson {
  tasks_total: number;
  results: Array<{ index: number; task: string; status: string; repo: string | null; final_message: string | null }>;
}

/** What must not depend on how the batch was split: which task, what happened, what it said. */
function tasksOf(json: ResultsJson) {
  return json.results.map(({ index, task, status, repo, final_message }) => ({ index, task, status, repo, final_message }));
}

/** Summary table rows without the columns that vary from run to run (cost, tokens, duration). */
function rows(summary: string): string[] {
  return summary
    .split('\n')
    .filter((line) => /^\| \d+ \|/.test(line))
    .map((line) => line.split(' | ').filter((_, column) => [0, 1, 2, 3, 7].includes(column)).join(' | '));
}

describe('the bundled action splits a batch across matrix shards and merges their reports', () => {
  const suite = actionSuite();
  const job = (name: string) => suite.job(name, { '.caged.yaml': CONFIG_WITH_AGENT });

  test('two shards plus mode: report give the same tasks as one unsharded run', async () => {
    const whole = await runAction({ job: await job('whole'), fake: suite.fake, inputs: { tasks: TASKS, 'github-token': TOKEN }, event: dispatchEvent });
    suite.runIds.add(whole.state['run-id']!);
    expect(whole.code, whole.log).toBe(0);

    const report = await job('report');
    const downloaded = join(report.workspace, 'caged-results');
    await mkdir(downloaded);
    const shardTasks: number[][] = [];
    for (const index of [0, 1]) {
      const shard = await runAction({ job: await job(`shard-${index}`), fake: suite.fake, inputs: { tasks: TASKS, shard: `${index}/2`, 'github-token': TOKEN }, event: pullRequestEvent(5) });
      suite.runIds.add(shard.state['run-id']!);
      expect(shard.code, shard.log).toBe(0);
      shardTasks.push((JSON.parse(shard.outputs.results!) as ResultsJson).results.map((result) => result.index));
      // What actions/upload-artifact + download-artifact would do.
      const file = shard.outputs['results-file']!;
      await mkdir(join(downloaded, `shard-${index}`));
      await copyFile(file, join(downloaded, `shard-${index}`, basename(file)));
    }
    expect(shardTasks).toEqual([
      [0, 2, 4],
      [1, 3],
    ]);
    // Shards do not comment; the report job does.
    expect(suite.fake.comments.filter((comment) => comment.issue === 5)).toEqual([]);

    const merged = await runAction({ job: report, fake: suite.fake, inputs: { mode: 'report', 'github-token': TOKEN }, event: pullRequestEvent(5) });
    expect(merged.code, merged.log).toBe(0);
    const wholeJson = JSON.parse(whole.outputs.results!) as ResultsJson;
    const mergedJson = JSON.parse(merged.outputs.results!) as ResultsJson;
    expect(tasksOf(mergedJson)).toEqual(tasksOf(wholeJson));
    expect(mergedJson.tasks_total).toBe(5);
    expect(merged.outputs).toMatchObject({ completed: '5', killed: '0', failed: '0' });
    expect(rows(merged.summary)).toEqual(rows(whole.summary));
    expect(rows(merged.summary)).toHaveLength(5);
    expect(merged.summary).toContain('Merged from 2 shard result file');
    expect(suite.fake.comments.filter((comment) => comment.issue === 5)).toHaveLength(1);
    expect(suite.fake.violations).toEqual([]);
  });

  test('a missing shard fails the report job after the summary is written', async () => {
    const report = await job('report-missing');
    const downloaded = join(report.workspace, 'caged-results');
    await mkdir(downloaded);
    const shard = await runAction({ job: await job('lonely-shard'), fake: suite.fake, inputs: { tasks: TASKS, shard: '1/2', 'github-token': TOKEN }, event: dispatchEvent });
    suite.runIds.add(shard.state['run-id']!);
    await copyFile(shard.outputs['results-file']!, join(downloaded, 'results.json'));
    const merged = await runAction({ job: report, fake: suite.fake, inputs: { mode: 'report', 'github-token': TOKEN }, event: dispatchEvent });
    expect(merged.code).toBe(1);
    expect(merged.summary).toContain('No shard reported task');
    expect(merged.log).toContain('::error::caged: 3 task(s) missing from the shard results');
  });
});

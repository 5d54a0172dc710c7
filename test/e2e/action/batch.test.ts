import { readFile } from 'node:fs/promises';
import { beforeAll, describe, expect, test } from 'vitest';
import { actionSuite, CONFIG, containersOfRun, dispatchEvent, pullRequestEvent, runAction, TOKEN, type Job } from './harness.js';

const TASKS = `
- name: write hello
  prompt: Write hello.txt
  agent: {command: "echo hello > hello.txt && echo wrote hello.txt"}
  budget: 1
- name: say hi
  prompt: Say hi
  agent: {command: "echo hi"}
  budget: 1
- name: "spin <b>forever</b> @octocat | pipe"
  prompt: Spin until the budget runs out
  agent: {command: "sleep 30"}
  budget: 0.0002
`;

describe('the bundled action runs a batch', () => {
  const suite = actionSuite();
  let job: Job;

  beforeAll(async () => {
    job = await suite.job('batch', { '.caged.yaml': CONFIG, 'README.md': '# widgets\n' });
  });

  test('writes the summary and outputs, comments on the PR, then fails on the budget kill; a second run updates the comment', async () => {
    const first = await runAction({ job, fake: suite.fake, inputs: { tasks: TASKS, 'github-token': TOKEN }, event: pullRequestEvent(12) });
    suite.runIds.add(first.state['run-id']!);

    expect(first.code, first.log).toBe(1);
    expect(first.log).toContain('::error::caged: 1 task(s) hit their budget and were killed (fail-on: error)');
    // Outputs.
    expect(first.outputs).toMatchObject({ completed: '2', killed: '1', failed: '0' });
    expect(Number(first.outputs['total-cost'])).toBeGreaterThan(0.0002);
    const results = JSON.parse(first.outputs.results!) as { results: Array<{ task: string; status: string; changes: { files: number } | null }> };
    expect(results.results.map((result) => [result.task, result.status])).toEqual([
      ['write hello', 'completed'],
      ['say hi', 'completed'],
      ['spin <b>forever</b> @octocat | pipe', 'killed'],
    ]);
    expect(results.results[0]!.changes?.files).toBe(1);
    expect(JSON.parse(await readFile(first.outputs['results-file']!, 'utf8'))).toMatchObject({ version: 1, tasks_total: 3 });
    // Summary: a row per task with status, the chart, escaped user text.
    expect(first.summary).toContain('| # | Task | Repo | Status | Cost / budget |');
    expect(first.summary).toMatch(/\| 1 \| write hello \| _workspace_ \| ✅ completed \| \$0\.\d+ \/ \$1\.00 /);
    expect(first.summary).toContain('💸 killed (budget hit)');
    expect(first.summary).toContain('1 file +1 -0');
    expect(first.summary).toContain('xychart-beta');
    expect(first.summary).toContain('&lt;b&gt;forever&lt;/b&gt;');
    expect(first.summary).not.toContain('<b>forever</b>');
    expect(first.summary).toContain('@\u200boctocat');
    expect(first.summary).toContain('<pre>wrote hello.txt</pre>');
    // The sticky comment.
    const comments = suite.fake.comments.filter((comment) => comment.issue === 12);
    expect(comments).toHaveLength(1);
    expect(comments[0]!.body.startsWith('<!-- caged:caged%20batch/agents -->')).toBe(true);
    expect(comments[0]!.body).toContain('💸 killed (budget hit)');
    expect(comments[0]!.body.length).toBeLessThan(65_536);
    // Nothing left running.
    expect(await containersOfRun(first.state['run-id']!)).toEqual([]);

    const again = '- {prompt: Say hello again, agent: {command: "echo again"}, budget: 1}';
    const second = await runAction({ job, fake: suite.fake, inputs: { tasks: again, 'github-token': TOKEN }, event: pullRequestEvent(12) });
    suite.runIds.add(second.state['run-id']!);
    expect(second.code, second.log).toBe(0);
    const after = suite.fake.comments.filter((comment) => comment.issue === 12);
    expect(after).toHaveLength(1);
    expect(after[0]!.id).toBe(comments[0]!.id);
    expect(after[0]!.body).toContain('Say hello again');
    expect(after[0]!.body).not.toContain('forever');
    expect(suite.fake.requests.filter((request) => request.operationId === 'issues/create-comment')).toHaveLength(1);
    expect(suite.fake.requests.filter((request) => request.operationId === 'issues/update-comment')).toHaveLength(1);
    expect(suite.fake.violations).toEqual([]);
  });

  test('a config error becomes an annotation at its line and starts nothing', async () => {
    const bad = await suite.job('bad-config', { '.caged.yaml': 'template: node-20\nbudgett: 5\n' });
    const result = await runAction({ job: bad, fake: suite.fake, inputs: { tasks: '|Say hi|1', 'github-token': TOKEN }, event: dispatchEvent });
    expect(result.code).toBe(1);
    expect(result.log).toMatch(/::error title=caged%3A bad input,file=\.caged\.yaml,line=2,col=1::unknown key "budgett" \(did you mean "budget"\?\)/);
    expect(result.log).toContain('::error::caged: bad input, nothing was started (1 problem)');
    expect(result.summary).toBe('');
    expect(await containersOfRun(result.state['run-id']!)).toEqual([]);
  });
});

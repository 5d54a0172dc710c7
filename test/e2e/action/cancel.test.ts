import { describe, expect, test } from 'vitest';
import { actionSuite, CONFIG, containersOfRun, dispatchEvent, runAction, TOKEN, waitForContainers, waitForRunId } from './harness.js';

const TASKS = `
- {name: long one, prompt: Wait a minute, agent: {command: "sleep 60"}, budget: 1}
- {name: long two, prompt: Wait a minute too, agent: {command: "sleep 60"}, budget: 1}
- {name: never started, prompt: Wait in line, agent: {command: "sleep 60"}, budget: 1}
`;

describe('the bundled action when the job is cancelled', () => {
  const suite = actionSuite();
  const job = (name: string) => suite.job(name, { '.caged.yaml': CONFIG });

  test('SIGTERM mid-batch stops every sandbox and still writes the partial summary and outputs', async () => {
    const cancelled = await job('sigterm');
    const result = await runAction({
      job: cancelled,
      fake: suite.fake,
      inputs: { tasks: TASKS, 'max-parallel': '2', 'github-token': TOKEN },
      event: dispatchEvent,
      during: async (child) => {
        const runId = await waitForRunId(cancelled);
        suite.runIds.add(runId);
        await waitForContainers(runId, 2);
        child.kill('SIGTERM');
      },
    });
    const runId = result.state['run-id']!;
    expect(result.code, result.log).toBe(1);
    expect(result.log).toContain('SIGTERM received');
    expect(result.log).toContain('::error::caged: the run was cancelled');
    expect(await containersOfRun(runId)).toEqual([]);
    expect(result.summary).toContain('| 1 | long one | _workspace_ | ⏹️ cancelled |');
    expect(result.summary).toContain('| 3 | never started | _workspace_ | ⏹️ cancelled |');
    expect(result.outputs).toMatchObject({ completed: '0', killed: '0', failed: '3' });
  });

  test('the post step removes what a killed main step left running', async () => {
    const killed = await job('sigkill');
    let runId = '';
    const main = await runAction({
      job: killed,
      fake: suite.fake,
      inputs: { tasks: TASKS, 'max-parallel': '2', 'github-token': TOKEN },
      event: dispatchEvent,
      during: async (child) => {
        runId = await waitForRunId(killed);
        suite.runIds.add(runId);
        await waitForContainers(runId, 2);
        child.kill('SIGKILL');
      },
    });
    expect(main.signal).toBe('SIGKILL');
    expect((await containersOfRun(runId)).length).toBeGreaterThanOrEqual(2);

    const post = await runAction({
      job: killed,
      fake: suite.fake,
      inputs: { tasks: TASKS, 'github-token': TOKEN },
      event: dispatchEvent,
      entry: 'post.js',
      env: Object.fromEntries(Object.entries(main.state).map(([name, value]) => [`STATE_${name}`, value])),
    });
    expect(post.code, post.log).toBe(0);
    // Other caged processes on this host have other state directories, so they leave these to the post step.
    expect(post.log).toMatch(new RegExp(`caged: removed \\d+ leftover resource\\(s\\) of 2 sandbox\\(es\\) of run ${runId}`));
    expect(await containersOfRun(runId)).toEqual([]);
  });
});

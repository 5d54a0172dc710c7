import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestServer, type ServerHarness } from '../../integration/server/harness.js';
import { actionSuite, CONFIG, containersOfRun, dispatchEvent, runAction, TOKEN, waitForContainers, waitForRunId, type Job } from './harness.js';

const TASKS = `
- {name: write hello, prompt: Write hello.txt, agent: {command: "echo hello > hello.txt"}, budget: 1}
- {name: spin, prompt: Spin, agent: {command: "sleep 30"}, budget: 0.0002}
`;

describe('the bundled action on a caged server (backend: remote)', () => {
  const suite = actionSuite();
  let server: ServerHarness;
  let job: Job;

  beforeAll(async () => {
    // Same host: the server may clone the runner's workspace copies.
    server = await startTestServer({ allowLocalRepos: true });
    job = await suite.job('remote', { '.caged.yaml': CONFIG });
  });

  afterAll(async () => {
    await server.close();
    await rm(server.dataDir, { recursive: true, force: true });
  });

  test('runs the batch through RemoteClient, reports it and leaves nothing on the server', async () => {
    const result = await runAction({
      job,
      fake: suite.fake,
      inputs: { tasks: TASKS, backend: 'remote', 'api-url': server.server.url, 'api-key': server.adminKey, 'github-token': TOKEN },
      event: dispatchEvent,
      // The server's containers carry the run's label: that is what the post step and close() go by.
      during: async () => waitForContainers(await waitForRunId(job), 1),
    });
    const runId = result.state['run-id']!;
    suite.runIds.add(runId);
    expect(result.code, result.log).toBe(1);
    expect(result.log).toContain(`::add-mask::${server.adminKey}`);
    expect(result.log).not.toMatch(new RegExp(`(?<!add-mask::)${server.adminKey}`));
    expect(result.outputs).toMatchObject({ completed: '1', killed: '1', failed: '0' });
    expect(result.summary).toContain('| 1 | write hello | _workspace_ | ✅ completed |');
    expect(result.summary).toContain('| 2 | spin | _workspace_ | 💸 killed (budget hit) |');
    const left = await server.client().list({ label: { 'dev.caged.run': runId } });
    expect(left).toEqual([]);
    expect(await containersOfRun(runId)).toEqual([]);
  });
});

import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { actionSuite, CONFIG, dispatchEvent, git, OWNER, plain, REPO, runAction, TOKEN, type Job } from './harness.js';

const TASKS = `
- name: note for the workspace
  prompt: Copy the notes
  agent: {command: "cp notes.txt seen.txt"}
  budget: 1
- name: tidy the repo
  repo: ${OWNER}/${REPO}
  ref: main
  prompt: Add a changelog
  agent: {command: "echo '# Changelog' > CHANGELOG.md"}
  budget: 1
- name: change nothing
  prompt: Look around
  agent: {command: "ls"}
  budget: 1
`;

describe('the bundled action delivers changes as branches and pull requests', () => {
  const suite = actionSuite();
  let job: Job;
  let origin: string;
  let base: string;

  /** GITHUB_SERVER_URL is a file:// directory here, so `<server>/octo/widgets.git` is a local bare repository. */
  beforeAll(async () => {
    job = await suite.job('deliver');
    origin = join(job.dir, 'server', OWNER, `${REPO}.git`);
    await mkdir(origin, { recursive: true });
    await git(origin, 'init', '--quiet', '--bare', '--initial-branch=main');
    await git(job.dir, 'clone', '--quiet', origin, job.workspace);
    await writeFile(join(job.workspace, '.caged.yaml'), CONFIG);
    await git(job.workspace, 'add', '--all');
    await git(job.workspace, 'commit', '--quiet', '-m', 'config');
    await git(job.workspace, 'push', '--quiet', 'origin', 'main');
    base = await git(job.workspace, 'rev-parse', 'HEAD');
    // Left uncommitted by an earlier step of the job: the agent still sees it.
    await writeFile(join(job.workspace, 'notes.txt'), 'remember the milk\n');
  });

  test('each completed task with changes gets its own branch and pull request', async () => {
    const result = await runAction({
      job,
      fake: suite.fake,
      inputs: { tasks: TASKS, deliver: 'pull-request', 'github-token': TOKEN },
      event: dispatchEvent,
      env: { GITHUB_SERVER_URL: `file://${join(job.dir, 'server')}` },
    });
    const runId = result.state['run-id']!;
    suite.runIds.add(runId);
    expect(result.code, result.log).toBe(0);

    const workspaceBranch = `caged/note-for-the-workspace-${runId}`;
    const repoBranch = `caged/tidy-the-repo-${runId}`;
    expect(await git(origin, 'show', `${workspaceBranch}:seen.txt`)).toBe('remember the milk');
    expect(await git(origin, 'log', '--format=%s', `${base}..${workspaceBranch}`)).toBe('caged: note for the workspace\ncaged: snapshot of the workspace');
    expect(await git(origin, 'show', `${repoBranch}:CHANGELOG.md`)).toBe('# Changelog');
    expect(await git(origin, 'rev-parse', `${repoBranch}^`)).toBe(base);
    expect(await git(origin, 'for-each-ref', '--format=%(refname:short)', 'refs/heads/caged/')).toBe([repoBranch, workspaceBranch].sort().join('\n'));
    // The workspace itself is untouched.
    expect(await git(job.workspace, 'status', '--porcelain')).toBe('?? notes.txt');

    expect(suite.fake.createdPulls.map(({ head, base: into, title }) => ({ head, base: into, title }))).toEqual([
      { head: workspaceBranch, base: 'main', title: 'caged: note for the workspace' },
      { head: repoBranch, base: 'main', title: 'caged: tidy the repo' },
    ]);
    const summary = plain(result.summary);
    expect(summary).toMatch(/#1: opened pull request #\d+ from caged\/note-for-the-workspace-/);
    expect(summary).toMatch(/#2: opened pull request #\d+ from caged\/tidy-the-repo-/);
    expect(summary).toContain('#3: no changes');
    expect(suite.fake.violations).toEqual([]);
  });
});

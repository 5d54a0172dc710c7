import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { actionSuite, checkout, CONFIG, containersOfRun, git, OWNER, plain, REPO, runAction, TOKEN, type Event, type Job } from './harness.js';

const PR = 31;

describe('the bundled action answers /caged run comments', () => {
  const suite = actionSuite();
  let job: Job;
  let origin: string;
  let headSha: string;

  /** The PR's repository is a local bare repository; the fake's `pulls.get` names it as the head's clone_url. */
  beforeAll(async () => {
    job = await suite.job('trigger');
    origin = join(job.dir, 'origin.git');
    await mkdir(origin);
    await git(origin, 'init', '--quiet', '--bare', '--initial-branch=main');
    const agent = 'agent: {command: \'printf "%s\\n" "$CAGED_PROMPT" > from-caged.txt && echo done\'}\nbudget: 1\n';
    await checkout(job, { '.caged.yaml': CONFIG + agent, 'README.md': '# widgets\n' });
    await git(job.workspace, 'push', '--quiet', origin, 'main');
    await git(job.workspace, 'checkout', '--quiet', '-b', 'feature');
    await git(job.workspace, 'commit', '--quiet', '--allow-empty', '-m', 'feature work');
    await git(job.workspace, 'push', '--quiet', origin, 'feature');
    headSha = await git(job.workspace, 'rev-parse', 'HEAD');
    // issue_comment runs on the default branch: the workspace is main's checkout.
    await git(job.workspace, 'checkout', '--quiet', 'main');
    const end = { sha: headSha, cloneUrl: `file://${origin}`, fullName: `${OWNER}/${REPO}` };
    suite.fake.pulls.set(PR, { number: PR, head: { ...end, ref: 'feature' }, base: { ...end, ref: 'main' } });
    suite.fake.permissions.set('reader', { permission: 'read', role_name: 'read' });
    suite.fake.permissions.set('writer', { permission: 'write', role_name: 'maintain' });
  });


  function commentEvent(login: string, body: string, type: 'User' | 'Bot' = 'User'): Event {
    const comment = suite.fake.addComment(PR, body, login, type);
    return {
      name: 'issue_comment',
      payload: {
        action: 'created',
        issue: { number: PR, pull_request: { url: `${suite.fake.url}/repos/${OWNER}/${REPO}/pulls/${PR}` } },
        comment: { id: comment.id, body, user: { login, type } },
        repository: { name: REPO, owner: { login: OWNER } },
      },
    };
  }

  const inputs = { 'github-token': TOKEN, deliver: 'branch' };

  test('a read-only user gets a refusal and no sandbox starts', async () => {
    const event = commentEvent('reader', '/caged run Delete everything');
    const result = await runAction({ job, fake: suite.fake, inputs, event });
    suite.runIds.add(result.state['run-id']!);
    expect(result.code, result.log).toBe(0);
    expect(result.log).toContain('reader has read permission');
    const commentId = (event.payload.comment as { id: number }).id;
    expect(suite.fake.reactions).toContainEqual({ commentId, content: 'confused' });
    expect(suite.fake.reactions.filter((reaction) => reaction.commentId === commentId).map((reaction) => reaction.content)).not.toContain('eyes');
    const reply = suite.fake.comments.at(-1)!;
    expect(plain(reply.body)).toContain('caged did not run: reader has read permission on octo/widgets');
    expect(await containersOfRun(result.state['run-id']!)).toEqual([]);
    expect(suite.fake.requests.some((request) => request.operationId === 'pulls/get')).toBe(false);
    expect(await git(origin, 'rev-parse', 'feature')).toBe(headSha);
    expect(suite.fake.violations).toEqual([]);
  });

  test('a bot not in allowed-bots is refused without asking for its permission', async () => {
    const before = suite.fake.requests.length;
    const result = await runAction({ job, fake: suite.fake, inputs, event: commentEvent('helper[bot]', '/caged run Update things', 'Bot') });
    suite.runIds.add(result.state['run-id']!);
    expect(result.code, result.log).toBe(0);
    expect(plain(suite.fake.comments.at(-1)!.body)).toContain('helper[bot] is a Bot account and not listed in allowed-bots');
    expect(suite.fake.requests.slice(before).some((request) => request.operationId === 'repos/get-collaborator-permission-level')).toBe(false);
  });

  test('a malformed command gets its error at the column and starts nothing', async () => {
    const result = await runAction({ job, fake: suite.fake, inputs, event: commentEvent('writer', '/caged run --budgte 3 fix it') });
    suite.runIds.add(result.state['run-id']!);
    expect(result.code).toBe(1);
    expect(plain(suite.fake.comments.at(-1)!.body)).toContain('comment line 1, col 12: unknown option --budgte (did you mean --budget?)');
    expect(await containersOfRun(result.state['run-id']!)).toEqual([]);
  });

  test('a writer runs the prompt on the PR head; the commit reaches the PR branch and the answer the sticky comment', async () => {
    const event = commentEvent('writer', '/caged run --budget 0.5 Add a greeting file\nwith two lines');
    const result = await runAction({ job, fake: suite.fake, inputs, event });
    suite.runIds.add(result.state['run-id']!);
    expect(result.code, result.log).toBe(0);
    const commentId = (event.payload.comment as { id: number }).id;
    expect(suite.fake.reactions.filter((reaction) => reaction.commentId === commentId).map((reaction) => reaction.content)).toEqual(['eyes', 'rocket']);
    // The change is a new commit on top of the PR head, on the PR's own branch.
    const tip = await git(origin, 'rev-parse', 'feature');
    expect(tip).not.toBe(headSha);
    expect(await git(origin, 'rev-parse', `${tip}^`)).toBe(headSha);
    expect(await git(origin, 'show', `${tip}:from-caged.txt`)).toBe('Add a greeting file\nwith two lines');
    expect(await git(origin, 'log', '-1', '--format=%s', tip)).toBe('caged: Add a greeting file');
    // The answer.
    const sticky = suite.fake.comments.find((comment) => comment.body.startsWith('<!-- caged:caged%20batch/agents -->'))!;
    expect(sticky.body).toContain('✅ completed');
    expect(sticky.body).toContain('$0.50');
    expect(plain(sticky.body)).toMatch(/pushed [0-9a-f]{7,} to the pull request's branch feature/);
    expect(result.outputs.completed).toBe('1');
    expect(await containersOfRun(result.state['run-id']!)).toEqual([]);
    expect(suite.fake.violations).toEqual([]);
  });
});

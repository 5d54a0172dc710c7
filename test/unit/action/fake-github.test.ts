import { getOctokit } from '@actions/github';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeGitHub } from '../../support/fake-github.js';

/** The fake must hold callers to GitHub's published description, or the action tests prove nothing. */
describe('the fake GitHub', () => {
  let fake: FakeGitHub;
  beforeAll(async () => {
    fake = await FakeGitHub.start({ owner: 'octo', repo: 'widgets', token: 't0k' });
  });
  afterAll(() => fake.close());

  it('records out-of-spec requests as violations and still answers in the published shapes', async () => {
    const octokit = getOctokit('t0k', { baseUrl: fake.url });
    const comment = fake.addComment(3, 'hello', 'someone');
    // Literal routes: octokit's types would refuse these calls, which is the point.
    await octokit.request('POST /repos/octo/widgets/issues/3/comments', { text: 'x' }).catch(() => undefined);
    await octokit.request(`POST /repos/octo/widgets/issues/comments/${comment.id}/reactions`, { content: 'party' }).catch(() => undefined);
    await octokit.request('GET /repos/octo/widgets/issues/3/comments', { per_page: 'many' }).catch(() => undefined);
    await octokit.request('GET /repos/{owner}/{repo}/no-such-thing', { owner: 'octo', repo: 'widgets' }).catch(() => undefined);
    expect(fake.violations).toEqual([
      "POST /repos/octo/widgets/issues/3/comments: body: data must have required property 'body'",
      'POST /repos/octo/widgets/issues/3/comments: undeclared body key text',
      'POST /repos/octo/widgets/issues/comments/1000/reactions: body: data/content must be equal to one of the allowed values',
      'GET /repos/octo/widgets/issues/3/comments: query parameter per_page=many: data must be integer',
      'GET /repos/octo/widgets/no-such-thing: no such operation in the OpenAPI description',
    ]);
  });

  it('answers 401 without the token and 404 for other repositories', async () => {
    const stranger = getOctokit('wrong', { baseUrl: fake.url });
    await expect(stranger.rest.repos.get({ owner: 'octo', repo: 'widgets' })).rejects.toMatchObject({ status: 401 });
    const octokit = getOctokit('t0k', { baseUrl: fake.url });
    await expect(octokit.rest.repos.get({ owner: 'octo', repo: 'other' })).rejects.toMatchObject({ status: 404 });
    const { data } = await octokit.rest.repos.get({ owner: 'octo', repo: 'widgets' });
    expect(data).toMatchObject({ full_name: 'octo/widgets', default_branch: 'main' });
  });
});

import { getOctokit } from '@actions/github';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stickyMarker, upsertStickyComment } from '../../../src/report/pr-comment.js';
import { FakeGitHub } from '../../support/fake-github.js';

describe('the sticky comment', () => {
  let fake: FakeGitHub;
  beforeAll(async () => {
    fake = await FakeGitHub.start({ owner: 'octo', repo: 'widgets', token: 't0k' });
  });
  afterAll(() => fake.close());

  it('is found past the first page by its marker, updated in place, and kept apart per workflow and job', async () => {
    const octokit = getOctokit('t0k', { baseUrl: fake.url });
    const target = { owner: 'octo', repo: 'widgets', issueNumber: 9, marker: stickyMarker('CI', 'agents') };
    for (let index = 0; index < 130; index += 1) fake.addComment(9, `chatter ${index} <!-- caged:CI/agents --> quoted, not at the start`, 'someone');
    const created = await upsertStickyComment(octokit, target, `${target.marker}\nfirst`);
    expect(created.created).toBe(true);
    for (let index = 0; index < 20; index += 1) fake.addComment(9, `more chatter ${index}`, 'someone');
    const updated = await upsertStickyComment(octokit, target, `${target.marker}\nsecond`);
    expect(updated).toMatchObject({ id: created.id, created: false });
    const other = await upsertStickyComment(octokit, { ...target, marker: stickyMarker('CI', 'lint') }, `${stickyMarker('CI', 'lint')}\nlint`);
    expect(other.created).toBe(true);
    expect(fake.comments.filter((comment) => comment.body.startsWith('<!-- caged:')).map((comment) => comment.body)).toEqual([`${target.marker}\nsecond`, `${stickyMarker('CI', 'lint')}\nlint`]);
    // Two pages of 100 before the sticky comment was found on the second.
    expect(fake.requests.filter((request) => request.operationId === 'issues/list-comments').map((request) => request.query.page ?? '1')).toEqual(['1', '2', '1', '2', '1', '2']);
    expect(fake.violations).toEqual([]);
    await expect(upsertStickyComment(octokit, target, 'no marker')).rejects.toThrow('must start with its marker');
  });
});

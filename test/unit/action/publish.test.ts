import { describe, expect, it } from 'vitest';
import type { ActionContext } from '../../../src/action/context.js';
import { readInputs } from '../../../src/action/inputs.js';
import { commentIssue, markerFor } from '../../../src/action/publish.js';

const base: ActionContext = {
  eventName: 'pull_request',
  payload: {},
  owner: 'octo',
  repo: 'widgets',
  serverUrl: 'https://github.com',
  workflow: 'agents',
  job: 'batch',
  workspace: '/w',
  scratch: '/t',
  stateRoot: '/s',
  runId: 'gha-1-1-ab',
  runUrl: 'https://github.com/octo/widgets/actions/runs/1',
  pullRequest: 7,
  issue: 7,
};
const onIssue: ActionContext = { ...base, eventName: 'issues', pullRequest: undefined, issue: 9 };
const onPush: ActionContext = { ...base, eventName: 'push', pullRequest: undefined, issue: undefined };
const inputs = (values: Record<string, string>) => readInputs((name) => values[name] ?? '');

describe('where the sticky comment goes', () => {
  it('auto: pull requests only, and not from shard jobs', () => {
    expect(commentIssue(inputs({}), base)).toBe(7);
    expect(commentIssue(inputs({}), onIssue)).toBeUndefined();
    expect(commentIssue(inputs({}), onPush)).toBeUndefined();
    expect(commentIssue(inputs({ shard: '0/2' }), base)).toBeUndefined();
    expect(commentIssue(inputs({ shard: '0/1' }), base)).toBe(7);
  });

  it('always: issues and shards too; never: nowhere, not even for the comment trigger', () => {
    expect(commentIssue(inputs({ comment: 'always' }), onIssue)).toBe(9);
    expect(commentIssue(inputs({ comment: 'always', shard: '1/2' }), base)).toBe(7);
    expect(commentIssue(inputs({}), base, true)).toBe(7);
    expect(commentIssue(inputs({ comment: 'never' }), base, true)).toBeUndefined();
  });

  it('keeps shards apart from each other and from the unsharded job', () => {
    expect(markerFor(base, undefined)).toBe('<!-- caged:agents/batch -->');
    expect(markerFor(base, { index: 1, total: 2 })).toBe('<!-- caged:agents/batch%231 -->');
    expect(markerFor(base, { index: 0, total: 1 })).toBe('<!-- caged:agents/batch -->');
  });
});

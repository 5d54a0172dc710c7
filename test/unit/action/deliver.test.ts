import { describe, expect, it } from 'vitest';
import { outcomeFromInfo, type TaskOutcome } from '../../../src/batch/results.js';
import { deliveryBranch, planDelivery, type DeliveryTarget } from '../../../src/action/deliver.js';

const done: TaskOutcome = {
  ...outcomeFromInfo({ index: 0, task: 'Fix the flaky test!', prompt: 'Fix the flaky test!', budget: 1 }, undefined, 1000, '/tmp/p.patch'),
  status: 'completed',
  changes: { files: 2, insertions: 3, deletions: 1, patch_path: '/tmp/p.patch' },
};
const base: DeliveryTarget = { fetchUrl: 'https://github.com/o/r.git', fetchRef: 'HEAD', repo: { owner: 'o', repo: 'r' }, pushUrl: 'https://github.com/o/r.git' };
const samePr: DeliveryTarget = { ...base, pr: { number: 4, headRef: 'feature', baseRef: 'main', sameRepo: true } };
const forkPr: DeliveryTarget = { ...base, pr: { number: 4, headRef: 'main', baseRef: 'release', sameRepo: false } };

describe('delivery plans', () => {
  it('deliver only completed tasks that changed something', () => {
    expect(planDelivery('branch', { ...done, status: 'killed' }, base, 'run1')).toEqual({ kind: 'none', why: 'the task hit its budget; nothing delivered' });
    expect(planDelivery('branch', { ...done, status: 'failed' }, base, 'run1')).toEqual({ kind: 'none', why: 'the task did not complete; nothing delivered' });
    expect(planDelivery('branch', { ...done, changes: null }, base, 'run1')).toEqual({ kind: 'none', why: 'no changes' });
    expect(planDelivery('none', done, base, 'run1')).toEqual({ kind: 'none', why: 'deliver: none' });
    expect(planDelivery('patch', done, base, 'run1')).toEqual({ kind: 'patch' });
  });

  it('push onto the branch of a pull request from the same repository', () => {
    expect(planDelivery('branch', done, samePr, 'run1')).toEqual({ kind: 'push', branch: 'feature', intoPr: 4 });
    expect(planDelivery('pull-request', done, samePr, 'run1')).toEqual({ kind: 'push', branch: 'feature', intoPr: 4 });
  });

  it('never push to a fork: a new branch of the base repository, and a pull request against the PR base', () => {
    expect(planDelivery('branch', done, forkPr, 'run1')).toEqual({ kind: 'push', branch: 'caged/fix-the-flaky-test-run1' });
    expect(planDelivery('pull-request', done, forkPr, 'run1')).toEqual({ kind: 'pull-request', branch: 'caged/fix-the-flaky-test-run1', base: 'release' });
  });

  it('outside pull requests: a new branch, a pull request against the given or default branch; a patch where GitHub cannot take it', () => {
    expect(planDelivery('pull-request', done, { ...base, baseBranch: 'develop' }, 'run1')).toEqual({ kind: 'pull-request', branch: 'caged/fix-the-flaky-test-run1', base: 'develop' });
    expect(planDelivery('pull-request', done, base, 'run1')).toEqual({ kind: 'pull-request', branch: 'caged/fix-the-flaky-test-run1' });
    expect(planDelivery('branch', done, undefined, 'run1')).toEqual({ kind: 'patch', why: 'not a repository of this GitHub server' });
  });

  it('names branches caged/<task>-<run>, safe for git', () => {
    expect(deliveryBranch('Ünïcode & spaces / slashes', 'gha-1-1-ab')).toBe('caged/n-code-spaces-slashes-gha-1-1-ab');
  });
});

import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { context } from '@actions/github';

/** What the action needs to know about the workflow run it is part of. */
export interface ActionContext {
  eventName: string;
  /** The webhook payload (`GITHUB_EVENT_PATH`). */
  payload: typeof context.payload;
  owner: string;
  repo: string;
  serverUrl: string;
  workflow: string;
  job: string;
  /** The checked-out workspace. */
  workspace: string;
  /** This run's scratch directory (results file, patches, workspace copies). */
  scratch: string;
  /** The local engine's state (workspaces, logs); the post step cleans up there too. */
  stateRoot: string;
  /** Labels every sandbox of this action run (`dev.caged.run`); the post step cleans up by it. */
  runId: string;
  runUrl: string;
  /** `refs/heads/<name>` → name, else undefined. */
  branch?: string;
  /** The pull request (or issue) the event belongs to. */
  pullRequest?: number;
  issue?: number;
}

/** CAGED_HOME when set, else under the runner's temp directory, which GitHub empties after the job. */
function cagedStateRoot(env: NodeJS.ProcessEnv = process.env): string {
  return env.CAGED_HOME ?? join(env.RUNNER_TEMP ?? tmpdir(), 'caged', 'state');
}

export function actionContext(env: NodeJS.ProcessEnv = process.env): ActionContext {
  const [owner = '', repo = ''] = (env.GITHUB_REPOSITORY ?? '/').split('/');
  const runId = `gha-${context.runId || 0}-${context.runAttempt || 1}-${randomBytes(4).toString('hex')}`;
  const payload = context.payload;
  const issueNumber = payload.pull_request?.number ?? payload.issue?.number;
  const isPull = Boolean(payload.pull_request) || Boolean(payload.issue?.pull_request);
  const serverUrl = context.serverUrl.replace(/\/$/, '');
  return {
    eventName: context.eventName,
    payload,
    owner,
    repo,
    serverUrl,
    workflow: context.workflow,
    job: context.job,
    workspace: resolve(env.GITHUB_WORKSPACE ?? process.cwd()),
    scratch: join(env.RUNNER_TEMP ?? tmpdir(), 'caged', runId),
    stateRoot: cagedStateRoot(env),
    runId,
    runUrl: `${serverUrl}/${owner}/${repo}/actions/runs/${context.runId}`,
    ...((context.ref ?? '').startsWith('refs/heads/') ? { branch: context.ref.slice('refs/heads/'.length) } : {}),
    ...(isPull && issueNumber ? { pullRequest: issueNumber } : {}),
    ...(issueNumber ? { issue: issueNumber } : {}),
  };
}

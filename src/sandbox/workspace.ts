import { spawn } from 'node:child_process';
import { lstat, mkdir, opendir, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { AGENT_UID } from './container.js';
import { gitFailure, runGit, type GitResult } from './git.js';
import { resolveRepo, type RepoSource } from './repo-source.js';
import type { PreparedWorkspace, WorkspaceSource } from './types.js';

export class WorkspaceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WorkspaceError';
  }
}

/** `$XDG_STATE_HOME/caged/workspaces`, else `~/.local/state/caged/workspaces`. */
export function defaultWorkspaceRoot(env: NodeJS.ProcessEnv = process.env): string {
  const state = env.XDG_STATE_HOME || join(homedir(), '.local', 'state');
  return join(state, 'caged', 'workspaces');
}

/**
 * Answers git's credential request with the token, and only for the repository's own host, so a
 * redirect elsewhere never sees it. The token travels in the environment of the host's git process:
 * never in a URL, an argument list, .git/config or the sandbox.
 */
const CREDENTIAL_HELPER =
  '!f() { test "$1" = get || exit 0; h=; while IFS= read -r l; do case "$l" in host=*) h="${l#host=}";; esac; done; ' +
  'test -n "$h" && test "$h" = "$CAGED_GIT_HOST" || exit 0; echo username=x-access-token; echo "password=$CAGED_GIT_TOKEN"; }; f';

/** For caged's own commits: a fixed author, and none of the user's hooks or signing prompts. */
const OWN_COMMIT = ['-c', 'user.name=caged', '-c', 'user.email=caged@localhost', '-c', 'core.hooksPath=/dev/null', '-c', 'commit.gpgsign=false'];

interface Auth {
  config: string[];
  env: Record<string, string>;
  redact: (text: string) => string;
}

function authFor(source: RepoSource, token: string | undefined): Auth {
  if (!token || source.kind !== 'remote') return { config: [], env: {}, redact: (text) => text };
  return {
    // The empty helper first drops any configured helper, so none of them stores the token.
    config: ['-c', 'credential.helper=', '-c', `credential.helper=${CREDENTIAL_HELPER}`],
    env: { CAGED_GIT_TOKEN: token, CAGED_GIT_HOST: source.host },
    redact: (text) => text.split(token).join('***'),
  };
}

/**
 * Clones (or, without a repo, initialises) the workspace of sandbox `id` at `root/id` on the host,
 * checks out `ref`, and makes it writable for the agent user.
 */
export async function prepareWorkspace(root: string, id: string, source: WorkspaceSource): Promise<PreparedWorkspace> {
  const dir = join(root, id);
  await mkdir(root, { recursive: true, mode: 0o700 });
  try {
    await mkdir(dir, { mode: 0o755 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new WorkspaceError(`workspace ${dir} already exists`);
    throw error;
  }
  try {
    const baseCommit = source.repo ? await cloneInto(dir, source) : await initEmpty(dir);
    await grantAgent(dir);
    return { dir, baseCommit };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

async function cloneInto(dir: string, workspace: WorkspaceSource): Promise<string> {
  const source = resolveRepo(workspace.repo!);
  if (workspace.ref?.startsWith('-')) throw new WorkspaceError(`ref ${workspace.ref} of ${source.display} is not a branch, tag or commit`);
  const auth = authFor(source, workspace.gitToken);
  const fail = (what: string, result: GitResult) => new WorkspaceError(`${what}: ${auth.redact(gitFailure(result))}`);
  const clone = await runGit(
    [
      ...auth.config,
      'clone',
      '--quiet',
      // Hard links would share object files with the source repository, which the chown below must not touch.
      ...(source.kind === 'local' ? ['--no-hardlinks'] : []),
      ...(workspace.ref ? ['--no-checkout'] : []),
      '--',
      source.url,
      dir,
    ],
    { env: auth.env },
  );
  if (clone.code !== 0) throw fail(`could not clone ${source.display}`, clone);
  if (workspace.ref) await checkoutRef(dir, workspace.ref, source, auth, fail);
  const head = await runGit(['rev-parse', '--verify', '--quiet', 'HEAD^{commit}'], { cwd: dir });
  if (head.code === 0) return head.stdout.toString('utf8').trim();
  // An empty repository has no commit to diff against: give it one.
  return commitEmpty(dir, 'caged: empty repository');
}

async function checkoutRef(
  dir: string,
  ref: string,
  source: RepoSource,
  auth: Auth,
  fail: (what: string, result: GitResult) => WorkspaceError,
): Promise<void> {
  // Branches (which become local tracking branches), tags and commits the clone already holds.
  const direct = await runGit(['checkout', '--quiet', ref, '--'], { cwd: dir });
  if (direct.code === 0) return;
  // Anything else the remote will hand out by name, e.g. refs/pull/1/head or an unadvertised commit.
  const fetch = await runGit([...auth.config, 'fetch', '--quiet', 'origin', '--', ref], { cwd: dir, env: auth.env });
  if (fetch.code !== 0) throw fail(`ref ${ref} not found in ${source.display}`, fetch);
  const detached = await runGit(['checkout', '--quiet', '--detach', 'FETCH_HEAD', '--'], { cwd: dir });
  if (detached.code !== 0) throw fail(`could not check out ${ref} of ${source.display}`, detached);
}

async function initEmpty(dir: string): Promise<string> {
  const init = await runGit(['init', '--quiet', '--initial-branch=main', dir]);
  if (init.code !== 0) throw new WorkspaceError(`could not initialise an empty workspace: ${gitFailure(init)}`);
  return commitEmpty(dir, 'caged: empty workspace');
}

async function commitEmpty(dir: string, message: string): Promise<string> {
  const commit = await runGit([...OWN_COMMIT, 'commit', '--quiet', '--allow-empty', '--no-verify', '-m', message], { cwd: dir });
  if (commit.code !== 0) throw new WorkspaceError(`could not create the base commit: ${gitFailure(commit)}`);
  const head = await runGit(['rev-parse', 'HEAD'], { cwd: dir });
  return head.stdout.toString('utf8').trim();
}

/**
 * The agent runs as uid 1000. A root controller hands the tree over; any other controller
 * (e.g. uid 1001 on GitHub runners) opens it up instead, since it may not chown.
 */
async function grantAgent(dir: string): Promise<void> {
  const uid = process.getuid?.();
  if (uid === AGENT_UID) return;
  const args = uid === 0 ? ['-R', `${AGENT_UID}:${AGENT_UID}`, dir] : ['-R', 'a+rwX', dir];
  await runTool(uid === 0 ? 'chown' : 'chmod', args);
}

function runTool(command: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString('utf8')).slice(-2048);
    });
    child.on('error', (error) => reject(new WorkspaceError(`${command} failed: ${error.message}`)));
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new WorkspaceError(`${command} ${args.join(' ')} failed: ${stderr.trim() || `exit ${code}`}`)),
    );
  });
}

/** Bytes the workspace occupies on disk (allocated blocks; hard links counted once; symlinks not followed). */
export async function diskUsage(dir: string): Promise<number> {
  const seen = new Set<string>();
  let total = 0;
  const pending = [dir];
  while (pending.length > 0) {
    const current = pending.pop()!;
    let entries;
    try {
      entries = await opendir(current);
    } catch (error) {
      // A directory the agent removed (or made unreadable) while we walked.
      if (isGoneOrDenied(error)) continue;
      throw error;
    }
    for await (const entry of entries) {
      const path = join(current, entry.name);
      let stats;
      try {
        stats = await lstat(path, { bigint: false });
      } catch (error) {
        if (isGoneOrDenied(error)) continue;
        throw error;
      }
      if (stats.nlink > 1) {
        const key = `${stats.dev}:${stats.ino}`;
        if (seen.has(key)) continue;
        seen.add(key);
      }
      total += stats.blocks * 512;
      if (stats.isDirectory()) pending.push(path);
    }
  }
  return total;
}

function isGoneOrDenied(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'EACCES' || code === 'ENOTDIR';
}

/** Removes a workspace; EACCES/EPERM (files the agent made, seen by a non-root controller) is left to the caller. */
export async function removeWorkspace(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true, maxRetries: 2 });
}

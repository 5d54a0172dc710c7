import * as core from '@actions/core';
import { runGit, type GitResult } from '../sandbox/git.js';

/** caged's own commits and pushes: a fixed author, none of the repository's hooks, no signing prompt. */
const OWN_COMMIT = ['-c', 'user.name=caged', '-c', 'user.email=caged@users.noreply.github.com', '-c', 'core.hooksPath=/dev/null', '-c', 'commit.gpgsign=false'];

export interface GitAuth {
  /** Environment that hands the token to git for one URL prefix only. */
  env: Record<string, string>;
  redact(text: string): string;
}

/**
 * The token reaches git as an HTTP header scoped to the server's URL, through git's
 * GIT_CONFIG_* environment: never in a URL, an argument list, or a file.
 */
export function gitAuth(serverUrl: string, token: string | undefined): GitAuth {
  if (!token) return { env: {}, redact: (text) => text };
  const basic = Buffer.from(`x-access-token:${token}`).toString('base64');
  core.setSecret(basic);
  return {
    env: { GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: `http.${serverUrl.replace(/\/?$/, '/')}.extraheader`, GIT_CONFIG_VALUE_0: `AUTHORIZATION: basic ${basic}` },
    redact: (text) => text.split(token).join('***').split(basic).join('***'),
  };
}

/** git's reasons: a push names them in `! [rejected]` and `remote:` lines before its closing error. */
function failure(result: GitResult): string {
  const lines = result.stderr.split('\n').map((line) => line.trim()).filter((line) => /^(fatal|error|remote|!)/.test(line) || /rejected|denied/.test(line));
  return lines.slice(-3).join(' / ') || `git exited with ${result.code}`;
}

/** Runs git without a shell; a failure throws with git's own reasons, token removed. */
export async function git(args: string[], options: { cwd?: string; auth?: GitAuth; own?: boolean } = {}): Promise<string> {
  const result = await runGit([...(options.own ? OWN_COMMIT : []), ...args], { cwd: options.cwd, env: options.auth?.env });
  if (result.code !== 0) {
    const what = args.find((arg) => !arg.startsWith('-')) ?? 'git';
    throw new Error(`git ${what} failed: ${options.auth ? options.auth.redact(failure(result)) : failure(result)}`);
  }
  return result.stdout.toString('utf8').trim();
}

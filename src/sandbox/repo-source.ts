import { homedir } from 'node:os';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where a workspace comes from, resolved from the task's `repo` string. */
export type RepoSource =
  | { kind: 'remote'; url: string; host: string; display: string }
  | { kind: 'local'; url: string; path: string; display: string };

export class RepoSourceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RepoSourceError';
  }
}

const GITHUB_SHORTHAND = /^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/;

/**
 * `https://…` (or `http://…`), `owner/name` (GitHub), `file://…`, or a local path. Exactly two
 * plain segments read as GitHub shorthand; write `./owner/name` for a local directory of that shape.
 */
export function resolveRepo(repo: string, cwd: string = process.cwd()): RepoSource {
  const text = repo.trim();
  if (!text) throw new RepoSourceError('repo is empty');
  if (/^https?:\/\//i.test(text)) {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      throw new RepoSourceError(`repo ${text} is not a valid URL`);
    }
    if (url.username || url.password) {
      throw new RepoSourceError(`repo URL ${url.host}${url.pathname} carries credentials: pass the token as git_token instead`);
    }
    return { kind: 'remote', url: url.href, host: url.host, display: url.href };
  }
  if (/^file:\/\//i.test(text)) {
    let path: string;
    try {
      path = fileURLToPath(text);
    } catch {
      throw new RepoSourceError(`repo ${text} is not a valid file:// URL`);
    }
    return { kind: 'local', url: text, path, display: text };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text) || /^[^/\s]+@[^/\s]+:/.test(text)) {
    throw new RepoSourceError(`repo ${text}: use an https URL, owner/name (GitHub), a local path or a file:// URL`);
  }
  if (GITHUB_SHORTHAND.test(text) && !text.startsWith('.')) {
    const name = text.replace(/\.git$/, '');
    return { kind: 'remote', url: `https://github.com/${name}.git`, host: 'github.com', display: name };
  }
  const path = text === '~' || text.startsWith('~/') ? resolve(homedir(), text.slice(2)) : resolve(cwd, text);
  return { kind: 'local', url: path, path, display: text };
}

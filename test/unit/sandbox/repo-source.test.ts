import { homedir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { RepoSourceError, resolveRepo } from '../../../src/sandbox/repo-source.js';

describe('resolveRepo', () => {
  it('expands owner/name to GitHub', () => {
    expect(resolveRepo('caged/batch-action')).toEqual({ kind: 'remote', url: 'https://github.com/caged/batch-action.git', host: 'github.com', display: 'caged/batch-action' });
    expect(resolveRepo('me/repo.git').url).toBe('https://github.com/me/repo.git');
  });

  it('takes https URLs as they are', () => {
    expect(resolveRepo('https://gitlab.example.com/group/sub/repo.git')).toEqual({
      kind: 'remote',
      url: 'https://gitlab.example.com/group/sub/repo.git',
      host: 'gitlab.example.com',
      display: 'https://gitlab.example.com/group/sub/repo.git',
    });
    expect(resolveRepo('http://127.0.0.1:8080/r.git')).toMatchObject({ kind: 'remote', host: '127.0.0.1:8080' });
  });

  it('refuses credentials in a URL', () => {
    expect(() => resolveRepo('https://x-access-token:ghs_secret@github.com/o/r')).toThrow(RepoSourceError);
    expect(() => resolveRepo('https://x-access-token:ghs_secret@github.com/o/r')).toThrow(/^repo URL github.com\/o\/r carries credentials/);
  });

  it('reads file:// URLs and paths as local', () => {
    expect(resolveRepo('file:///srv/repo')).toEqual({ kind: 'local', url: 'file:///srv/repo', path: '/srv/repo', display: 'file:///srv/repo' });
    expect(resolveRepo('/srv/repo')).toMatchObject({ kind: 'local', path: '/srv/repo' });
    expect(resolveRepo('./owner/name', '/work')).toMatchObject({ kind: 'local', path: '/work/owner/name' });
    expect(resolveRepo('../sibling', '/work/here')).toMatchObject({ kind: 'local', path: '/work/sibling' });
    expect(resolveRepo('a/b/c', '/work')).toMatchObject({ kind: 'local', path: '/work/a/b/c' });
    expect(resolveRepo('~/code/x')).toMatchObject({ kind: 'local', path: `${homedir()}/code/x` });
  });

  it.each(['git@github.com:o/r.git', 'ssh://git@host/r', 'ftp://host/r', '   '])('refuses %j with what it accepts', (repo) => {
    expect(() => resolveRepo(repo)).toThrow(RepoSourceError);
  });
});

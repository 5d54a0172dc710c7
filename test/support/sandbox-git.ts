import { execFileSync } from 'node:child_process';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { join, normalize } from 'node:path';

/** git with a fixed identity and no user config; workspaces belong to uid 1000, hence safe.directory. */
export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'safe.directory=*', '-c', 'user.name=test', '-c', 'user.email=test@example.invalid', '-c', 'init.defaultBranch=main', ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' },
  }).trim();
}

export interface SourceRepo {
  dir: string;
  main: string;
  feature: string;
  tagged: string;
  /** A commit no branch or tag points at any more. */
  orphan: string;
}

/** A repository with main, a feature branch, a tag v1 and an unreferenced commit. */
export async function makeSourceRepo(dir: string): Promise<SourceRepo> {
  await mkdir(dir, { recursive: true });
  git(dir, 'init', '--quiet');
  await writeFile(join(dir, 'a.txt'), 'one\ntwo\nthree\n');
  await writeFile(join(dir, 'logo.bin'), Buffer.from([0, 1, 2, 3, 0, 255]));
  git(dir, 'add', '.');
  git(dir, 'commit', '--quiet', '-m', 'first');
  const tagged = git(dir, 'rev-parse', 'HEAD');
  git(dir, 'tag', 'v1');
  git(dir, 'checkout', '--quiet', '-b', 'feature');
  await writeFile(join(dir, 'feature.txt'), 'feature\n');
  git(dir, 'add', '.');
  git(dir, 'commit', '--quiet', '-m', 'feature');
  const feature = git(dir, 'rev-parse', 'HEAD');
  git(dir, 'checkout', '--quiet', 'main');
  git(dir, 'checkout', '--quiet', '-b', 'doomed');
  await writeFile(join(dir, 'orphan.txt'), 'orphan\n');
  git(dir, 'add', '.');
  git(dir, 'commit', '--quiet', '-m', 'orphan');
  const orphan = git(dir, 'rev-parse', 'HEAD');
  git(dir, 'checkout', '--quiet', 'main');
  git(dir, 'branch', '--quiet', '-D', 'doomed');
  await writeFile(join(dir, 'a.txt'), 'one\ntwo\nthree\nfour\n');
  git(dir, 'commit', '--quiet', '-am', 'second');
  return { dir, main: git(dir, 'rev-parse', 'HEAD'), feature, tagged, orphan };
}

export interface GitHttpServer {
  url: string;
  authorizations: string[];
  close(): Promise<void>;
}

/**
 * Serves bare repositories under `root` over git's "dumb" HTTP protocol (plain files), and
 * only with HTTP Basic credentials `x-access-token:<token>`, like a private GitHub repository.
 */
export async function serveGitOverHttp(root: string, token: string): Promise<GitHttpServer> {
  const expected = `Basic ${Buffer.from(`x-access-token:${token}`).toString('base64')}`;
  const authorizations: string[] = [];
  const server: Server = createServer((request, response) => {
    const auth = request.headers.authorization;
    if (auth) authorizations.push(auth);
    if (auth !== expected) {
      response.writeHead(401, { 'WWW-Authenticate': 'Basic realm="git"' }).end();
      return;
    }
    const path = normalize(join(root, decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname)));
    if (!path.startsWith(root) || !existsSync(path) || !statSync(path).isFile()) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { 'Content-Type': 'application/octet-stream' });
    createReadStream(path).pipe(response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    authorizations,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chown, lstat, mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, startSandbox, TEST_IMAGE, type Harness } from '../../support/sandbox-harness.js';
import { git, makeSourceRepo, serveGitOverHttp, type SourceRepo } from '../../support/sandbox-git.js';
import { newSandboxId } from '../../../src/sandbox/ids.js';
import { emptyAsAgent } from '../../../src/sandbox/workspace-purge.js';
import { WorkspaceError } from '../../../src/sandbox/workspace.js';

let harness: Harness;
let source: SourceRepo;

beforeAll(async () => {
  harness = await createHarness();
  source = await makeSourceRepo(join(harness.root, 'source'));
});
afterAll(async () => {
  await harness?.cleanup();
});

const prepare = (repo?: string, ref?: string, gitToken?: string) =>
  harness.backend.prepareWorkspace(newSandboxId(), { ...(repo ? { repo } : {}), ...(ref ? { ref } : {}), ...(gitToken ? { gitToken } : {}) });

describe('workspace preparation', () => {
  it('clones a local path, checks out the default branch and hands it to uid 1000', async () => {
    const workspace = await prepare(source.dir);
    expect(workspace.baseCommit).toBe(source.main);
    expect(await readFile(join(workspace.dir, 'a.txt'), 'utf8')).toBe('one\ntwo\nthree\nfour\n');
    for (const path of [workspace.dir, join(workspace.dir, 'a.txt'), join(workspace.dir, '.git', 'HEAD')]) {
      expect((await lstat(path)).uid).toBe(1000);
    }
    // No hard links into the source: handing the clone over must not touch the source's files.
    const sourceObjects = execFileSync('find', [join(source.dir, '.git', 'objects'), '-type', 'f', '!', '-user', 'root'], { encoding: 'utf8' });
    expect(sourceObjects).toBe('');
  });

  it('clones a file:// URL at a branch, a tag or a commit', async () => {
    const url = pathToFileURL(source.dir).href;
    const feature = await prepare(url, 'feature');
    expect(feature.baseCommit).toBe(source.feature);
    expect(git(feature.dir, 'symbolic-ref', '--short', 'HEAD')).toBe('feature');
    expect((await prepare(url, 'v1')).baseCommit).toBe(source.tagged);
    expect((await prepare(source.dir, source.feature.slice(0, 12))).baseCommit).toBe(source.feature);
  });

  it('fetches a commit the clone did not bring along', async () => {
    execFileSync('git', ['-C', source.dir, 'config', 'uploadpack.allowAnySHA1InWant', 'true']);
    expect((await prepare(pathToFileURL(source.dir).href, source.orphan)).baseCommit).toBe(source.orphan);
  });

  it('starts an empty repository with one empty commit when there is no repo', async () => {
    const workspace = await prepare();
    expect(await readdir(workspace.dir)).toEqual(['.git']);
    expect(git(workspace.dir, 'rev-list', '--count', 'HEAD')).toBe('1');
    expect(git(workspace.dir, 'rev-parse', 'HEAD')).toBe(workspace.baseCommit);
  });

  it('names the repo or the ref that failed, and leaves no directory behind', async () => {
    const missing = join(harness.root, 'no-such-repo');
    await expect(prepare(missing)).rejects.toThrow(new RegExp(`^could not clone ${missing}: .*`));
    await expect(prepare(source.dir, 'no-such-branch')).rejects.toThrow(`ref no-such-branch not found in ${source.dir}`);
    await expect(prepare(source.dir, '--upload-pack=touch /tmp/x')).rejects.toThrow(WorkspaceError);
    const leftovers = await readdir(join(harness.root, 'workspaces'));
    for (const name of leftovers) expect(existsSync(join(harness.root, 'workspaces', name, '.git'))).toBe(true);
  });

  it('gives a token to git through a credential helper only, never into the repository or an error', async () => {
    const token = 'ghs_TESTTOKEN0123456789';
    const served = join(harness.root, 'served');
    await mkdir(join(served, 'private'), { recursive: true });
    execFileSync('git', ['clone', '--quiet', '--bare', source.dir, join(served, 'private', 'repo.git')]);
    execFileSync('git', ['-C', join(served, 'private', 'repo.git'), 'update-server-info']);
    const server = await serveGitOverHttp(served, token);
    try {
      const url = `${server.url}/private/repo.git`;
      const workspace = await prepare(url, undefined, token);
      expect(workspace.baseCommit).toBe(source.main);
      expect(server.authorizations.at(-1)).toBe(`Basic ${Buffer.from(`x-access-token:${token}`).toString('base64')}`);
      expect(await readFile(join(workspace.dir, '.git', 'config'), 'utf8')).not.toContain(token);
      const grep = spawnSync('grep', ['-rl', token, workspace.dir], { encoding: 'utf8' });
      expect(grep.status).toBe(1);

      const started = Date.now();
      await expect(prepare(url)).rejects.toThrow(`could not clone ${url}: `);
      expect(Date.now() - started).toBeLessThan(10_000);
      const wrong = prepare(url, undefined, 'ghs_WRONG_TOKEN');
      await expect(wrong).rejects.toThrow(`could not clone ${url}`);
      await expect(wrong).rejects.not.toThrow('ghs_WRONG_TOKEN');
      await expect(prepare(`http://x-access-token:${token}@127.0.0.1:1/private/repo.git`)).rejects.toThrow('pass the token as git_token');
    } finally {
      await server.close();
    }
  });
});

describe('workspace changes', () => {
  it('reports what the agent changed, committed or not, without running the repository config on the host', async () => {
    const spec = harness.spec();
    const cloned = await harness.backend.prepareWorkspace(spec.id, { repo: source.dir });
    await harness.backend.createContainer(spec, await harness.backend.createNetwork(spec, 'none'), cloned.dir);

    const script = [
      'set -e',
      'printf "one\\n2\\nthree\\nfour\\nfive\\n" > a.txt',
      'rm logo.bin',
      'printf "x\\0y" > new.bin',
      'mkdir -p "dir with space" && printf "hello\\n" > "dir with space/tab\there.txt"',
      'git -c user.name=agent -c user.email=agent@example.invalid commit -q -am "agent work"',
      'printf "uncommitted\\n" > later.txt',
      // What a hostile sandbox could plant for a host-side git to run.
      'git config filter.evil.clean "touch /workspace/PWNED-filter; cat"',
      'git config core.fsmonitor "touch /workspace/PWNED-fsmonitor; false"',
      'echo "* filter=evil" > .git/info/attributes',
    ].join('\n');
    const result = await harness.backend.exec(spec.id, { shell: script });
    expect(result.stderrTail).toBe('');
    expect(result.exitCode).toBe(0);
    const indexBefore = await readFile(join(cloned.dir, '.git', 'index'));

    const changes = await harness.backend.workspaceChanges(spec.id, cloned.baseCommit);
    expect(existsSync(join(cloned.dir, 'PWNED-filter'))).toBe(false);
    expect(existsSync(join(cloned.dir, 'PWNED-fsmonitor'))).toBe(false);
    expect(changes.files).toEqual([
      { path: 'a.txt', insertions: 2, deletions: 1 },
      { path: 'dir with space/tab\there.txt', insertions: 1, deletions: 0 },
      { path: 'later.txt', insertions: 1, deletions: 0 },
      { path: 'logo.bin', insertions: null, deletions: null },
      { path: 'new.bin', insertions: null, deletions: null },
    ]);
    expect(changes).toMatchObject({ insertions: 4, deletions: 1, patchTruncated: false });
    expect(changes.patch).toContain('+five\n');
    expect(changes.patch).toContain('+uncommitted\n');
    // The workspace's own index is neither read nor written.
    expect(await readFile(join(cloned.dir, '.git', 'index'))).toEqual(indexBefore);

    const small = await harness.backend.workspaceChanges(spec.id, cloned.baseCommit, { maxPatchBytes: 100 });
    expect(small.patch.length).toBe(100);
    expect(small.patchTruncated).toBe(true);
    expect(small.files).toHaveLength(5);
  });

  it('measures workspace disk use', async () => {
    const { spec } = await startSandbox(harness);
    const before = await harness.backend.workspaceBytes(spec.id);
    const result = await harness.backend.exec(spec.id, { shell: 'head -c 3000000 /dev/urandom > big && ln big big-link && ln -s big big-symlink' });
    expect(result.exitCode).toBe(0);
    const after = await harness.backend.workspaceBytes(spec.id);
    expect(after - before).toBeGreaterThanOrEqual(3_000_000);
    expect(after - before).toBeLessThan(3_200_000);
  });

  it('empties a workspace as the agent user, for controllers that cannot delete its files', async () => {
    const dir = join(harness.root, 'purge-me');
    await mkdir(join(dir, 'nested', 'deeper'), { recursive: true });
    await writeFile(join(dir, 'nested', 'deeper', 'file'), 'x');
    await writeFile(join(dir, '.hidden'), 'x');
    for (const path of [dir, join(dir, 'nested'), join(dir, 'nested', 'deeper'), join(dir, 'nested', 'deeper', 'file'), join(dir, '.hidden')]) {
      await chown(path, 1000, 1000);
    }
    await emptyAsAgent(harness.backend.docker, dir, TEST_IMAGE, { 'dev.caged.managed': 'true', 'dev.caged.run': harness.run, 'dev.caged.role': 'cleanup' });
    expect(await readdir(dir)).toEqual([]);
    expect((await stat(dir)).isDirectory()).toBe(true);
  });
});

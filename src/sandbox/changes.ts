import { lstat, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { gitFailure, runGit } from './git.js';
import { parseNumstat } from './numstat.js';
import type { WorkspaceChanges } from './types.js';

export const DEFAULT_MAX_PATCH_BYTES = 5 * 1024 * 1024;

/**
 * Files above this size are not hashed into the diff: an agent's multi-GiB artefact would stall
 * the end of its task for tens of seconds and be copied once more into the scratch object store.
 * They are listed as changed (like binaries) when their size differs from the base commit's.
 */
export const LARGE_FILE_BYTES = 32 * 1024 * 1024;

async function largeFiles(root: string, dir = root, found: Array<{ path: string; size: number }> = []): Promise<Array<{ path: string; size: number }>> {
  for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!(dir === root && entry.name === '.git')) await largeFiles(root, full, found);
    } else if (entry.isFile()) {
      const size = (await lstat(full).catch(() => undefined))?.size ?? 0;
      if (size > LARGE_FILE_BYTES) found.push({ path: relative(root, full), size });
    }
  }
  return found;
}

function literal(path: string): string {
  return `:(exclude,literal)${path}`;
}

/**
 * Everything that differs between `baseCommit` and the workspace's files (commits, edits,
 * new and deleted files), read on the host.
 *
 * The sandbox could write its .git/config (filter drivers, fsmonitor, hooks), and running host
 * git on that repository would run its commands on the host. So git runs against a throwaway
 * git directory with caged's own (empty) configuration: it borrows only the workspace's object
 * store, read-only, through `alternates`; the work tree is the workspace; the workspace's own
 * index and config are never read or written.
 */
export async function workspaceChanges(
  dir: string,
  baseCommit: string,
  options: { maxPatchBytes?: number } = {},
): Promise<WorkspaceChanges> {
  if (!/^[0-9a-f]{40}([0-9a-f]{24})?$/.test(baseCommit)) throw new Error(`not a commit id: ${baseCommit}`);
  const dotGit = join(dir, '.git');
  const stats = await lstat(dotGit).catch(() => undefined);
  if (!stats?.isDirectory()) throw new Error(`workspace ${dir} has no .git directory any more; its changes cannot be read`);
  const scratch = await mkdtemp(join(tmpdir(), 'caged-diff-'));
  try {
    await mkdir(join(scratch, 'objects', 'info'), { recursive: true });
    await mkdir(join(scratch, 'refs'));
    await writeFile(join(scratch, 'HEAD'), 'ref: refs/heads/caged\n');
    await writeFile(join(scratch, 'objects', 'info', 'alternates'), `${join(dotGit, 'objects')}\n`);
    const env = {
      HOME: scratch,
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_CONFIG_GLOBAL: '/dev/null',
      GIT_DIR: scratch,
      GIT_WORK_TREE: dir,
      GIT_INDEX_FILE: join(scratch, 'index'),
    };
    const git = async (args: string[], maxStdout?: number) => {
      const result = await runGit(args, { cwd: dir, env, ...(maxStdout === undefined ? {} : { maxStdout }) });
      if (result.code !== 0) throw new Error(`git ${args[0]} in ${dir} failed: ${gitFailure(result)}`);
      return result;
    };
    await git(['read-tree', baseCommit]);
    const large = await largeFiles(dir);
    const excluded = large.map((file) => literal(file.path));
    await git(['add', '--all', '--', '.', ...excluded]);
    const diff = ['diff', '--cached', '--no-renames', '--no-ext-diff', '--no-textconv'];
    const numstat = await git([...diff, '--numstat', '-z', baseCommit, '--', '.', ...excluded]);
    const patch = await git([...diff, baseCommit, '--', '.', ...excluded], options.maxPatchBytes ?? DEFAULT_MAX_PATCH_BYTES);
    const counted = parseNumstat(numstat.stdout.toString('utf8'));
    if (large.length > 0) {
      const listed = await git(['ls-tree', '-r', '-l', '-z', baseCommit, '--', ...large.map((file) => `:(literal)${file.path}`)]);
      const baseSizes = new Map(
        listed.stdout
          .toString('utf8')
          .split('\0')
          .filter(Boolean)
          .map((line) => {
            const [meta = '', path = ''] = line.split('\t');
            return [path, Number(meta.trim().split(/\s+/)[3])] as const;
          }),
      );
      for (const file of large) {
        if (baseSizes.get(file.path) !== file.size) counted.files.push({ path: file.path, insertions: null, deletions: null });
      }
    }
    return {
      ...counted,
      patch: patch.stdout.toString('utf8'),
      patchTruncated: patch.stdoutTruncated,
    };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

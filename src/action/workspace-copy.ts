import { cp, mkdir, realpath } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { runGit } from '../sandbox/git.js';
import { git } from './git.js';

/**
 * A task without a repo works on the checked-out workspace. Each such task gets its own copy
 * (the backend then clones the copy), so tasks never share a tree and the job's own checkout is
 * never touched. The copy holds what git would see: tracked and untracked files, not ignored
 * ones (build output, node_modules). Uncommitted changes are committed in the copy as a
 * snapshot, so the agent starts from the tree the job had and its diff holds only its own work.
 */
export async function copyWorkspace(source: string, target: string): Promise<{ snapshot: boolean }> {
  await mkdir(target, { recursive: true });
  const inRepo = await runGit(['rev-parse', '--show-toplevel'], { cwd: source });
  if (inRepo.code === 0 && inRepo.stdout.toString('utf8').trim() === (await realpath(source))) {
    await cp(join(source, '.git'), join(target, '.git'), { recursive: true, verbatimSymlinks: true });
    const listed = await runGit(['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: source });
    const files = new Set(listed.stdout.toString('utf8').split('\0').filter(Boolean));
    for (const file of files) {
      await mkdir(dirname(join(target, file)), { recursive: true });
      // A tracked file deleted in the workspace is listed but gone: the snapshot records the deletion.
      await cp(join(source, file), join(target, file), { verbatimSymlinks: true, recursive: true }).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOENT') throw error;
      });
    }
  } else {
    await cp(source, target, { recursive: true, verbatimSymlinks: true });
    await git(['init', '--quiet', '--initial-branch=main'], { cwd: target });
  }
  const status = await git(['status', '--porcelain'], { cwd: target });
  if (!status) return { snapshot: false };
  await git(['add', '--all'], { cwd: target, own: true });
  await git(['commit', '--quiet', '--no-verify', '-m', 'caged: snapshot of the workspace'], { cwd: target, own: true });
  return { snapshot: true };
}

import type { Command } from 'commander';
import { createDockerBackend } from '../../sandbox/docker.js';
import { cagedHome, enginePaths } from '../../engine/paths.js';
import { EXIT } from '../exit-codes.js';
import type { CommandContext } from '../context.js';
import { printJson, renderTable } from '../output.js';

/**
 * Removes what caged left behind: containers, networks and workspaces of controllers that died,
 * past their expiry, or (with --all) everything caged manages on this Docker engine.
 */
export function registerReap(program: Command, context: CommandContext): void {
  program
    .command('reap')
    .description('Remove leftovers of caged controllers that are gone (or, with --all, every caged sandbox on this Docker engine)')
    .option('--all', 'remove every caged-managed container, network and workspace, running or kept')
    .option('--run <id>', "only what one batch run made (its results file's run_id; the dev.caged.run label)")
    .option('--dry-run', 'list what would be removed, remove nothing')
    .option('--json', 'print the removed resources as JSON')
    .action(async (flags: { all?: boolean; run?: string; dryRun?: boolean; json?: boolean }) => {
      const backend = await createDockerBackend({ workspaceRoot: enginePaths(cagedHome()).workspaces });
      try {
        const { removed, unpurged } = await backend.reap({
          all: flags.all === true,
          dryRun: flags.dryRun === true,
          anyWorkspaceRoot: true,
          ...(flags.run ? { run: flags.run } : {}),
        });
        if (flags.json) {
          printJson(context.io, removed.map(({ kind, sandboxId, owner, dockerId }) => ({ kind, sandbox: sandboxId, owner, docker_id: dockerId })));
        } else if (removed.length === 0) {
          context.io.stderr.write('caged: nothing to remove\n');
        } else {
          context.io.stdout.write(`${renderTable(['KIND', 'SANDBOX', 'OWNER'], removed.map((resource) => [resource.kind, resource.sandboxId, resource.owner]))}\n`);
          context.io.stderr.write(`caged: ${flags.dryRun ? 'would remove' : 'removed'} ${removed.length} resource${removed.length === 1 ? '' : 's'}\n`);
        }
        for (const { sandboxId, dir, message } of unpurged) {
          context.io.stderr.write(`caged: could not delete the workspace of ${sandboxId} (${dir}): ${message}\n`);
        }
        if (unpurged.length > 0) context.exitCode = EXIT.failure;
      } finally {
        await backend.close();
      }
    });
}

import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { TEST_IMAGE } from './sandbox-harness.js';

const repoRoot = join(import.meta.dirname, '..', '..');

/** The fixture runs the built code: a stale lib/ would test something else than src/. */
function requireFreshBuild(): void {
  const sources = join(repoRoot, 'src', 'sandbox');
  for (const name of readdirSync(sources).filter((file) => file.endsWith('.ts'))) {
    const built = join(repoRoot, 'lib', 'sandbox', name.replace(/\.ts$/, '.js'));
    if (!existsSync(built)) throw new Error(`${built} is missing: run \`npm run build\` first`);
    if (statSync(built).mtimeMs < statSync(join(sources, name)).mtimeMs) throw new Error(`lib/ is older than src/sandbox/${name}: run \`npm run build\` first`);
  }
}

export interface ControllerHandle {
  ids: string[];
  owner: string;
  pid: number;
  kill(): Promise<void>;
}

/**
 * Starts test/support/sandbox-controller.mjs, a controller process that makes two sandboxes (one
 * with a network) labelled with `run` under `workspaceRoot`, and resolves once they exist.
 */
export async function startController(workspaceRoot: string, run: string): Promise<ControllerHandle> {
  requireFreshBuild();
  const child = spawn(process.execPath, [join(repoRoot, 'test', 'support', 'sandbox-controller.mjs'), workspaceRoot, run, TEST_IMAGE], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`controller exited early (${code})`)));
  });
  const { ids, owner } = JSON.parse(line) as { ids: string[]; owner: string };
  return {
    ids,
    owner,
    pid: child.pid!,
    kill: async () => {
      child.kill('SIGKILL');
      await exited;
    },
  };
}

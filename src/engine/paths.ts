import { homedir } from 'node:os';
import { join } from 'node:path';

/** Where caged keeps state on this host: CAGED_HOME, else $XDG_STATE_HOME/caged, else ~/.local/state/caged. */
export function cagedHome(env: NodeJS.ProcessEnv = process.env): string {
  if (env.CAGED_HOME) return env.CAGED_HOME;
  return join(env.XDG_STATE_HOME ?? join(homedir(), '.local', 'state'), 'caged');
}

/** Agent binaries downloaded from the npm registry, shared by every engine on the host. */
export function agentCacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env.CAGED_AGENT_CACHE) return env.CAGED_AGENT_CACHE;
  return join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'caged', 'agents');
}

export interface EnginePaths {
  root: string;
  workspaces: string;
  sandbox(id: string): string;
}

export function enginePaths(root: string): EnginePaths {
  return {
    root,
    workspaces: join(root, 'workspaces'),
    sandbox: (id) => join(root, 'sandboxes', id),
  };
}

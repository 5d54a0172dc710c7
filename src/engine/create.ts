import { createDockerBackend } from '../sandbox/docker.js';
import { LocalEngine, type LocalEngineOptions } from './local-engine.js';
import { cagedHome, enginePaths } from './paths.js';

export type CreateLocalEngineOptions = Partial<LocalEngineOptions> & {
  /** Remove leftovers of controllers that died (default true). */
  reap?: boolean;
};

/** A LocalEngine on the host's Docker engine, state under CAGED_HOME. */
export async function createLocalEngine(options: CreateLocalEngineOptions = {}): Promise<LocalEngine> {
  const stateRoot = options.stateRoot ?? cagedHome();
  const backend = options.backend ?? (await createDockerBackend({ workspaceRoot: enginePaths(stateRoot).workspaces }));
  if (options.reap ?? true) await backend.reap().catch(() => undefined);
  return new LocalEngine({ ...options, backend, stateRoot });
}

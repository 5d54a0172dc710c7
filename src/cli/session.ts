import { InputError, type Problem } from '../config/problems.js';
import { createLocalEngine } from '../engine/create.js';
import type { LocalEngine } from '../engine/local-engine.js';

/** Secret values by name from caged's own environment; a missing one is bad input. */
export function readSecrets(names: string[], env: NodeJS.ProcessEnv): Record<string, string> {
  const secrets: Record<string, string> = {};
  const problems: Problem[] = [];
  for (const name of new Set(names)) {
    const value = env[name];
    if (value === undefined || value === '') problems.push({ location: `secrets: ${name}`, message: `${name} is listed in secrets but not set in the environment` });
    else secrets[name] = value;
  }
  if (problems.length > 0) throw new InputError(problems);
  return secrets;
}

export async function openLocalEngine(options: { log: (line: string) => void; labels?: Record<string, string> }): Promise<LocalEngine> {
  return createLocalEngine({ log: options.log, labels: options.labels });
}

/**
 * SIGINT/SIGTERM abort the run instead of killing the process, so every sandbox is stopped
 * and partial results are written. A second signal exits at once.
 */
export function whenInterrupted(onFirst: () => void): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const handler = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) process.exit(signal === 'SIGINT' ? 130 : 143);
    onFirst();
    controller.abort(new Error(`received ${signal}`));
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    signal: controller.signal,
    dispose() {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}

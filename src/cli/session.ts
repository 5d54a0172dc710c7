import { InputError, type Problem } from '../config/problems.js';
import { createLocalEngine } from '../engine/create.js';
import type { LocalEngine } from '../engine/local-engine.js';
import { abortOnSignals } from '../process/interrupt.js';

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

/** A second SIGINT/SIGTERM at a terminal exits at once. */
export function whenInterrupted(onFirst: () => void): { signal: AbortSignal; dispose(): void } {
  return abortOnSignals({ first: onFirst, again: (signal) => process.exit(signal === 'SIGINT' ? 130 : 143) });
}

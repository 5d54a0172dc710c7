import * as core from '@actions/core';
import { createLocalEngine } from '../engine/create.js';
import type { SandboxService } from '../engine/service.js';
import { LABELS } from '../sandbox/types.js';
import type { ActionContext } from './context.js';
import type { ActionInputs } from './inputs.js';

export interface OpenedService {
  service: SandboxService;
  /** Cancels whatever still runs and removes every sandbox of this run. */
  close(): Promise<void>;
}

/** Engine lines: budget kills become warnings (they show on the run page), the rest is log. */
function log(line: string): void {
  if (line.startsWith('WARN:')) core.warning(line);
  else core.info(line);
}

/** The runner's Docker engine, every sandbox labelled with this run's id for the post step. */
export async function openService(inputs: ActionInputs, context: ActionContext): Promise<OpenedService> {
  if (inputs.backend === 'remote') throw new Error('backend: remote is not available in this build');
  const engine = await createLocalEngine({ log, labels: { [LABELS.run]: context.runId }, stateRoot: context.stateRoot });
  return { service: engine, close: () => engine.close() };
}

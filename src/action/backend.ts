import * as core from '@actions/core';
import { RemoteClient } from '../client/remote.js';
import { createLocalEngine } from '../engine/create.js';
import type { SandboxService } from '../engine/service.js';
import { FINAL_STATUSES, LABELS } from '../sandbox/types.js';
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

/** Destroys this run's sandboxes that a caged server still holds. */
export async function destroyRemoteRun(client: RemoteClient, runId: string): Promise<number> {
  const left = await client.list({ label: { [LABELS.run]: runId } });
  await Promise.all(left.map((info) => client.destroy(info.id, { force: !FINAL_STATUSES.has(info.status) }).catch(() => undefined)));
  return left.length;
}

export function remoteClient(inputs: ActionInputs): RemoteClient {
  return new RemoteClient({ apiUrl: inputs.apiUrl!, apiKey: inputs.apiKey! });
}

/**
 * The runner's Docker engine, or a caged server (`backend: remote`). Either way every sandbox
 * carries this run's id, which is how the post step finds what is left.
 */
export async function openService(inputs: ActionInputs, context: ActionContext): Promise<OpenedService> {
  if (inputs.backend === 'remote') {
    const client = remoteClient(inputs);
    return {
      service: client,
      close: async () => {
        await destroyRemoteRun(client, context.runId);
        await client.close();
      },
    };
  }
  const engine = await createLocalEngine({ log, labels: { [LABELS.run]: context.runId }, stateRoot: context.stateRoot });
  return { service: engine, close: () => engine.close() };
}

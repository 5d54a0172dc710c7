import './dirname-shim.js';
import * as core from '@actions/core';
import { enginePaths } from '../engine/paths.js';
import { createDockerBackend } from '../sandbox/docker.js';
import { destroyRemoteRun, remoteClient } from './backend.js';
import { readInputs } from './inputs.js';
import { STATE } from './state.js';

/**
 * The post step runs even when the job was cancelled or the main step was killed: it removes
 * every container, network and workspace still labelled with this run's id.
 */
async function post(): Promise<void> {
  const runId = core.getState(STATE.runId);
  if (!runId) {
    core.info('caged: the main step did not start a run; nothing to clean up');
    return;
  }
  if (core.getState(STATE.backend) === 'remote') {
    const client = remoteClient(readInputs((name) => core.getInput(name)));
    try {
      const left = await destroyRemoteRun(client, runId);
      core.info(left === 0 ? `caged: nothing of run ${runId} was left on the server` : `caged: removed ${left} sandbox(es) of run ${runId} left on the server`);
    } finally {
      await client.close();
    }
    return;
  }
  const backend = await createDockerBackend({ workspaceRoot: enginePaths(core.getState(STATE.stateRoot)).workspaces });
  try {
    const { removed, unpurged } = await backend.reap({ run: runId, all: true });
    const sandboxes = new Set(removed.map((resource) => resource.sandboxId));
    core.info(removed.length === 0 ? `caged: nothing of run ${runId} was left` : `caged: removed ${removed.length} leftover resource(s) of ${sandboxes.size} sandbox(es) of run ${runId}`);
    for (const { sandboxId, dir, message } of unpurged) core.warning(`caged: could not delete the workspace of ${sandboxId} (${dir}): ${message}`);
  } finally {
    await backend.close();
  }
}

try {
  await post();
} catch (error) {
  core.warning(`caged: clean-up failed: ${(error as Error).message}`);
}

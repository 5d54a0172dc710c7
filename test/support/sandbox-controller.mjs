// A controller process for the reaper test: creates two sandboxes with the BUILT backend
// (lib/, from `npm run build`), prints their ids and waits to be killed.
import { createDockerBackend } from '../../lib/sandbox/docker.js';
import { newSandboxId } from '../../lib/sandbox/ids.js';

const [workspaceRoot, run, image] = process.argv.slice(2);
const backend = await createDockerBackend({ workspaceRoot });
const ids = [];
for (const mode of ['gateway', 'none']) {
  const identity = { id: newSandboxId(), labels: { 'dev.caged.run': run }, expiresAt: new Date(Date.now() + 3_600_000), budgetMicros: 500_000 };
  const workspace = await backend.prepareWorkspace(identity.id, {});
  const network = await backend.createNetwork(identity, mode);
  await backend.createContainer({ ...identity, image, cpus: 0.5, memoryMiB: 128, pidsLimit: 64, env: {}, mounts: [] }, network, workspace.dir);
  ids.push(identity.id);
}
process.stdout.write(`${JSON.stringify({ ids, owner: backend.owner })}\n`);
setInterval(() => {}, 60_000);

/**
 * Programmatic use of caged: the same engine the CLI, the server and the GitHub Action use.
 *
 *   const engine = await createLocalEngine();
 *   const sandbox = await engine.create({ config: mergeLayers({ budget: parseUsd('$5') }), prompt: 'Fix all type errors', repo: 'your-org/repo' });
 *   const result = await engine.wait(sandbox.id);
 */
export { createLocalEngine, type CreateLocalEngineOptions } from './engine/create.js';
export { LocalEngine, type LocalEngineOptions } from './engine/local-engine.js';
export type {
  Changes,
  CostBreakdown,
  CreateSandboxRequest,
  EngineEvent,
  ExecOutcome,
  ExecRequestOptions,
  ListFilter,
  SandboxInfo,
  SandboxService,
  TokenTotals,
} from './engine/service.js';
export { SandboxNotFoundError, SandboxStateError } from './engine/service.js';
export { sandboxToJson } from './engine/json.js';
export { RemoteClient } from './client/remote.js';
export { runBatch, type BatchEvent, type BatchOptions } from './batch/run-batch.js';
export { exitCodeFor, reportToJson, type BatchReport, type TaskOutcome } from './batch/results.js';
export { loadConfigFile, parseConfigText, DEFAULT_CONFIG_FILE } from './config/load.js';
export { loadTasksFile, parseTasksText } from './config/tasks.js';
export { resolveTasks, type ResolvedTask } from './config/resolve.js';
export { mergeLayers, type ConfigLayer, type ResolvedConfig, type TaskInput } from './config/schema.js';
export { InputError, type Problem } from './config/problems.js';
export { formatUsd, parseUsd, toUsd, type Micros } from './money.js';
export type { SandboxStatus } from './sandbox/types.js';

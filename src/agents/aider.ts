import { commandReader } from './command.js';
import type { AgentDriver, LaunchContext } from './types.js';

/** aider is a Python tool: it comes with the template (pip), not from the npm agent cache. */
export const aiderDriver: AgentDriver = {
  name: 'aider',
  launch(context: LaunchContext) {
    const argv = [
      'aider',
      '--message', context.prompt,
      '--yes-always',
      '--no-auto-commits',
      '--no-check-update',
      '--no-show-release-notes',
      '--analytics-disable',
      '--no-pretty',
      ...(context.model ? ['--model', context.model] : []),
      ...(context.args ?? []),
    ];
    const env: Record<string, string> = {};
    if (context.gateway) {
      env.ANTHROPIC_API_BASE = context.gateway.url;
      env.OPENAI_API_BASE = `${context.gateway.url}/v1`;
    }
    return { argv, env };
  },
  reader: commandReader,
};

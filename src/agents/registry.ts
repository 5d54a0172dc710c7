import type { AgentConfig, AgentName } from '../config/schema.js';
import { aiderDriver } from './aider.js';
import { claudeDriver } from './claude.js';
import { codexDriver } from './codex.js';
import { commandDriver } from './command.js';
import type { AgentDriver } from './types.js';

const DRIVERS: Record<AgentName, AgentDriver> = { claude: claudeDriver, codex: codexDriver, aider: aiderDriver };

export interface AgentChoice {
  driver: AgentDriver;
  model?: string;
  args?: string[];
  version?: string;
}

export function chooseAgent(agent: AgentConfig, model?: string): AgentChoice {
  if (typeof agent === 'string') return { driver: DRIVERS[agent], model };
  if ('command' in agent) return { driver: commandDriver(agent.command) };
  return { driver: DRIVERS[agent.name], model: agent.model ?? model, args: agent.args, version: agent.version };
}

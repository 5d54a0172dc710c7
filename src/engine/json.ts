import { toUsd } from '../money.js';
import type { SandboxInfo } from './service.js';

/**
 * The public JSON of a sandbox (CLI --json, REST API, webhooks): `cost` and `budget` are USD
 * numbers so `jq '[.[].cost] | add'` works; the breakdown is beside them.
 */
export function sandboxToJson(info: SandboxInfo) {
  const { cost, budget, agent_reported_cost, ...rest } = info;
  return {
    ...rest,
    cost: toUsd(cost.total),
    budget: toUsd(budget),
    cost_breakdown: { llm: toUsd(cost.llm), compute: toUsd(cost.compute), total: toUsd(cost.total) },
    agent_reported_cost: agent_reported_cost === undefined ? null : toUsd(agent_reported_cost),
  };
}

export type SandboxJson = ReturnType<typeof sandboxToJson>;

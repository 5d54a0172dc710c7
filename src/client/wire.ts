import type { CostBreakdown, EngineEvent, SandboxInfo } from '../engine/service.js';
import { MICROS_PER_USD, type Micros } from '../money.js';

/** The API's public JSON back into the engine's types: US dollars into integer micro-dollars. */

export function usdToMicros(usd: number): Micros {
  return Math.round(usd * MICROS_PER_USD);
}

interface BreakdownJson {
  llm: number;
  compute: number;
  total: number;
}

export type SandboxJsonIn = Omit<SandboxInfo, 'cost' | 'budget' | 'agent_reported_cost'> & {
  cost: number;
  budget: number;
  cost_breakdown: BreakdownJson;
  agent_reported_cost: number | null;
};

function breakdown(json: BreakdownJson): CostBreakdown {
  return { llm: usdToMicros(json.llm), compute: usdToMicros(json.compute), total: usdToMicros(json.total) };
}

export function sandboxFromJson(json: SandboxJsonIn): SandboxInfo {
  const { cost: _cost, budget, cost_breakdown: costBreakdown, agent_reported_cost: reported, ...rest } = json;
  return {
    ...rest,
    budget: usdToMicros(budget),
    cost: breakdown(costBreakdown),
    ...(reported === null || reported === undefined ? {} : { agent_reported_cost: usdToMicros(reported) }),
  };
}

/** A server-sent event's data back into an EngineEvent; unknown types are dropped. */
export function eventFromJson(json: Record<string, unknown>): EngineEvent | undefined {
  switch (json.type) {
    case 'created':
    case 'completed':
      return { type: json.type, sandbox: sandboxFromJson(json.sandbox as SandboxJsonIn) };
    case 'cost':
      return { type: 'cost', id: String(json.id), cost: breakdown(json.cost as BreakdownJson), budget: usdToMicros(Number(json.budget)) };
    case 'budget_exceeded':
      return { type: 'budget_exceeded', id: String(json.id), spent: usdToMicros(Number(json.spent)), budget: usdToMicros(Number(json.budget)), message: String(json.message) };
    case 'status':
    case 'output':
    case 'progress':
      return json as unknown as EngineEvent;
    default:
      return undefined;
  }
}

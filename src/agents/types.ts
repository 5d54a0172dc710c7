import type { Micros } from '../money.js';

/** Where the gateway is, as seen from inside the sandbox. */
export interface GatewayAccess {
  /** e.g. http://172.18.0.1:41234 (no trailing slash). */
  url: string;
  /** The per-sandbox token that stands in for the provider key. */
  token: string;
}

export interface LaunchContext {
  prompt: string;
  /** Path of the prompt file inside the sandbox. */
  promptFile: string;
  model?: string;
  args?: string[];
  /** Budget left when the agent starts: the agent's own budget flag, a second layer. */
  remainingBudget: Micros;
  gateway?: GatewayAccess;
}

export interface AgentLaunch {
  argv: string[];
  env: Record<string, string>;
}

export interface AgentResult {
  finalMessage?: string;
  /** What the agent said it spent; recorded beside the metered cost, never trusted. */
  reportedCost?: Micros;
  /** The agent's own account of an error (e.g. our budget refusal as it saw it). */
  error?: string;
}

/** Reads an agent's stdout as it streams; `progress` returns a short line for live displays. */
export interface OutputReader {
  push(chunk: Buffer | string): string[];
  result(): AgentResult;
}

export interface AgentDriver {
  readonly name: string;
  launch(context: LaunchContext): AgentLaunch;
  reader(): OutputReader;
}

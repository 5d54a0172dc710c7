import { z } from 'zod';
import { MoneyError, parseUsd, type Micros } from '../money.js';
import { HostPatternError, parseHostPattern } from '../net/host-pattern.js';
import { resolveRepo, RepoSourceError } from '../sandbox/repo-source.js';

/**
 * Every setting of `.caged.yaml`, a task and the API body is defined once here.
 * A layer (file, task, flags, API body) is partial and carries no defaults; the layers are
 * merged and only then parsed with defaults, so that precedence stays
 * flag > task > .caged.yaml > default.
 */

export const NETWORK_MODES = ['none', 'gateway', 'allowlist', 'open'] as const;
export type NetworkMode = (typeof NETWORK_MODES)[number];

export const FAIL_ON = ['budget', 'error', 'never'] as const;
export type FailOn = (typeof FAIL_ON)[number];

export const AGENT_NAMES = ['claude', 'codex', 'aider'] as const;
export type AgentName = (typeof AGENT_NAMES)[number];

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const TEMPLATE_NAME = /^[a-z0-9][a-z0-9._-]*$/;

export const usdAmount = z
  .union([z.number(), z.string()], { error: 'must be a US-dollar amount like 5, 5.00 or "$5"' })
  .transform((value, ctx): Micros => {
    try {
      return parseUsd(value);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: error instanceof MoneyError ? error.message : String(error) });
      return z.NEVER;
    }
  })
  .meta({ description: 'US dollars: 5, 5.00 or "$5"' });

const positiveBudget = usdAmount.refine((micros) => micros > 0, { message: 'budget must be more than $0' });

const wholeSeconds = (what: string) =>
  z
    .int({ error: `${what} must be a whole number of seconds` })
    .min(1, { error: `${what} must be at least 1 second` })
    .max(7 * 24 * 3600, { error: `${what} must be at most 604800 seconds (7 days)` });

const memoryMiB = z
  .int({ error: 'memory is a whole number of MiB, e.g. 2048 (not "2GB")' })
  .min(64, { error: 'memory must be at least 64 MiB' })
  .max(1024 * 1024, { error: 'memory must be at most 1048576 MiB' });

export const resourcesSchema = z
  .strictObject({
    cpu: z
      .number({ error: 'cpu is a number of vCPUs, e.g. 2 or 0.5' })
      .positive({ error: 'cpu must be more than 0' })
      .max(256, { error: 'cpu must be at most 256' })
      .optional()
      .meta({ description: 'vCPUs allocated to the sandbox (default 2)' }),
    memory: memoryMiB.optional().meta({ description: 'Memory limit in MiB (default 2048); swap is disabled' }),
    disk: z
      .int({ error: 'disk is a whole number of GiB, e.g. 5' })
      .min(1, { error: 'disk must be at least 1 GiB' })
      .max(10_000, { error: 'disk must be at most 10000 GiB' })
      .optional()
      .meta({ description: 'Workspace disk limit in GiB' }),
    pids: z.int().min(16, { error: 'pids must be at least 16' }).max(1_000_000).optional().meta({ description: 'Process limit (default 512)' }),
  })
  .meta({ description: 'Resources allocated to each sandbox' });

const envName = z.string().regex(ENV_NAME, { error: 'must be an environment variable name like ANTHROPIC_API_KEY' });

const envValue = z
  .union([z.string(), z.number(), z.boolean()], { error: 'env values must be strings (quote them: "true")' })
  .transform((value) => String(value));

const hostPattern = z.string().superRefine((value, ctx) => {
  try {
    parseHostPattern(value);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: error instanceof HostPatternError ? error.message : String(error) });
  }
});

const webhookUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' });

export const agentSchema = z
  .union(
    [
      z.enum(AGENT_NAMES),
      z.strictObject({
        command: z.union([z.string().min(1), z.array(z.string()).min(1)]).meta({
          description: 'Command to run: a string runs with sh -c; an array is argv. The prompt is in $CAGED_PROMPT and /tmp/caged/prompt.txt',
        }),
      }),
      z.strictObject({
        name: z.enum(AGENT_NAMES),
        version: z.string().regex(/^[0-9A-Za-z.+-]+$/).optional().meta({ description: 'npm version of the agent package' }),
        model: z.string().min(1).optional(),
        args: z.array(z.string()).optional().meta({ description: 'Extra arguments passed to the agent' }),
      }),
    ],
    { error: 'agent must be claude, codex, aider, {command: ...} or {name: ..., version: ...}' },
  )
  .meta({ description: 'The coding agent that runs the prompt' });
export type AgentConfig = z.output<typeof agentSchema>;

const tokenPrice = z.number().nonnegative({ error: 'a price must not be negative' });

export const modelPriceSchema = z
  .strictObject({
    input: tokenPrice.meta({ description: 'USD per million input tokens' }),
    output: tokenPrice.meta({ description: 'USD per million output tokens' }),
    cache_write_5m: tokenPrice.optional(),
    cache_write_1h: tokenPrice.optional(),
    cache_read: tokenPrice.optional(),
  })
  .meta({ description: 'Absolute prices in USD per million tokens' });

export const pricingSchema = z.strictObject({
  models: z.record(z.string().min(1), modelPriceSchema).optional().meta({ description: 'Per-model overrides and additions' }),
  compute: z
    .strictObject({
      vcpu_second: z.number().nonnegative().optional().meta({ description: 'USD per allocated vCPU-second (default 0.000014)' }),
      gib_second: z.number().nonnegative().optional().meta({ description: 'USD per allocated GiB-second (default 0.0000045)' }),
    })
    .optional(),
});

const providerSchema = z.strictObject({
  base_url: z.url({ protocol: /^https?$/, error: 'base_url must be an http(s) URL' }),
});

/** The fields every layer shares; all optional, no defaults. */
export const configFields = {
  template: z
    .string({ error: 'template must be a name like node-20' })
    .regex(TEMPLATE_NAME, { error: 'template must be a name like node-20 or python-312' })
    .optional()
    .meta({ description: 'Sandbox template: caged/template:<name> (default node-20)' }),
  image: z.string().min(1, { error: 'image must not be empty' }).optional().meta({ description: 'An explicit Docker image instead of a template' }),
  resources: resourcesSchema.optional(),
  timeout: wholeSeconds('timeout').optional().meta({ description: 'Idle timeout in seconds (default 1800)' }),
  max_duration: wholeSeconds('max_duration').optional().meta({ description: 'Wall-clock limit in seconds (default 3600)' }),
  budget: positiveBudget.optional(),
  secrets: z.array(envName, { error: 'secrets is a list of names, e.g. [ANTHROPIC_API_KEY]' }).optional().meta({
    description: 'Names of secrets passed to the sandbox; provider keys stay in the gateway',
  }),
  network_mode: z
    .enum(NETWORK_MODES, { error: `network_mode must be one of: ${NETWORK_MODES.join(', ')}` })
    .optional()
    .meta({ description: 'none | gateway (default: only the caged LLM gateway) | allowlist | open' }),
  allowed_hosts: z.array(hostPattern, { error: 'allowed_hosts is a list of host patterns' }).optional().meta({
    description: 'allowlist mode: host, *.suffix, optional :port, IP or CIDR',
  }),
  env: z.record(envName, envValue, { error: 'env is a map of NAME: "value"' }).optional(),
  init_script: z.string().optional().meta({ description: 'Shell script run in the sandbox before the agent' }),
  agent: agentSchema.optional(),
  agents: z.array(z.enum(AGENT_NAMES)).optional().meta({ description: 'Agent binaries mounted on PATH in every sandbox (default [claude])' }),
  model: z.string().min(1).optional().meta({ description: 'Model the agent is asked to use' }),
  pricing: pricingSchema.optional(),
  providers: z
    .strictObject({ anthropic: providerSchema.optional(), openai: providerSchema.optional() })
    .optional()
    .meta({ description: 'Upstream LLM API base URLs (default: the providers\' public APIs)' }),
  max_parallel: z.int({ error: 'max_parallel must be a whole number' }).min(1, { error: 'max_parallel must be at least 1' }).max(1024).optional(),
  fail_on: z.enum(FAIL_ON, { error: `fail_on must be one of: ${FAIL_ON.join(', ')}` }).optional().meta({
    description: 'error (default): any task that does not complete fails the run; budget: only budget kills; never',
  }),
  on_complete: webhookUrl.optional().meta({ description: 'Webhook called when a sandbox ends' }),
  on_budget_exceeded: webhookUrl.optional().meta({ description: 'Webhook called when a sandbox hits its budget' }),
};

export const CONFIG_KEYS = Object.keys(configFields);

export const configFileSchema = z.strictObject(configFields).meta({ title: 'caged configuration (.caged.yaml)' });
export type ConfigLayer = z.output<typeof configFileSchema>;

const taskOnlyFields = {
  name: z.string().min(1).max(200).optional().meta({ description: 'A short name for reports (default: derived from the prompt)' }),
  repo: z
    .string()
    .min(1)
    .superRefine((value, ctx) => {
      try {
        resolveRepo(value);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: error instanceof RepoSourceError ? error.message : String(error) });
      }
    })
    .optional()
    .meta({ description: 'https URL, owner/name (GitHub), local path or file:// URL' }),
  ref: z.string().min(1).optional().meta({ description: 'Branch, tag or commit to check out' }),
  prompt: z.string({ error: 'prompt must be text' }).trim().min(1, { error: 'prompt must not be empty' }),
};

export const taskSchema = z.strictObject({ ...taskOnlyFields, ...configFields });
export type TaskInput = z.output<typeof taskSchema>;
export const TASK_KEYS = Object.keys(taskSchema.shape);

export const DEFAULTS = {
  template: 'node-20',
  resources: { cpu: 2, memory: 2048, pids: 512 },
  timeout: 1800,
  max_duration: 3600,
  network_mode: 'gateway' as NetworkMode,
  allowed_hosts: [] as string[],
  secrets: [] as string[],
  env: {} as Record<string, string>,
  agent: 'claude' as AgentConfig,
  agents: ['claude'] as AgentName[],
  fail_on: 'error' as FailOn,
};

/** A fully resolved setting for one sandbox. Budget stays optional here: faces decide whether to require it. */
export interface ResolvedConfig {
  template: string;
  image?: string;
  resources: { cpu: number; memory: number; disk?: number; pids: number };
  timeout: number;
  max_duration: number;
  budget?: Micros;
  secrets: string[];
  network_mode: NetworkMode;
  allowed_hosts: string[];
  env: Record<string, string>;
  init_script?: string;
  agent: AgentConfig;
  agents: AgentName[];
  model?: string;
  pricing?: z.output<typeof pricingSchema>;
  providers?: { anthropic?: { base_url: string }; openai?: { base_url: string } };
  max_parallel?: number;
  fail_on: FailOn;
  on_complete?: string;
  on_budget_exceeded?: string;
}

/** Later layers win; `resources`, `env`, `pricing` and `providers` merge key by key. */
export function mergeLayers(...layers: Array<Partial<ConfigLayer> | undefined>): ResolvedConfig {
  const merged: Record<string, unknown> = {};
  for (const layer of layers) {
    if (!layer) continue;
    for (const [key, value] of Object.entries(layer)) {
      if (value === undefined || !CONFIG_KEYS.includes(key)) continue;
      const previous = merged[key];
      merged[key] = isPlainObject(previous) && isPlainObject(value) && key !== 'agent' ? deepMerge(previous, value) : value;
    }
  }
  const resources = { ...DEFAULTS.resources, ...(merged.resources as object | undefined) };
  const agent = (merged.agent as AgentConfig | undefined) ?? DEFAULTS.agent;
  const agents = (merged.agents as AgentName[] | undefined) ?? DEFAULTS.agents;
  const agentName = typeof agent === 'string' ? agent : 'name' in agent ? agent.name : undefined;
  return {
    ...DEFAULTS,
    ...(merged as Partial<ResolvedConfig>),
    resources,
    agent,
    agents: agentName && !agents.includes(agentName) ? [...agents, agentName] : agents,
  };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function deepMerge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [key, value] of Object.entries(b)) {
    const previous = out[key];
    out[key] = isPlainObject(previous) && isPlainObject(value) ? deepMerge(previous, value) : value;
  }
  return out;
}

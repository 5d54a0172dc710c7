import { z } from 'zod';
import { configFields, taskSchema } from '../config/schema.js';
import { MoneyError, parseUsd, type Micros } from '../money.js';
import { LABELS, SANDBOX_STATUSES } from '../sandbox/types.js';

/**
 * The REST API's bodies and answers, defined once: the server validates with them and the
 * OpenAPI document is generated from them.
 */

const apiBudget = z
  .number({ error: 'budget must be a number of US dollars, e.g. 5.00' })
  .positive({ error: 'budget must be more than $0' })
  .transform((value, ctx): Micros => {
    try {
      const micros = parseUsd(value);
      // Past the sixth decimal a positive number truncates to $0, which no sandbox can run on.
      if (micros > 0) return micros;
      ctx.addIssue({ code: 'custom', message: 'budget must be at least $0.000001' });
      return z.NEVER;
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: error instanceof MoneyError ? error.message : String(error) });
      return z.NEVER;
    }
  })
  .meta({ description: 'Hard budget in US dollars (LLM tokens + compute)' });

const command = z
  .union([z.string().min(1), z.array(z.string()).min(1)], { error: 'command must be a string (run with sh -c) or a list of arguments' })
  .meta({ description: 'A string runs with sh -c; a list is argv' });

/** Labels caged sets itself (identity, owner, tenant); a client may set any other, e.g. the run id. */
const RESERVED_LABELS: ReadonlySet<string> = new Set(Object.values(LABELS).filter((label) => label !== LABELS.run));

const labelKey = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._/-]*$/, { error: 'a label key is letters, digits, ".", "_", "/" and "-"' })
  .refine((key) => !RESERVED_LABELS.has(key), { error: `caged sets this label itself (reserved: ${[...RESERVED_LABELS].join(', ')})` });

/** `POST /v1/sandboxes`: the seed's body plus every `.caged.yaml` field and an optional job. */
export const createSandboxBody = z
  .strictObject({
    ...configFields,
    budget: apiBudget,
    name: taskSchema.shape.name,
    repo: taskSchema.shape.repo,
    ref: taskSchema.shape.ref,
    prompt: taskSchema.shape.prompt.optional().meta({ description: 'When set, the agent runs this prompt as the sandbox\'s job' }),
    command: command.optional().meta({ description: 'Or a command as the job; without prompt or command the sandbox waits for exec' }),
    git_token: z.string().min(1).optional().meta({ description: 'Token for cloning a private GitHub repo (write-only)' }),
    labels: z.record(labelKey, z.string().max(256)).optional().meta({ description: 'Extra labels on the sandbox\'s Docker objects' }),
  })
  .refine((body) => body.prompt === undefined || body.command === undefined, { error: 'give either prompt or command, not both', path: ['command'] })
  .meta({ title: 'CreateSandbox' });
export type CreateSandboxBody = z.output<typeof createSandboxBody>;

export const execBody = z
  .strictObject({
    command,
    env: configFields.env,
    workdir: z.string().min(1).optional().meta({ description: 'Working directory (default /workspace)' }),
    timeout: z.int().min(1).max(7 * 24 * 3600).optional().meta({ description: 'Seconds before the command is stopped' }),
  })
  .meta({ title: 'Exec' });

export const secretBody = z
  .strictObject({ value: z.string().min(1, { error: 'value must not be empty' }).max(65_536, { error: 'value must be at most 64 KiB' }) })
  .meta({ title: 'SecretValue' });

export const SECRET_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export const createKeyBody = z
  .strictObject({
    name: z.string().min(1).max(100).optional(),
    max_concurrent: z.int().min(1).max(10_000).optional().meta({ description: 'Sandboxes this key may run at once (default: the server\'s)' }),
    admin: z.boolean().optional().meta({ description: 'May mint keys' }),
  })
  .meta({ title: 'CreateKey' });

// --- answers ------------------------------------------------------------------------------

const usd = z.number().meta({ description: 'US dollars' });
const breakdown = z.object({ llm: usd, compute: usd, total: usd });
const tokens = z.object({ input: z.int(), output: z.int(), cache_read: z.int(), cache_write: z.int() });

export const sandboxJson = z
  .object({
    id: z.string(),
    name: z.string().optional(),
    template: z.string(),
    image: z.string(),
    status: z.enum(SANDBOX_STATUSES),
    reason: z.string().optional(),
    repo: z.string().optional(),
    ref: z.string().optional(),
    cost: usd.meta({ description: 'Total spend so far in US dollars (LLM + compute)' }),
    budget: usd,
    cost_breakdown: breakdown,
    tokens,
    agent_reported_cost: usd.nullable().meta({ description: 'What the agent claimed to spend (never used for the budget)' }),
    exit_code: z.int().nullable().optional(),
    final_message: z.string().optional(),
    changes: z.object({ files: z.int(), insertions: z.int(), deletions: z.int() }).optional(),
    resources: z.object({ cpu: z.number(), memory: z.int(), disk: z.int().optional() }),
    network_mode: configFields.network_mode.unwrap(),
    agent: z.unknown().optional(),
    created_at: z.string(),
    started_at: z.string().optional(),
    ended_at: z.string().optional(),
    labels: z.record(z.string(), z.string()).optional(),
  })
  .meta({ title: 'Sandbox' });

export const errorJson = z
  .object({
    error: z.object({
      code: z.string(),
      message: z.string(),
      path: z.string().optional().meta({ description: 'JSON path of the first bad field, e.g. $.resources.cpu' }),
      problems: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
    }),
  })
  .meta({ title: 'Error' });

export const secretJson = z.object({ name: z.string(), created_at: z.string(), updated_at: z.string() }).meta({ title: 'Secret' });

export const usageJson = z
  .object({
    sandboxes: z.int(),
    active: z.int().meta({ description: 'Sandboxes creating or running' }),
    by_status: z.record(z.string(), z.int()),
    cost: usd,
    budget: usd,
    cost_breakdown: breakdown,
    tokens,
  })
  .meta({ title: 'Usage' });

export const keyJson = z
  .object({
    id: z.string(),
    name: z.string().nullable(),
    key: z.string().meta({ description: 'The API key; shown only here' }),
    webhook_secret: z.string().meta({ description: 'Signs this key\'s webhooks (X-Caged-Signature)' }),
    admin: z.boolean(),
    max_concurrent: z.int(),
    created_at: z.string(),
  })
  .meta({ title: 'Key' });

export const deliveryJson = z
  .object({
    delivery_id: z.string(),
    sandbox_id: z.string(),
    event: z.string(),
    url: z.string(),
    attempt: z.int(),
    status: z.int().nullable(),
    error: z.string().nullable(),
    at: z.string(),
  })
  .meta({ title: 'WebhookDelivery' });

/** One line of the `exec` answer (newline-delimited JSON). */
export const execLineJson = z
  .union([
    z.object({ type: z.enum(['stdout', 'stderr']), data: z.string().meta({ description: 'base64 bytes' }) }),
    z.object({
      type: z.literal('exit'),
      exit_code: z.int().nullable(),
      timed_out: z.boolean(),
      sandbox_status: z.enum(SANDBOX_STATUSES),
      reason: z.string().optional(),
    }),
    z.object({ type: z.literal('error'), error: errorJson.shape.error }),
  ])
  .meta({ title: 'ExecLine' });

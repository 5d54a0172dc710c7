import { z } from 'zod';
import { SANDBOX_STATUSES } from '../sandbox/types.js';
import {
  createKeyBody,
  createSandboxBody,
  deliveryJson,
  errorJson,
  execBody,
  execLineJson,
  keyJson,
  sandboxJson,
  secretBody,
  secretJson,
  usageJson,
} from './api-schema.js';

/**
 * Every route of the REST API, described once: the HTTP layer dispatches from this table and
 * the OpenAPI document is generated from it, so the two cannot drift apart.
 */

export interface ResponseSpec {
  description: string;
  /** JSON answers have a schema; streams and text name their media type. */
  schema?: z.ZodType;
  contentType?: string;
  headers?: Record<string, { description: string; schema: z.ZodType }>;
}

export interface QuerySpec {
  schema: z.ZodType;
  description: string;
}

export interface RouteSpec {
  operationId: string;
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** OpenAPI template: `/v1/sandboxes/{id}`. */
  path: string;
  summary: string;
  /** Public routes need no API key. */
  public?: boolean;
  /** Only admin keys. */
  admin?: boolean;
  body?: z.ZodType;
  query?: Record<string, QuerySpec>;
  responses: Record<number, ResponseSpec>;
}

/** Where the next read of a sandbox's logs goes on from (GET /v1/sandboxes/{id}/logs?offset=). */
export const LOG_NEXT_OFFSET_HEADER = 'x-caged-next-offset';

const sandboxId = z.string().regex(/^cage-[0-9a-f]{8}$/);
const bool = z.enum(['true', 'false']);

const notFound: ResponseSpec = { description: 'No such sandbox for this key', schema: errorJson };
const sandbox: ResponseSpec = { description: 'The sandbox', schema: sandboxJson };

export const ROUTES = [
  {
    operationId: 'health',
    method: 'GET',
    path: '/v1/health',
    summary: 'Liveness check',
    public: true,
    responses: { 200: { description: 'The server runs', schema: z.object({ status: z.literal('ok'), version: z.string() }) } },
  },
  {
    operationId: 'openapi',
    method: 'GET',
    path: '/v1/openapi.json',
    summary: 'This document',
    public: true,
    responses: { 200: { description: 'OpenAPI 3.1 description of the API', schema: z.record(z.string(), z.unknown()) } },
  },
  {
    operationId: 'createSandbox',
    method: 'POST',
    path: '/v1/sandboxes',
    summary: 'Create a sandbox with a hard budget (and optionally start its job)',
    body: createSandboxBody,
    responses: {
      201: { description: 'Created; it is `creating` until its container runs', schema: sandboxJson },
      400: { description: 'Bad body; `path` names the field', schema: errorJson },
      429: { description: 'This key already runs its maximum of concurrent sandboxes', schema: errorJson },
    },
  },
  {
    operationId: 'listSandboxes',
    method: 'GET',
    path: '/v1/sandboxes',
    summary: 'Sandboxes of this key',
    query: {
      status: { schema: z.string(), description: `Comma-separated statuses (${SANDBOX_STATUSES.join(', ')})` },
      all: { schema: bool, description: 'Include destroyed sandboxes' },
      label: { schema: z.string(), description: 'key=value; only sandboxes with that label' },
    },
    responses: { 200: { description: 'Oldest first', schema: z.array(sandboxJson) }, 400: { description: 'Bad filter', schema: errorJson } },
  },
  {
    operationId: 'getSandbox',
    method: 'GET',
    path: '/v1/sandboxes/{id}',
    summary: 'One sandbox',
    responses: { 200: sandbox, 404: notFound },
  },
  {
    operationId: 'waitSandbox',
    method: 'GET',
    path: '/v1/sandboxes/{id}/wait',
    summary: 'Long poll: answers once the sandbox ends, or with its current state after `timeout` seconds',
    query: { timeout: { schema: z.string().regex(/^\d+$/), description: 'Seconds to wait, at most 300 (default 30)' } },
    responses: { 200: sandbox, 404: notFound },
  },
  {
    operationId: 'execSandbox',
    method: 'POST',
    path: '/v1/sandboxes/{id}/exec',
    summary: 'Run a command in a running sandbox; output streams as it comes, then the exit code',
    body: execBody,
    responses: {
      200: { description: 'Newline-delimited JSON: stdout/stderr chunks (base64), then one exit line', schema: execLineJson, contentType: 'application/x-ndjson' },
      400: { description: 'Bad body', schema: errorJson },
      404: notFound,
      409: { description: 'The sandbox is not running', schema: errorJson },
    },
  },
  {
    operationId: 'sandboxLogs',
    method: 'GET',
    path: '/v1/sandboxes/{id}/logs',
    summary: 'Output of the sandbox\'s job and execs so far',
    query: {
      offset: { schema: z.string().regex(/^\d+$/), description: `Start at this byte; to follow a running sandbox, ask again from the \`${LOG_NEXT_OFFSET_HEADER}\` of the last answer` },
    },
    responses: {
      200: {
        description: 'Plain text',
        contentType: 'text/plain',
        headers: { [LOG_NEXT_OFFSET_HEADER]: { description: 'The byte offset after this text (a character still being written is left out)', schema: z.int().min(0) } },
      },
      400: { description: 'Bad offset', schema: errorJson },
      404: notFound,
    },
  },
  {
    operationId: 'sandboxPatch',
    method: 'GET',
    path: '/v1/sandboxes/{id}/patch',
    summary: 'The workspace diff against the checkout',
    responses: { 200: { description: 'A git patch (empty when unchanged)', contentType: 'text/x-diff' }, 404: notFound },
  },
  {
    operationId: 'destroySandbox',
    method: 'DELETE',
    path: '/v1/sandboxes/{id}',
    summary: 'Remove a sandbox; a running one needs force=true (it ends as cancelled)',
    query: {
      force: { schema: bool, description: 'Stop it first when it still runs' },
      keep_workspace: { schema: bool, description: 'Keep the workspace directory' },
    },
    responses: { 200: sandbox, 404: notFound, 409: { description: 'Still running and force is not set', schema: errorJson } },
  },
  {
    operationId: 'events',
    method: 'GET',
    path: '/v1/events',
    summary: 'Server-sent events of this key\'s sandboxes (created, status, output, progress, cost, budget_exceeded, completed)',
    query: { sandbox: { schema: sandboxId, description: 'Only this sandbox' } },
    responses: { 200: { description: 'text/event-stream; each event\'s data is JSON', contentType: 'text/event-stream' } },
  },
  {
    operationId: 'listSecrets',
    method: 'GET',
    path: '/v1/secrets',
    summary: 'Names of this key\'s secrets (values are write-only)',
    responses: { 200: { description: 'Secrets', schema: z.array(secretJson) } },
  },
  {
    operationId: 'putSecret',
    method: 'PUT',
    path: '/v1/secrets/{name}',
    summary: 'Set a secret; provider keys among a sandbox\'s `secrets` go to the gateway, never into the container',
    body: secretBody,
    responses: { 200: { description: 'Stored (encrypted at rest)', schema: secretJson }, 400: { description: 'Bad name or value', schema: errorJson } },
  },
  {
    operationId: 'getSecret',
    method: 'GET',
    path: '/v1/secrets/{name}',
    summary: 'A secret\'s metadata (never its value)',
    responses: { 200: { description: 'Metadata', schema: secretJson }, 404: { description: 'No such secret for this key', schema: errorJson } },
  },
  {
    operationId: 'deleteSecret',
    method: 'DELETE',
    path: '/v1/secrets/{name}',
    summary: 'Remove a secret',
    responses: { 204: { description: 'Removed' }, 404: { description: 'No such secret for this key', schema: errorJson } },
  },
  {
    operationId: 'usage',
    method: 'GET',
    path: '/v1/usage',
    summary: 'Spend totals of this key\'s sandboxes',
    responses: { 200: { description: 'Totals', schema: usageJson } },
  },
  {
    operationId: 'createKey',
    method: 'POST',
    path: '/v1/keys',
    summary: 'Mint an API key (a new tenant); admin keys only',
    admin: true,
    body: createKeyBody,
    responses: {
      201: { description: 'The key, shown only now', schema: keyJson },
      400: { description: 'Bad body', schema: errorJson },
      403: { description: 'Not an admin key', schema: errorJson },
    },
  },
  {
    operationId: 'webhookSecret',
    method: 'GET',
    path: '/v1/webhooks/secret',
    summary: 'The secret that signs this key\'s webhooks',
    responses: { 200: { description: 'The signing secret', schema: z.object({ secret: z.string() }) } },
  },
  {
    operationId: 'webhookDeliveries',
    method: 'GET',
    path: '/v1/webhooks/deliveries',
    summary: 'Every webhook delivery attempt for this key\'s sandboxes',
    query: { sandbox: { schema: sandboxId, description: 'Only this sandbox' } },
    responses: { 200: { description: 'Attempts, oldest first', schema: z.array(deliveryJson) } },
  },
] as const satisfies readonly RouteSpec[];

export type OperationId = (typeof ROUTES)[number]['operationId'];

/** Path parameters of an OpenAPI path template, in order. */
export function pathParams(template: string): string[] {
  return [...template.matchAll(/\{([a-z_]+)\}/g)].map((match) => match[1]!);
}

/** Matches a request path against a template; returns the decoded parameters. */
export function matchPath(template: string, path: string): Record<string, string> | undefined {
  const names = pathParams(template);
  const pattern = new RegExp(`^${template.replace(/[.]/g, '\\.').replace(/\{[a-z_]+\}/g, '([^/]+)')}$`);
  const match = pattern.exec(path);
  if (!match) return undefined;
  const params: Record<string, string> = {};
  names.forEach((name, index) => {
    params[name] = decodeURIComponent(match[index + 1]!);
  });
  return params;
}

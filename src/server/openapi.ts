import { z } from 'zod';
import { packageVersion } from '../version.js';
import { pathParams, ROUTES, type RouteSpec } from './routes.js';

type JsonSchema = Record<string, unknown>;

/**
 * The OpenAPI 3.1 document of the REST API, generated from the route table and its zod schemas
 * (request bodies as the client writes them, answers as the server sends them). Schemas with a
 * title become components and are referenced by name.
 */
export function openApiDocument(routes: readonly RouteSpec[] = ROUTES): JsonSchema {
  const components: Record<string, JsonSchema> = {};
  const schemaOf = (schema: z.ZodType, io: 'input' | 'output'): JsonSchema => {
    const { $schema: _dialect, ...json } = z.toJSONSchema(schema, { io, target: 'draft-2020-12', unrepresentable: 'any' }) as JsonSchema;
    const title = typeof json.title === 'string' ? json.title : undefined;
    if (!title) return json;
    components[title] ??= json;
    return { $ref: `#/components/schemas/${title}` };
  };

  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const parameters = [
      ...pathParams(route.path).map((name) => ({ name, in: 'path', required: true, schema: { type: 'string' } })),
      ...Object.entries(route.query ?? {}).map(([name, query]) => ({
        name,
        in: 'query',
        required: false,
        description: query.description,
        schema: schemaOf(query.schema, 'input'),
      })),
    ];
    const responses: Record<string, unknown> = {};
    for (const [status, response] of Object.entries(route.responses)) {
      const contentType = response.contentType ?? (response.schema ? 'application/json' : undefined);
      responses[status] = {
        description: response.description,
        ...(contentType ? { content: { [contentType]: { schema: response.schema ? schemaOf(response.schema, 'output') : { type: 'string' } } } } : {}),
        ...(response.headers
          ? {
              headers: Object.fromEntries(
                Object.entries(response.headers).map(([name, header]) => [name, { description: header.description, schema: schemaOf(header.schema, 'output') }]),
              ),
            }
          : {}),
      };
    }
    if (!route.public) {
      responses['401'] ??= { description: 'Missing or unknown API key', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
    }
    paths[route.path] ??= {};
    paths[route.path]![route.method.toLowerCase()] = {
      operationId: route.operationId,
      summary: route.summary,
      ...(route.public ? { security: [] } : {}),
      ...(parameters.length > 0 ? { parameters } : {}),
      ...(route.body ? { requestBody: { required: true, content: { 'application/json': { schema: schemaOf(route.body, 'input') } } } } : {}),
      responses,
    };
  }

  return {
    openapi: '3.1.0',
    info: {
      title: 'caged API',
      version: packageVersion(),
      description: 'Budget-guarded sandboxes for coding agents: each sandbox has a hard US-dollar budget (LLM tokens + compute).',
    },
    security: [{ bearer: [] }],
    paths,
    components: {
      schemas: components,
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'An API key: caged_sk_…' } },
    },
  };
}

import { z } from 'zod';
import { configFileSchema } from './schema.js';

export const SCHEMA_ID = 'https://raw.githubusercontent.com/caged/batch-action/v1/schema/caged.schema.json';

/** JSON Schema of `.caged.yaml` for editors (yaml-language-server), generated from the zod schema. */
export function configJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(configFileSchema, { io: 'input', target: 'draft-2020-12' }) as Record<string, unknown>;
  return { ...schema, $id: SCHEMA_ID };
}

export function renderConfigJsonSchema(): string {
  return `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
}

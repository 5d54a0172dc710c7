// Regenerates schema/caged.schema.json from the zod schema (run by `npm run schema`).
import { writeFileSync } from 'node:fs';
import { renderConfigJsonSchema } from '../lib/config/json-schema.js';

writeFileSync(new URL('../schema/caged.schema.json', import.meta.url), renderConfigJsonSchema());
console.log('wrote schema/caged.schema.json');

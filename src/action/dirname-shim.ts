import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

// Bundled CommonJS dependencies (ssh2, via dockerode) read __dirname while loading; an ES
// module has none (vercel/ncc #895). This module is imported first by every entry point.
const bundle = fileURLToPath(import.meta.url);
Object.assign(globalThis, { __filename: bundle, __dirname: dirname(bundle) });

import { readFile } from 'node:fs/promises';
import type { z } from 'zod';
import { issuesToProblems } from './issues.js';
import { InputError } from './problems.js';
import { configFileSchema, type ConfigLayer } from './schema.js';
import { parseYamlSource, type YamlSource } from './yaml-source.js';

export const DEFAULT_CONFIG_FILE = '.caged.yaml';

/** Validates `source` against `schema`, or throws an InputError naming each place. */
export function validateSource<S extends z.ZodType>(schema: S, source: YamlSource): z.output<S> {
  const result = schema.safeParse(source.value);
  if (result.success) return result.data;
  throw new InputError(issuesToProblems(schema, source.value, result.error.issues, source.locate));
}

export function parseConfigText(text: string, file: string): ConfigLayer {
  const source = parseYamlSource(text, file);
  if (typeof source.value !== 'object' || source.value === null || Array.isArray(source.value)) {
    throw InputError.at(`${file}:1:1`, 'a .caged.yaml file is a map of settings (template:, budget:, ...)');
  }
  return validateSource(configFileSchema, source);
}

/**
 * Reads a config file. A missing file is an error only when the user named it;
 * the default `.caged.yaml` is optional.
 */
export async function loadConfigFile(file: string | undefined): Promise<{ config: ConfigLayer; file?: string }> {
  const path = file ?? DEFAULT_CONFIG_FILE;
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' && file === undefined) return { config: {} };
    throw InputError.at(path, `cannot read the config file: ${(error as Error).message}`);
  }
  return { config: parseConfigText(text, path), file: path };
}

import { configFileSchema, type ConfigLayer } from '../config/schema.js';
import { InputError, type Problem } from '../config/problems.js';

/** Collects a repeatable option into a list (commander's reducer). */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** `--env K=V` (repeatable). A bare `--env K` takes K from caged's own environment. */
export function parseEnvFlags(values: string[] = [], env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const out: Record<string, string> = {};
  const problems: Problem[] = [];
  for (const entry of values) {
    const at = entry.indexOf('=');
    const name = at === -1 ? entry : entry.slice(0, at);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
      problems.push({ location: '--env', message: `"${name}" is not an environment variable name (write --env NAME=value)` });
      continue;
    }
    if (at === -1) {
      const value = env[name];
      if (value === undefined) problems.push({ location: '--env', message: `${name} has no value and is not set in this environment` });
      else out[name] = value;
    } else {
      out[name] = entry.slice(at + 1);
    }
  }
  if (problems.length > 0) throw new InputError(problems);
  return out;
}

export interface SettingFlags {
  template?: string;
  image?: string;
  cpus?: string;
  memory?: string;
  disk?: string;
  budget?: string;
  timeout?: string;
  maxDuration?: string;
  network?: string;
  allowHost?: string[];
  agent?: string;
  model?: string;
  maxParallel?: string;
  failOn?: string;
  initScript?: string;
}

const FLAG_OF: Record<string, string> = {
  template: '--template',
  image: '--image',
  'resources.cpu': '--cpus',
  'resources.memory': '--memory',
  'resources.disk': '--disk',
  budget: '--budget',
  timeout: '--timeout',
  max_duration: '--max-duration',
  network_mode: '--network',
  allowed_hosts: '--allow-host',
  agent: '--agent',
  model: '--model',
  max_parallel: '--max-parallel',
  fail_on: '--fail-on',
  init_script: '--init-script',
};

function numeric(text: string | undefined): number | string | undefined {
  if (text === undefined) return undefined;
  return /^-?\d+(\.\d+)?$/.test(text.trim()) ? Number(text) : text;
}

/** Turns setting flags into a config layer, validated by the same schema; errors name the flag. */
export function settingsFromFlags(flags: SettingFlags): ConfigLayer {
  const raw: Record<string, unknown> = {
    template: flags.template,
    image: flags.image,
    budget: flags.budget,
    timeout: numeric(flags.timeout),
    max_duration: numeric(flags.maxDuration),
    network_mode: flags.network,
    allowed_hosts: flags.allowHost,
    agent: flags.agent,
    model: flags.model,
    max_parallel: numeric(flags.maxParallel),
    fail_on: flags.failOn,
    init_script: flags.initScript,
  };
  const resources = { cpu: numeric(flags.cpus), memory: numeric(flags.memory), disk: numeric(flags.disk) };
  if (Object.values(resources).some((value) => value !== undefined)) raw.resources = resources;
  for (const key of Object.keys(raw)) if (raw[key] === undefined) delete raw[key];
  if (raw.resources) {
    const resourcesObject = raw.resources as Record<string, unknown>;
    for (const key of Object.keys(resourcesObject)) if (resourcesObject[key] === undefined) delete resourcesObject[key];
  }
  const result = configFileSchema.safeParse(raw);
  if (result.success) return result.data;
  throw new InputError(
    result.error.issues.map((issue) => {
      const key = issue.path.filter((part) => typeof part === 'string').join('.');
      const flag = FLAG_OF[key] ?? FLAG_OF[key.split('.')[0] ?? ''] ?? key;
      return { location: flag, message: issue.message };
    }),
  );
}

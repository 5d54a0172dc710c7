import { InputError, type Problem } from '../config/problems.js';
import { AGENT_NAMES, FAIL_ON, type AgentName, type FailOn } from '../config/schema.js';
import { parseUsd, type Micros } from '../money.js';
import { parseShard, type Shard } from './shard.js';

export const BACKENDS = ['docker', 'remote'] as const;
export const COMMENT_MODES = ['auto', 'always', 'never'] as const;
export const DELIVER_MODES = ['none', 'patch', 'branch', 'pull-request'] as const;
export const MODES = ['run', 'report'] as const;

export type Backend = (typeof BACKENDS)[number];
export type CommentMode = (typeof COMMENT_MODES)[number];
export type DeliverMode = (typeof DELIVER_MODES)[number];
export type Mode = (typeof MODES)[number];

/** The defaults action.yml declares; the code applies them too, for runs outside a runner (tests, `act`). */
export const INPUT_DEFAULTS = {
  config: '.caged.yaml',
  backend: 'docker',
  comment: 'auto',
  deliver: 'none',
  mode: 'run',
  trigger: '/caged',
  'shard-results': 'caged-results',
} as const;

export interface ActionInputs {
  /** Task list text as given: inline YAML/JSON/line form, or a path (resolved later against the workspace). */
  tasks?: string;
  config: string;
  agent?: AgentName;
  budget?: Micros;
  maxParallel?: number;
  backend: Backend;
  apiUrl?: string;
  apiKey?: string;
  githubToken?: string;
  comment: CommentMode;
  failOn?: FailOn;
  deliver: DeliverMode;
  shard?: Shard;
  mode: Mode;
  trigger: string;
  allowedBots: string[];
  shardResults: string[];
}

export type InputGetter = (name: string) => string;

function oneOf<T extends string>(name: string, value: string, allowed: readonly T[], problems: Problem[]): T | undefined {
  if ((allowed as readonly string[]).includes(value)) return value as T;
  problems.push({ location: `input ${name}`, message: `${name} must be one of ${allowed.join(', ')}; got "${value}"` });
  return undefined;
}

/** Logins exactly as GitHub spells them (bots end in `[bot]`); patterns are refused so that no bot is let in by accident. */
const LOGIN = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})(?:\[bot\])?$/;

function listOf(text: string): string[] {
  return text
    .split(/[\n,]/)
    .map((item) => item.trim())
    .filter(Boolean);
}

/** Reads and checks every input; all problems are reported together and nothing has started yet. */
export function readInputs(get: InputGetter): ActionInputs {
  const problems: Problem[] = [];
  const text = (name: string) => get(name).trim();
  const withDefault = (name: keyof typeof INPUT_DEFAULTS) => text(name) || INPUT_DEFAULTS[name];
  const problem = (name: string, message: string) => problems.push({ location: `input ${name}`, message });

  const inputs: ActionInputs = {
    config: withDefault('config'),
    backend: oneOf('backend', withDefault('backend'), BACKENDS, problems) ?? 'docker',
    comment: oneOf('comment', withDefault('comment'), COMMENT_MODES, problems) ?? 'auto',
    deliver: oneOf('deliver', withDefault('deliver'), DELIVER_MODES, problems) ?? 'none',
    mode: oneOf('mode', withDefault('mode'), MODES, problems) ?? 'run',
    trigger: withDefault('trigger'),
    allowedBots: [],
    shardResults: listOf(withDefault('shard-results')),
  };
  const tasks = get('tasks');
  if (tasks.trim()) inputs.tasks = tasks;

  const agent = text('agent');
  if (agent) inputs.agent = oneOf('agent', agent, AGENT_NAMES, problems);
  const budget = text('budget');
  if (budget) {
    try {
      inputs.budget = parseUsd(budget);
      if (inputs.budget <= 0) problem('budget', 'budget must be more than $0');
    } catch (error) {
      problem('budget', (error as Error).message);
    }
  }
  const maxParallel = text('max-parallel');
  if (maxParallel) {
    if (/^\d+$/.test(maxParallel) && Number(maxParallel) >= 1 && Number(maxParallel) <= 1024) inputs.maxParallel = Number(maxParallel);
    else problem('max-parallel', `max-parallel must be a whole number from 1 to 1024; got "${maxParallel}"`);
  }
  const failOn = text('fail-on');
  if (failOn) inputs.failOn = oneOf('fail-on', failOn, FAIL_ON, problems);

  const apiUrl = text('api-url');
  const apiKey = text('api-key');
  if (apiUrl) {
    if (/^https?:\/\/[^\s/]+/.test(apiUrl) && URL.canParse(apiUrl)) inputs.apiUrl = apiUrl;
    else problem('api-url', `api-url must be an http(s) URL; got "${apiUrl}"`);
  }
  if (apiKey) inputs.apiKey = apiKey;
  if (inputs.backend === 'remote') {
    if (!apiUrl) problem('api-url', 'backend: remote needs api-url (the URL of your caged server)');
    if (!apiKey) problem('api-key', 'backend: remote needs api-key (a bearer key of your caged server)');
  }
  const token = text('github-token');
  if (token) inputs.githubToken = token;

  const shard = text('shard');
  if (shard) {
    try {
      inputs.shard = parseShard(shard);
    } catch (error) {
      problem('shard', (error as Error).message);
    }
  }
  if (!/^\S+$/.test(inputs.trigger)) problem('trigger', `trigger must be one word like /caged; got "${inputs.trigger}"`);
  for (const login of listOf(get('allowed-bots'))) {
    if (LOGIN.test(login)) inputs.allowedBots.push(login);
    else problem('allowed-bots', `"${login}" is not a GitHub login: list bots by their exact login, e.g. my-app[bot] (no wildcards)`);
  }
  if (inputs.mode === 'report' && inputs.shard) problem('shard', 'mode: report merges every shard; leave shard empty in the report job');
  if (problems.length > 0) throw new InputError(problems);
  return inputs;
}

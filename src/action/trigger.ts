import { InputError, suggest } from '../config/problems.js';
import { AGENT_NAMES, type AgentName } from '../config/schema.js';
import { parseUsd, type Micros } from '../money.js';
import type { Octokit } from '../report/pr-comment.js';

/**
 * `/caged run [--budget 3] [--agent claude] [--template node-20] PROMPT` in the first line of a
 * PR comment. The prompt runs to the end of the comment, so it may span lines.
 */
export interface TriggerCommand {
  prompt: string;
  budget?: Micros;
  agent?: AgentName;
  template?: string;
}

export const TRIGGER_USAGE = 'run [--budget 3] [--agent claude|codex|aider] [--template node-20] PROMPT';

const FLAGS = ['--budget', '--agent', '--template'] as const;
const TEMPLATE_NAME = /^[a-z0-9][a-z0-9._-]*$/;

interface Token {
  text: string;
  /** 0-based offset in the comment. */
  at: number;
}

/** Whether the comment is addressed to caged at all: its first line starts with the trigger word. */
export function isTriggerComment(body: string, trigger: string): boolean {
  const first = body.replace(/^\s+/, '').split(/\r?\n/, 1)[0] ?? '';
  return first === trigger || first.startsWith(`${trigger} `) || first.startsWith(`${trigger}\t`);
}

/** Parses a comment that `isTriggerComment` accepted; bad commands throw an InputError naming line 1 and the column. */
export function parseTriggerCommand(body: string, trigger: string): TriggerCommand {
  const start = body.length - body.replace(/^\s+/, '').length;
  const text = body.slice(start);
  const tokens: Token[] = [];
  const firstLineEnd = text.search(/\r?\n|$/);
  for (const match of text.slice(0, firstLineEnd).matchAll(/\S+/g)) tokens.push({ text: match[0], at: start + match.index });
  const fail = (token: Token | undefined, message: string): never => {
    const col = (token?.at ?? body.length) + 1;
    throw new InputError([{ location: `comment line 1, col ${col}`, line: 1, col, message: `${message} (usage: ${trigger} ${TRIGGER_USAGE})` }]);
  };
  const verb = tokens[1];
  if (verb?.text !== 'run') fail(verb, verb ? `unknown command "${verb.text}"` : 'missing command');
  const command: Partial<TriggerCommand> = {};
  let i = 2;
  for (; i < tokens.length; i += 1) {
    const token = tokens[i]!;
    if (token.text === '--') {
      i += 1;
      break;
    }
    if (!token.text.startsWith('--')) break;
    const [flag, inline] = token.text.includes('=') ? [token.text.slice(0, token.text.indexOf('=')), token.text.slice(token.text.indexOf('=') + 1)] : [token.text, undefined];
    if (!(FLAGS as readonly string[]).includes(flag)) {
      const hint = suggest(flag, FLAGS);
      fail(token, `unknown option ${flag}${hint ? ` (did you mean ${hint}?)` : ''}`);
    }
    const valueToken = inline !== undefined ? { text: inline, at: token.at + flag.length + 1 } : tokens[++i];
    if (!valueToken || valueToken.text === '') fail(valueToken ?? token, `${flag} needs a value`);
    const value = valueToken!.text;
    if (flag === '--budget') {
      try {
        command.budget = parseUsd(value);
      } catch (error) {
        fail(valueToken, `--budget: ${(error as Error).message}`);
      }
      if (command.budget === 0) fail(valueToken, '--budget must be more than $0');
    } else if (flag === '--agent') {
      if (!(AGENT_NAMES as readonly string[]).includes(value)) fail(valueToken, `--agent must be one of ${AGENT_NAMES.join(', ')}`);
      command.agent = value as AgentName;
    } else {
      if (!TEMPLATE_NAME.test(value)) fail(valueToken, '--template must be a template name like node-20');
      command.template = value;
    }
  }
  const promptStart = tokens[i]?.at ?? start + firstLineEnd;
  const prompt = unquote(body.slice(promptStart).trim());
  if (!prompt) fail(tokens[i], 'the prompt is empty');
  return { ...command, prompt };
}

function unquote(text: string): string {
  const quoted = /^(["'])([\s\S]*)\1$/.exec(text);
  return quoted ? quoted[2]!.trim() : text;
}

export interface Commenter {
  login: string;
  type: string;
}

export type Authorization = { allowed: true; as: 'collaborator' | 'allowed-bot' } | { allowed: false; reason: string };

/**
 * Who may start a run from a comment: a `User` with write, maintain or admin permission (the
 * API reports maintain as write), or a bot listed by its exact login in `allowed-bots`.
 * `author_association` is not used: it is unreliable for private organisation members.
 */
export async function authorize(octokit: Octokit, repo: { owner: string; repo: string }, commenter: Commenter, allowedBots: readonly string[]): Promise<Authorization> {
  if (commenter.type !== 'User') {
    if (allowedBots.includes(commenter.login)) return { allowed: true, as: 'allowed-bot' };
    return { allowed: false, reason: `${commenter.login} is a ${commenter.type} account and not listed in allowed-bots` };
  }
  let permission: string;
  try {
    const { data } = await octokit.rest.repos.getCollaboratorPermissionLevel({ ...repo, username: commenter.login });
    permission = data.role_name === 'maintain' ? 'write' : data.permission;
  } catch (error) {
    if ((error as { status?: number }).status === 404) return { allowed: false, reason: `${commenter.login} is not a collaborator of ${repo.owner}/${repo.repo}` };
    throw error;
  }
  if (permission === 'admin' || permission === 'write') return { allowed: true, as: 'collaborator' };
  return { allowed: false, reason: `${commenter.login} has ${permission} permission on ${repo.owner}/${repo.repo}; starting a run needs write, maintain or admin` };
}

export type Reaction = 'eyes' | 'rocket' | 'confused';

export async function react(octokit: Octokit, repo: { owner: string; repo: string }, commentId: number, content: Reaction): Promise<void> {
  await octokit.rest.reactions.createForIssueComment({ ...repo, comment_id: commentId, content });
}

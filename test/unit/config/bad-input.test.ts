import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../../src/config/load.js';
import { InputError } from '../../../src/config/problems.js';
import { parseTasksText } from '../../../src/config/tasks.js';

function configProblems(text: string): string[] {
  try {
    parseConfigText(text, '.caged.yaml');
  } catch (error) {
    if (error instanceof InputError) return error.message.split('\n');
    throw error;
  }
  throw new Error('expected the config to be rejected');
}

function taskProblems(text: string, file = 'tasks.yaml'): string[] {
  try {
    parseTasksText(text, file);
  } catch (error) {
    if (error instanceof InputError) return error.message.split('\n');
    throw error;
  }
  throw new Error('expected the task list to be rejected');
}

describe('bad .caged.yaml gives file:line:col and an actionable message', () => {
  const cases: Array<[string, string, string[]]> = [
    ['negative budget', 'budget: -5\n', ['.caged.yaml:1:9: budget: amount must not be negative: -5']],
    ['zero budget', 'budget: 0\n', ['.caged.yaml:1:9: budget must be more than $0']],
    ['budget in words', 'template: node-20\nbudget: "five"\n', ['.caged.yaml:2:9: budget: not a US-dollar amount: "five" (write it like 5, 5.00 or "$5")']],
    ['memory with a unit', 'resources:\n  memory: 2GB\n', ['.caged.yaml:2:11: memory is a whole number of MiB, e.g. 2048 (not "2GB")']],
    ['memory too small', 'resources:\n  memory: 16\n', ['.caged.yaml:2:11: memory must be at least 64 MiB']],
    ['cpu as a string', 'resources:\n  cpu: "2"\n', ['.caged.yaml:2:8: cpu is a number of vCPUs, e.g. 2 or 0.5']],
    ['cpu zero', 'resources: {cpu: 0}\n', ['.caged.yaml:1:18: cpu must be more than 0']],
    ['unknown network_mode', 'network_mode: bridge\n', ['.caged.yaml:1:15: network_mode must be one of: none, gateway, allowlist, open']],
    ['host pattern as URL', 'allowed_hosts:\n  - https://github.com/\n', ['.caged.yaml:2:5: allowed_hosts[0]: "https://github.com/": write a host name, not a URL (e.g. "github.com")']],
    ['bare wildcard host', 'allowed_hosts: ["*"]\n', ['.caged.yaml:1:17: allowed_hosts[0]: "*" would allow every host: use network_mode: open instead']],
    ['wildcard inside a host', 'allowed_hosts: ["api*.example.com"]\n', ['.caged.yaml:1:17: allowed_hosts[0]: "api*.example.com": a wildcard is only allowed as a leading "*." (like *.example.com)']],
    ['bad CIDR prefix', 'allowed_hosts:\n  - 10.0.0.0/33\n', ['.caged.yaml:2:5: allowed_hosts[0]: "10.0.0.0/33": CIDR prefix must be 0 to 32']],
    ['bad port', 'allowed_hosts: [github.com:99999]\n', ['.caged.yaml:1:17: allowed_hosts[0]: "github.com:99999": port must be a number from 1 to 65535']],
    ['tab indentation', 'resources:\n\tcpu: 2\n', ['.caged.yaml:2:1: YAML: tabs are not allowed for indentation in YAML; use spaces']],
    ['duplicate key', 'budget: 5\nbudget: 6\n', ['.caged.yaml:2:1: YAML: duplicate key: each key may appear only once']],
    ['empty file', '', ['.caged.yaml:1:1: the file is empty']],
    ['only comments', '# nothing here\n', ['.caged.yaml:1:1: the file is empty']],
    ['a list instead of a map', '- template: node-20\n', ['.caged.yaml:1:1: a .caged.yaml file is a map of settings (template:, budget:, ...)']],
    [
      'unknown keys with hints',
      'budgte: 5\ntimout: 30\nresources: {cpuu: 2}\n',
      [
        '.caged.yaml:1:1: unknown key "budgte" (did you mean "budget"?)',
        '.caged.yaml:2:1: unknown key "timout" (did you mean "timeout"?)',
        '.caged.yaml:3:13: unknown key "cpuu" (did you mean "cpu"?)',
      ],
    ],
    ['fractional timeout', 'timeout: 1.5\n', ['.caged.yaml:1:10: timeout must be a whole number of seconds']],
    ['max_parallel zero', 'max_parallel: 0\n', ['.caged.yaml:1:15: max_parallel must be at least 1']],
    ['unknown fail_on', 'fail_on: always\n', ['.caged.yaml:1:10: fail_on must be one of: budget, error, never']],
    ['secrets as a string', 'secrets: ANTHROPIC_API_KEY\n', ['.caged.yaml:1:10: secrets is a list of names, e.g. [ANTHROPIC_API_KEY]']],
    ['bad secret name', 'secrets: [ANTHROPIC-KEY]\n', ['.caged.yaml:1:11: secrets[0]: must be an environment variable name like ANTHROPIC_API_KEY']],
    ['bad env name', 'env:\n  1BAD: x\n', ['.caged.yaml:2:3: env: "1BAD" is not valid: must be an environment variable name like ANTHROPIC_API_KEY']],
    ['env value a list', 'env:\n  GOOD: [1]\n', ['.caged.yaml:2:9: env.GOOD: env values must be strings (quote them: "true")']],
    ['unknown agent', 'agent: gpt\n', ['.caged.yaml:1:8: agent must be claude, codex, aider, {command: ...} or {name: ..., version: ...}']],
    ['webhook not http', 'on_complete: ftp://example.com/hook\n', ['.caged.yaml:1:14: on_complete: must be an http(s) URL']],
    ['template with spaces', 'template: Node 20\n', ['.caged.yaml:1:11: template must be a name like node-20 or python-312']],
    ['price missing output', 'pricing:\n  models:\n    my-model: {input: 1}\n', ['.caged.yaml:3:15: missing required key "output"']],
    ['negative price', 'pricing:\n  models:\n    my-model: {input: -1, output: 2}\n', ['.caged.yaml:3:23: pricing.models.my-model.input: a price must not be negative']],
  ];
  it.each(cases)('%s', (_name, text, expected) => {
    expect(configProblems(text)).toEqual(expected);
  });

  it('reports every problem of a file, in file order', () => {
    expect(configProblems('fail_on: x\nbudget: -1\n')).toEqual([
      '.caged.yaml:1:10: fail_on must be one of: budget, error, never',
      '.caged.yaml:2:9: budget: amount must not be negative: -1',
    ]);
  });
});

describe('bad task lists give file:line:col', () => {
  const cases: Array<[string, string, string, string[]]> = [
    ['task without prompt', 'tasks.yaml', '- repo: a\n  budget: 3\n', ['tasks.yaml:1:3: missing required key "prompt"']],
    ['empty prompt', 'tasks.yaml', 'tasks:\n  - prompt: ""\n', ['tasks.yaml:2:13: prompt must not be empty']],
    ['misspelt task key', 'tasks.yaml', '- prompt: ok\n  budgit: 3\n', ['tasks.yaml:2:3: unknown key "budgit" (did you mean "budget"?)']],
    ['empty list', 'tasks.yaml', '[]\n', ['tasks.yaml:1:1: the task list is empty']],
    ['negative budget in JSON', 'tasks.json', '[{"repo": "a", "prompt": "x", "budget": "$-1"}]', ['tasks.json:1:41: [0].budget: amount must not be negative: "$-1"']],
    ['override with bad memory', 'tasks.yaml', '- prompt: x\n  resources: {memory: 2GB}\n', ['tasks.yaml:2:23: memory is a whole number of MiB, e.g. 2048 (not "2GB")']],
    ['line form non-numeric budget', 'tasks.txt', 'repo1|Fix all type errors|3\nrepo2|Add tests|five\n', ['tasks.txt:2:17: budget: not a US-dollar amount: "five" (write it like 5, 5.00 or "$5")']],
    ['line form missing prompt', 'tasks.txt', 'repo1||3\n', ['tasks.txt:1:7: the prompt (second field) is empty']],
    ['line form extra field', 'tasks.txt', 'repo1|Fix|3\nrepo2|x|1|extra\n', ['tasks.txt:2:1: expected repo|prompt|budget, found 4 fields']],
    ['line form line without fields', 'tasks.txt', 'repo1|Fix|3\n# comment\nrepo3\n', ['tasks.txt:3:1: expected repo|prompt|budget, found 1 field']],
    ['line form zero budget', 'tasks.txt', 'repo1|Fix| 0 \n', ['tasks.txt:1:12: budget: budget must be more than $0']],
    ['ssh repo', 'tasks.yaml', '- prompt: x\n  repo: git@github.com:a/b.git\n', ['tasks.yaml:2:9: repo git@github.com:a/b.git: use an https URL, owner/name (GitHub), a local path or a file:// URL']],
    ['line form repo with credentials', 'tasks.txt', 'https://me:pw@example.com/r.git|Fix|3\n', ['tasks.txt:1:1: repo URL example.com/r.git carries credentials: pass the token as git_token instead']],
    ['a map that is not a task list', 'tasks.yaml', 'prompt: hi\n', ['tasks.yaml:1:1: a task list is a YAML/JSON list of {repo, prompt, budget} or lines of repo|prompt|budget']],
  ];
  it.each(cases)('%s', (_name, file, text, expected) => {
    expect(taskProblems(text, file)).toEqual(expected);
  });
});

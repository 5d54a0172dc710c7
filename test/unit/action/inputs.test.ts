import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../../src/config/problems.js';
import { INPUT_DEFAULTS, readInputs } from '../../../src/action/inputs.js';

const actionYml = parse(readFileSync(join(import.meta.dirname, '../../../action.yml'), 'utf8')) as {
  inputs: Record<string, { description: string; default?: string }>;
  outputs: Record<string, { description: string }>;
  runs: Record<string, string>;
};

function inputs(values: Record<string, string>) {
  return readInputs((name) => values[name] ?? '');
}

function problems(values: Record<string, string>): string[] {
  try {
    inputs(values);
  } catch (error) {
    return (error as InputError).problems.map((problem) => `${problem.location}: ${problem.message}`);
  }
  return [];
}

describe('action inputs', () => {
  it('applies the defaults action.yml declares, so runs outside a runner behave the same', () => {
    for (const [name, value] of Object.entries(INPUT_DEFAULTS)) expect(actionYml.inputs[name]?.default, name).toBe(value);
    expect(inputs({})).toMatchObject({ config: '.caged.yaml', backend: 'docker', comment: 'auto', deliver: 'none', mode: 'run', trigger: '/caged', allowedBots: [], shardResults: ['caged-results'] });
  });

  it('documents every input it reads and runs the bundles on node24', () => {
    const read = new Set<string>();
    readInputs((name) => (read.add(name), ''));
    for (const name of read) expect(actionYml.inputs[name]?.description, name).toBeTruthy();
    expect(Object.keys(actionYml.inputs).sort()).toEqual([...read].sort());
    expect(Object.keys(actionYml.outputs).sort()).toEqual(['completed', 'failed', 'killed', 'results', 'results-file', 'total-cost']);
    expect(actionYml.runs).toEqual({ using: 'node24', main: 'dist/index.js', post: 'dist/post.js' });
  });

  it('parses the values', () => {
    expect(
      inputs({ budget: '$2.50', 'max-parallel': '4', agent: 'codex', 'fail-on': 'budget', shard: '1/3', 'allowed-bots': 'renovate[bot], my-app[bot]\nci-user', deliver: 'pull-request' }),
    ).toMatchObject({ budget: 2_500_000, maxParallel: 4, agent: 'codex', failOn: 'budget', shard: { index: 1, total: 3 }, allowedBots: ['renovate[bot]', 'my-app[bot]', 'ci-user'], deliver: 'pull-request' });
  });

  it('reports every bad input at once, by name', () => {
    expect(problems({ budget: 'lots', 'max-parallel': '0', agent: 'gpt', backend: 'cloud', comment: 'yes', shard: '2/2', 'allowed-bots': '*[bot]', trigger: '/caged now' })).toEqual([
      'input backend: backend must be one of docker, remote; got "cloud"',
      'input comment: comment must be one of auto, always, never; got "yes"',
      'input agent: agent must be one of claude, codex, aider; got "gpt"',
      'input budget: not a US-dollar amount: "lots" (write it like 5, 5.00 or "$5")',
      'input max-parallel: max-parallel must be a whole number from 1 to 1024; got "0"',
      'input shard: shard index is 0-based and must be below the total; got 2/2',
      'input trigger: trigger must be one word like /caged; got "/caged now"',
      'input allowed-bots: "*[bot]" is not a GitHub login: list bots by their exact login, e.g. my-app[bot] (no wildcards)',
    ]);
  });

  it('needs a server and a key for the remote backend, and no shard in the report job', () => {
    expect(problems({ backend: 'remote', 'api-url': 'ftp://x' })).toEqual([
      'input api-url: api-url must be an http(s) URL; got "ftp://x"',
      'input api-key: backend: remote needs api-key (a bearer key of your caged server)',
    ]);
    expect(problems({ mode: 'report', shard: '0/2' })).toEqual(['input shard: mode: report merges every shard; leave shard empty in the report job']);
  });
});

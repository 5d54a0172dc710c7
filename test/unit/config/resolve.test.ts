import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderConfigJsonSchema } from '../../../src/config/json-schema.js';
import { parseConfigText } from '../../../src/config/load.js';
import { resolveTasks } from '../../../src/config/resolve.js';
import { mergeLayers } from '../../../src/config/schema.js';
import { parseTasksText } from '../../../src/config/tasks.js';

const SEED = `# .caged.yaml for batch processing
template: node-20
resources:
  cpu: 2
  memory: 2048
  disk: 5
timeout: 900 # 15 min idle timeout (aggressive for batch)
budget: 5.00
secrets:
  - ANTHROPIC_API_KEY
network_mode: allowlist
allowed_hosts:
  - api.anthropic.com
  - registry.npmjs.org
  - github.com
env:
  CI: "true" # Many tools respect this for non-interactive mode
  FORCE_COLOR: "0" # Clean output for logs
`;

describe('config resolution', () => {
  it('accepts the documented batch-worker example as it is', () => {
    const config = mergeLayers(parseConfigText(SEED, '.caged.yaml'));
    expect(config).toMatchObject({
      template: 'node-20',
      resources: { cpu: 2, memory: 2048, disk: 5, pids: 512 },
      timeout: 900,
      budget: 5_000_000,
      secrets: ['ANTHROPIC_API_KEY'],
      network_mode: 'allowlist',
      env: { CI: 'true', FORCE_COLOR: '0' },
      max_duration: 3600,
      agent: 'claude',
      fail_on: 'error',
    });
  });

  it('applies flag > task > .caged.yaml > default, merging resources and env key by key', () => {
    const file = parseConfigText('budget: 5\nresources: {cpu: 2, memory: 2048}\nenv: {A: "1", B: "1"}\ntimeout: 900\n', '.caged.yaml');
    const tasks = parseTasksText('- prompt: p\n  budget: "$3"\n  resources: {memory: 4096}\n  env: {B: "2"}\n', 'tasks.yaml');
    const [task] = resolveTasks(file, tasks, { budget: 1_500_000, resources: { cpu: 4 } });
    expect(task!.config.budget).toBe(1_500_000);
    expect(task!.config.resources).toEqual({ cpu: 4, memory: 4096, pids: 512 });
    expect(task!.config.env).toEqual({ A: '1', B: '2' });
    expect(task!.config.timeout).toBe(900);
    expect(task!.config.network_mode).toBe('gateway');
  });

  it('reads the line form: repo|prompt|budget with comments, blank lines and an empty repo', () => {
    const tasks = parseTasksText('# batch\nrepo1|Fix all type errors|3\n\n|Refactor database layer|8\nrepo4|Update dependencies\n', 'tasks.txt');
    expect(tasks).toEqual([
      { repo: 'repo1', prompt: 'Fix all type errors', budget: 3_000_000 },
      { prompt: 'Refactor database layer', budget: 8_000_000 },
      { repo: 'repo4', prompt: 'Update dependencies' },
    ]);
  });

  it('reads a JSON task list and a {tasks: [...]} map', () => {
    expect(parseTasksText('[{"repo":"a","prompt":"x","budget":2.5}]', 'tasks.json')).toEqual([{ repo: 'a', prompt: 'x', budget: 2_500_000 }]);
    expect(parseTasksText('tasks:\n  - prompt: y\n', 'tasks.yaml')).toEqual([{ prompt: 'y' }]);
  });

  it('adds the chosen agent to the mounted agent binaries', () => {
    expect(mergeLayers({ agent: 'codex' }).agents).toEqual(['claude', 'codex']);
    expect(mergeLayers({ agent: { command: 'make test' } }).agents).toEqual(['claude']);
  });

  it('keeps schema/caged.schema.json in step with the zod schema (run `npm run schema`)', () => {
    const committed = readFileSync(new URL('../../../schema/caged.schema.json', import.meta.url), 'utf8');
    expect(committed).toBe(renderConfigJsonSchema());
  });
});

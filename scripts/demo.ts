// `npm run demo`: the four-task batch from the docs, run by the real `caged batch` with the real
// Claude Code binary in every sandbox. Offline by default: the Anthropic API is a local stand-in
// scripted so that one task runs out of budget. `npm run demo -- --live` uses the real API
// (needs ANTHROPIC_API_KEY, and spends real money within the budgets).
import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startFakeAnthropic, type AnthropicTurn } from '../test/support/fake-anthropic.js';
import type { RecordedRequest } from '../test/support/fake-http.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const live = process.argv.includes('--live');
const STAND_IN_KEY = 'sk-ant-demo-stand-in-key';

const REPOS: Record<string, Record<string, string>> = {
  repo1: {
    'package.json': '{"name": "repo1", "type": "module"}\n',
    'src/total.ts': 'export function total(prices: number[]): number {\n  return prices.reduce((sum, price) => sum + price, "0");\n}\n',
  },
  repo2: {
    'package.json': '{"name": "repo2", "type": "module"}\n',
    'utils/slug.js': 'export const slug = (text) => text.toLowerCase().replace(/[^a-z0-9]+/g, "-");\n',
  },
  repo3: {
    'package.json': '{"name": "repo3", "type": "module"}\n',
    'src/db.js': 'export function findUser(db, id) {\n  return db.query("SELECT * FROM users WHERE id = " + id);\n}\n',
  },
  repo4: {
    'package.json': '{"name": "repo4", "dependencies": {"left-pad": "^1.0.0", "request": "^2.88.0"}}\n',
  },
};

/** What the stand-in model does for each task: edit one file and finish, or never finish. */
const SCRIPTS: Array<{ match: string; file?: string; content?: string; final?: string }> = [
  { match: 'Fix all type errors', file: 'src/total.ts', content: 'export function total(prices: number[]): number {\n  return prices.reduce((sum, price) => sum + price, 0);\n}\n', final: 'Fixed the type error in src/total.ts: the reduce seed is now the number 0.' },
  { match: 'Add unit tests', file: 'utils/slug.test.js', content: 'import { test } from "node:test";\nimport assert from "node:assert";\nimport { slug } from "./slug.js";\n\ntest("slug", () => assert.equal(slug("Hello World"), "hello-world"));\n', final: 'Added utils/slug.test.js.' },
  { match: 'Refactor database layer', file: 'src/db.js', content: 'export function findUser(db, id) {\n  return db.query("SELECT * FROM users WHERE id = ?", [id]);\n}\n', final: 'findUser now uses a parameterised query.' },
  { match: 'Update dependencies' },
];

function lastUserText(request: RecordedRequest): string {
  const body = request.body as { messages?: Array<{ role: string; content: unknown }> };
  const first = body.messages?.find((message) => message.role === 'user');
  return JSON.stringify(first?.content ?? '');
}

function standIn(request: RecordedRequest): AnthropicTurn {
  const body = request.body as { tools?: Array<{ name?: string }>; messages?: Array<{ content: unknown }> };
  if (!(body.tools ?? []).some((tool) => tool.name === 'Write')) return { content: [{ type: 'text', text: 'Batch task' }] };
  const script = SCRIPTS.find((entry) => lastUserText(request).includes(entry.match));
  const turns = (body.messages ?? []).filter((message) => Array.isArray(message.content) && JSON.stringify(message.content).includes('tool_result')).length;
  // Usage consistent with the request: about 4 bytes a token, most of the context cached.
  const context = Math.ceil(request.rawBody.length / 4);
  const usage = {
    input_tokens: Math.ceil(context * 0.1),
    cache_read_input_tokens: Math.floor(context * 0.8),
    cache_creation: { ephemeral_5m_input_tokens: Math.floor(context * 0.1) },
    output_tokens: 900,
  };
  if (!script?.file) {
    return {
      content: [
        { type: 'text', text: `Checking dependency ${turns + 1} for breaking changes.` },
        { type: 'tool_use', name: 'Write', input: { file_path: `/workspace/notes/dep-${turns + 1}.md`, content: `dependency ${turns + 1}\n` } },
      ],
      // Long thinking on every turn: the stand-in reports up to 20k output tokens (capped by max_tokens).
      usage: { ...usage, output_tokens: 20_000 },
    };
  }
  if (turns === 0) return { content: [{ type: 'text', text: `Editing ${script.file}.` }, { type: 'tool_use', name: 'Write', input: { file_path: `/workspace/${script.file}`, content: script.content } }], usage };
  return { content: [{ type: 'text', text: script.final! }], usage };
}

function git(cwd: string, ...args: string[]): void {
  execFileSync('git', args, { cwd, stdio: 'ignore', env: { ...process.env, GIT_AUTHOR_NAME: 'demo', GIT_AUTHOR_EMAIL: 'demo@example.com', GIT_COMMITTER_NAME: 'demo', GIT_COMMITTER_EMAIL: 'demo@example.com' } });
}

async function main(): Promise<number> {
  const work = mkdtempSync(join(tmpdir(), 'caged-demo-'));
  for (const [name, files] of Object.entries(REPOS)) {
    const dir = join(work, name);
    for (const [path, content] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), content);
    }
    git(dir, 'init', '-q', '-b', 'main');
    git(dir, 'add', '-A');
    git(dir, 'commit', '-q', '-m', 'initial');
  }
  writeFileSync(
    join(work, 'tasks.txt'),
    `${['repo1|Fix all type errors|3', 'repo2|Add unit tests for utils/|5', 'repo3|Refactor database layer|8', 'repo4|Update dependencies and fix breaking changes|4']
      .map((line) => `${work}/${line}`)
      .join('\n')}\n`,
  );
  writeFileSync(join(work, '.caged.yaml'), 'template: node-20\nresources: {cpu: 2, memory: 2048}\ntimeout: 900\nsecrets: [ANTHROPIC_API_KEY]\nmax_parallel: 4\n');

  const env: NodeJS.ProcessEnv = { ...process.env, CAGED_HOME: join(work, 'state') };
  let close = async () => undefined;
  if (live) {
    if (!process.env.ANTHROPIC_API_KEY) {
      console.error('demo --live needs ANTHROPIC_API_KEY in the environment');
      return 2;
    }
    console.log('caged demo — LIVE: the batch goes to the real Anthropic API and spends real money (within each budget).\n');
  } else {
    const fake = await startFakeAnthropic({ apiKey: STAND_IN_KEY, respond: standIn });
    close = fake.close;
    env.ANTHROPIC_API_KEY = STAND_IN_KEY;
    env.CAGED_UPSTREAM_ANTHROPIC = fake.url;
    console.log(
      `caged demo — OFFLINE: the Anthropic API is a local stand-in at ${fake.url} (test/support/fake-anthropic.ts),\n` +
        'scripted so that "Update dependencies" never finishes. The real Claude Code binary runs in every sandbox;\n' +
        'nothing leaves this machine and no money is spent. Run `npm run demo -- --live` for the real API.\n',
    );
  }
  console.log(`Repositories and tasks in ${work}:\n  repo1|Fix all type errors|3\n  repo2|Add unit tests for utils/|5\n  repo3|Refactor database layer|8\n  repo4|Update dependencies and fix breaking changes|4\n`);
  console.log('$ caged batch tasks.txt --out results.json\n');
  const code = await new Promise<number>((resolve) => {
    const child = spawn(process.execPath, [join(root, 'bin/caged.js'), 'batch', 'tasks.txt', '--out', 'results.json'], { cwd: work, env, stdio: 'inherit' });
    child.on('close', (exit) => resolve(exit ?? 1));
  });
  await close();
  console.log(`\ncaged exited with ${code}${code === 3 ? ' (a budget was hit, as scripted)' : ''}. Results: ${join(work, 'results.json')}`);
  return code === 3 || code === 0 ? 0 : code;
}

process.exitCode = await main();

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Docker from 'dockerode';
import { afterAll, beforeAll } from 'vitest';
import { runGit } from '../../../src/sandbox/git.js';
import { FakeGitHub } from '../../support/fake-github.js';

/** Runs the committed bundles (dist/index.js, dist/post.js) the way a runner does: env in, files out. */

export const ROOT = resolve(import.meta.dirname, '../../..');
export const OWNER = 'octo';
export const REPO = 'widgets';
export const TOKEN = 'ghs_faketoken0123456789';
export const docker = new Docker();

export interface Job {
  dir: string;
  workspace: string;
  runnerTemp: string;
  summary: string;
  output: string;
  state: string;
}

export async function newJob(prefix: string): Promise<Job> {
  const dir = await mkdtemp(join(tmpdir(), `caged-action-${prefix}-`));
  const job = {
    dir,
    workspace: join(dir, 'workspace'),
    runnerTemp: join(dir, 'runner-temp'),
    summary: join(dir, 'summary.md'),
    output: join(dir, 'output.txt'),
    state: join(dir, 'state.txt'),
  };
  await mkdir(job.workspace, { recursive: true });
  await mkdir(job.runnerTemp, { recursive: true });
  for (const file of [job.summary, job.output, job.state]) await writeFile(file, '');
  return job;
}

export async function git(cwd: string, ...args: string[]): Promise<string> {
  const result = await runGit(['-c', 'user.name=test', '-c', 'user.email=test@example.invalid', ...args], { cwd });
  if (result.code !== 0) throw new Error(`git ${args.join(' ')}: ${result.stderr}`);
  return result.stdout.toString('utf8').trim();
}

/** A workspace like actions/checkout leaves it: a git repository with the given files committed. */
export async function checkout(job: Job, files: Record<string, string>): Promise<void> {
  await git(job.workspace, 'init', '--quiet', '--initial-branch=main');
  for (const [name, text] of Object.entries(files)) {
    await mkdir(join(job.workspace, name, '..'), { recursive: true });
    await writeFile(join(job.workspace, name), text);
  }
  await git(job.workspace, 'add', '--all');
  await git(job.workspace, 'commit', '--quiet', '-m', 'checkout');
}

export interface Event {
  name: string;
  payload: Record<string, unknown>;
}

export interface RunOptions {
  job: Job;
  fake: FakeGitHub;
  inputs: Record<string, string>;
  event: Event;
  /** Called once the process runs; e.g. to signal it. */
  during?: (child: ChildProcess) => Promise<void>;
  entry?: 'index.js' | 'post.js';
  env?: Record<string, string>;
}

export interface ActionResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  log: string;
  outputs: Record<string, string>;
  state: Record<string, string>;
  summary: string;
}

/** `name<<delimiter` … `delimiter` blocks, as @actions/core writes GITHUB_OUTPUT and GITHUB_STATE. */
export function parseCommandFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i += 1) {
    const match = /^([^<]+)<<(.+)$/.exec(lines[i]!);
    if (!match) continue;
    const value: string[] = [];
    for (i += 1; i < lines.length && lines[i] !== match[2]; i += 1) value.push(lines[i]!);
    out[match[1]!] = value.join('\n');
  }
  return out;
}

export function actionEnv(options: RunOptions): Record<string, string> {
  const { job, fake, event } = options;
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? job.dir,
    ...(process.env.DOCKER_HOST ? { DOCKER_HOST: process.env.DOCKER_HOST } : {}),
    GITHUB_ACTIONS: 'true',
    GITHUB_EVENT_NAME: event.name,
    GITHUB_EVENT_PATH: join(job.dir, 'event.json'),
    GITHUB_REPOSITORY: `${OWNER}/${REPO}`,
    GITHUB_API_URL: fake.url,
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_WORKFLOW: 'caged batch',
    GITHUB_JOB: 'agents',
    GITHUB_RUN_ID: '4242',
    GITHUB_RUN_ATTEMPT: '1',
    GITHUB_SHA: '0'.repeat(40),
    GITHUB_REF: 'refs/heads/main',
    GITHUB_WORKSPACE: job.workspace,
    RUNNER_TEMP: job.runnerTemp,
    GITHUB_STEP_SUMMARY: job.summary,
    GITHUB_OUTPUT: job.output,
    GITHUB_STATE: job.state,
    ...options.env,
  };
  for (const [name, value] of Object.entries(options.inputs)) env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] = value;
  return env;
}

export async function runAction(options: RunOptions): Promise<ActionResult> {
  const { job } = options;
  await writeFile(join(job.dir, 'event.json'), JSON.stringify(options.event.payload));
  await writeFile(job.summary, '');
  await writeFile(job.output, '');
  const child = spawn(process.execPath, [join(ROOT, 'dist', options.entry ?? 'index.js')], {
    cwd: job.workspace,
    env: actionEnv(options),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout.on('data', (chunk: Buffer) => (log += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (log += chunk.toString('utf8')));
  const exited = new Promise<[number | null, NodeJS.Signals | null]>((done) => child.on('close', (code, signal) => done([code, signal])));
  await options.during?.(child);
  const [code, signal] = await exited;
  return {
    code,
    signal,
    log,
    outputs: parseCommandFile(await readFile(job.output, 'utf8')),
    state: parseCommandFile(await readFile(job.state, 'utf8')),
    summary: await readFile(job.summary, 'utf8'),
  };
}

export async function containersOfRun(runId: string): Promise<Docker.ContainerInfo[]> {
  return docker.listContainers({ all: true, filters: { label: [`dev.caged.run=${runId}`] } });
}

/** The run id the main step saved for its post step (written before anything starts). */
export async function waitForRunId(job: Job, timeoutMs = 20_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const runId = parseCommandFile(await readFile(job.state, 'utf8'))['run-id'];
    if (runId) return runId;
    await sleep(100);
  }
  throw new Error('the action saved no run id');
}

export async function waitForContainers(runId: string, count: number, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const running = (await containersOfRun(runId)).filter((container) => container.State === 'running');
    if (running.length >= count) return;
    await sleep(200);
  }
  throw new Error(`fewer than ${count} running containers of ${runId}`);
}

/** Removes whatever a test run left behind: containers and networks of its runs, its temp tree. */
export async function cleanUp(runIds: Iterable<string>, dirs: Iterable<string>): Promise<void> {
  for (const runId of runIds) {
    for (const container of await containersOfRun(runId)) await docker.getContainer(container.Id).remove({ force: true }).catch(() => undefined);
    for (const network of await docker.listNetworks({ filters: { label: [`dev.caged.run=${runId}`] } })) {
      await docker.getNetwork(network.Id).remove().catch(() => undefined);
    }
  }
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
}

/** What each action test file shares: one fake GitHub, and the clean-up of every run and job directory it made. */
export interface ActionSuite {
  /** Started in beforeAll. */
  readonly fake: FakeGitHub;
  /** Run ids whose containers and networks go after the file. */
  readonly runIds: Set<string>;
  /** A new job (its directory goes after the file), with `files` committed in its workspace when given. */
  job(name: string, files?: Record<string, string>): Promise<Job>;
}

/** Registers the file's beforeAll/afterAll hooks; call it at the top of a describe block. */
export function actionSuite(): ActionSuite {
  let fake: FakeGitHub | undefined;
  const runIds = new Set<string>();
  const dirs: string[] = [];
  beforeAll(async () => {
    fake = await FakeGitHub.start({ owner: OWNER, repo: REPO, token: TOKEN });
  });
  afterAll(async () => {
    await fake?.close();
    await cleanUp(runIds, dirs);
  });
  return {
    get fake() {
      if (!fake) throw new Error('the fake GitHub starts in beforeAll');
      return fake;
    },
    runIds,
    async job(name, files) {
      const job = await newJob(name);
      dirs.push(job.dir);
      if (files) await checkout(job, files);
      return job;
    },
  };
}

export const CONFIG = ['template: node-20', 'agents: []', 'network_mode: none', 'timeout: 120', ''].join('\n');

export function pullRequestEvent(number: number): Event {
  return {
    name: 'pull_request',
    payload: { action: 'synchronize', number, pull_request: { number, head: { ref: 'feature' }, base: { ref: 'main' } }, repository: { name: REPO, owner: { login: OWNER } } },
  };
}

export const dispatchEvent: Event = { name: 'workflow_dispatch', payload: { repository: { name: REPO, owner: { login: OWNER } } } };

/** Markdown as a reader sees the text: backslash escapes and HTML entities undone. */
export function plain(markdown: string): string {
  const entities: Record<string, string> = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&#39;': "'" };
  return markdown.replace(/\\([\\`*_{}[\]()#+\-.!|~$])/g, '$1').replace(/&(amp|lt|gt|quot|#39);/g, (entity) => entities[entity]!);
}

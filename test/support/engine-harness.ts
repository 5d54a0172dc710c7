import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { mergeLayers, type ConfigLayer, type ResolvedConfig } from '../../src/config/schema.js';
import { createLocalEngine } from '../../src/engine/create.js';
import type { LocalEngine } from '../../src/engine/local-engine.js';

export const REAL_ANTHROPIC_KEY = 'sk-ant-api03-REAL-engine-key-never-in-a-sandbox-42';

export interface EngineHarness {
  engine: LocalEngine;
  stateRoot: string;
  warnings: string[];
  close(): Promise<void>;
}

/** A LocalEngine on the real Docker engine, with its own state directory and upstreams. */
export async function startEngine(options: { upstreams?: { anthropic?: string; openai?: string }; tickMs?: number } = {}): Promise<EngineHarness> {
  const stateRoot = mkdtempSync(join(tmpdir(), 'caged-engine-'));
  const warnings: string[] = [];
  const engine = await createLocalEngine({ stateRoot, upstreams: options.upstreams, tickMs: options.tickMs, log: (line) => warnings.push(line), reap: false });
  return { engine, stateRoot, warnings, close: () => engine.close() };
}

export function settings(layer: ConfigLayer = {}): ResolvedConfig {
  return mergeLayers({ budget: 1_000_000, resources: { cpu: 1, memory: 512 } }, layer);
}

/** A small git repository on the host to clone into sandboxes. */
export function makeRepo(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'caged-repo-'));
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  const git = (...args: string[]) => execFileSync('git', args, { cwd: dir, stdio: 'ignore', env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' } });
  git('init', '-q', '-b', 'main');
  git('add', '-A');
  git('commit', '-q', '-m', 'initial');
  return dir;
}

/** Containers of one sandbox still known to Docker (running or not). */
export async function containersOf(id: string): Promise<Docker.ContainerInfo[]> {
  return new Docker().listContainers({ all: true, filters: { label: [`dev.caged.id=${id}`] } });
}

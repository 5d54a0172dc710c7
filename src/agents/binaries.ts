import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AgentName } from '../config/schema.js';
import type { Mount } from '../sandbox/types.js';

/**
 * Agent binaries come from the npm registry, pinned, installed once on the host and mounted
 * read-only into every sandbox, so no sandbox needs an install step or registry access.
 */
export interface AgentPackage {
  name: AgentName;
  npmPackage: string;
  /** The package that holds the native linux-x64 binary. */
  platformPackage: string;
  version: string;
  /** Directory inside the platform package that holds the executables. */
  binDir: string;
  executable: string;
}

export const AGENT_PACKAGES: Partial<Record<AgentName, AgentPackage>> = {
  claude: {
    name: 'claude',
    npmPackage: '@anthropic-ai/claude-code',
    platformPackage: '@anthropic-ai/claude-code-linux-x64',
    version: '2.1.332',
    binDir: '.',
    executable: 'claude',
  },
  codex: {
    name: 'codex',
    npmPackage: '@openai/codex',
    platformPackage: '@openai/codex-linux-x64',
    version: '0.171.0',
    binDir: 'vendor/x86_64-unknown-linux-musl/bin',
    executable: 'codex',
  },
};

export const AGENT_MOUNT_ROOT = '/opt/caged/agents';

export interface ResolvedAgentBinary {
  name: AgentName;
  version: string;
  hostDir: string;
  mount: Mount;
  /** Directory to put on PATH inside the sandbox. */
  pathDir: string;
}

export interface AgentBinaryOptions {
  cacheRoot: string;
  /** Called before a download from the npm registry, so the user knows why it waits. */
  onInstall?: (message: string) => void;
}

export function platformVersion(dir: string): string | undefined {
  const manifest = join(dir, 'package.json');
  if (!existsSync(manifest)) return undefined;
  return (JSON.parse(readFileSync(manifest, 'utf8')) as { version?: string }).version;
}

/** caged's own node_modules (devDependencies in a checkout) before the cache, before the registry. */
function bundledPlatformDir(pkg: AgentPackage, version: string): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < 6; depth += 1) {
    const candidate = join(dir, 'node_modules', pkg.platformPackage);
    const found = platformVersion(candidate);
    if (found && (found === version || found.startsWith(`${version}-`))) return candidate;
    dir = dirname(dir);
  }
  return undefined;
}

export async function resolveAgentBinary(name: AgentName, options: AgentBinaryOptions, version?: string): Promise<ResolvedAgentBinary | undefined> {
  const pkg = AGENT_PACKAGES[name];
  if (!pkg) return undefined;
  const wanted = version ?? pkg.version;
  const cacheDir = join(options.cacheRoot, `${pkg.name}-${wanted}`);
  const cachedPlatform = join(cacheDir, 'node_modules', pkg.platformPackage);
  let platformDir = bundledPlatformDir(pkg, wanted);
  if (!platformDir) {
    if (!existsSync(join(cachedPlatform, pkg.binDir, pkg.executable))) {
      options.onInstall?.(`installing ${pkg.npmPackage}@${wanted} into ${cacheDir} (once)`);
      await npmInstall(cacheDir, `${pkg.npmPackage}@${wanted}`);
    }
    platformDir = cachedPlatform;
  }
  const hostDir = join(platformDir, pkg.binDir);
  if (!existsSync(join(hostDir, pkg.executable))) {
    throw new Error(`${pkg.npmPackage}@${wanted}: no linux-x64 executable at ${join(hostDir, pkg.executable)}`);
  }
  const target = `${AGENT_MOUNT_ROOT}/${pkg.name}`;
  return { name, version: wanted, hostDir, pathDir: target, mount: { source: hostDir, target, readOnly: true } };
}

async function npmInstall(prefix: string, spec: string): Promise<void> {
  await mkdir(prefix, { recursive: true });
  await new Promise<void>((resolve, reject) => {
    const child = spawn('npm', ['install', '--prefix', prefix, '--no-save', '--no-audit', '--no-fund', '--ignore-scripts', spec], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4000);
    });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`npm install ${spec} failed (exit ${code}): ${stderr.trim()}`))));
  });
}

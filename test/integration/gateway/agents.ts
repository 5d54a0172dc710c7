import { spawn } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';

/** Helpers that run the real agent binaries as host processes, as an unprivileged user, for gateway tests. */

const ROOT = new URL('../../../', import.meta.url).pathname;
const CLAUDE_LAUNCHER = join(ROOT, 'node_modules/@anthropic-ai/claude-code/bin/claude.exe');
const CLAUDE_NATIVE = join(ROOT, 'node_modules/@anthropic-ai/claude-code-linux-x64/claude');
export const CODEX_BINARY = join(ROOT, 'node_modules/@openai/codex-linux-x64/vendor/x86_64-unknown-linux-musl/bin/codex');

/** The user the agents run as: Claude Code refuses --dangerously-skip-permissions as root. */
export const AGENT_UID = 1000;

/**
 * The Claude Code binary. `bin/claude.exe` is replaced by the real binary in the package's
 * postinstall; where installs ran with --ignore-scripts it is a stub, and the platform package's
 * binary is the same program.
 */
export function claudeBinary(): string {
  return statSync(CLAUDE_LAUNCHER).size > 1_000_000 ? CLAUDE_LAUNCHER : CLAUDE_NATIVE;
}

const made: string[] = [];

/** A fresh directory the agent user owns (removed by removeAgentDirs). */
export function agentDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  chmodSync(dir, 0o755);
  if (process.getuid?.() === 0) chownSync(dir, AGENT_UID, AGENT_UID);
  return dir;
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs argv with exactly `env` (nothing inherited), as the agent user when we are root; stdin closed. */
export function runAgent(argv: string[], env: Record<string, string>, cwd: string, timeoutMs = 90_000): Promise<RunResult> {
  const asRoot = process.getuid?.() === 0;
  const [command, ...args] = asRoot ? ['setpriv', `--reuid=${AGENT_UID}`, `--regid=${AGENT_UID}`, '--clear-groups', '--', ...argv] : argv;
  return new Promise((resolve, reject) => {
    const child = spawn(command!, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

export function removeAgentDirs(): void {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
}

export interface ContainerRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs a static agent binary in a throwaway container of `image` on the given (internal) network,
 * hardened as a sandbox is (uid 1000, no capabilities, no new privileges), with `work` mounted
 * at /work and the binary at /usr/local/bin/agent. DNS points nowhere, so a stray lookup of a
 * public name fails at once instead of leaving the host.
 */
export async function runInContainer(
  docker: Docker,
  options: { image: string; network: string; binary: string; argv: string[]; env: Record<string, string>; work: string; labels: Record<string, string>; timeoutMs?: number },
): Promise<ContainerRun> {
  const container = await docker.createContainer({
    Image: options.image,
    Cmd: ['/usr/local/bin/agent', ...options.argv],
    Env: Object.entries(options.env).map(([name, value]) => `${name}=${value}`),
    User: `${AGENT_UID}:${AGENT_UID}`,
    WorkingDir: '/work',
    Labels: options.labels,
    HostConfig: {
      NetworkMode: options.network,
      Binds: [`${options.binary}:/usr/local/bin/agent:ro`, `${options.work}:/work`],
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges:true'],
      Dns: ['127.0.0.1'],
      Tmpfs: { '/tmp': 'rw,size=64m,mode=1777' },
    },
  });
  try {
    const exit = container.wait({ condition: 'next-exit' });
    await container.start();
    const timer = setTimeout(() => void container.kill().catch(() => undefined), options.timeoutMs ?? 90_000);
    const { StatusCode } = (await exit) as { StatusCode: number };
    clearTimeout(timer);
    const logs = (await container.logs({ stdout: true, stderr: true, follow: false })) as Buffer;
    const { stdout, stderr } = demux(logs);
    return { code: StatusCode, stdout, stderr };
  } finally {
    await container.remove({ force: true }).catch(() => undefined);
  }
}

/** Splits Docker's multiplexed log stream (8-byte frame headers) into stdout and stderr. */
function demux(buffer: Buffer): { stdout: string; stderr: string } {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  for (let at = 0; at + 8 <= buffer.length; ) {
    const size = buffer.readUInt32BE(at + 4);
    (buffer[at] === 2 ? err : out).push(buffer.subarray(at + 8, at + 8 + size));
    at += 8 + size;
  }
  return { stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
}

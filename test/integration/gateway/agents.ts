import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, chmodSync, chownSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

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

/** A fresh directory the agent user owns. */
export function agentDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
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

export function binaryExists(path: string): boolean {
  return existsSync(path);
}

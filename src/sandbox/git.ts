import { spawn } from 'node:child_process';

export interface GitResult {
  code: number | null;
  stdout: Buffer;
  /** stdout went past `maxStdout` and was cut there. */
  stdoutTruncated: boolean;
  /** The last few KiB of stderr. */
  stderr: string;
}

export interface GitOptions {
  cwd?: string;
  /** Added to a scrubbed environment (no inherited GIT_* variables, never a prompt). */
  env?: Record<string, string>;
  timeoutMs?: number;
  maxStdout?: number;
}

const STDERR_KEEP = 8 * 1024;
const DEFAULT_TIMEOUT_MS = 10 * 60_000;

/** Runs git on the host without a shell; inherited GIT_* variables could point it at another repository. */
export function runGit(args: string[], options: GitOptions = {}): Promise<GitResult> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !key.startsWith('GIT_') && key !== 'SSH_ASKPASS') env[key] = value;
  }
  Object.assign(env, { GIT_TERMINAL_PROMPT: '0', GCM_INTERACTIVE: 'never' }, options.env);
  const maxStdout = options.maxStdout ?? Number.POSITIVE_INFINITY;
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, { cwd: options.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let outBytes = 0;
    let truncated = false;
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      if (outBytes >= maxStdout) {
        truncated = true;
        return;
      }
      const room = maxStdout - outBytes;
      if (chunk.length > room) truncated = true;
      const kept = chunk.length > room ? chunk.subarray(0, room) : chunk;
      out.push(kept);
      outBytes += kept.length;
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString('utf8')).slice(-STDERR_KEEP);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`could not run git: ${error.message}`));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(out), stdoutTruncated: truncated, stderr });
    });
  });
}

/** The last meaningful line git printed, for error messages. */
export function gitFailure(result: GitResult): string {
  const lines = result.stderr.split('\n').map((line) => line.trim()).filter(Boolean);
  const fatal = lines.filter((line) => /^(fatal|error):/.test(line));
  return (fatal.at(-1) ?? lines.at(-1) ?? `git exited with ${result.code}`).replace(/^(fatal|error):\s*/, '');
}

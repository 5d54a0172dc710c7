import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const CAGED_BIN = fileURLToPath(new URL('../../bin/caged.js', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI (`npm run build` first) as a user would. */
export function runCli(args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; onSpawn?: (pid: number) => void } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CAGED_BIN, ...args], { cwd: options.cwd, env: { ...process.env, CI: 'true', ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    if (child.pid) options.onSpawn?.(child.pid);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

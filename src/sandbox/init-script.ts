import { TailBuffer, lastLines } from './tail.js';
import type { ExecOptions, ExecResult, SandboxBackend } from './types.js';

export const INIT_SCRIPT_REASON_LINES = 20;

export interface InitScriptResult {
  ok: boolean;
  exec: ExecResult;
  /** stdout and stderr interleaved as they came, last part only. */
  output: string;
  /** On failure: why, with the script's last lines, for the sandbox's `failed` reason. */
  reason?: string;
}

/**
 * Runs a task's init_script in the sandbox with `sh -e`, so a failing line stops it. Whether a
 * failure ends the sandbox is the engine's call; this reports it with the last lines.
 */
export async function runInitScript(
  backend: Pick<SandboxBackend, 'exec'>,
  id: string,
  script: string,
  options: Pick<ExecOptions, 'env' | 'timeoutMs' | 'signal' | 'logFile' | 'onStdout' | 'onStderr'> = {},
): Promise<InitScriptResult> {
  const combined = new TailBuffer(16 * 1024);
  const exec = await backend.exec(id, { argv: ['sh', '-ec', script] }, {
    ...options,
    onStdout: (chunk) => {
      combined.push(chunk);
      options.onStdout?.(chunk);
    },
    onStderr: (chunk) => {
      combined.push(chunk);
      options.onStderr?.(chunk);
    },
  });
  const output = combined.toString();
  const ok = exec.exitCode === 0 && !exec.timedOut && !exec.cancelled;
  if (ok) return { ok, exec, output };
  const why = exec.timedOut
    ? 'init_script timed out'
    : exec.cancelled
      ? 'init_script was cancelled'
      : `init_script exited with ${exec.exitCode ?? 'no exit code (the sandbox stopped)'}`;
  const tail = lastLines(output, INIT_SCRIPT_REASON_LINES);
  return { ok, exec, output, reason: tail ? `${why}:\n${tail}` : why };
}

import { randomBytes } from 'node:crypto';
import type Docker from 'dockerode';
import { CappedLog } from './capped-log.js';
import { AGENT_USER } from './container.js';
import { DockerStreamDemuxer } from './demux.js';
import { dockerMessage, dockerStatus } from './docker-errors.js';
import { TailBuffer } from './tail.js';
import type { Command, ExecOptions, ExecResult } from './types.js';

export const DEFAULT_TAIL_BYTES = 64 * 1024;
/** After a kill, how long the output stream may take to close before we stop listening. */
const KILL_GRACE_MS = 2_000;
const EXIT_POLL_MS = 25;
const EXIT_PATIENCE_MS = 2_000;
const STOP_PATIENCE_MS = 1_000;

export class SandboxNotRunningError extends Error {
  constructor(readonly sandboxId: string, detail: string) {
    super(`sandbox ${sandboxId} is not running: ${detail}`);
    this.name = 'SandboxNotRunningError';
  }
}

export function commandArgv(command: Command): string[] {
  const argv = 'shell' in command ? ['sh', '-c', command.shell] : command.argv;
  if (argv.length === 0 || !argv[0]) throw new Error('exec needs a command');
  return argv;
}

/**
 * Docker cannot kill an exec. So each command starts under a tiny sh that writes its pid (which
 * runc made a session and process-group leader) to a file and then execs the command; a
 * timeout or abort kills that process group from a second exec run as the same user.
 */
function wrapped(argv: string[], pidFile: string): string[] {
  return ['sh', '-c', '{ echo $$ > "$0"; } 2>/dev/null; exec "$@"', pidFile, ...argv];
}

/** Builtins only: under a fork bomb at the pids limit there is no process to spare for cat or rm. */
const KILL_SCRIPT = 'read p < "$0" || exit 3; kill -s KILL -- "-$p" "$p" 2>/dev/null; exit 0';
const NO_PID_FILE = 3;
const KILL_ATTEMPTS = 5;
const KILL_RETRY_MS = 100;

export interface ExecContext {
  docker: Docker;
  sandboxId: string;
  logCapBytes: number;
}

export async function runExec(context: ExecContext, command: Command, options: ExecOptions = {}): Promise<ExecResult> {
  const argv = commandArgv(command);
  const started = Date.now();
  const stdoutTail = new TailBuffer(options.tailBytes ?? DEFAULT_TAIL_BYTES);
  const stderrTail = new TailBuffer(options.tailBytes ?? DEFAULT_TAIL_BYTES);
  const result = (fields: Pick<ExecResult, 'exitCode' | 'timedOut' | 'cancelled' | 'aborted'>): ExecResult => ({
    ...fields,
    stdoutTail: stdoutTail.toString(),
    stderrTail: stderrTail.toString(),
    durationMs: Date.now() - started,
  });
  if (options.signal?.aborted) return result({ exitCode: null, timedOut: false, cancelled: true, aborted: false });

  const container = context.docker.getContainer(context.sandboxId);
  const user = options.user ?? AGENT_USER;
  const pidFile = `/tmp/.caged-exec-${randomBytes(6).toString('hex')}.pid`;
  let exec: Docker.Exec;
  try {
    exec = await container.exec({
      Cmd: wrapped(argv, pidFile),
      AttachStdin: false,
      AttachStdout: true,
      AttachStderr: true,
      Tty: false,
      User: user,
      ...(options.workdir ? { WorkingDir: options.workdir } : {}),
      ...(options.env ? { Env: Object.entries(options.env).map(([key, value]) => `${key}=${value}`) } : {}),
    });
  } catch (error) {
    const status = dockerStatus(error);
    if (status === 404 || status === 409) throw new SandboxNotRunningError(context.sandboxId, dockerMessage(error));
    throw error;
  }

  const log = options.logFile ? await CappedLog.open(options.logFile, context.logCapBytes) : undefined;
  const stream = (await exec.start({ hijack: true, stdin: false })) as NodeJS.ReadWriteStream & { destroy(): void };

  let paused = false;
  const deliver = (chunk: Buffer, tail: TailBuffer, callback: ((chunk: Buffer) => void) | undefined) => {
    tail.push(chunk);
    callback?.(chunk);
    // Backpressure from a slow disk: stop reading from Docker until the log catches up.
    if (log && !log.write(chunk) && !paused) {
      paused = true;
      stream.pause();
      log.onDrain(() => {
        paused = false;
        stream.resume();
      });
    }
  };
  const demuxer = new DockerStreamDemuxer((kind, payload) =>
    kind === 'stdout' ? deliver(payload, stdoutTail, options.onStdout) : deliver(payload, stderrTail, options.onStderr),
  );
  stream.on('data', (chunk: Buffer) => demuxer.push(chunk));

  const ended = new Promise<void>((resolve) => {
    stream.once('end', resolve);
    stream.once('close', resolve);
    stream.once('error', () => resolve());
  });

  let timedOut = false;
  let cancelled = false;
  let stop: (() => void) | undefined;
  const stopped = new Promise<void>((resolve) => {
    stop = resolve;
  });
  const timer = options.timeoutMs === undefined ? undefined : setTimeout(() => {
    timedOut = true;
    stop!();
  }, options.timeoutMs);
  const onAbort = () => {
    cancelled = true;
    stop!();
  };
  options.signal?.addEventListener('abort', onAbort, { once: true });

  let streamEnded = false;
  void ended.then(() => {
    streamEnded = true;
  });
  try {
    await Promise.race([ended, stopped]);
    if (timedOut || cancelled) {
      const killed = await killExec(container, user, pidFile);
      const grace = new Promise<void>((resolve) => setTimeout(resolve, killed ? KILL_GRACE_MS : 0).unref());
      await Promise.race([ended, grace]);
      stream.destroy();
    }
  } finally {
    if (timer) clearTimeout(timer);
    options.signal?.removeEventListener('abort', onAbort);
    await log?.close();
  }

  // A command that outlived its kill has no exit code to wait for.
  const exitCode = await exitCodeOf(exec, streamEnded ? EXIT_PATIENCE_MS : 0);
  // Killed by a signal we did not send: maybe the whole sandbox is going down, which Docker
  // records a moment after the command's own end.
  const bySignal = exitCode === null || exitCode > 128;
  const aborted = await containerStopped(container, bySignal && !timedOut && !cancelled ? STOP_PATIENCE_MS : 0);
  return result({ exitCode, timedOut, cancelled, aborted });
}

/** True once the kill ran; false when it could not (container gone, or no pid left to run it in). */
async function killExec(container: Docker.Container, user: string, pidFile: string): Promise<boolean> {
  for (let attempt = 1; attempt <= KILL_ATTEMPTS; attempt += 1) {
    try {
      const killer = await container.exec({ Cmd: ['sh', '-c', KILL_SCRIPT, pidFile], User: user, AttachStdout: true, AttachStderr: true });
      const output = (await killer.start({ hijack: true, stdin: false })) as NodeJS.ReadableStream;
      output.resume();
      await new Promise<void>((resolve) => {
        output.once('end', resolve);
        output.once('close', resolve);
        output.once('error', () => resolve());
      });
      const code = await exitCodeOf(killer, EXIT_PATIENCE_MS);
      if (code === 0) return true;
      if (code === NO_PID_FILE) return false;
    } catch (error) {
      const status = dockerStatus(error);
      if (status === 404 || status === 409) return false;
    }
    await new Promise((resolve) => setTimeout(resolve, KILL_RETRY_MS));
  }
  return false;
}

/** The stream can close a moment before Docker records the exit code. */
async function exitCodeOf(exec: Docker.Exec, patienceMs: number): Promise<number | null> {
  const deadline = Date.now() + patienceMs;
  for (;;) {
    let info: Docker.ExecInspectInfo;
    try {
      info = await exec.inspect();
    } catch {
      return null;
    }
    if (!info.Running) return info.ExitCode ?? null;
    if (Date.now() >= deadline) return null;
    await new Promise((resolve) => setTimeout(resolve, EXIT_POLL_MS));
  }
}

async function containerStopped(container: Docker.Container, patienceMs: number): Promise<boolean> {
  const deadline = Date.now() + patienceMs;
  for (;;) {
    try {
      if (!(await container.inspect()).State.Running) return true;
    } catch {
      return true;
    }
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, EXIT_POLL_MS));
  }
}

import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import type Docker from 'dockerode';
import { CappedLog } from './capped-log.js';
import { AGENT_USER } from './container.js';
import { dockerMessage, dockerStatus } from './docker-errors.js';
import { TailBuffer } from './tail.js';
import type { Command, ExecOptions, ExecResult } from './types.js';

export const DEFAULT_TAIL_BYTES = 64 * 1024;
/** After a kill, how long the output stream may take to close before we stop listening. */
const KILL_GRACE_MS = 2_000;
const EXIT_POLL_MS = 25;
const EXIT_PATIENCE_MS = 2_000;

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

const KILL_SCRIPT = 'p=$(cat "$0" 2>/dev/null) && kill -s KILL -- "-$p" "$p" 2>/dev/null; rm -f "$0"';

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
  const sink = (tail: TailBuffer, callback: ((chunk: Buffer) => void) | undefined) =>
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        deliver(chunk, tail, callback);
        done();
      },
    });
  context.docker.modem.demuxStream(stream, sink(stdoutTail, options.onStdout), sink(stderrTail, options.onStderr));

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

  try {
    await Promise.race([ended, stopped]);
    if (timedOut || cancelled) {
      await killExec(container, user, pidFile);
      const grace = new Promise<void>((resolve) => setTimeout(resolve, KILL_GRACE_MS).unref());
      await Promise.race([ended, grace]);
      stream.destroy();
    }
  } finally {
    if (timer) clearTimeout(timer);
    options.signal?.removeEventListener('abort', onAbort);
    await log?.close();
  }

  const exitCode = await exitCodeOf(exec);
  const aborted = !(await isRunning(container));
  return result({ exitCode, timedOut, cancelled, aborted });
}

async function killExec(container: Docker.Container, user: string, pidFile: string): Promise<void> {
  try {
    const killer = await container.exec({ Cmd: ['sh', '-c', KILL_SCRIPT, pidFile], User: user, AttachStdout: true, AttachStderr: true });
    const output = (await killer.start({ hijack: true, stdin: false })) as NodeJS.ReadableStream;
    output.resume();
    await new Promise<void>((resolve) => {
      output.once('end', resolve);
      output.once('close', resolve);
      output.once('error', () => resolve());
    });
  } catch {
    // The container is gone or stopped: so is the command.
  }
}

/** The stream can close a moment before Docker records the exit code. */
async function exitCodeOf(exec: Docker.Exec): Promise<number | null> {
  const deadline = Date.now() + EXIT_PATIENCE_MS;
  for (;;) {
    let info: Docker.ExecInspectInfo;
    try {
      info = await exec.inspect();
    } catch {
      return null;
    }
    if (!info.Running) return info.ExitCode ?? null;
    if (Date.now() > deadline) return null;
    await new Promise((resolve) => setTimeout(resolve, EXIT_POLL_MS));
  }
}

async function isRunning(container: Docker.Container): Promise<boolean> {
  try {
    return (await container.inspect()).State.Running;
  } catch {
    return false;
  }
}

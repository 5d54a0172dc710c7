import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, startSandbox, type Harness } from '../../support/sandbox-harness.js';
import { SandboxNotRunningError } from '../../../src/sandbox/exec.js';
import { runInitScript } from '../../../src/sandbox/init-script.js';
import { truncationMarker } from '../../../src/sandbox/capped-log.js';

const LOG_CAP = 64 * 1024;
let harness: Harness;
let id: string;

beforeAll(async () => {
  harness = await createHarness({ logCapBytes: LOG_CAP });
  id = (await startSandbox(harness, { cpus: 1, memoryMiB: 256 })).spec.id;
});
afterAll(async () => {
  await harness?.cleanup();
});

/** Commands (argv joined) of every process in the sandbox. */
async function processes(): Promise<string[]> {
  const list = await harness.backend.exec(id, {
    shell: 'for p in /proc/[0-9]*; do tr "\\0" " " < $p/cmdline 2>/dev/null; echo; done',
  });
  return list.stdoutTail.split('\n').filter(Boolean);
}

describe('exec', () => {
  it('streams stdout and stderr in order, while the command runs, and returns the exit code', async () => {
    const seen: string[] = [];
    let firstChunkAt = 0;
    const started = Date.now();
    const result = await harness.backend.exec(
      id,
      { shell: 'echo out1; sleep 0.3; echo err1 >&2; sleep 0.3; echo out2; sleep 0.3; echo err2 >&2; exit 7' },
      {
        onStdout: (chunk) => {
          firstChunkAt ||= Date.now();
          seen.push(`out:${chunk.toString().trim()}`);
        },
        onStderr: (chunk) => seen.push(`err:${chunk.toString().trim()}`),
      },
    );
    expect(seen).toEqual(['out:out1', 'err:err1', 'out:out2', 'err:err2']);
    expect(firstChunkAt - started).toBeLessThan(result.durationMs - 400);
    expect(result).toMatchObject({ exitCode: 7, timedOut: false, cancelled: false, aborted: false, stdoutTail: 'out1\nout2\n', stderrTail: 'err1\nerr2\n' });
  });

  it('passes argv without a shell, with env, workdir and user', async () => {
    const literal = await harness.backend.exec(id, { argv: ['printf', '%s|', '$HOME', '; echo no', '`id`'] });
    expect(literal.stdoutTail).toBe('$HOME|; echo no|`id`|');
    const configured = await harness.backend.exec(id, { shell: 'echo "$GREETING $(pwd) $(id -u)"' }, { env: { GREETING: 'hello world' }, workdir: '/tmp', user: '0:0' });
    expect(configured.stdoutTail).toBe('hello world /tmp 0\n');
    const defaults = await harness.backend.exec(id, { shell: 'echo "$(pwd) $(id -u):$(id -g) $HOME"' });
    expect(defaults.stdoutTail).toBe('/workspace 1000:1000 /home/agent\n');
  });

  it('kills a command and its children at the timeout', async () => {
    const result = await harness.backend.exec(id, { shell: 'sleep 301 & sleep 302' }, { timeoutMs: 500 });
    expect(result.timedOut).toBe(true);
    expect(result.exitCode).toBe(137);
    expect(result.durationMs).toBeGreaterThanOrEqual(500);
    expect(result.durationMs).toBeLessThan(2_500);
    expect((await processes()).filter((command) => /sleep 30[12]/.test(command))).toEqual([]);
  });

  it('stops a command when its signal aborts', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 300);
    const result = await harness.backend.exec(id, { argv: ['sleep', '303'] }, { signal: controller.signal });
    expect(result).toMatchObject({ cancelled: true, timedOut: false, exitCode: 137 });
    expect(result.durationMs).toBeLessThan(2_500);
    expect((await processes()).some((command) => command.includes('sleep 303'))).toBe(false);
  });

  it('keeps only the tail of each stream', async () => {
    const result = await harness.backend.exec(id, { shell: 'seq 1 20000' }, { tailBytes: 12 });
    expect(result.stdoutTail).toBe('19999\n20000\n');
  });

  it('floods 50 MB through with bounded controller memory, and caps the log file', async () => {
    const logFile = join(harness.root, 'logs', 'flood.log');
    const before = process.memoryUsage();
    let peakRss = before.rss;
    let peakBuffers = before.arrayBuffers;
    const probe = setInterval(() => {
      const now = process.memoryUsage();
      peakRss = Math.max(peakRss, now.rss);
      peakBuffers = Math.max(peakBuffers, now.arrayBuffers);
    }, 10);
    let received = 0;
    const total = 50 * 1000 * 1000;
    const result = await harness.backend.exec(id, { shell: `head -c ${total} /dev/zero | tr '\\0' x; echo done >&2` }, {
      logFile,
      onStdout: (chunk) => {
        received += chunk.length;
      },
    });
    clearInterval(probe);
    const rssGrowth = peakRss - before.rss;
    const bufferGrowth = peakBuffers - before.arrayBuffers;
    console.log(`50 MB flood: ${result.durationMs} ms, peak RSS +${(rssGrowth / 2 ** 20).toFixed(1)} MiB, peak buffers +${(bufferGrowth / 2 ** 20).toFixed(1)} MiB`);

    expect(result.exitCode).toBe(0);
    expect(received).toBe(total);
    expect(result.stdoutTail.length).toBe(64 * 1024);
    expect(result.stderrTail).toBe('done\n');
    // What remains is chunks read from the socket awaiting GC (about 16 MiB here), not the 50 MB that passed.
    expect(rssGrowth).toBeLessThan(32 * 2 ** 20);
    expect(bufferGrowth).toBeLessThan(24 * 2 ** 20);
    const log = await readFile(logFile, 'utf8');
    expect(log.length).toBe(LOG_CAP + truncationMarker(LOG_CAP).length);
    expect(log.endsWith(truncationMarker(LOG_CAP))).toBe(true);
  });

  it('appends to a log file across commands, up to the cap', async () => {
    const logFile = join(harness.root, 'logs', 'appended.log');
    await harness.backend.exec(id, { shell: 'echo first; sleep 0.2; echo oops >&2' }, { logFile });
    await harness.backend.exec(id, { shell: 'echo second' }, { logFile });
    expect(await readFile(logFile, 'utf8')).toBe('first\noops\nsecond\n');
    await harness.backend.exec(id, { shell: `head -c ${LOG_CAP} /dev/zero` }, { logFile });
    await harness.backend.exec(id, { shell: 'echo after the cap' }, { logFile });
    expect((await stat(logFile)).size).toBe(LOG_CAP + Buffer.byteLength(truncationMarker(LOG_CAP)));
  });

  it('reports a command whose sandbox was killed under it as aborted', async () => {
    const { spec } = await startSandbox(harness);
    setTimeout(() => void harness.backend.kill(spec.id), 300);
    const result = await harness.backend.exec(spec.id, { argv: ['sleep', '60'] });
    expect(result.aborted).toBe(true);
    expect(result.durationMs).toBeLessThan(5_000);
    await expect(harness.backend.exec(spec.id, { argv: ['true'] })).rejects.toThrow(SandboxNotRunningError);
    await expect(harness.backend.exec('cage-00000000', { argv: ['true'] })).rejects.toThrow(SandboxNotRunningError);
  });
});

describe('init_script', () => {
  it('succeeds quietly and fails with its last lines', async () => {
    const ok = await runInitScript(harness.backend, id, 'echo preparing\nmkdir -p /workspace/.cache');
    expect(ok).toMatchObject({ ok: true, output: 'preparing\n' });
    expect(ok.reason).toBeUndefined();

    const failed = await runInitScript(harness.backend, id, 'for i in $(seq 1 30); do echo "line $i"; done\nsleep 0.2\necho broken >&2\nfalse\necho never');
    expect(failed.ok).toBe(false);
    expect(failed.exec.exitCode).toBe(1);
    const reason = failed.reason!.split('\n');
    expect(reason[0]).toBe('init_script exited with 1:');
    // (stdout and stderr are separate pipes, hence the pause before the last line.)
    expect(reason.slice(1)).toEqual([...Array.from({ length: 19 }, (_, index) => `line ${index + 12}`), 'broken']);
    expect(failed.reason).not.toContain('never');
  });
});

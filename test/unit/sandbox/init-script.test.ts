import { describe, expect, it } from 'vitest';
import { runInitScript } from '../../../src/sandbox/init-script.js';
import type { Command, ExecOptions, ExecResult } from '../../../src/sandbox/types.js';

/** A backend whose exec replays output and ends as told. */
function backend(output: [kind: 'out' | 'err', text: string][], end: Partial<ExecResult>) {
  const calls: { command: Command; options?: ExecOptions }[] = [];
  return {
    calls,
    exec: async (_id: string, command: Command, options?: ExecOptions): Promise<ExecResult> => {
      calls.push({ command, ...(options ? { options } : {}) });
      for (const [kind, text] of output) (kind === 'out' ? options?.onStdout : options?.onStderr)?.(Buffer.from(text));
      return { exitCode: 0, timedOut: false, cancelled: false, aborted: false, stdoutTail: '', stderrTail: '', durationMs: 1, ...end };
    },
  };
}

describe('runInitScript', () => {
  it('runs the script with sh -e as argv, never through another shell layer', async () => {
    const fake = backend([['out', 'ok\n']], {});
    const result = await runInitScript(fake, 'cage-0123abcd', "echo 'it''s'\nnpm ci", { timeoutMs: 5_000 });
    expect(fake.calls[0]!.command).toEqual({ argv: ['sh', '-ec', "echo 'it''s'\nnpm ci"] });
    expect(fake.calls[0]!.options?.timeoutMs).toBe(5_000);
    expect(result).toMatchObject({ ok: true, output: 'ok\n' });
    expect(result.reason).toBeUndefined();
  });

  it('explains a failure with the last lines of output', async () => {
    const lines: [kind: 'out' | 'err', text: string][] = Array.from({ length: 30 }, (_, index) => ['out', `line ${index + 1}\n`]);
    const result = await runInitScript(backend([...lines, ['err', 'npm ERR! missing\n']], { exitCode: 1 }), 'cage-0123abcd', 'npm ci');
    expect(result.ok).toBe(false);
    expect(result.reason).toBe(['init_script exited with 1:', ...Array.from({ length: 19 }, (_, index) => `line ${index + 12}`), 'npm ERR! missing'].join('\n'));
  });

  it('says when the script timed out, was cancelled or lost its sandbox', async () => {
    expect((await runInitScript(backend([], { exitCode: 137, timedOut: true }), 'c', 's')).reason).toBe('init_script timed out');
    expect((await runInitScript(backend([], { exitCode: 137, cancelled: true }), 'c', 's')).reason).toBe('init_script was cancelled');
    expect((await runInitScript(backend([], { exitCode: null, aborted: true }), 'c', 's')).reason).toBe(
      'init_script exited with no exit code (the sandbox stopped)',
    );
  });
});

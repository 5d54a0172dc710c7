import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SandboxStateError } from '../../../src/engine/service.js';
import { containersOf, settings, startEngine, type EngineHarness } from '../../support/engine-harness.js';

describe('sandbox lifecycle', () => {
  let harness: EngineHarness;
  beforeAll(async () => {
    harness = await startEngine();
  });
  afterAll(async () => {
    await harness?.close();
  });

  it('runs init_script first; a failing one ends the sandbox as failed with its last lines', async () => {
    const ok = await harness.engine.create({ config: settings({ init_script: 'echo prepared > /workspace/ready.txt' }), command: { shell: 'cat /workspace/ready.txt' } });
    expect(await harness.engine.wait(ok.id)).toMatchObject({ status: 'completed', final_message: 'prepared' });

    const bad = await harness.engine.create({ config: settings({ init_script: 'echo installing\necho "npm ERR! missing package" >&2\nfalse\necho never' }), command: { shell: 'echo job ran' } });
    const failed = await harness.engine.wait(bad.id);
    expect(failed.status).toBe('failed');
    expect(failed.reason).toMatch(/^init_script exited with 1:\n/);
    expect(failed.reason).toContain('installing');
    expect(failed.reason).toContain('npm ERR! missing package');
    expect((await harness.engine.logs(bad.id)).text).not.toContain('job ran');
  });

  it('ends a sandbox that runs out of memory as failed/oom and stops it', async () => {
    const created = await harness.engine.create({
      config: settings({ resources: { cpu: 1, memory: 64 } }),
      command: { argv: ['node', '-e', 'const a = []; for (;;) a.push(Buffer.alloc(8 << 20, 1));'] },
    });
    const info = await harness.engine.wait(created.id);
    expect(info.status).toBe('failed');
    expect(info.reason).toMatch(/^oom/);
    const [container] = await containersOf(created.id);
    expect(container?.State).not.toBe('running');
  });

  it('refuses to destroy a running sandbox without force; with force it is cancelled and removed', async () => {
    const created = await harness.engine.create({ config: settings(), command: { shell: 'sleep 60' } });
    await expect(harness.engine.destroy(created.id)).rejects.toBeInstanceOf(SandboxStateError);
    const destroyed = await harness.engine.destroy(created.id, { force: true });
    expect(destroyed).toMatchObject({ status: 'destroyed', reason: 'destroyed by request' });
    expect(await containersOf(created.id)).toEqual([]);
    expect((await harness.engine.list()).map((info) => info.id)).not.toContain(created.id);
    expect((await harness.engine.list({ all: true })).map((info) => info.id)).toContain(created.id);
  });

  it('stops a sandbox whose workspace grows past its disk limit', async () => {
    const created = await harness.engine.create({
      config: settings({ resources: { cpu: 1, memory: 256, disk: 1 } }),
      command: { shell: 'fallocate -l 1200M /workspace/big.bin; sleep 60' },
    });
    const info = await harness.engine.wait(created.id);
    expect(info.status).toBe('failed');
    expect(info.reason).toMatch(/^disk_limit: workspace uses 1\.\d\d GiB of 1 GiB$/);
    // The 1.2 GB file is listed as changed without being hashed into the diff.
    expect(info.changes).toEqual({ files: 1, insertions: 0, deletions: 0 });
    expect(await harness.engine.patch(created.id)).toBe('');
  });
});

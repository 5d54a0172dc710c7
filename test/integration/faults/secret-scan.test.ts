import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Docker from 'dockerode';
import { afterAll, describe, expect, it } from 'vitest';
import { reportToJson, type BatchReport } from '../../../src/batch/results.js';
import { runBatch } from '../../../src/batch/run-batch.js';
import { commentMarkdown, stickyMarker } from '../../../src/report/pr-comment.js';
import { summaryMarkdown } from '../../../src/report/summary.js';
import { startFakeAnthropic, writeFileAgent, type FakeAnthropic } from '../../support/fake-anthropic.js';
import { makeRepo, settings, startEngine, type EngineHarness } from '../../support/engine-harness.js';

/**
 * After an end-to-end run — the real Claude Code in a sandbox, through the gateway, to a fake
 * Anthropic API that demands the real key — the key is nowhere the sandbox or a reader of the
 * results can see: the container's env and config, its processes (read while Claude Code runs),
 * the files it wrote (its tmpfs HOME, /tmp, the workspace, and everything in the container's
 * writable layer), its logs, caged's state directory, the results JSON, the job summary and the
 * PR comment rendered from them.
 */

const docker = new Docker();
// Unique per run, so that no earlier run's leftovers can be mistaken for a leak.
const KEY = `sk-ant-api03-scan${randomBytes(12).toString('hex')}-never-inside`;
// What the probe inside greps for: matches the key, without the key's own text entering the sandbox.
const KEY_PATTERN = `${KEY.slice(0, 20)}.${KEY.slice(21)}`;

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((name) => join(dir, name))
    .filter((path) => statSync(path, { throwIfNoEntry: false })?.isFile());
}

/**
 * The bytes of what the sandbox added or changed in its container's own layer: the leaves of
 * `docker diff` (tar archives, read raw). Mount points are left out: their contents are the host's
 * (scanned there) or caged's read-only agent binaries, and HOME is a tmpfs gone with the container
 * (the live probe reads it).
 */
async function writableLayer(container: Docker.Container, mounts: string[]): Promise<Buffer> {
  const paths = (((await container.changes()) ?? []) as Array<{ Path: string; Kind: number }>).filter((entry) => entry.Kind !== 2).map((entry) => entry.Path);
  const under = (path: string, parent: string) => path === parent || path.startsWith(`${parent}/`);
  const leaves = paths.filter((path) => !paths.some((other) => other.startsWith(`${path}/`)) && !mounts.some((mount) => under(path, mount) || under(mount, path)));
  const chunks: Buffer[] = [];
  for (const path of leaves) {
    const archive = await container.getArchive({ path }).catch(() => undefined);
    if (!archive) continue;
    for await (const chunk of archive) chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

describe('secret scan after an end-to-end run', () => {
  let fake: FakeAnthropic | undefined;
  let harness: EngineHarness | undefined;
  let repo: string | undefined;

  afterAll(async () => {
    await harness?.close();
    await fake?.close();
    for (const dir of [repo, harness?.stateRoot]) if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('finds the provider key nowhere: env, processes, files, logs, state, results, summary, comment', async () => {
    const agent = writeFileAgent({ filePath: '/workspace/hello.txt', content: 'hello\n', finalText: 'Wrote hello.txt.', usage: { input_tokens: 900, output_tokens: 40 } });
    let holding!: () => void;
    const held = new Promise<void>((resolve) => (holding = resolve));
    let holds = 0;
    fake = await startFakeAnthropic({
      apiKey: KEY,
      respond: async (request, index) => {
        const turn = await agent(request, index);
        if ((turn.content[0] as { text?: string }).text !== 'Wrote hello.txt.' || holds++ > 0) return turn;
        // Hold the last answer back while the probe looks at the live sandbox: Claude Code is running, its HOME written.
        holding();
        return { ...turn, fault: { kind: 'slow-headers', delayMs: 4000 } };
      },
    });
    harness = await startEngine({ upstreams: { anthropic: fake.url } });
    const engine = harness.engine;
    repo = makeRepo({ 'README.md': '# scan\n' });
    let probed: Promise<string> | undefined;
    engine.subscribe((event) => {
      if (event.type !== 'created') return;
      const id = event.sandbox.id;
      // Every process's argv and env, and a grep of every writable place (for a pattern, not the key itself).
      const script =
        'for p in /proc/[0-9]*; do tr "\\0" " " < $p/cmdline 2>/dev/null; echo; tr "\\0" "\\n" < $p/environ 2>/dev/null; done; ' +
        'echo "files with the key:"; grep -rlsE -- "$0" /home /tmp /workspace /run /var/tmp /dev/shm /etc; echo "end of files"';
      probed = held.then(async () => {
        let output = '';
        await engine.exec(id, { argv: ['sh', '-c', script, KEY_PATTERN] }, { onStdout: (chunk) => (output += chunk.toString()) });
        return output;
      });
    });
    const report: BatchReport = await runBatch(
      engine,
      [{ index: 0, name: 'scan', prompt: 'Create hello.txt saying hello', repo, config: settings({ budget: 2_000_000, agent: 'claude' }) }],
      { runId: 'run-secret-scan', keep: true, env: { ANTHROPIC_API_KEY: KEY } },
    );
    const [outcome] = report.results;
    expect(outcome!.status, outcome!.reason ?? '').toBe('completed');
    // The key did its job: the fake saw it on every request, from the gateway.
    expect(fake.requests.length).toBeGreaterThanOrEqual(2);
    expect(fake.requests.every((request) => request.headers['x-api-key'] === KEY)).toBe(true);

    // Processes and writable places while Claude Code ran.
    const live = await probed!;
    expect(live).toMatch(/claude.* -p /);
    expect(live).toContain('ANTHROPIC_API_KEY=sk-caged-');
    expect(live).toContain('files with the key:\nend of files');
    expect(live).not.toContain(KEY);

    const id = outcome!.id!;
    const container = docker.getContainer(id);
    const inspected = await container.inspect();
    const logs = await container.logs({ stdout: true, stderr: true });
    const places: Record<string, string> = {
      'container config (env, cmd, labels, mounts)': JSON.stringify(inspected),
      'container writable layer': (await writableLayer(container, [...inspected.Mounts.map((mount) => mount.Destination), ...Object.keys(inspected.HostConfig.Tmpfs ?? {})])).toString('latin1'),
      'container logs': logs.toString('latin1'),
      'caged logs': (await engine.logs(id)).text,
      'controller warnings': harness.warnings.join('\n'),
      'results JSON': JSON.stringify(reportToJson(report)),
      'job summary': summaryMarkdown({ report, heading: 'caged batch' }),
      'PR comment': commentMarkdown({ report, heading: 'caged batch' }, stickyMarker('ci', 'batch')),
    };
    for (const file of filesUnder(harness.stateRoot)) places[`state file ${file}`] = readFileSync(file, 'latin1');
    // The scan saw what it should: the workspace (host side) and files the sandbox left in its layer (exec pid files in /tmp).
    expect(Object.keys(places).some((place) => place.includes('hello.txt'))).toBe(true);
    expect(places['container writable layer']).toContain('.caged-exec-');
    expect(Object.entries(places).filter(([, text]) => text.includes(KEY)).map(([place]) => place)).toEqual([]);

    await engine.destroy(id);
  });
});

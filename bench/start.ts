import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { mergeLayers, type NetworkMode } from '../src/config/schema.js';
import { createLocalEngine } from '../src/engine/create.js';
import type { LocalEngine } from '../src/engine/local-engine.js';
import { sandboxImage } from '../src/sandbox/image.js';
import { LABELS } from '../src/sandbox/types.js';
import { figure, type BenchResult } from './support/figures.js';
import { table as markdownTable } from './support/markdown.js';
import { round, summarize } from './support/stats.js';

/**
 * Sandbox start: from asking for a sandbox to the first byte of a command's output, through caged
 * (create → running → exec `echo ready`) and through `docker run --rm IMAGE echo ready` of the same
 * image, alternating, one at a time.
 */

const TEMPLATE = 'node-20';

async function dockerRun(image: string): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn('docker', ['run', '--rm', '--label', `${LABELS.run}=bench-start`, image, 'echo', 'ready'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let first: number | undefined;
    child.stdout.once('data', () => (first = performance.now() - started));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 && first !== undefined ? resolve(first) : reject(new Error(`docker run exited with ${code}`))));
  });
}

/** What one internal network costs on its own (caged makes one per sandbox in gateway mode). */
async function networkCreate(docker: Docker): Promise<number> {
  const started = performance.now();
  const network = await docker.createNetwork({ Name: `caged-bench-net-${process.pid}`, Internal: true, Labels: { [LABELS.run]: 'bench-start' } });
  const elapsed = performance.now() - started;
  await network.remove();
  return elapsed;
}

async function cagedRun(engine: LocalEngine, mode: NetworkMode): Promise<{ firstOutputMs: number; runningMs: number }> {
  const started = performance.now();
  let runningMs = Number.NaN;
  const created = await engine.create({ config: mergeLayers({ template: TEMPLATE, budget: 1_000_000, resources: { cpu: 1, memory: 512 }, network_mode: mode }) });
  const unsubscribe = engine.subscribe((event) => {
    if (event.type === 'status' && event.id === created.id && event.status === 'running') runningMs = performance.now() - started;
  });
  let firstOutputMs = Number.NaN;
  await engine.exec(created.id, { argv: ['echo', 'ready'] }, { onStdout: () => (firstOutputMs = Number.isNaN(firstOutputMs) ? performance.now() - started : firstOutputMs) });
  unsubscribe();
  await engine.destroy(created.id, { force: true });
  return { firstOutputMs, runningMs };
}

export async function benchStart(options: { quick: boolean }): Promise<BenchResult> {
  const started = Date.now();
  const runs = options.quick ? 4 : 12;
  const image = sandboxImage({ template: TEMPLATE });
  const stateRoot = mkdtempSync(join(tmpdir(), 'caged-bench-start-'));
  const engine = await createLocalEngine({ stateRoot, log: () => undefined, labels: { [LABELS.run]: 'bench-start' } });
  const docker = new Docker();
  const samples: Record<string, number[]> = { 'docker run': [], 'caged (gateway network)': [], 'caged (network none)': [], 'caged running (gateway network)': [], 'docker network create --internal': [] };
  try {
    // Warm-up: image layers in the page cache, the engine's event stream.
    await dockerRun(image);
    await cagedRun(engine, 'gateway');
    for (let i = 0; i < runs; i += 1) {
      const order = i % 2 === 0 ? ['docker', 'gateway', 'none'] : ['none', 'gateway', 'docker'];
      for (const which of order) {
        if (which === 'docker') {
          samples['docker run']!.push(await dockerRun(image));
          samples['docker network create --internal']!.push(await networkCreate(docker));
        }
        else {
          const run = await cagedRun(engine, which as NetworkMode);
          samples[`caged (${which === 'gateway' ? 'gateway network' : 'network none'})`]!.push(run.firstOutputMs);
          if (which === 'gateway') samples['caged running (gateway network)']!.push(run.runningMs);
        }
      }
    }
  } finally {
    await engine.close();
    rmSync(stateRoot, { recursive: true, force: true });
  }
  const table = Object.fromEntries(Object.entries(samples).map(([name, values]) => {
    const s = summarize(values);
    return [name, { n: s.n, p50_ms: round(s.p50, 0), p90_ms: round(s.p90, 0), max_ms: round(s.max, 0) }];
  }));
  const ratio = (name: string) => round(table[name]!.p50_ms / table['docker run']!.p50_ms, 2);
  const gap =
    `caged does more than \`docker run\` before the first byte: its own network per sandbox (an --internal network plus a holder container for its ` +
    `namespace: ${table['caged (gateway network)']!.p50_ms - table['caged (network none)']!.p50_ms} ms at p50, of which the network create alone is ${table['docker network create --internal']!.p50_ms} ms), a git workspace, a gateway listener, the hardened container, and then an exec. ` +
    'The network with its holder, the workspace and the agent binaries are already prepared side by side, and the holder says when it is ready ' +
    'instead of being polled. The holder container exists only on Docker < 25, whose ' +
    '--internal networks still route to the host (see the sandbox backend); on newer engines that part goes. Plan: keep a small pool of ' +
    'pre-created networks (and holders), and start the job as the container\'s own command instead of an exec.';
  return {
    name: 'start',
    title: 'Sandbox start',
    command: `npm run bench -- --only start${options.quick ? ' --quick' : ''}`,
    duration_s: round((Date.now() - started) / 1000, 1),
    figures: [
      figure({ id: 'start.ratio', label: 'Create → first exec output, caged ÷ docker run (p50)', value: ratio('caged (gateway network)'), unit: '×', target: 1.2, better: 'lower', how: `${runs} runs each of \`${image}\` printing "ready", alternating; default network mode (gateway)`, plan: gap }),
      figure({ id: 'start.ratio_network_none', label: 'Same, network mode none (p50)', value: ratio('caged (network none)'), unit: '×', target: 1.2, better: 'lower', how: 'as above, without a network', plan: gap }),
    ],
    method:
      `One at a time, alternating: \`docker run --rm ${image} echo ready\` (the Docker CLI, timed to the first byte on its stdout) and caged's LocalEngine ` +
      '(`create` with no job, then `exec echo ready`, timed from the create call to the first stdout byte), in network mode gateway (the default) and none. Removal is not timed.',
    details: { samples_ms: table },
    detailsMarkdown: markdownTable(['path', 'n', 'p50 ms', 'p90 ms', 'max ms'], Object.entries(table).map(([name, t]) => [name, t.n, t.p50_ms, t.p90_ms, t.max_ms])),
  };
}

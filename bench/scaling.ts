import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { figure, type BenchResult, type Figure } from './support/figures.js';
import { table } from './support/markdown.js';
import { round, summarize } from './support/stats.js';

/**
 * Batch scaling: `caged batch` (the built CLI, as a user runs it) on N identical tasks at
 * max_parallel P. The ideal schedule is what perfect scaling would give: the controller's fixed
 * cost plus ceil(N / P) waves of one task's time, both measured on a single-task batch in the
 * same run. The controller's own CPU time and peak RSS come from process.resourceUsage() at exit.
 */

const CAGED = fileURLToPath(new URL('../bin/caged.js', import.meta.url));
const USAGE_HOOK = fileURLToPath(new URL('./support/usage-on-exit.mjs', import.meta.url));
const WORKLOAD_S = 2;
const CONFIG = `resources: {cpu: 0.25, memory: 128}\nbudget: 1\nagent: {command: "sleep ${WORKLOAD_S}"}\n`;

interface Run {
  tasks: number;
  parallel: number;
  wall_s: number;
  cpu_s: number;
  peak_rss_mb: number;
  task_s: { p50: number; max: number };
  statuses: Record<string, number>;
}

async function batch(dir: string, tasks: number, parallel: number): Promise<Run> {
  const list = join(dir, `tasks-${tasks}.txt`);
  writeFileSync(list, Array.from({ length: tasks }, (_, i) => `|task ${i + 1}|1`).join('\n'));
  const out = join(dir, `results-${tasks}-${parallel}.json`);
  const usageDir = join(dir, 'usage');
  mkdirSync(usageDir, { recursive: true });
  const started = performance.now();
  const pid = await new Promise<number>((resolve, reject) => {
    const child = spawn(process.execPath, [CAGED, 'batch', list, '--max-parallel', String(parallel), '--out', out, '--json'], {
      cwd: dir,
      env: { ...process.env, CAGED_HOME: join(dir, 'state'), NODE_OPTIONS: `--import=${USAGE_HOOK}`, BENCH_USAGE_DIR: usageDir, CI: 'true' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(child.pid!) : reject(new Error(`caged batch exited with ${code}: ${stderr.slice(-2000)}`))));
  });
  const wall = (performance.now() - started) / 1000;
  const usage = JSON.parse(readFileSync(join(usageDir, `${pid}.json`), 'utf8')) as NodeJS.ResourceUsage;
  const results = (JSON.parse(readFileSync(out, 'utf8')) as { results: Array<{ status: string; duration_s: number }> }).results;
  const durations = summarize(results.map((result) => result.duration_s));
  const statuses: Record<string, number> = {};
  for (const result of results) statuses[result.status] = (statuses[result.status] ?? 0) + 1;
  return {
    tasks,
    parallel,
    wall_s: round(wall, 2),
    cpu_s: round((usage.userCPUTime + usage.systemCPUTime) / 1e6, 2),
    peak_rss_mb: round(usage.maxRSS / 1024, 1),
    task_s: { p50: durations.p50, max: durations.max },
    statuses,
  };
}

export async function benchScaling(options: { quick: boolean }): Promise<BenchResult> {
  const started = Date.now();
  const dir = mkdtempSync(join(tmpdir(), 'caged-bench-scaling-'));
  writeFileSync(join(dir, '.caged.yaml'), CONFIG);
  const grid: Array<[number, number]> = options.quick ? [[8, 4], [8, 8], [32, 8]] : [[8, 4], [8, 8], [32, 4], [32, 8], [64, 4], [64, 8]];
  try {
    const solos = [];
    for (let i = 0; i < 3; i += 1) solos.push(await batch(dir, 1, 1));
    const soloWall = summarize(solos.map((run) => run.wall_s)).p50;
    const taskTime = summarize(solos.map((run) => run.task_s.p50)).p50;
    const fixed = soloWall - taskTime;
    const runs: Array<Run & { ideal_s: number; ratio: number }> = [];
    for (const [tasks, parallel] of grid) {
      const run = await batch(dir, tasks, parallel);
      const ideal = fixed + Math.ceil(tasks / parallel) * taskTime;
      runs.push({ ...run, ideal_s: round(ideal, 2), ratio: round(run.wall_s / ideal, 3) });
    }
    const largest = runs.filter((run) => run.tasks === Math.max(...grid.map(([tasks]) => tasks)));
    const plan =
      'Each task\'s own time grows when several sandboxes start and stop at once (task p50 in the table vs alone): the Docker daemon serialises network ' +
      'and container creation and removal, and the 2 cores are shared with it. Removal already runs outside the parallelism slots. Plan: shorten the ' +
      'start (see Sandbox start: the per-sandbox network and its holder container are most of it), e.g. one network per batch instead of per sandbox.';
    const figures: Figure[] = runs.map((run) => {
      const waves = Math.ceil(run.tasks / run.parallel);
      return figure({
        id: `scaling.ratio.${run.tasks}x${run.parallel}`,
        label: `${run.tasks} tasks at max_parallel ${run.parallel}: wall ÷ ideal`,
        value: run.ratio,
        unit: '×',
        target: 1.1,
        better: 'lower',
        how: `${run.wall_s} s vs ideal ${run.ideal_s} s (${waves} wave${waves === 1 ? '' : 's'} × ${taskTime} s + ${round(fixed, 2)} s); task p50 ${run.task_s.p50} s`,
        plan,
      });
    });
    figures.push(
      figure({
        id: 'scaling.peak_rss_mb',
        label: `Controller peak RSS at ${largest[0]?.tasks} tasks`,
        value: Math.max(...largest.map((run) => run.peak_rss_mb)),
        unit: 'MB',
        target: 150,
        better: 'lower',
        how: 'process.resourceUsage().maxRSS of `caged batch`, worst of its runs',
        plan: 'Profile the heap of a 64-task run (node --heap-prof) and trim what each sandbox record keeps.',
      }),
    );
    return {
      name: 'scaling',
      title: 'Batch scaling',
      command: `npm run bench -- --only scaling${options.quick ? ' --quick' : ''}`,
      duration_s: round((Date.now() - started) / 1000, 1),
      figures,
      method:
        `\`caged batch\` (node bin/caged.js) on N tasks that each run \`sleep ${WORKLOAD_S}\` in their own sandbox (0.25 vCPU, 128 MiB, default gateway network), ` +
        'at --max-parallel P. Ideal = fixed + ceil(N/P) × t, where t is one task\'s time (create → job → destroy, from the results file) and fixed the rest of a ' +
        'single-task batch\'s wall time (start, reap, engine), both the median of 3 single-task runs in this run. CPU = user + system time of the controller process.',
      details: { workload_s: WORKLOAD_S, single_task: { wall_s: soloWall, task_s: taskTime, fixed_s: round(fixed, 2) }, runs },
      detailsMarkdown: [
        `One task alone: ${taskTime} s (${round(taskTime - WORKLOAD_S, 1)} s of it caged's start and removal around the ${WORKLOAD_S} s workload); the fixed cost of a batch: ${round(fixed, 2)} s.`,
        table(
          ['tasks', 'max_parallel', 'wall s', 'ideal s', 'wall ÷ ideal', 'task p50 / max s', 'controller CPU s', 'peak RSS MB', 'statuses'],
          runs.map((r) => [r.tasks, r.parallel, r.wall_s, r.ideal_s, r.ratio, `${r.task_s.p50} / ${r.task_s.max}`, r.cpu_s, r.peak_rss_mb, Object.entries(r.statuses).map(([status, n]) => `${n} ${status}`).join(', ')]),
        ),
      ].join('\n\n'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

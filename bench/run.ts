// `npm run bench`: measures caged on this machine and writes bench/results.json and bench/RESULTS.md.
//   npm run bench -- --only precision,overhead   re-measure some benchmarks (the others are kept)
//   npm run bench -- --seed 7                    other random workloads for the precision trials
//   npm run bench -- --quick                     fewer trials and rounds (a smoke run, ~2 minutes)
// Needs Docker and the built CLI (the npm script builds first). Nothing leaves the machine: the
// LLM providers are the project's fakes on loopback.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import Docker from 'dockerode';
import { benchOverhead } from './overhead.js';
import { benchPrecision } from './precision.js';
import { benchScaling } from './scaling.js';
import { benchStart } from './start.js';
import type { BenchResult } from './support/figures.js';
import { renderResults, type BenchFile, type RunInfo } from './support/report.js';
import { round } from './support/stats.js';

const RESULTS_JSON = fileURLToPath(new URL('./results.json', import.meta.url));
const RESULTS_MD = fileURLToPath(new URL('./RESULTS.md', import.meta.url));
const DEFAULT_SEED = 20_261_108;

const BENCHES: Record<string, (options: { seed: number; quick: boolean }) => Promise<BenchResult>> = {
  precision: benchPrecision,
  overhead: benchOverhead,
  start: benchStart,
  scaling: benchScaling,
};

function commit(): string {
  try {
    const sha = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8' }).trim() !== '';
    return dirty ? `${sha}+changes` : sha;
  } catch {
    return 'unknown';
  }
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { only: { type: 'string' }, seed: { type: 'string' }, quick: { type: 'boolean' } } });
  const names = values.only ? values.only.split(',').map((name) => name.trim()) : Object.keys(BENCHES);
  const unknown = names.filter((name) => !BENCHES[name]);
  if (unknown.length > 0) {
    console.error(`unknown benchmark: ${unknown.join(', ')} (known: ${Object.keys(BENCHES).join(', ')})`);
    return 2;
  }
  const seed = values.seed === undefined ? DEFAULT_SEED : Number(values.seed);
  const quick = values.quick === true;
  const docker = new Docker();
  const version = await docker.version().catch((error: Error) => {
    throw new Error(`the benchmarks need a reachable Docker engine: ${error.message} (run npm run setup)`);
  });
  const started = Date.now();
  const loadBefore = loadavg().map((load) => round(load, 2));
  const measured: Record<string, BenchResult> = {};
  let failed = false;
  for (const name of names) {
    console.error(`bench: ${name}…`);
    try {
      measured[name] = await BENCHES[name]!({ seed, quick });
      for (const f of measured[name].figures) console.error(`  ${f.met ? 'met ' : 'MISS'} ${f.label}: ${f.value} ${f.unit} (target ${f.better === 'lower' ? '≤' : '≥'} ${f.target})`);
    } catch (error) {
      failed = true;
      console.error(`bench: ${name} failed: ${(error as Error).stack ?? error}`);
    }
  }
  const run: RunInfo = {
    date: new Date(started).toISOString(),
    commit: commit(),
    machine: {
      cpus: availableParallelism(),
      cpu_model: cpus()[0]?.model.trim() ?? 'unknown',
      memory_gib: round(totalmem() / 2 ** 30, 1),
      node: process.versions.node,
      docker: version.Version,
      load_before: loadBefore,
      load_after: loadavg().map((load) => round(load, 2)),
    },
    seed,
    quick,
    duration_s: round((Date.now() - started) / 1000, 1),
  };
  const previous: BenchFile = existsSync(RESULTS_JSON) && values.only ? (JSON.parse(readFileSync(RESULTS_JSON, 'utf8')) as BenchFile) : { version: 1, benchmarks: {} };
  const file: BenchFile = { version: 1, benchmarks: { ...previous.benchmarks } };
  for (const [name, result] of Object.entries(measured)) file.benchmarks[name] = { ...result, run };
  writeFileSync(RESULTS_JSON, `${JSON.stringify(file, null, 2)}\n`);
  writeFileSync(RESULTS_MD, renderResults(file));
  console.error(`bench: wrote ${RESULTS_JSON} and ${RESULTS_MD} in ${run.duration_s} s`);
  return failed ? 1 : 0;
}

process.exitCode = await main();

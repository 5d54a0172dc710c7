import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { reportToJson, totalsOf, type BatchReport, type TaskOutcome } from '../batch/results.js';
import type { ResolvedTask } from '../config/resolve.js';
import { InputError } from '../config/problems.js';
import { parseUsd } from '../money.js';

/** `shard: i/n` — this job runs share `i` (0-based, like `strategy.job-index`) of `n`. */
export interface Shard {
  index: number;
  total: number;
}

export function parseShard(text: string): Shard {
  const match = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  if (!match) throw new Error(`shard must look like i/n (e.g. \${{ strategy.job-index }}/\${{ strategy.job-total }}); got "${text}"`);
  const index = Number(match[1]);
  const total = Number(match[2]);
  if (total < 1 || total > 256) throw new Error(`shard total must be from 1 to 256; got ${total}`);
  if (index >= total) throw new Error(`shard index is 0-based and must be below the total; got ${index}/${total}`);
  return { index, total };
}

/**
 * Task k belongs to shard k mod n: the same task list always splits the same way, every task
 * lands in exactly one shard, and shard sizes differ by at most one.
 */
export function selectShard(tasks: ResolvedTask[], shard: Shard | undefined): ResolvedTask[] {
  if (!shard) return tasks;
  return tasks.filter((task) => task.index % shard.total === shard.index);
}

/** The results file every run writes: the results JSON plus where it sits among the shards. */
export function resultsFileJson(report: BatchReport, shard: Shard | undefined, tasksTotal: number) {
  return { ...reportToJson(report), shard: shard ?? null, tasks_total: tasksTotal };
}

type ResultsFile = ReturnType<typeof resultsFileJson>;
type OutcomeJson = ResultsFile['results'][number];

function outcomeFromJson(json: OutcomeJson): TaskOutcome {
  return {
    ...json,
    cost: { llm: parseUsd(json.cost.llm), compute: parseUsd(json.cost.compute), total: parseUsd(json.cost.total) },
    budget: parseUsd(json.budget),
    agent_reported_cost: json.agent_reported_cost === null ? null : parseUsd(json.agent_reported_cost),
  };
}

function isResultsFile(value: unknown): value is ResultsFile {
  const file = value as Partial<ResultsFile> | null;
  return typeof file === 'object' && file !== null && file.version === 1 && typeof file.run_id === 'string' && Array.isArray(file.results) && typeof file.tasks_total === 'number';
}

async function jsonFilesUnder(path: string): Promise<string[]> {
  const info = await stat(path).catch(() => undefined);
  if (!info) return [];
  if (info.isFile()) return [path];
  const entries = await readdir(path, { withFileTypes: true, recursive: true });
  return entries.filter((entry) => entry.isFile() && entry.name.endsWith('.json')).map((entry) => join(entry.parentPath, entry.name)).sort();
}

export interface MergedResults {
  report: BatchReport;
  files: string[];
  /** Task numbers (1-based) no shard reported. */
  missing: number[];
}

/**
 * Merges the results files of all shards (downloaded artifacts) into one report, in task
 * order. A task reported twice (a re-run shard) keeps its latest report.
 */
export async function mergeResultsFiles(paths: string[]): Promise<MergedResults> {
  const files = (await Promise.all(paths.map(jsonFilesUnder))).flat();
  const parsed: Array<{ file: string; json: ResultsFile }> = [];
  for (const file of files) {
    let json: unknown;
    try {
      json = JSON.parse(await readFile(file, 'utf8'));
    } catch {
      continue;
    }
    if (isResultsFile(json)) parsed.push({ file, json });
  }
  if (parsed.length === 0) {
    throw InputError.at('input shard-results', `no caged results files found under ${paths.join(', ')}: download the shards' artifacts there first`);
  }
  parsed.sort((a, b) => a.json.ended_at.localeCompare(b.json.ended_at));
  const byIndex = new Map<number, TaskOutcome>();
  for (const { json } of parsed) for (const result of json.results) byIndex.set(result.index, outcomeFromJson(result));
  const tasksTotal = Math.max(...parsed.map(({ json }) => json.tasks_total));
  const results = [...byIndex.values()].sort((a, b) => a.index - b.index);
  const missing = Array.from({ length: tasksTotal }, (_, index) => index).filter((index) => !byIndex.has(index)).map((index) => index + 1);
  const runIds = [...new Set(parsed.map(({ json }) => json.run_id))];
  return {
    report: {
      run_id: runIds.join('+'),
      started_at: parsed.map(({ json }) => json.started_at).sort()[0]!,
      ended_at: parsed.at(-1)!.json.ended_at,
      results,
      totals: totalsOf(results),
    },
    files: parsed.map(({ file }) => file),
    missing,
  };
}

import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import * as core from '@actions/core';
import type { BatchReport } from '../batch/results.js';
import { toUsd } from '../money.js';
import { resultsFileJson, type Shard } from './shard.js';

/** Step outputs share a 1 MiB budget per job; a larger results JSON drops the long texts (the file keeps them). */
const RESULTS_OUTPUT_MAX = 512 * 1024;

/** Writes the results file and sets every output: results, results-file, total-cost, completed, killed, failed. */
export async function writeOutputs(report: BatchReport, file: string, shard: Shard | undefined, tasksTotal: number): Promise<void> {
  const json = resultsFileJson(report, shard, tasksTotal);
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, `${JSON.stringify(json, null, 2)}\n`);
  let compact = JSON.stringify(json);
  if (compact.length > RESULTS_OUTPUT_MAX) {
    compact = JSON.stringify({ ...json, results: json.results.map((result) => ({ ...result, prompt: result.task, final_message: null })) });
  }
  const { totals } = report;
  core.setOutput('results', compact);
  core.setOutput('results-file', file);
  core.setOutput('total-cost', String(toUsd(totals.cost.total)));
  core.setOutput('completed', String(totals.completed));
  core.setOutput('killed', String(totals.killed));
  // Everything that neither completed nor hit its budget, so completed + killed + failed = tasks.
  core.setOutput('failed', String(totals.tasks - totals.completed - totals.killed));
}

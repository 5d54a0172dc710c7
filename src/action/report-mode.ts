import { resolve } from 'node:path';
import * as core from '@actions/core';
import { mergeLayers } from '../config/schema.js';
import type { Octokit } from '../report/pr-comment.js';
import type { ActionContext } from './context.js';
import type { ActionInputs } from './inputs.js';
import { publish, verdict } from './publish.js';
import { mergeResultsFiles } from './shard.js';
import { loadActionConfig } from './tasks.js';

/** `mode: report`: the shards' result files (downloaded artifacts) become one summary, one comment and one verdict. */
export async function runReportMode(inputs: ActionInputs, context: ActionContext, octokit: Octokit | undefined): Promise<void> {
  const config = await loadActionConfig(inputs, context);
  const failOn = mergeLayers(config, inputs.failOn ? { fail_on: inputs.failOn } : {}).fail_on;
  const merged = await mergeResultsFiles(inputs.shardResults.map((path) => resolve(context.workspace, path)));
  const notes = [`Merged from ${merged.files.length} shard result file(s).`];
  if (merged.missing.length > 0) notes.push(`No shard reported task(s) ${merged.missing.join(', ')}.`);
  await publish(inputs, context, octokit, {
    view: { report: merged.report, heading: 'caged batch', runUrl: context.runUrl, notes },
    tasksTotal: merged.report.results.length + merged.missing.length,
  });
  if (merged.missing.length > 0) {
    core.setFailed(`caged: ${merged.missing.length} task(s) missing from the shard results (did a shard fail before writing them?)`);
    return;
  }
  verdict(merged.report, failOn, false);
}

import './dirname-shim.js';
import * as core from '@actions/core';
import { getOctokit } from '@actions/github';
import { InputError } from '../config/problems.js';
import { failOnInputError } from './annotate.js';
import { runBatchMode } from './batch-mode.js';
import { cancelOnSignals } from './cancel.js';
import { runCommentMode } from './comment-mode.js';
import { actionContext } from './context.js';
import { readInputs } from './inputs.js';
import { runReportMode } from './report-mode.js';
import { STATE } from './state.js';

async function main(): Promise<void> {
  // Installed first and kept to the end: a cancelled job still writes its partial results.
  const signals = cancelOnSignals();
  const context = actionContext();
  try {
    const inputs = readInputs((name) => core.getInput(name));
    for (const secret of [inputs.githubToken, inputs.apiKey]) if (secret) core.setSecret(secret);
    core.saveState(STATE.runId, context.runId);
    core.saveState(STATE.backend, inputs.backend);
    core.saveState(STATE.stateRoot, context.stateRoot);
    const octokit = inputs.githubToken ? getOctokit(inputs.githubToken) : undefined;
    if (inputs.mode === 'report') await runReportMode(inputs, context, octokit);
    else if (context.eventName === 'issue_comment') await runCommentMode(inputs, context, octokit, signals.signal);
    else await runBatchMode(inputs, context, octokit, signals.signal);
  } catch (error) {
    if (error instanceof InputError) failOnInputError(error, context.workspace);
    else core.setFailed(`caged: ${(error as Error).message}`);
  }
}

await main();

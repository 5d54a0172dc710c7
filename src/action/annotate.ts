import { isAbsolute, relative } from 'node:path';
import * as core from '@actions/core';
import { InputError } from '../config/problems.js';

/** GitHub shows at most 10 error annotations per step; the step's own failure message is one of them. */
const MAX_PROBLEM_ANNOTATIONS = 9;

/**
 * Bad input becomes error annotations at the place it names (file:line:col of `.caged.yaml`
 * or a task file, else the input's name), then the step fails; nothing has started yet.
 */
export function failOnInputError(error: InputError, workspace: string): void {
  const shown = error.problems.slice(0, MAX_PROBLEM_ANNOTATIONS);
  for (const problem of shown) {
    // Inline task lists name themselves ("input tasks"); only real files get a file annotation.
    const file = problem.file && isAbsolute(problem.file) ? relative(workspace, problem.file) : undefined;
    core.error(problem.message, {
      title: file ? 'caged: bad input' : `caged: ${problem.location}`,
      ...(file ? { file } : {}),
      ...(file && problem.line ? { startLine: problem.line } : {}),
      ...(file && problem.col ? { startColumn: problem.col } : {}),
    });
  }
  const rest = error.problems.length - shown.length;
  core.setFailed(`caged: bad input, nothing was started (${error.problems.length} problem${error.problems.length === 1 ? '' : 's'}${rest > 0 ? `; ${rest} more in the log` : ''})`);
  if (rest > 0) core.info(error.message);
}

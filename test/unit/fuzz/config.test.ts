import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parseConfigText } from '../../../src/config/load.js';
import { InputError } from '../../../src/config/problems.js';
import { resolveTasks } from '../../../src/config/resolve.js';
import { mergeLayers } from '../../../src/config/schema.js';
import { parseTasksText } from '../../../src/config/tasks.js';
import { fuzz, regressions } from './harness.js';
import { configText, taskListText } from './config-inputs.js';

/**
 * The config loader and the task list parser on random text: they return a layer (which then
 * merges) or throw an InputError naming file:line:col — never a TypeError, a YAML library error
 * or anything else.
 */

const CONFIG_FIXTURES = fileURLToPath(new URL('./fixtures/config-loader.json', import.meta.url));
const TASKS_FIXTURES = fileURLToPath(new URL('./fixtures/task-list.json', import.meta.url));

/** Only an InputError may escape, and it must name where: file:line:col, with a readable message. */
function expectInputError(error: unknown, file: string): void {
  if (!(error instanceof InputError)) throw new Error(`threw ${(error as Error)?.name ?? typeof error} instead of an InputError: ${(error as Error)?.message ?? String(error)}`);
  // Plain asserts: expect() in a 10,000-case loop costs more than the parsing under test.
  assert.ok(error.problems.length > 0, 'an InputError without problems');
  for (const problem of error.problems) {
    assert.match(problem.location, new RegExp(`^${file.replace('.', '\\.')}(:\\d+:\\d+)?$`));
    assert.notEqual(problem.message.trim(), '');
    assert.doesNotMatch(problem.message, /undefined|\[object Object\]/);
  }
}

function checkConfig(text: string): void {
  try {
    const layer = parseConfigText(text, '.caged.yaml');
    const resolved = mergeLayers(layer);
    if (resolved.budget !== undefined) assert.ok(Number.isSafeInteger(resolved.budget) && resolved.budget > 0, `budget ${resolved.budget}`);
  } catch (error) {
    expectInputError(error, '.caged.yaml');
  }
}

function checkTasks(text: string): void {
  try {
    const tasks = parseTasksText(text, 'tasks.yaml');
    assert.ok(tasks.length > 0, 'an empty task list was accepted');
    for (const task of resolveTasks({}, tasks)) assert.notEqual(task.name.trim(), '');
  } catch (error) {
    expectInputError(error, 'tasks.yaml');
  }
}

// The YAML library warns (on stderr) about collection keys; thousands of those would drown the output.
beforeAll(() => {
  vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
});
afterAll(() => {
  vi.restoreAllMocks();
});

describe('fuzz: the config loader (.caged.yaml)', () => {
  it('replays the saved regression cases', () => {
    for (const { input } of regressions<string>(CONFIG_FIXTURES)) checkConfig(input);
  });

  it('returns a layer or throws an InputError with file:line:col for 10,000 random texts', { timeout: 120_000 }, () => {
    expect(fuzz({ fixtures: CONFIG_FIXTURES, generate: configText, check: checkConfig })).toBeGreaterThanOrEqual(10_000);
  });
});

describe('fuzz: the task list parser', () => {
  it('replays the saved regression cases', () => {
    for (const { input } of regressions<string>(TASKS_FIXTURES)) checkTasks(input);
  });

  it('returns tasks or throws an InputError with file:line:col for 10,000 random texts', { timeout: 120_000 }, () => {
    expect(fuzz({ fixtures: TASKS_FIXTURES, generate: taskListText, check: checkTasks })).toBeGreaterThanOrEqual(10_000);
  });
});

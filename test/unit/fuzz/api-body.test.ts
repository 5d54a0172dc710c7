import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { issuesToProblems } from '../../../src/config/issues.js';
import { InputError, jsonPath } from '../../../src/config/problems.js';
import { createSandboxBody } from '../../../src/server/api-schema.js';
import { fuzz, regressions } from './harness.js';
import type { Random } from './random.js';
import { randomScalar, randomValue } from './values.js';

/**
 * The body validator of `POST /v1/sandboxes` on random JSON, the way the server applies it
 * (src/server/http.ts parseBody): the schema either accepts the body, with the budget in whole
 * micro-dollars, or its issues become an InputError whose every problem names a JSON path —
 * never a TypeError from the schema, a transform or the problem formatting.
 */

const FIXTURES = fileURLToPath(new URL('./fixtures/api-body.json', import.meta.url));

/** JSON text as a client would send it: a plausible body with random changes, or any JSON value. */
function bodyText(random: Random): string {
  if (random.chance(0.1)) return JSON.stringify(randomValue(random, undefined, [], 2));
  const body: Record<string, unknown> = random.chance(0.7) ? { budget: random.pick([5, 0.25, 0.000001, 1e-7, 0, -1, '5', 1e21]) } : {};
  if (random.chance(0.5)) body[random.pick(['prompt', 'command'])] = random.chance(0.8) ? 'fix the tests' : randomScalar(random);
  const extra = randomValue(random, createSandboxBody, [], 4);
  if (typeof extra === 'object' && extra !== null && !Array.isArray(extra)) Object.assign(body, extra);
  const text = JSON.stringify(body);
  // A key JSON.parse keeps as an own property but an object literal would not.
  return random.chance(0.05) ? text.replace(/^\{/, text === '{}' ? '{"__proto__": {"budget": 1}' : '{"__proto__": {"budget": 1}, ') : text;
}

function check(text: string): void {
  const value: unknown = JSON.parse(text);
  const result = createSandboxBody.safeParse(value);
  if (result.success) {
    assert.ok(Number.isSafeInteger(result.data.budget) && result.data.budget > 0, `budget ${result.data.budget}`);
    assert.ok(result.data.prompt === undefined || result.data.command === undefined, 'both prompt and command');
    return;
  }
  const error = new InputError(issuesToProblems(createSandboxBody, value, result.error.issues, (path) => ({ location: jsonPath(path) })));
  assert.ok(error.problems.length > 0, 'a rejected body without problems');
  for (const problem of error.problems) {
    assert.match(problem.location, /^\$/);
    assert.notEqual(problem.message.trim(), '');
    assert.doesNotMatch(problem.message, /undefined|\[object Object\]/);
  }
}

describe('fuzz: the API body validator (POST /v1/sandboxes)', () => {
  it('replays the saved regression cases', () => {
    for (const { input } of regressions<string>(FIXTURES)) check(input);
  });

  it('accepts or names JSON paths, never crashing, for 10,000 random bodies', { timeout: 120_000 }, () => {
    expect(fuzz({ fixtures: FIXTURES, generate: bodyText, check })).toBeGreaterThanOrEqual(10_000);
  });
});

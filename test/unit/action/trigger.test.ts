import { describe, expect, it } from 'vitest';
import { InputError } from '../../../src/config/problems.js';
import { isTriggerComment, parseTriggerCommand } from '../../../src/action/trigger.js';

function error(body: string): string {
  try {
    parseTriggerCommand(body, '/caged');
  } catch (caught) {
    const problem = (caught as InputError).problems[0]!;
    return `${problem.location}: ${problem.message.replace(/ \(usage: .*\)$/, '')}`;
  }
  throw new Error('no error');
}

describe('the /caged comment command', () => {
  it('is recognised by the first line only, as a whole word', () => {
    expect(isTriggerComment('/caged run fix it', '/caged')).toBe(true);
    expect(isTriggerComment('  \n/caged', '/caged')).toBe(true);
    expect(isTriggerComment('/cagedrun fix', '/caged')).toBe(false);
    expect(isTriggerComment('please\n/caged run fix', '/caged')).toBe(false);
    expect(isTriggerComment('/bot run x', '/bot')).toBe(true);
  });

  it('takes the flags, then the prompt to the end of the comment', () => {
    expect(parseTriggerCommand('/caged run --budget 3 --agent codex --template python-312 Fix the flaky test\nin utils/', '/caged')).toEqual({
      budget: 3_000_000,
      agent: 'codex',
      template: 'python-312',
      prompt: 'Fix the flaky test\nin utils/',
    });
    expect(parseTriggerCommand('/caged run --budget=$0.50 "Add --verbose to the CLI"', '/caged')).toEqual({ budget: 500_000, prompt: 'Add --verbose to the CLI' });
    expect(parseTriggerCommand('/caged run -- --help is broken', '/caged')).toEqual({ prompt: '--help is broken' });
  });

  it('names the column of what is wrong', () => {
    expect(error('/caged fix it')).toBe('comment line 1, col 8: unknown command "fix"');
    expect(error('/caged')).toBe('comment line 1, col 7: missing command');
    expect(error('/caged run --budgte 3 fix')).toBe('comment line 1, col 12: unknown option --budgte (did you mean --budget?)');
    expect(error('/caged run --budget lots fix')).toBe('comment line 1, col 21: --budget: not a US-dollar amount: "lots" (write it like 5, 5.00 or "$5")');
    expect(error('/caged run --budget 0 fix')).toBe('comment line 1, col 21: --budget must be more than $0');
    expect(error('/caged run --agent gpt fix')).toBe('comment line 1, col 20: --agent must be one of claude, codex, aider');
    expect(error('/caged run --template ../x fix')).toBe('comment line 1, col 23: --template must be a template name like node-20');
    expect(error('/caged run --budget')).toBe('comment line 1, col 12: --budget needs a value');
    expect(error('/caged run --budget 3')).toBe('comment line 1, col 22: the prompt is empty');
  });
});

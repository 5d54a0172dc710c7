import { describe, expect, it } from 'vitest';
import { claudeDriver } from '../../../src/agents/claude.js';
import { codexDriver } from '../../../src/agents/codex.js';
import { chooseAgent } from '../../../src/agents/registry.js';

const gateway = { url: 'http://172.18.0.1:4000', token: 'sk-caged-token' };

describe('claude driver', () => {
  it('passes the prompt as one argv element after --, never through a shell', () => {
    const prompt = `Fix "quotes"; rm -rf / $(whoami) --help`;
    const launch = claudeDriver.launch({ prompt, promptFile: '/run/caged/prompt.txt', remainingBudget: 2_500_000, gateway });
    expect(launch.argv[0]).toBe('claude');
    expect(launch.argv.at(-1)).toBe(prompt);
    expect(launch.argv.at(-2)).toBe('--');
    expect(launch.argv).toContain('--dangerously-skip-permissions');
    expect(launch.argv.slice(launch.argv.indexOf('--max-budget-usd'), launch.argv.indexOf('--max-budget-usd') + 2)).toEqual(['--max-budget-usd', '2.50']);
    expect(launch.env).toMatchObject({ ANTHROPIC_BASE_URL: gateway.url, ANTHROPIC_API_KEY: gateway.token, CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1' });
  });

  it('reads progress and the final result from stream-json split at arbitrary points', () => {
    const reader = claudeDriver.reader();
    const stream = [
      JSON.stringify({ type: 'system', subtype: 'init' }),
      JSON.stringify({ type: 'assistant', message: { content: [{ type: 'tool_use', name: 'Write', input: {} }] } }),
      JSON.stringify({ type: 'assistant', message: { content: [{ type: 'text', text: 'Done: fixed 3 errors.' }] } }),
      JSON.stringify({ type: 'result', subtype: 'success', is_error: false, result: 'Done: fixed 3 errors.', total_cost_usd: 0.0123456 }),
    ].join('\n');
    const progress: string[] = [];
    for (let i = 0; i < stream.length; i += 7) progress.push(...reader.push(Buffer.from(stream.slice(i, i + 7))));
    expect(progress).toEqual(['tool: Write', 'Done: fixed 3 errors.']);
    expect(reader.result()).toEqual({ finalMessage: 'Done: fixed 3 errors.', reportedCost: 12_345 });
  });

  it('reports the agent-side error of a refused run', () => {
    const reader = claudeDriver.reader();
    reader.push(`${JSON.stringify({ type: 'result', subtype: 'success', is_error: true, result: 'API Error: 402 caged: budget limit reached', total_cost_usd: 0 })}\n`);
    expect(reader.result()).toMatchObject({ error: 'API Error: 402 caged: budget limit reached', reportedCost: 0 });
  });
});

describe('codex driver', () => {
  it('points a custom provider at the gateway and pins the model', () => {
    const launch = codexDriver.launch({ prompt: 'Add tests', promptFile: '/p', remainingBudget: 1_000_000, gateway, model: 'gpt-5.2' });
    expect(launch.argv.slice(0, 2)).toEqual(['codex', 'exec']);
    expect(launch.argv).toContain(`model_providers.caged.base_url=${gateway.url}/v1`);
    expect(launch.argv).toContain('model_providers.caged.wire_api=responses');
    expect(launch.argv.slice(launch.argv.indexOf('-m'), launch.argv.indexOf('-m') + 2)).toEqual(['-m', 'gpt-5.2']);
    expect(launch.argv.at(-1)).toBe('Add tests');
    expect(launch.env.OPENAI_API_KEY).toBe(gateway.token);
  });

  it('takes the last agent message as the final message', () => {
    const reader = codexDriver.reader();
    reader.push(
      [
        JSON.stringify({ type: 'thread.started' }),
        JSON.stringify({ type: 'item.completed', item: { type: 'command_execution' } }),
        JSON.stringify({ type: 'item.completed', item: { type: 'agent_message', text: 'First' } }),
        JSON.stringify({ type: 'item.completed', item: { type: 'agent_message', text: 'Tests added.' } }),
        JSON.stringify({ type: 'turn.completed', usage: { input_tokens: 10, output_tokens: 5 } }),
        '',
      ].join('\n'),
    );
    expect(reader.result()).toEqual({ finalMessage: 'Tests added.' });
  });
});

describe('agent choice', () => {
  it('runs a command agent with the prompt only in the environment', () => {
    const choice = chooseAgent({ command: 'make fix' });
    const launch = choice.driver.launch({ prompt: 'ignored $(x)', promptFile: '/p', remainingBudget: 1 });
    expect(launch.argv).toEqual(['sh', '-c', 'make fix']);
    expect(JSON.stringify(launch)).not.toContain('ignored');
  });

  it('takes model, args and version from the object form', () => {
    const choice = chooseAgent({ name: 'claude', version: '2.1.400', model: 'claude-sonnet-4-5', args: ['--max-turns', '5'] }, 'other');
    expect(choice).toMatchObject({ model: 'claude-sonnet-4-5', version: '2.1.400', args: ['--max-turns', '5'] });
  });
});

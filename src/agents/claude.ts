import { parseUsd } from '../money.js';
import { clip, LineSplitter, tryParseJson } from './lines.js';
import type { AgentDriver, AgentResult, LaunchContext, OutputReader } from './types.js';

/**
 * Claude Code in print mode. stream-json gives live progress; its final `result` event carries
 * the answer and Claude's own cost estimate. Permissions are skipped because the sandbox is the
 * boundary (accepted as uid 1000, refused as root).
 */
export const claudeDriver: AgentDriver = {
  name: 'claude',
  launch(context: LaunchContext) {
    const argv = [
      'claude',
      '-p',
      '--output-format', 'stream-json',
      '--verbose',
      '--dangerously-skip-permissions',
      '--max-budget-usd', (Math.max(context.remainingBudget, 10_000) / 1e6).toFixed(2),
      ...(context.model ? ['--model', context.model] : []),
      ...(context.args ?? []),
      '--',
      context.prompt,
    ];
    return { argv, env: claudeEnv(context) };
  },
  reader: () => new ClaudeReader(),
};

export function claudeEnv(context: Pick<LaunchContext, 'gateway'>): Record<string, string> {
  return {
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    DISABLE_AUTOUPDATER: '1',
    DISABLE_TELEMETRY: '1',
    DISABLE_ERROR_REPORTING: '1',
    ...(context.gateway ? { ANTHROPIC_BASE_URL: context.gateway.url, ANTHROPIC_API_KEY: context.gateway.token } : {}),
  };
}

class ClaudeReader implements OutputReader {
  readonly #lines = new LineSplitter();
  #result: AgentResult = {};
  #lastText?: string;

  push(chunk: Buffer | string): string[] {
    const progress: string[] = [];
    for (const line of this.#lines.push(chunk)) {
      const event = tryParseJson(line);
      if (!event) continue;
      if (event.type === 'assistant') {
        for (const block of contentBlocks(event)) {
          if (block.type === 'text' && typeof block.text === 'string' && block.text.trim()) {
            this.#lastText = block.text;
            progress.push(clip(block.text.trim().split('\n')[0]!, 120));
          } else if (block.type === 'tool_use' && typeof block.name === 'string') {
            progress.push(`tool: ${block.name}`);
          }
        }
      } else if (event.type === 'result') {
        this.#result = readResult(event);
      }
    }
    return progress;
  }

  result(): AgentResult {
    const tail = tryParseJson(this.#lines.rest());
    if (tail?.type === 'result') this.#result = readResult(tail);
    return { ...this.#result, finalMessage: this.#result.finalMessage ?? this.#lastText };
  }
}

function contentBlocks(event: Record<string, unknown>): Array<Record<string, unknown>> {
  const message = event.message as { content?: unknown } | undefined;
  return Array.isArray(message?.content) ? (message.content as Array<Record<string, unknown>>) : [];
}

function readResult(event: Record<string, unknown>): AgentResult {
  const result: AgentResult = {};
  if (typeof event.result === 'string') result.finalMessage = event.result;
  if (typeof event.total_cost_usd === 'number' && Number.isFinite(event.total_cost_usd) && event.total_cost_usd >= 0) {
    result.reportedCost = parseUsd(event.total_cost_usd);
  }
  if (event.is_error === true || (typeof event.subtype === 'string' && event.subtype !== 'success')) {
    result.error = typeof event.result === 'string' && event.result ? event.result : String(event.subtype ?? 'error');
  }
  return result;
}

import { clip, LineSplitter, tryParseJson } from './lines.js';
import type { AgentDriver, AgentResult, LaunchContext, OutputReader } from './types.js';

/** Codex ignores OPENAI_BASE_URL: a custom provider is the only way to point it at the gateway. */
export const CODEX_DEFAULT_MODEL = 'gpt-5.1';

export const codexDriver: AgentDriver = {
  name: 'codex',
  launch(context: LaunchContext) {
    const provider = context.gateway
      ? [
          '-c', 'model_provider=caged',
          '-c', 'model_providers.caged.name=caged',
          '-c', `model_providers.caged.base_url=${context.gateway.url}/v1`,
          '-c', 'model_providers.caged.env_key=OPENAI_API_KEY',
          '-c', 'model_providers.caged.wire_api=responses',
        ]
      : [];
    const argv = [
      'codex',
      'exec',
      '--json',
      '--skip-git-repo-check',
      '--dangerously-bypass-approvals-and-sandbox',
      '--disable', 'plugins',
      '-c', 'analytics.enabled=false',
      ...provider,
      '-m', context.model ?? CODEX_DEFAULT_MODEL,
      ...(context.args ?? []),
      '--',
      context.prompt,
    ];
    return {
      argv,
      env: context.gateway ? { OPENAI_API_KEY: context.gateway.token } : ({} as Record<string, string>),
    };
  },
  reader: () => new CodexReader(),
};

class CodexReader implements OutputReader {
  readonly #lines = new LineSplitter();
  readonly #result: AgentResult = {};

  push(chunk: Buffer | string): string[] {
    const progress: string[] = [];
    for (const line of this.#lines.push(chunk)) {
      const event = tryParseJson(line);
      if (!event) continue;
      const item = event.item as Record<string, unknown> | undefined;
      if (event.type === 'item.completed' && item) {
        if (item.type === 'agent_message' && typeof item.text === 'string') {
          this.#result.finalMessage = item.text;
          progress.push(clip(item.text.trim().split('\n')[0] ?? '', 120));
        } else if (typeof item.type === 'string') {
          progress.push(item.type.replace(/_/g, ' '));
        }
      } else if (event.type === 'turn.failed' || event.type === 'error') {
        const error = (event.error as { message?: string } | undefined)?.message ?? (event.message as string | undefined);
        if (error) this.#result.error = error;
      }
    }
    return progress;
  }

  result(): AgentResult {
    return { ...this.#result };
  }
}

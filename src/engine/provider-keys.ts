/**
 * Provider keys never enter a sandbox: they are taken out of `--env` and secrets and handed to
 * the gateway, which swaps them in for the sandbox token on the way upstream.
 */
export const PROVIDER_KEY_NAMES = ['ANTHROPIC_API_KEY', 'ANTHROPIC_AUTH_TOKEN', 'CLAUDE_CODE_OAUTH_TOKEN', 'OPENAI_API_KEY', 'CODEX_API_KEY'] as const;

export interface ProviderKeys {
  anthropicApiKey?: string;
  anthropicAuthToken?: string;
  openaiApiKey?: string;
}

export interface SplitEnv {
  keys: ProviderKeys;
  /** What may enter the container. */
  env: Record<string, string>;
}

export function splitProviderKeys(...sources: Array<Record<string, string> | undefined>): SplitEnv {
  const merged: Record<string, string> = Object.assign({}, ...sources.filter(Boolean));
  const keys: ProviderKeys = {};
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(merged)) {
    switch (name) {
      case 'ANTHROPIC_API_KEY':
        keys.anthropicApiKey = value;
        break;
      case 'ANTHROPIC_AUTH_TOKEN':
      case 'CLAUDE_CODE_OAUTH_TOKEN':
        keys.anthropicAuthToken = value;
        break;
      case 'OPENAI_API_KEY':
      case 'CODEX_API_KEY':
        keys.openaiApiKey = value;
        break;
      default:
        env[name] = value;
    }
  }
  return { keys, env };
}

/** Every secret value in a request, for masking and for the secret scan. */
export function secretValues(keys: ProviderKeys, secrets: Record<string, string> = {}): string[] {
  return [keys.anthropicApiKey, keys.anthropicAuthToken, keys.openaiApiKey, ...Object.values(secrets)].filter(
    (value): value is string => typeof value === 'string' && value.length >= 4,
  );
}

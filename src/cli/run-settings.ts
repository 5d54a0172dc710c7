import { loadConfigFile } from '../config/load.js';
import { InputError } from '../config/problems.js';
import { mergeLayers } from '../config/schema.js';
import { resolveRepo } from '../sandbox/repo-source.js';
import type { RunFlags } from './commands/run.js';
import type { CommandContext } from './context.js';
import { parseEnvFlags, settingsFromFlags } from './flags.js';

/** The settings of one sandbox from .caged.yaml and the flags, checked before anything starts. */
export async function resolveRunSettings(context: CommandContext, flags: RunFlags) {
  const { config } = await loadConfigFile(flags.config);
  const settings = mergeLayers(config, settingsFromFlags(flags));
  if (settings.budget === undefined) throw InputError.at('--budget', 'a budget is required: pass --budget 5 or set budget in .caged.yaml');
  if (flags.repo !== undefined) {
    try {
      resolveRepo(flags.repo);
    } catch (error) {
      throw InputError.at('--repo', (error as Error).message);
    }
  }
  return { settings, env: parseEnvFlags(flags.env, context.io.env) };
}

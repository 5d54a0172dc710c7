import type { Command } from '../sandbox/types.js';
import { clip, LineSplitter } from './lines.js';
import type { AgentDriver, OutputReader } from './types.js';

const FINAL_MESSAGE_CHARS = 4000;

/** Any command: the prompt reaches it as $CAGED_PROMPT and $CAGED_PROMPT_FILE, never in a shell string. */
export function commandDriver(command: string | string[]): AgentDriver {
  return {
    name: 'command',
    launch() {
      const argv = typeof command === 'string' ? ['sh', '-c', command] : command;
      return { argv, env: {} };
    },
    reader: commandReader,
  };
}

export function commandToArgv(command: Command): string[] {
  return 'argv' in command ? command.argv : ['sh', '-c', command.shell];
}

/** The last lines of stdout are the command's final message. */
export function commandReader(): OutputReader {
  const lines = new LineSplitter();
  let tail = '';
  return {
    push(chunk) {
      tail = (tail + (typeof chunk === 'string' ? chunk : chunk.toString('utf8'))).slice(-FINAL_MESSAGE_CHARS * 2);
      return lines
        .push(chunk)
        .filter((line) => line.trim() !== '')
        .map((line) => clip(line.trim(), 120));
    },
    result() {
      const text = tail.trim();
      return text ? { finalMessage: text.length > FINAL_MESSAGE_CHARS ? `…${text.slice(-FINAL_MESSAGE_CHARS)}` : text } : {};
    },
  };
}


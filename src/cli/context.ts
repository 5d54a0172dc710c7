import type { Io } from './output.js';

/** What every command gets: where to write and the exit code it sets. */
export interface CommandContext {
  io: Io;
  exitCode: number;
}

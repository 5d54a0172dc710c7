import * as core from '@actions/core';
import { abortOnSignals } from '../process/interrupt.js';

/**
 * GitHub cancels a job with SIGINT, then SIGTERM 7.5 s later, then SIGKILL. The first signal
 * aborts the batch (every sandbox is stopped) and the action goes on to write the partial
 * summary and outputs; later signals must not cut that short, so they are only logged.
 */
export function cancelOnSignals(): { signal: AbortSignal; dispose(): void } {
  return abortOnSignals({
    first: (signal) => core.warning(`caged: ${signal} received — stopping every sandbox and writing partial results`),
    again: (signal) => core.info(`caged: ${signal} received; still writing the partial results`),
  });
}

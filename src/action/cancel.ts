import * as core from '@actions/core';

/**
 * GitHub cancels a job with SIGINT, then SIGTERM 7.5 s later, then SIGKILL. The first signal
 * aborts the batch (every sandbox is stopped) and the action goes on to write the partial
 * summary and outputs; later signals must not cut that short, so they are only logged.
 */
export function cancelOnSignals(): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const handler = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) {
      core.info(`caged: ${signal} received; still writing the partial results`);
      return;
    }
    core.warning(`caged: ${signal} received — stopping every sandbox and writing partial results`);
    controller.abort(new Error(`cancelled by ${signal}`));
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    signal: controller.signal,
    dispose() {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}

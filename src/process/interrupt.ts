/**
 * SIGINT/SIGTERM abort the work in hand instead of killing the process, so every sandbox is
 * stopped and partial results are written. What a repeated signal does is the caller's choice:
 * a terminal user wants out at once, a GitHub runner sends SIGTERM after SIGINT regardless.
 */
export function abortOnSignals(handlers: { first: (signal: NodeJS.Signals) => void; again: (signal: NodeJS.Signals) => void }): {
  signal: AbortSignal;
  dispose(): void;
} {
  const controller = new AbortController();
  const handler = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) {
      handlers.again(signal);
      return;
    }
    handlers.first(signal);
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

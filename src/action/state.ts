/** What the main step hands to the post step (`core.saveState` / `core.getState`). */
export const STATE = { runId: 'run-id', backend: 'backend', stateRoot: 'state-root' } as const;

/** dockerode errors carry the engine's HTTP status in `statusCode`. */
export function dockerStatus(error: unknown): number | undefined {
  const status = (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === 'number' ? status : undefined;
}

/** Runs a removal or kill where "already gone" (404) and "not running / in progress" (409) count as done. */
export async function ignoreGone(action: () => Promise<unknown>): Promise<void> {
  try {
    await action();
  } catch (error) {
    const status = dockerStatus(error);
    if (status !== 404 && status !== 409) throw error;
  }
}

/** The engine's own message, without dockerode's "(HTTP code 404) no such container -" prefix. */
export function dockerMessage(error: unknown): string {
  const json = (error as { json?: { message?: unknown } } | null)?.json;
  if (json && typeof json.message === 'string') return json.message;
  return error instanceof Error ? error.message : String(error);
}

import type { EngineEvent } from './service.js';

/** A synchronous fan-out of engine events; a throwing listener never breaks the engine. */
export class EventHub {
  readonly #listeners = new Set<(event: EngineEvent) => void>();

  subscribe(listener: (event: EngineEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  emit(event: EngineEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch {
        // A face's rendering bug must not stop budget enforcement.
      }
    }
  }
}

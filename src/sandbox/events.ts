import { StringDecoder } from 'node:string_decoder';
import type Docker from 'dockerode';
import { LABELS, type BackendEvent } from './types.js';

/** Splits newline-delimited JSON that arrives in arbitrary chunks; a malformed line is skipped, never fatal. */
export class NdjsonSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private pending = '';

  push(chunk: Buffer | string): unknown[] {
    this.pending += typeof chunk === 'string' ? chunk : this.decoder.write(chunk);
    const lines = this.pending.split('\n');
    this.pending = lines.pop() ?? '';
    const values: unknown[] = [];
    for (const line of lines) {
      const text = line.trim();
      if (!text) continue;
      try {
        values.push(JSON.parse(text));
      } catch {
        // A torn or foreign line: skip it, the next one starts clean.
      }
    }
    return values;
  }
}

/** The fields of a Docker engine event that matter here. */
export interface DockerEventMessage {
  Type?: string;
  Action?: string;
  time?: number;
  timeNano?: number;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
}

export type ParsedEvent =
  | { type: 'oom'; id: string; containerId: string }
  | { type: 'die'; id: string; containerId: string; exitCode: number };

/** A caged container's `oom` or `die`; everything else (other objects, other actions, foreign containers) is ignored. */
export function parseDockerEvent(value: unknown): ParsedEvent | undefined {
  const message = value as DockerEventMessage | null;
  if (!message || typeof message !== 'object' || message.Type !== 'container') return undefined;
  const attributes = message.Actor?.Attributes ?? {};
  const id = attributes[LABELS.id];
  const containerId = message.Actor?.ID;
  // Helper containers (network holder, clean-up) carry a role; only the sandbox's own end matters.
  if (attributes[LABELS.managed] !== 'true' || attributes[LABELS.role] || !id || !containerId) return undefined;
  if (message.Action === 'oom') return { type: 'oom', id, containerId };
  if (message.Action === 'die') {
    const exitCode = Number(attributes.exitCode);
    return { type: 'die', id, containerId, exitCode: Number.isInteger(exitCode) ? exitCode : -1 };
  }
  return undefined;
}

export interface EventStreamOptions {
  /** Wait before reconnecting after the stream drops. */
  retryMs?: number;
  onError?: (error: unknown) => void;
}

const SEEN_KEEP = 512;

/**
 * Docker's event stream for caged containers, turned into backend events. A dropped stream
 * is reopened from the time of the last event seen, and events seen twice across the
 * reconnect are delivered once.
 */
export class DockerEventStream {
  private readonly abort = new AbortController();
  private readonly seen: string[] = [];
  private readonly oomSeen = new Set<string>();
  private since: string | undefined;
  private queue: Promise<void> = Promise.resolve();
  private closed = false;
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly docker: Docker,
    private readonly emit: (event: BackendEvent) => void,
    private readonly options: EventStreamOptions = {},
  ) {}

  /** Resolves once the engine has accepted the subscription, so no later event is missed. */
  async start(): Promise<void> {
    await this.connect();
  }

  close(): void {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.abort.abort();
  }

  private async connect(): Promise<void> {
    const stream = await this.docker.getEvents({
      ...(this.since ? { since: this.since } : {}),
      filters: { type: ['container'], event: ['oom', 'die'], label: [`${LABELS.managed}=true`] },
      abortSignal: this.abort.signal,
    } as Docker.GetEventsOptions);
    const splitter = new NdjsonSplitter();
    stream.on('data', (chunk: Buffer) => {
      for (const value of splitter.push(chunk)) this.accept(value as DockerEventMessage);
    });
    let dropped = false;
    const reconnect = (error?: unknown) => {
      if (dropped || this.closed) return;
      dropped = true;
      if (error) this.options.onError?.(error);
      this.retryTimer = setTimeout(() => {
        this.connect().catch((failure: unknown) => {
          dropped = false;
          reconnect(failure);
        });
      }, this.options.retryMs ?? 500);
      this.retryTimer.unref();
    };
    stream.on('end', () => reconnect());
    stream.on('close', () => reconnect());
    stream.on('error', (error) => reconnect(error));
  }

  private accept(message: DockerEventMessage): void {
    if (message.timeNano) {
      const key = `${message.timeNano}/${message.Actor?.ID}/${message.Action}`;
      if (this.seen.includes(key)) return;
      this.seen.push(key);
      if (this.seen.length > SEEN_KEEP) this.seen.shift();
    }
    if (message.time) this.since = String(message.time);
    const event = parseDockerEvent(message);
    if (!event) return;
    // In order: a die waits for its inspect, and the oom before it must not overtake nor trail it.
    this.queue = this.queue.then(() => this.deliver(event)).catch((error: unknown) => this.options.onError?.(error));
  }

  private async deliver(event: ParsedEvent): Promise<void> {
    if (event.type === 'oom') {
      this.oomSeen.add(event.containerId);
      this.emit({ type: 'oom', id: event.id });
      return;
    }
    let oomKilled = this.oomSeen.has(event.containerId);
    this.oomSeen.delete(event.containerId);
    try {
      const info = await this.docker.getContainer(event.containerId).inspect();
      oomKilled ||= info.State.OOMKilled;
    } catch {
      // Removed already; the oom event (if we saw it) still tells.
    }
    this.emit({ type: 'die', id: event.id, exitCode: event.exitCode, oomKilled });
  }
}

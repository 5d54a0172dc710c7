/** One server-sent event as dispatched by a blank line. */
export interface SseEvent {
  /** The `event:` field, or undefined for the default "message" type. */
  event: string | undefined;
  /** All `data:` lines joined with "\n". */
  data: string;
}

/**
 * Incremental SSE parser (WHATWG EventSource rules): accepts bytes split anywhere, even inside
 * a multi-byte character or between the CR and LF of a line ending, and returns each event once
 * its terminating blank line has arrived.
 */
export class SseParser {
  readonly #decoder = new TextDecoder('utf-8');
  #pending = '';
  #event: string | undefined;
  #data: string[] = [];
  #hasData = false;
  #started = false;

  push(chunk: Uint8Array | string): SseEvent[] {
    let text = typeof chunk === 'string' ? chunk : this.#decoder.decode(chunk, { stream: true });
    if (!this.#started && text.length > 0) {
      this.#started = true;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    return this.#lines(text, false);
  }

  /** Flushes at end of stream; an event without its blank line is dropped, as the spec says. */
  end(): SseEvent[] {
    const events = this.#lines(this.#decoder.decode(), true);
    this.#event = undefined;
    this.#data = [];
    this.#hasData = false;
    return events;
  }

  #lines(more: string, final: boolean): SseEvent[] {
    const events: SseEvent[] = [];
    const text = this.#pending + more;
    // The pending tail holds no line break (bar a trailing CR): scan only the new bytes, so a long
    // line arriving in many chunks costs linear time.
    let scanFrom = Math.max(0, this.#pending.length - 1);
    let start = 0;
    for (;;) {
      let end = Math.max(start, scanFrom);
      scanFrom = 0;
      while (end < text.length && text[end] !== '\n' && text[end] !== '\r') end += 1;
      if (end === text.length) break;
      // A CR at the very end of a chunk may be the first half of CRLF: wait for the next byte.
      if (text[end] === '\r' && end + 1 === text.length && !final) break;
      const line = text.slice(start, end);
      start = end + (text[end] === '\r' && text[end + 1] === '\n' ? 2 : 1);
      const event = this.#line(line);
      if (event) events.push(event);
    }
    this.#pending = final ? '' : text.slice(start);
    return events;
  }

  #line(line: string): SseEvent | undefined {
    if (line === '') {
      if (!this.#hasData) {
        this.#event = undefined;
        return undefined;
      }
      const event = { event: this.#event, data: this.#data.join('\n') };
      this.#event = undefined;
      this.#data = [];
      this.#hasData = false;
      return event;
    }
    if (line.startsWith(':')) return undefined;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') {
      this.#data.push(value);
      this.#hasData = true;
    } else if (field === 'event') {
      this.#event = value;
    }
    return undefined;
  }
}

/** Serialises an event back to the wire (used where the gateway must drop or add events). */
export function formatSse(event: SseEvent): string {
  const head = event.event === undefined ? '' : `event: ${event.event}\n`;
  return `${head}${event.data
    .split('\n')
    .map((line) => `data: ${line}\n`)
    .join('')}\n`;
}

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
  /** Pieces of the line still waiting for its line break (kept apart so long lines cost linear time). */
  #partial: string[] = [];
  /** The last chunk ended in CR: a LF opening the next one belongs to the same line break. */
  #skipLf = false;
  #event: string | undefined;
  #data: string[] = [];
  #hasData = false;
  #started = false;

  push(chunk: Uint8Array | string): SseEvent[] {
    let text = typeof chunk === 'string' ? chunk : this.#decoder.decode(chunk, { stream: true });
    if (!this.#started && text.length > 0) {
      this.#started = true;
      // The decoder already stripped one BOM from bytes (the spec strips one); a string still carries it.
      if (typeof chunk === 'string' && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    return this.#lines(text);
  }

  /** Flushes at end of stream; an event without its blank line is dropped, as the spec says. */
  end(): SseEvent[] {
    const events = this.#lines(this.#decoder.decode());
    this.#partial = [];
    this.#event = undefined;
    this.#data = [];
    this.#hasData = false;
    return events;
  }

  #lines(text: string): SseEvent[] {
    const events: SseEvent[] = [];
    let start = 0;
    if (this.#skipLf && text.length > 0) {
      this.#skipLf = false;
      if (text[0] === '\n') start = 1;
    }
    const breaks = /[\r\n]/g;
    breaks.lastIndex = start;
    for (let found = breaks.exec(text); found; found = breaks.exec(text)) {
      const end = found.index;
      const tail = text.slice(start, end);
      const line = this.#partial.length > 0 ? this.#partial.join('') + tail : tail;
      this.#partial = [];
      start = end + 1;
      if (text[end] === '\r') {
        if (end + 1 === text.length) this.#skipLf = true;
        else if (text[end + 1] === '\n') start += 1;
      }
      breaks.lastIndex = start;
      const event = this.#line(line);
      if (event) events.push(event);
    }
    if (start < text.length) this.#partial.push(text.slice(start));
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

const LF = 0x0a;
const CR = 0x0d;

/**
 * Splits an SSE byte stream into whole events: the raw bytes up to and including each blank line,
 * whatever the chunking. Forwarding whole events verbatim keeps the provider's bytes while letting
 * the gateway drop an event, or end the stream cleanly between two events.
 */
export class SseFramer {
  #pending: Buffer[] = [];
  #lineLength = 0;
  #afterCr = false;

  push(chunk: Buffer): Buffer[] {
    const blocks: Buffer[] = [];
    let start = 0;
    for (let index = 0; index < chunk.length; index += 1) {
      const byte = chunk[index];
      if (this.#afterCr) {
        this.#afterCr = false;
        if (byte === LF) continue;
      }
      if (byte !== CR && byte !== LF) {
        this.#lineLength += 1;
        continue;
      }
      this.#afterCr = byte === CR;
      const blank = this.#lineLength === 0;
      this.#lineLength = 0;
      if (!blank) continue;
      // A CRLF blank line ends after its LF (when that LF is in this chunk; else it opens the next block).
      if (byte === CR && chunk[index + 1] === LF) {
        index += 1;
        this.#afterCr = false;
      }
      this.#pending.push(chunk.subarray(start, index + 1));
      blocks.push(Buffer.concat(this.#pending));
      this.#pending = [];
      start = index + 1;
    }
    if (start < chunk.length) this.#pending.push(chunk.subarray(start));
    return blocks;
  }

  /** The bytes after the last complete event (an event the stream never finished). */
  rest(): Buffer {
    const rest = Buffer.concat(this.#pending);
    this.#pending = [];
    return rest;
  }
}

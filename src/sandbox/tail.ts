/**
 * The last `capacity` bytes of a stream, decoded as UTF-8 without a broken first character.
 * A fixed ring: pushing allocates nothing and keeps no reference to the caller's buffers.
 */
export class TailBuffer {
  private ring: Buffer | undefined;
  /** Where the next byte goes. */
  private end = 0;
  private filled = 0;
  private dropped = false;

  constructor(private readonly capacity: number) {}

  push(chunk: Buffer): void {
    if (this.capacity <= 0 || chunk.length === 0) return;
    this.ring ??= Buffer.alloc(this.capacity);
    let source = chunk;
    if (source.length > this.capacity) {
      this.dropped = true;
      source = source.subarray(source.length - this.capacity);
    }
    if (this.filled + source.length > this.capacity) this.dropped = true;
    const first = Math.min(source.length, this.capacity - this.end);
    source.copy(this.ring, this.end, 0, first);
    source.copy(this.ring, 0, first);
    this.end = (this.end + source.length) % this.capacity;
    this.filled = Math.min(this.capacity, this.filled + source.length);
  }

  /** Bytes were dropped from the front. */
  get truncated(): boolean {
    return this.dropped;
  }

  toString(): string {
    if (!this.ring || this.filled === 0) return '';
    const start = (this.end - this.filled + this.capacity) % this.capacity;
    let bytes =
      start + this.filled <= this.capacity
        ? this.ring.subarray(start, start + this.filled)
        : Buffer.concat([this.ring.subarray(start), this.ring.subarray(0, this.end)]);
    if (this.dropped) {
      // Skip UTF-8 continuation bytes left over from a character cut at the front.
      let skip = 0;
      while (skip < bytes.length && skip < 3 && (bytes[skip]! & 0xc0) === 0x80) skip += 1;
      bytes = bytes.subarray(skip);
    }
    return bytes.toString('utf8');
  }
}

/** The last `count` non-empty lines of a text. */
export function lastLines(text: string, count: number): string {
  return text
    .split('\n')
    .map((line) => line.trimEnd())
    .filter(Boolean)
    .slice(-count)
    .join('\n');
}

/**
 * How many leading bytes of `bytes` end on a character boundary: a UTF-8 sequence still being
 * written at the end is left for the next read, so a reader that resumes at that offset never
 * splits a character.
 */
export function completeUtf8Length(bytes: Uint8Array): number {
  for (let back = 1; back <= Math.min(3, bytes.length); back += 1) {
    const byte = bytes[bytes.length - back]!;
    if ((byte & 0xc0) === 0x80) continue;
    const needed = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return needed > back ? bytes.length - back : bytes.length;
  }
  return bytes.length;
}

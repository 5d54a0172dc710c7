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

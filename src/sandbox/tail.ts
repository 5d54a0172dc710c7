/** The last `capacity` bytes of a stream, decoded as UTF-8 without a broken first character. */
export class TailBuffer {
  private chunks: Buffer[] = [];
  private size = 0;
  private dropped = false;

  constructor(private readonly capacity: number) {}

  push(chunk: Buffer): void {
    if (this.capacity <= 0 || chunk.length === 0) return;
    if (chunk.length >= this.capacity) {
      this.chunks = [Buffer.from(chunk.subarray(chunk.length - this.capacity))];
      this.dropped ||= chunk.length > this.capacity || this.size > 0;
      this.size = this.capacity;
      return;
    }
    // Copy: the producer may reuse its buffer, and a slice would pin the whole of it.
    this.chunks.push(Buffer.from(chunk));
    this.size += chunk.length;
    while (this.size > this.capacity) {
      const first = this.chunks[0]!;
      const excess = this.size - this.capacity;
      this.dropped = true;
      if (first.length <= excess) {
        this.chunks.shift();
        this.size -= first.length;
      } else {
        this.chunks[0] = first.subarray(excess);
        this.size -= excess;
      }
    }
  }

  /** Bytes were dropped from the front. */
  get truncated(): boolean {
    return this.dropped;
  }

  toString(): string {
    let bytes = Buffer.concat(this.chunks);
    if (this.dropped) {
      // Skip UTF-8 continuation bytes left over from a character cut at the front.
      let start = 0;
      while (start < bytes.length && start < 3 && (bytes[start]! & 0xc0) === 0x80) start += 1;
      bytes = bytes.subarray(start);
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

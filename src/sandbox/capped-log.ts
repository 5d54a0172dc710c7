import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { dirname } from 'node:path';

export const DEFAULT_LOG_CAP_BYTES = 10 * 1024 * 1024;

export function truncationMarker(capBytes: number): string {
  return `\n[caged: log truncated at ${capBytes} bytes; later output is dropped]\n`;
}

/**
 * An append-only log file that stops growing at a cap, counting what earlier commands of the
 * same sandbox already wrote, and says so once with a marker line.
 */
export class CappedLog {
  private constructor(
    private readonly stream: WriteStream,
    private readonly capBytes: number,
    private written: number,
  ) {}

  static async open(path: string, capBytes: number = DEFAULT_LOG_CAP_BYTES): Promise<CappedLog> {
    await mkdir(dirname(path), { recursive: true });
    const existing = await stat(path).then(
      (stats) => stats.size,
      () => 0,
    );
    return new CappedLog(createWriteStream(path, { flags: 'a' }), capBytes, existing);
  }

  /** False when the caller should wait for `onDrain` before writing more. */
  write(chunk: Buffer): boolean {
    if (this.written >= this.capBytes) return true;
    const room = this.capBytes - this.written;
    if (chunk.length < room) {
      this.written += chunk.length;
      return this.stream.write(chunk);
    }
    this.written = this.capBytes;
    this.stream.write(chunk.subarray(0, room));
    return this.stream.write(truncationMarker(this.capBytes));
  }

  onDrain(listener: () => void): void {
    this.stream.once('drain', listener);
  }

  close(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.stream.once('error', reject);
      this.stream.end(() => resolve());
    });
  }
}

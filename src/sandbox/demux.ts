export type StreamKind = 'stdout' | 'stderr';

const HEADER_BYTES = 8;

/**
 * Splits Docker's multiplexed attach stream (frames of an 8-byte header — stream type, 3 zero
 * bytes, big-endian payload length — then the payload) into stdout and stderr.
 *
 * Payloads go out as views into the incoming chunks: only a header cut across two chunks is
 * copied, so a flood of output costs no more than the chunks Docker sends. (dockerode's
 * demuxStream copies each chunk two or three times.)
 */
export class DockerStreamDemuxer {
  private header = Buffer.alloc(HEADER_BYTES);
  private headerFill = 0;
  private remaining = 0;
  private kind: StreamKind = 'stdout';

  constructor(private readonly emit: (kind: StreamKind, payload: Buffer) => void) {}

  push(chunk: Buffer): void {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.remaining === 0) {
        const take = Math.min(HEADER_BYTES - this.headerFill, chunk.length - offset);
        chunk.copy(this.header, this.headerFill, offset, offset + take);
        this.headerFill += take;
        offset += take;
        if (this.headerFill < HEADER_BYTES) return;
        this.headerFill = 0;
        // Type 2 is stderr; 0 (stdin) and 1 are shown as stdout.
        this.kind = this.header[0] === 2 ? 'stderr' : 'stdout';
        this.remaining = this.header.readUInt32BE(4);
        continue;
      }
      const take = Math.min(this.remaining, chunk.length - offset);
      this.emit(this.kind, chunk.subarray(offset, offset + take));
      this.remaining -= take;
      offset += take;
    }
  }
}

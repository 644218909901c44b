import type { FileHandle } from 'node:fs/promises';

/**
 * The two ways the archive readers get bytes: by offset from a file (tar and zip listings, which
 * read headers only and leave member data in place), and in order from a stream (gunzipped tar).
 */

/** Reads at offsets through one cached window, so a run of tiny tar members costs one read per window. */
export class RandomReader {
  private window = Buffer.alloc(0);
  private windowStart = 0;

  constructor(
    private readonly handle: FileHandle,
    readonly size: number,
    private readonly windowBytes = 64 * 1024,
  ) {}

  /** Bytes [offset, offset + length), shorter where the file ends. */
  async read(offset: number, length: number): Promise<Buffer> {
    const end = Math.min(offset + length, this.size);
    if (offset >= end) return Buffer.alloc(0);
    if (offset >= this.windowStart && end <= this.windowStart + this.window.length) {
      return this.window.subarray(offset - this.windowStart, end - this.windowStart);
    }
    const want = Math.min(Math.max(end - offset, this.windowBytes), this.size - offset);
    const buf = Buffer.alloc(want);
    let got = 0;
    while (got < want) {
      const { bytesRead } = await this.handle.read(buf, got, want - got, offset + got);
      if (bytesRead === 0) break; // the file shrank while we read it
      got += bytesRead;
    }
    this.window = buf.subarray(0, got);
    this.windowStart = offset;
    return this.window.subarray(0, Math.min(end - offset, got));
  }
}

/** The stream ended inside something it had announced (a header, a member's data). */
export class StreamEnded extends Error {}

/**
 * Pulls a stream's chunks on demand (so backpressure holds: nothing is read ahead of the parser
 * but the stream's own buffer) and counts the bytes taken, for the ratio check.
 */
export class StreamSource {
  private readonly chunks: AsyncIterator<Buffer>;
  private pending: Buffer = Buffer.alloc(0);
  /** Bytes pulled from the stream so far. */
  pulled = 0;
  /** The member whose data is being read (set by the parser), so a failure can name it. */
  member: string | undefined;

  constructor(
    stream: AsyncIterable<Buffer>,
    private readonly onPull: (pulledBytes: number) => void = () => {},
  ) {
    this.chunks = stream[Symbol.asyncIterator]();
  }

  private async fill(): Promise<boolean> {
    const next = await this.chunks.next();
    if (next.done === true) return false;
    const chunk = next.value;
    this.pulled += chunk.length;
    this.onPull(this.pulled);
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    return true;
  }

  /** Exactly n bytes (n small: a header); undefined at a clean end; StreamEnded inside them. */
  async exact(n: number): Promise<Buffer | undefined> {
    while (this.pending.length < n) {
      if (!(await this.fill())) {
        if (this.pending.length === 0) return undefined;
        throw new StreamEnded(`the stream ends inside a ${n}-byte block`);
      }
    }
    const out = this.pending.subarray(0, n);
    this.pending = this.pending.subarray(n);
    return out;
  }

  /** The next n bytes as they arrive, chunk by chunk; StreamEnded if the stream ends first. */
  async *take(n: number): AsyncGenerator<Buffer> {
    let left = n;
    while (left > 0) {
      if (this.pending.length === 0 && !(await this.fill())) {
        throw new StreamEnded(`the stream ends ${left} bytes before the end of the member`);
      }
      const piece = this.pending.subarray(0, Math.min(left, this.pending.length));
      this.pending = this.pending.subarray(piece.length);
      left -= piece.length;
      yield piece;
    }
  }

  async skip(n: number): Promise<void> {
    for await (const piece of this.take(n)) void piece;
  }

  /** Lets the underlying stream go (its iterator's return destroys it). */
  async close(): Promise<void> {
    await this.chunks.return?.();
  }
}

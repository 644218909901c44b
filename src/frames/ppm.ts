import type { Readable } from 'node:stream';

export interface RgbFrame {
  width: number;
  height: number;
  /** width * height * 3 bytes, RGB. */
  data: Buffer;
}

const HEADER = /^P6\s+(\d+)\s+(\d+)\s+(\d+)\s/;

/**
 * Split ffmpeg's `-f image2pipe -c:v ppm` output (binary PPM images back to back) into frames.
 * Each PPM carries its own size, so no output size has to be predicted from ffmpeg's scaler.
 * Pixel bytes are copied once, straight into a buffer of the frame's size (appending chunks to a
 * growing buffer would copy a large frame once per chunk). Holds one frame plus one chunk.
 */
export async function* readPpmStream(stream: Readable): AsyncGenerator<RgbFrame> {
  let pending: Buffer = Buffer.alloc(0); // header bytes not yet complete
  let frame: RgbFrame | undefined;
  let filled = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    let at = 0;
    while (at < chunk.length) {
      if (frame === undefined) {
        // Headers are tiny: gather at most 64 bytes to parse one.
        const need = Math.min(64 - pending.length, chunk.length - at);
        const head = Buffer.concat([pending, chunk.subarray(at, at + need)]);
        const m = HEADER.exec(head.toString('latin1'));
        if (m === null) {
          if (head.length >= 64) throw new Error('unexpected data in ffmpeg output (not a PPM image)');
          pending = head;
          at += need;
          continue;
        }
        if (Number(m[3]) !== 255) throw new Error(`unsupported PPM max value ${m[3]}`);
        const width = Number(m[1]);
        const height = Number(m[2]);
        frame = { width, height, data: Buffer.allocUnsafe(width * height * 3) };
        filled = 0;
        // Bytes of `head` past the header came from this chunk: rewind `at` to them.
        at += m[0].length - pending.length;
        pending = Buffer.alloc(0);
      }
      const n = Math.min(frame.data.length - filled, chunk.length - at);
      chunk.copy(frame.data, filled, at, at + n);
      filled += n;
      at += n;
      if (filled === frame.data.length) {
        yield frame;
        frame = undefined;
      }
    }
  }
  if (frame !== undefined || pending.length > 0) throw new Error('ffmpeg output ended inside an image');
}

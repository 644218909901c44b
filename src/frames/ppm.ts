import type { Readable } from 'node:stream';

export interface RgbFrame {
  width: number;
  height: number;
  /** width * height * 3 bytes, RGB. */
  data: Buffer;
}

/**
 * Split ffmpeg's `-f image2pipe -c:v ppm` output (binary PPM images back to back) into frames.
 * Each PPM carries its own size, so no output size has to be predicted from ffmpeg's scaler.
 * Holds at most one frame plus one chunk in memory.
 */
export async function* readPpmStream(stream: Readable): AsyncGenerator<RgbFrame> {
  let buf: Buffer = Buffer.alloc(0);
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
    for (;;) {
      const header = /^P6\s+(\d+)\s+(\d+)\s+(\d+)\s/.exec(buf.subarray(0, 64).toString('latin1'));
      if (header === null) {
        if (buf.length >= 64) throw new Error('unexpected data in ffmpeg output (not a PPM image)');
        break;
      }
      const width = Number(header[1]);
      const height = Number(header[2]);
      if (Number(header[3]) !== 255) throw new Error(`unsupported PPM max value ${header[3]}`);
      const start = header[0].length;
      const size = width * height * 3;
      if (buf.length < start + size) break;
      yield { width, height, data: Buffer.from(buf.subarray(start, start + size)) };
      buf = buf.subarray(start + size);
    }
  }
  if (buf.length > 0) throw new Error(`ffmpeg output ended inside an image (${buf.length} bytes left)`);
}

import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { readPpmStream } from '../../src/frames/ppm.js';

function ppm(width: number, height: number, fill: number): Buffer {
  return Buffer.concat([Buffer.from(`P6\n${width} ${height}\n255\n`, 'latin1'), Buffer.alloc(width * height * 3, fill)]);
}

async function collect(chunks: Buffer[]) {
  const out = [];
  for await (const f of readPpmStream(Readable.from(chunks))) out.push(f);
  return out;
}

describe('readPpmStream', () => {
  const stream = Buffer.concat([ppm(3, 2, 7), ppm(1, 1, 200), ppm(5, 4, 42)]);

  it('splits back-to-back images whatever the chunk boundaries', async () => {
    for (const size of [1, 2, 3, 7, 13, 64, stream.length]) {
      const chunks = [];
      for (let i = 0; i < stream.length; i += size) chunks.push(stream.subarray(i, i + size));
      const frames = await collect(chunks);
      expect(frames.map((f) => [f.width, f.height, f.data.length, f.data[0]])).toEqual([
        [3, 2, 18, 7],
        [1, 1, 3, 200],
        [5, 4, 60, 42],
      ]);
    }
  });

  it('rejects garbage and a stream cut inside an image', async () => {
    await expect(collect([Buffer.alloc(100, 65)])).rejects.toThrow(/not a PPM/);
    await expect(collect([stream.subarray(0, stream.length - 5)])).rejects.toThrow(/ended inside an image/);
  });
});

import path from 'node:path';
import sharp from 'sharp';
import type { FramesManifest } from './output.js';

function label(t: number): string {
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const s = (t % 60).toFixed(2).padStart(5, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

/**
 * A grid of the extracted frames with their timestamps: one image to eyeball a selection.
 * Tiles are `tileWidth` wide; the grid is about square.
 */
export async function writeContactSheet(manifest: FramesManifest, dir: string, out: string, tileWidth = 240): Promise<void> {
  const frames = manifest.frames;
  if (frames.length === 0) return;
  const first = frames[0]!;
  const tileHeight = Math.max(1, Math.round((tileWidth * first.height) / first.width));
  const cols = Math.ceil(Math.sqrt(frames.length));
  const rows = Math.ceil(frames.length / cols);
  const labelHeight = 22;
  const composites = await Promise.all(
    frames.map(async (f, i) => {
      const x = (i % cols) * tileWidth;
      const y = Math.floor(i / cols) * (tileHeight + labelHeight);
      const tile = await sharp(path.join(dir, f.file)).resize(tileWidth, tileHeight, { fit: 'contain', background: '#000' }).toBuffer();
      const text = Buffer.from(
        `<svg xmlns="http://www.w3.org/2000/svg" width="${tileWidth}" height="${labelHeight}"><rect width="100%" height="100%" fill="#111"/>` +
          `<text x="6" y="16" font-family="DejaVu Sans Mono, monospace" font-size="13" fill="#eee">#${f.index} ${label(f.timestamp)}</text></svg>`,
      );
      return [
        { input: tile, left: x, top: y },
        { input: text, left: x, top: y + tileHeight },
      ];
    }),
  );
  await sharp({ create: { width: cols * tileWidth, height: rows * (tileHeight + labelHeight), channels: 3, background: '#000' } })
    .composite(composites.flat())
    .jpeg({ quality: 85 })
    .toFile(out);
}

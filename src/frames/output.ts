import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { FrameSelection, PlannedFrame, Strategy } from './plan.js';
import type { RgbFrame } from './ppm.js';
import type { FrameTimeline } from './timeline.js';
import { VdedupError } from '../errors.js';

/** What frame extraction writes: each frame as an image (sharp), and frames.json, the manifest. */

export type ImageFormat = 'jpg' | 'png' | 'webp';
export type Fit = 'inside' | 'cover' | 'fill';

export interface OutputOptions {
  format?: ImageFormat;
  width?: number;
  height?: number;
  /** With both width and height: keep the aspect ratio inside the box, fill and crop, or stretch. */
  fit?: Fit;
  /** JPEG/WebP quality, 1-100. */
  quality?: number;
}

export interface ExtractedFrame {
  index: number;
  /** The time asked for (seconds from the first frame; for --count and --random the frame's own). */
  requested: number;
  /** The frame returned: its index among the video's frames, and its decoded presentation time (seconds from the first frame). */
  frame: number;
  timestamp: number;
  file: string;
  width: number;
  height: number;
}

export interface FramesManifest {
  video: string;
  /** True when --fast returned keyframes near the requested times instead of exact frames. */
  fast: boolean;
  /** Seconds from the first frame to the end of the last. */
  duration: number;
  /** The video's frames (the decoder's output), and their average rate. */
  frameCount: number;
  frameRate: number;
  /** Where the frame list came from: the MP4 sample table, a packet scan, or a full decode. */
  timeline: FrameTimeline['source'];
  selection: FrameSelection;
  strategy: Strategy;
  format: ImageFormat;
  frames: ExtractedFrame[];
}

export const FORMATS: readonly ImageFormat[] = ['jpg', 'png', 'webp'];

/** Refuse output options out of range (format, sizes, quality, fit) before any decoding. */
export function checkOutputOptions(o: OutputOptions): void {
  if (o.format !== undefined && !FORMATS.includes(o.format)) {
    throw new VdedupError('INVALID_ARGUMENT', `unknown image format "${o.format}" (expected ${FORMATS.join(', ')})`);
  }
  for (const [name, v] of [['width', o.width], ['height', o.height]] as const) {
    if (v !== undefined && !(Number.isInteger(v) && v >= 16 && v <= 8192)) {
      throw new VdedupError('INVALID_ARGUMENT', `${name} must be an integer from 16 to 8192, got ${v}`);
    }
  }
  if (o.quality !== undefined && !(Number.isInteger(o.quality) && o.quality >= 1 && o.quality <= 100)) {
    throw new VdedupError('INVALID_ARGUMENT', `quality must be an integer from 1 to 100, got ${o.quality}`);
  }
  if (o.fit !== undefined && !['inside', 'cover', 'fill'].includes(o.fit)) {
    throw new VdedupError('INVALID_ARGUMENT', `fit must be inside, cover or fill, got "${o.fit}"`);
  }
}

/** The ffmpeg filter that gives the output size (ffmpeg scales; sharp only encodes), if any. */
export function scaleFilter(o: OutputOptions): string | undefined {
  const w = o.width;
  const h = o.height;
  if (w === undefined && h === undefined) return undefined;
  if (w !== undefined && h !== undefined) {
    switch (o.fit ?? 'inside') {
      case 'fill':
        return `scale=${w}:${h}`;
      case 'cover':
        return `scale=${w}:${h}:force_original_aspect_ratio=increase,crop=${w}:${h}`;
      case 'inside':
        return `scale=${w}:${h}:force_original_aspect_ratio=decrease`;
    }
  }
  return w !== undefined ? `scale=${w}:-2` : `scale=-2:${h}`;
}

let sharpModule: Promise<typeof import('sharp')> | undefined;

/**
 * sharp, loaded once, at the first image to encode: loading it (libvips) takes a while, which
 * extraction then spends while ffmpeg decodes the next frames instead of before starting ffmpeg.
 */
export function loadSharp(): Promise<typeof import('sharp')> {
  sharpModule ??= import('sharp');
  return sharpModule;
}

export async function encodeImage(frame: RgbFrame, o: OutputOptions): Promise<Buffer> {
  const { default: sharp } = await loadSharp();
  const img = sharp(frame.data, { raw: { width: frame.width, height: frame.height, channels: 3 } });
  switch (o.format ?? 'jpg') {
    case 'png':
      return img.png().toBuffer();
    case 'webp':
      return img.webp({ quality: o.quality ?? 85 }).toBuffer();
    default:
      // Standard Huffman tables, as Pillow and libjpeg write by default: sharp's optimised tables
      // make files a little smaller for much more encoding time.
      return img.jpeg({ quality: o.quality ?? 90, optimiseCoding: false }).toBuffer();
  }
}

/** The image file name of a planned frame. */
function fileName(f: PlannedFrame, format: ImageFormat): string {
  return `frame_${String(f.index).padStart(5, '0')}_${f.timestamp.toFixed(3)}s.${format}`;
}

/** The images of one extraction, written into `outDir` as the frames arrive (in any order). */
export class FrameImages {
  private written: ExtractedFrame[] = [];

  constructor(
    private readonly outDir: string,
    private readonly o: OutputOptions,
  ) {}

  /** Encode and write one frame's image for its plan entry; returns how many are written now. */
  async write(planned: PlannedFrame, frame: RgbFrame): Promise<number> {
    const name = fileName(planned, this.o.format ?? 'jpg');
    await writeFile(path.join(this.outDir, name), await encodeImage(frame, this.o));
    this.written.push({ index: planned.index, requested: planned.requested, frame: planned.frame, timestamp: planned.timestamp, file: name, width: frame.width, height: frame.height });
    return this.written.length;
  }

  /** Remove every image written so far (a failed extraction, or one that starts again). */
  async removeAll(): Promise<void> {
    const written = this.written;
    this.written = [];
    await Promise.all(written.map((f) => rm(path.join(this.outDir, f.file), { force: true })));
  }

  /** The frames written, in output order. */
  frames(): ExtractedFrame[] {
    return this.written.sort((a, b) => a.index - b.index);
  }
}

/** The manifest of an extraction: the video's frames as decoded, what was asked, what was written. */
export function framesManifest(
  video: string,
  o: { selection: FrameSelection; fast: boolean; format: ImageFormat },
  decoded: { timeline: FrameTimeline; strategy: Strategy },
  frames: ExtractedFrame[],
): FramesManifest {
  const { timeline, strategy } = decoded;
  const frameCount = timeline.pts.length;
  return {
    video,
    fast: o.fast,
    duration: timeline.duration,
    frameCount,
    frameRate: frameCount / timeline.duration,
    timeline: timeline.source,
    selection: o.selection,
    strategy,
    format: o.format,
    frames,
  };
}

/** Write `frames.json` into `outDir`. */
export async function writeManifest(outDir: string, manifest: FramesManifest): Promise<void> {
  await writeFile(path.join(outDir, 'frames.json'), `${JSON.stringify(manifest, null, 2)}\n`);
}

import sharp from 'sharp';
import { decodeFrames, openFrameSource } from '../frames/extract.js';
import { type PlannedFrame } from '../frames/plan.js';
import type { RgbFrame } from '../frames/ppm.js';
import { frameAt } from '../frames/timeline.js';
import { mapLimit } from '../util/pool.js';
import type { Match, ScanReport } from './engine.js';

/** Frames of one video at the given times (clamped to the video), `width` pixels wide, in the order asked. */
export async function grabFrames(video: string, times: number[], width: number): Promise<RgbFrame[]> {
  const source = await openFrameSource(video);
  const out: RgbFrame[] = new Array(times.length);
  await decodeFrames(
    video,
    source,
    (timeline) =>
      times.map((t, index): PlannedFrame => {
        const frame = frameAt(timeline, Math.max(0, t));
        return { index, requested: t, frame, timestamp: timeline.times[frame]! };
      }),
    { width },
    {
      onFrame: async (p, f) => {
        out[p.index] = f;
      },
      restart: async () => undefined,
    },
  );
  return out;
}

function fmt(t: number): string {
  const m = Math.floor(t / 60);
  return `${m}:${(t - m * 60).toFixed(0).padStart(2, '0')}`;
}

/**
 * The evidence strip of a near-duplicate match: up to `pairs` aligned frame pairs spread over the
 * best window, benchmark frame above training frame, each with both timestamps and the pair's
 * Hamming distance (red when above the match threshold; "(inner)" when the match compared the
 * frames' inner halves). Small WebP, fast to load.
 */
export async function renderEvidenceStrip(m: Match, pairs = 6, tileWidth = 144): Promise<Buffer | undefined> {
  const e = m.evidence;
  if (e === undefined || m.trainPath === undefined || m.benchPath === undefined || e.distances.length === 0) return undefined;
  const n = Math.min(pairs, e.distances.length);
  const pick = Array.from({ length: n }, (_, i) => (n === 1 ? 0 : Math.round((i * (e.distances.length - 1)) / (n - 1))));
  const [benchFrames, trainFrames] = await Promise.all([
    grabFrames(m.benchPath, pick.map((i) => e.benchTimes[i]!), tileWidth),
    grabFrames(m.trainPath, pick.map((i) => e.trainTimes[i]!), tileWidth),
  ]);
  const tileH = Math.max(...[...benchFrames, ...trainFrames].map((f) => Math.round((f.height * tileWidth) / f.width)));
  const label = 30;
  const gap = 4;
  const width = n * (tileWidth + gap) - gap;
  const height = 2 * tileH + label;
  // A match on the inner half of both frames measured its distances there, not on the whole picture.
  const where = m.inner === true ? ' (inner)' : '';
  const tile = (f: RgbFrame) =>
    sharp(f.data, { raw: { width: f.width, height: f.height, channels: 3 } }).resize(tileWidth, tileH, { fit: 'contain', background: '#000' }).png().toBuffer();
  const layers = await Promise.all(
    pick.map(async (idx, col) => {
      const x = col * (tileWidth + gap);
      const d = e.distances[idx]!;
      const svg = Buffer.from(
        `<svg xmlns="http://www.w3.org/2000/svg" width="${tileWidth}" height="${label}"><rect width="100%" height="100%" fill="#1b1b1b"/>` +
          `<text x="4" y="12" font-family="DejaVu Sans, sans-serif" font-size="10" fill="#ddd">bench ${fmt(e.benchTimes[idx]!)}  train ${fmt(e.trainTimes[idx]!)}</text>` +
          `<text x="4" y="25" font-family="DejaVu Sans, sans-serif" font-size="11" font-weight="bold" fill="${d <= e.maxDistance ? '#7fd67f' : '#ff7b7b'}">distance ${d}${where}</text></svg>`,
      );
      return [
        { input: await tile(benchFrames[col]!), left: x, top: 0 },
        { input: svg, left: x, top: tileH },
        { input: await tile(trainFrames[col]!), left: x, top: tileH + label },
      ];
    }),
  );
  return sharp({ create: { width, height, channels: 3, background: '#000' } }).composite(layers.flat()).webp({ quality: 70 }).toBuffer();
}

/**
 * Strips for every near-duplicate of a report, keyed by match index (what reportToHtml takes). A
 * strip that cannot be rendered (a video moved since the scan) becomes a report warning.
 */
export async function renderEvidenceStrips(
  report: ScanReport,
  onProgress?: (done: number, total: number) => void,
  concurrency = 2,
): Promise<Map<number, Buffer>> {
  const strips = new Map<number, Buffer>();
  const nearDups = report.matches.map((m, i) => [m, i] as const).filter(([m]) => m.reason === 'near-duplicate');
  let done = 0;
  await mapLimit(nearDups, concurrency, async ([m, i]) => {
    try {
      const strip = await renderEvidenceStrip(m);
      if (strip !== undefined) strips.set(i, strip);
    } catch (err) {
      report.warnings.push(`no evidence strip for ${m.train} ~ ${m.bench}: ${(err as Error).message}`);
    }
    onProgress?.(++done, nearDups.length);
  });
  return strips;
}

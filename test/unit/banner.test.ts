import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { errorLines, parseInputBanner } from '../../src/media/banner.js';
import { fingerprintVideo } from '../../src/fingerprint/fingerprint.js';
import { clip } from '../helpers/paths.js';
import { ffmpeg, withTempDir } from '../helpers/ffmpeg.js';

const sample = `[info] Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'file:/x/a.mp4':
[info]   Metadata:
[info]     major_brand     : isom
[info]   Duration: 00:01:02.50, start: 0.000000, bitrate: 162 kb/s
[info]   Stream #0:0[0x1](und): Video: mjpeg (Baseline) (mp4v / 0x7634706D), yuvj420p(pc), 300x300, 90000 tbr (attached pic)
[info]   Stream #0:1[0x2](eng): Audio: aac (LC) (mp4a / 0x6134706D), 44100 Hz, stereo, fltp, 128 kb/s (default)
[info]   Stream #0:2[0x3](und): Video: h264 (High) (avc1 / 0x31637661), yuv420p(progressive), 1280x720 [SAR 1:1 DAR 16:9], 1500 kb/s, 29.97 fps, 29.97 tbr, 30k tbn (default)
[info]     Side data:
[info]       displaymatrix: rotation of -90.00 degrees
[info] Stream mapping:
[mov,mp4,m4a,3gp,3g2,mj2 @ 0x55] [error] stream 0, offset 0x218c6: partial file
[error] Error while decoding stream #0:2: Invalid data found when processing input
`;

describe('parseInputBanner', () => {
  it('reads format, duration, the first real video stream (skipping cover art), audio and rotation', () => {
    const b = parseInputBanner(sample);
    expect(b.format).toBe('mov,mp4,m4a,3gp,3g2,mj2');
    expect(b.duration).toBeCloseTo(62.5, 6);
    expect(b.hasAudio).toBe(true);
    expect(b.complete).toBe(true);
    expect(b.video).toMatchObject({ index: 2, videoOrdinal: 1, codec: 'h264', width: 1280, height: 720, rotation: 270 });
    expect(b.video?.fps).toBeCloseTo(29.97, 2);
  });

  it('keeps error-level lines only, with or without a component prefix', () => {
    expect(errorLines(sample)).toEqual([
      'stream 0, offset 0x218c6: partial file',
      'Error while decoding stream #0:2: Invalid data found when processing input',
    ]);
  });

  it('an incomplete banner says so', () => {
    expect(parseInputBanner('[info] Input #0, avi, from \'x\':\n').complete).toBe(false);
    expect(parseInputBanner('').video).toBeUndefined();
  });

  it('fingerprints the real video when the first video stream is cover art', async () => {
    await withTempDir(async (dir) => {
      const cover = path.join(dir, 'cover.png');
      await ffmpeg(['-f', 'lavfi', '-i', 'color=red:size=64x64', '-frames:v', '1', cover]);
      const withCover = path.join(dir, 'with-cover.mp4');
      await ffmpeg(['-i', cover, '-i', clip('testsrc2.mp4'), '-map', '0', '-map', '1', '-c:v:1', 'copy', '-c:v:0', 'png', '-disposition:v:0', 'attached_pic', withCover]);
      const [plain, covered] = await Promise.all([fingerprintVideo(clip('testsrc2.mp4')), fingerprintVideo(withCover)]);
      expect(covered.frameCount).toBe(plain.frameCount);
      expect(Array.from(covered.hashes)).toEqual(Array.from(plain.hashes));
    });
  });
});

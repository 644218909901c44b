import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fingerprintVideo, hashHex } from '../../src/fingerprint/fingerprint.js';
import { probeVideo } from '../../src/media/probe.js';
import { sampleGrayFrames, samplingSubset } from '../../src/media/sample.js';
import { isVdedupError, type ErrorCode } from '../../src/errors.js';
import { badInput, clip } from '../helpers/paths.js';
import { ffmpeg, withTempDir } from '../helpers/ffmpeg.js';

function hamming(a: bigint, b: bigint): number {
  let x = a ^ b;
  let n = 0;
  while (x !== 0n) {
    n += Number(x & 1n);
    x >>= 1n;
  }
  return n;
}

async function failure(p: Promise<unknown>): Promise<{ code: ErrorCode; message: string }> {
  try {
    await p;
  } catch (err) {
    if (isVdedupError(err)) return { code: err.code, message: err.oneLine() };
    throw err;
  }
  throw new Error('expected a failure');
}

describe('probeVideo', () => {
  it('reads duration, size and codec', async () => {
    const p = await probeVideo(clip('mandelbrot.mp4'));
    expect(p.duration).toBeCloseTo(30, 1);
    expect(p.video).toMatchObject({ codec: 'h264', width: 320, height: 240, rotation: 0 });
    expect(p.video.fps).toBeCloseTo(25, 3);
    expect(p.hasAudio).toBe(false);
  });

  it('reports display rotation', async () => {
    await withTempDir(async (dir) => {
      const rotated = path.join(dir, 'rotated.mp4');
      await ffmpeg(['-i', clip('testsrc2.mp4'), '-t', '3', '-c', 'copy', '-metadata:s:v:0', 'rotate=90', rotated]);
      const p = await probeVideo(rotated);
      expect([90, 270]).toContain(p.video.rotation);
    });
  });
});

describe('fingerprintVideo', () => {
  it('an H.264 MP4 is decoded without the frames sampling never shows, and gives the same fingerprint bit for bit', async () => {
    await withTempDir(async (dir) => {
      // x264's defaults (B-frames, a B-pyramid: a third of the frames are no reference) with an
      // audio track, as web video comes: at 29.97 fps no frame lies on a sampling tick; at 24 fps
      // (timescale 90000) every fourth of a second is a frame's exact time, the tie the sampling
      // filter breaks one way and a rounding error would break the other.
      for (const [rate, timescale] of [['30000/1001', undefined], ['24', '90000']] as const) {
        const video = path.join(dir, `web-${rate.replace('/', '-')}.mp4`);
        await ffmpeg([
          '-f', 'lavfi', '-i', `testsrc2=size=160x120:rate=${rate}:duration=40`, '-f', 'lavfi', '-i', 'sine=duration=40',
          '-c:v', 'libx264', '-c:a', 'aac', ...(timescale === undefined ? [] : ['-video_track_timescale', timescale]), '-shortest', video,
        ]);
        for (const fps of [1, 4]) {
          // Frames are left out on both sides: the training side's 1 fps and the benchmark side's 4
          // (where a tie at every tick keeps a neighbour too, and too little would be left out at 24 fps).
          expect(await samplingSubset(video, fps), `${rate} fps video at ${fps}`).toEqual(fps === 4 && rate === '24' ? undefined : expect.anything());
          const fast = await fingerprintVideo(video, { fps });
          const whole = await fingerprintVideo(video, { fps, decodeAll: true });
          expect(fast.frameCount).toBeGreaterThanOrEqual(40 * fps);
          for (const column of ['hashes', 'flips', 'rawHashes', 'centerHashes', 'innerHashes', 'quality', 'content'] as const) expect(fast[column], `${rate} fps video at ${fps}`).toEqual(whole[column]);
          expect({ ...fast, file: '' }).toEqual({ ...whole, file: '' });
        }
      }
    });
  });

  it('samples one frame per second at whole seconds', async () => {
    const fp = await fingerprintVideo(clip('mandelbrot.mp4'));
    expect(fp.frameCount).toBe(30);
    expect(fp.hashes.length).toBe(30);
    expect(fp.flips.length).toBe(30);
    expect(fp.quality.length).toBe(30);
    expect(fp.duration).toBeCloseTo(30, 1);
    for (const h of fp.hashes) expect(hashHex(h)).toMatch(/^[0-9a-f]{16}$/);
    // A zoom never repeats: consecutive seconds differ.
    expect(new Set(Array.from(fp.hashes)).size).toBeGreaterThan(25);
  });

  it('is deterministic: the same video twice gives identical hashes', async () => {
    const [a, b] = await Promise.all([fingerprintVideo(clip('testsrc2.mp4')), fingerprintVideo(clip('testsrc2.mp4'))]);
    expect(Array.from(a.hashes)).toEqual(Array.from(b.hashes));
    expect(Array.from(a.flips)).toEqual(Array.from(b.flips));
  });

  it('keeps a CRF 35 half-resolution re-encode close to the original', async () => {
    const [orig, copy] = await Promise.all([
      fingerprintVideo(clip('mandelbrot.mp4')),
      fingerprintVideo(clip('mandelbrot-crf35-half.mp4')),
    ]);
    expect(copy.frameCount).toBe(orig.frameCount);
    let total = 0;
    for (let i = 0; i < orig.frameCount; i++) total += hamming(orig.hashes[i]!, copy.hashes[i]!);
    const mean = total / orig.frameCount;
    expect(mean).toBeLessThan(6);
    // ...and far from an unrelated video.
    const other = await fingerprintVideo(clip('life.mp4'));
    let unrelated = 0;
    for (let i = 0; i < orig.frameCount; i++) unrelated += hamming(orig.hashes[i]!, other.hashes[i]!);
    expect(unrelated / orig.frameCount).toBeGreaterThan(15);
  });

  it('finds the mirrored copy through the flip hashes', async () => {
    await withTempDir(async (dir) => {
      const flipped = path.join(dir, 'flipped.mp4');
      await ffmpeg(['-i', clip('mandelbrot.mp4'), '-vf', 'hflip', '-c:v', 'libx264', '-crf', '28', flipped]);
      const [orig, copy] = await Promise.all([fingerprintVideo(clip('mandelbrot.mp4')), fingerprintVideo(flipped)]);
      let direct = 0;
      let viaFlip = 0;
      for (let i = 0; i < orig.frameCount; i++) {
        direct += hamming(orig.hashes[i]!, copy.hashes[i]!);
        viaFlip += hamming(orig.flips[i]!, copy.hashes[i]!);
      }
      expect(viaFlip / orig.frameCount).toBeLessThan(6);
      expect(direct).toBeGreaterThan(viaFlip * 2);
    });
  });

  it('reports progress as batches complete', async () => {
    const seen: number[] = [];
    await fingerprintVideo(clip('testsrc2.mp4'), { onProgress: (done) => seen.push(done) });
    expect(seen.at(-1)).toBe(24);
  });

  it.each<[string, ErrorCode, RegExp]>([
    ['zero-byte.mp4', 'EMPTY_FILE', /empty file/],
    ['text.mp4', 'INVALID_MEDIA', /not a readable video/],
    ['audio-only.m4a', 'NO_VIDEO_STREAM', /audio-only/],
    ['truncated.mp4', 'TRUNCATED_MEDIA', /truncated/],
    ['truncated-faststart.mp4', 'TRUNCATED_MEDIA', /truncated/],
  ])('rejects %s with %s', async (name, code, message) => {
    const file = badInput(name);
    const f = await failure(fingerprintVideo(file));
    expect(f.code).toBe(code);
    expect(f.message).toMatch(message);
    expect(f.message.startsWith(file)).toBe(true);
    expect(f.message).not.toMatch(/\n/);
  });

  it('rejects a missing path and a directory', async () => {
    expect((await failure(fingerprintVideo('/no/such/video.mp4'))).code).toBe('FILE_NOT_FOUND');
    expect((await failure(fingerprintVideo(path.dirname(clip('x'))))).code).toBe('NOT_A_FILE');
  });

  it('kills ffmpeg and fails with TIMEOUT when the time limit passes', async () => {
    const f = await failure(fingerprintVideo(clip('mandelbrot.mp4'), { timeoutMs: 1 }));
    expect(f.code).toBe('TIMEOUT');
  });

  it('refuses to start when already aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    expect((await failure(fingerprintVideo(clip('life.mp4'), { signal: controller.signal }))).code).toBe('ABORTED');
  });
});

describe('sampleGrayFrames', () => {
  /** Every gray frame the sampler gives for a file, concatenated. */
  const sampled = async (file: string, fps: number) => {
    const parts: Buffer[] = [];
    for await (const b of sampleGrayFrames({ absolutePath: file, file, streamIndex: 'first', fps })) parts.push(Buffer.from(b.frames));
    return Buffer.concat(parts);
  };

  it('counts time from the first frame: a video that starts after its audio is sampled like the same stream starting at 0', async () => {
    await withTempDir(async (dir) => {
      // One encode (a frame counter, so every frame differs), then the same packets twice: alone,
      // and in Matroska 0.5 s after an audio track (the container's time 0 is the audio's).
      const video = path.join(dir, 'video.mkv');
      await ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=25:duration=6', '-c:v', 'libx264', '-preset', 'ultrafast', '-bf', '2', video]);
      const late = path.join(dir, 'late.mkv');
      await ffmpeg(['-f', 'lavfi', '-i', 'sine=duration=7', '-itsoffset', '0.5', '-i', video, '-map', '0:a', '-map', '1:v', '-c:v', 'copy', '-c:a', 'aac', late]);
      for (const fps of [1, 4]) {
        const alone = await sampled(video, fps);
        expect(alone.length).toBe(6 * fps * 128 * 128);
        expect((await sampled(late, fps)).equals(alone)).toBe(true);
      }
    });
  });

  it('yields bounded batches and kills ffmpeg when the consumer stops early', async () => {
    const probe = await probeVideo(clip('life.mp4'));
    const gen = sampleGrayFrames({
      absolutePath: probe.absolutePath,
      file: probe.file,
      streamIndex: probe.video.index,
      fps: 1,
      batchFrames: 4,
    });
    let batches = 0;
    for await (const batch of gen) {
      expect(batch.count).toBe(4);
      expect(batch.frames.length).toBe(4 * 128 * 128);
      batches++;
      break;
    }
    expect(batches).toBe(1);
  });

  it('kills ffmpeg on abort in the middle of a video', async () => {
    const probe = await probeVideo(clip('life.mp4'));
    const controller = new AbortController();
    const gen = sampleGrayFrames({
      absolutePath: probe.absolutePath,
      file: probe.file,
      streamIndex: probe.video.index,
      fps: 1,
      batchFrames: 2,
      signal: controller.signal,
    });
    await gen.next();
    controller.abort();
    const drain = async () => {
      for (;;) if ((await gen.next()).done === true) return;
    };
    expect((await failure(drain())).code).toBe('ABORTED');
  });

  it('returns what ffmpeg said about its input with the frames, and the description as it arrives', async () => {
    const seen: boolean[] = [];
    const gen = sampleGrayFrames({
      absolutePath: clip('life.mp4'),
      file: 'life.mp4',
      streamIndex: 'first',
      fps: 1,
      describeInput: true,
      onBanner: (b) => seen.push(b.complete),
    });
    let frames = 0;
    let next = await gen.next();
    for (; next.done !== true; next = await gen.next()) frames += next.value.count;
    expect(frames).toBe(30);
    expect(next.value.banner).toMatchObject({ duration: 30, hasAudio: false, complete: true, video: { index: 0, codec: 'h264', width: 320, height: 240 } });
    expect(next.value.errors).toEqual([]);
    expect(seen.at(-1)).toBe(true);
    expect(seen.filter((c) => c)).toHaveLength(1);
  });

  it('rejects a non-positive fps', async () => {
    const gen = sampleGrayFrames({ absolutePath: clip('life.mp4'), file: 'life.mp4', streamIndex: 0, fps: 0 });
    await expect(gen.next()).rejects.toThrow(/fps must be a positive number/);
  });
});

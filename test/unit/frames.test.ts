import { readFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeFrames, extractFrames } from '../../src/frames/extract.js';
import { probeVideo } from '../../src/media/probe.js';
import { chooseStrategy, frameTargets, parseTimestamp, planFrames, seekBatches, type FrameSelection, type PlannedFrame, type Strategy } from '../../src/frames/plan.js';
import { openFrameSource, type FrameSource } from '../../src/frames/source.js';
import { packetTimeline, type FrameTimeline } from '../../src/frames/timeline.js';
import type { RgbFrame } from '../../src/frames/ppm.js';
import { isVdedupError } from '../../src/errors.js';
import { ffmpeg, withTempDir } from '../helpers/ffmpeg.js';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';

// A 10 s, 25 fps (250-frame) clip whose top 16 rows carry the frame number in binary (20-pixel blocks, bit 0
// on the left): every extracted image says exactly which frame it is.
let counterClip = '';

beforeAll(async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'vdedup-frames-'));
  counterClip = path.join(dir, 'counter.mp4');
  await ffmpeg([
    '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25,trim=duration=10',
    '-vf', "geq=lum='if(lt(Y\\,16)\\,255*mod(floor(N/pow(2\\,floor(X/20)))\\,2)\\,lum(X\\,Y))':cb='cb(X,Y)':cr='cr(X,Y)'",
    '-c:v', 'libx264', '-crf', '18', '-g', '50', '-pix_fmt', 'yuv420p', counterClip,
  ]);
});

async function frameNumber(file: string): Promise<number> {
  const { data, info } = await sharp(file).greyscale().raw().toBuffer({ resolveWithObject: true });
  let n = 0;
  for (let bit = 0; bit < 16; bit++) if (data[8 * info.width + bit * 20 + 10]! > 128) n |= 1 << bit;
  return n;
}

/** The counter read straight from a decoded RGB frame (green channel of row 8). */
function frameNumberOfRgb(frame: { data: Buffer | Uint8Array; width: number }): number {
  let n = 0;
  for (let bit = 0; bit < 16; bit++) if (frame.data[3 * (8 * frame.width + bit * 20 + 10) + 1]! > 128) n |= 1 << bit;
  return n;
}

/** A constant-rate timeline: `frames` frames at `rate` per second, a keyframe every `gop`. */
function cfrTimeline(frames: number, rate: number, gop = frames): FrameTimeline {
  const pts = Float64Array.from({ length: frames }, (_, k) => k);
  return {
    source: 'packets',
    distinct: true,
    timeBase: { num: 1, den: rate },
    pts,
    times: Float64Array.from(pts, (k) => k / rate),
    keyframes: Uint32Array.from({ length: Math.ceil(frames / gop) }, (_, i) => i * gop),
    duration: frames / rate,
    start: 0,
  };
}

/** Decode planned frames of a source and return [plan index, burned-in frame number] pairs, in plan order. */
async function decodedNumbers(source: FrameSource, timestamps: number[], strategy: Strategy, slowFirst = false): Promise<Array<[number, number]>> {
  const got: Array<[number, number]> = [];
  await decodeFrames(counterClip, source, (timeline) => planFrames({ mode: 'at', timestamps }, timeline), { strategy }, {
    onFrame: async (planned: PlannedFrame, frame: RgbFrame) => {
      if (slowFirst && got.length === 0) await new Promise((r) => setTimeout(r, 300));
      got.push([planned.index, frameNumberOfRgb(frame)]);
    },
    restart: async () => {
      got.length = 0;
    },
  });
  return got.sort((a, b) => a[0] - b[0]);
}

async function extracted(selection: FrameSelection, strategy?: Strategy, extra: Record<string, unknown> = {}) {
  return withTempDir(async (dir) => {
    const m = await extractFrames(counterClip, { selection, outDir: dir, strategy, ...extra });
    const numbers = await Promise.all(m.frames.map((f) => frameNumber(path.join(dir, f.file))));
    const manifest = JSON.parse(await readFile(path.join(dir, 'frames.json'), 'utf8')) as typeof m;
    return { m, numbers, manifest };
  });
}

describe('frame selection rules (planFrames)', () => {
  const timing = cfrTimeline(250, 25);
  it('count N: LMMs-Eval linspace over frame indices, first and last frame included', () => {
    const p = planFrames({ mode: 'count', count: 8 }, timing);
    expect(p.map((f) => f.frame)).toEqual([0, 35, 71, 106, 142, 177, 213, 249]);
    expect(p.map((f) => Math.round(f.timestamp * 25))).toEqual([0, 35, 71, 106, 142, 177, 213, 249]);
    expect(planFrames({ mode: 'count', count: 1 }, timing)[0]!.timestamp).toBe(0);
    // numpy's float64 linspace, not the exact quotient: 21 * (119 / 49) = 50.99999999999999 -> 50.
    expect(planFrames({ mode: 'count', count: 50 }, cfrTimeline(120, 25))[21]!.frame).toBe(50);
  });
  it('fps F and at t: the frame on screen at each time, times counted from the first frame', () => {
    expect(planFrames({ mode: 'fps', fps: 2 }, timing).map((f) => f.frame)).toEqual(Array.from({ length: 20 }, (_, k) => Math.floor(k * 12.5)));
    // A first frame 3 ms after the container's zero: time 0 is that frame, second 1 is frame 25.
    const late = { ...cfrTimeline(250, 25), pts: Float64Array.from({ length: 250 }, (_, k) => 3 + 40 * k), timeBase: { num: 1, den: 1000 }, start: 0.003 };
    late.times = Float64Array.from(late.pts, (p) => (p - 3) / 1000);
    expect(planFrames({ mode: 'fps', fps: 1 }, late).map((f) => f.frame)).toEqual([0, 25, 50, 75, 100, 125, 150, 175, 200, 225]);
    expect(planFrames({ mode: 'at', timestamps: [0.999, 1] }, late).map((f) => f.frame)).toEqual([24, 25]);
  });
  it('parses seconds and [hh:]mm:ss.ms', () => {
    expect(parseTimestamp('12.5')).toBe(12.5);
    expect(parseTimestamp('1:02.5')).toBe(62.5);
    expect(parseTimestamp('01:00:00.250')).toBe(3600.25);
    expect(() => parseTimestamp('-1')).toThrow(/not a timestamp/);
    expect(() => parseTimestamp('1:75')).toThrow(/below 60/);
  });
  it.each<[FrameSelection, RegExp]>([
    [{ mode: 'count', count: 0 }, /positive integer/],
    [{ mode: 'count', count: 1_000_000 }, /limit/],
    [{ mode: 'count', count: 251 }, /more than the video's 250 frames/],
    [{ mode: 'at', timestamps: [] }, /no timestamps/],
    [{ mode: 'at', timestamps: [10] }, /at or after the end/],
    [{ mode: 'at', timestamps: [-0.5] }, /before the start/],
    [{ mode: 'fps', fps: 0 }, /positive number/],
    [{ mode: 'fps', fps: 100_000 }, /between/],
    [{ mode: 'fps', fps: 5e-324 }, /between 0.0001/],
    [{ mode: 'fps', fps: 5000 }, /between/],
    [{ mode: 'random', count: 3.5, seed: 1 }, /positive integer/],
  ])('rejects %j', (sel, msg) => {
    expect(() => planFrames(sel, timing)).toThrow(msg);
  });
});

describe('extractFrames on a clip with a burned-in frame counter', () => {
  it('--count 8 returns exactly the promised frames, in order, with exact timestamps', async () => {
    const { m, numbers, manifest } = await extracted({ mode: 'count', count: 8 });
    expect(numbers).toEqual([0, 35, 71, 106, 142, 177, 213, 249]);
    expect(m.frames.map((f) => f.timestamp)).toEqual(numbers.map((n) => n / 25));
    expect(manifest.frames).toEqual(m.frames);
    expect(m.frames[3]!.file).toBe('frame_00003_4.240s.jpg');
  });

  it('--fps 2: the frame on screen every half second, one decode pass', async () => {
    const { m, numbers } = await extracted({ mode: 'fps', fps: 2 });
    expect(m.strategy).toBe('single-pass');
    expect(numbers).toEqual(Array.from({ length: 20 }, (_, k) => Math.floor(k * 12.5)));
  });

  it('--fps 0.2: one frame every 5 s', async () => {
    const { numbers } = await extracted({ mode: 'fps', fps: 0.2 });
    expect(numbers).toEqual([0, 125]);
  });

  it('--at keeps the order given and picks the frame on screen at each time', async () => {
    const { numbers, m } = await extracted({ mode: 'at', timestamps: [3.24, 1.5, 7.001, 1.5] });
    expect(numbers).toEqual([81, 37, 175, 37]);
    expect(m.frames.map((f) => f.requested)).toEqual([3.24, 1.5, 7.001, 1.5]);
  });

  it('a single pass hands out repeated times correctly however slowly each frame is written', async () => {
    // runFfmpeg keeps two frame callbacks in flight. A slow first write must not let the next
    // frame take the plan entries of a time repeated in the selection (this raced before).
    const got = await decodedNumbers(await openFrameSource(counterClip), [3.24, 1.5, 7.001, 1.5], 'single-pass', true);
    expect(got).toEqual([[0, 81], [1, 37], [2, 175], [3, 37]]);
  });

  it('--random N --seed S: N distinct frames, sorted, reproducible', async () => {
    const a = await extracted({ mode: 'random', count: 6, seed: 42 });
    const b = await extracted({ mode: 'random', count: 6, seed: 42 });
    const c = await extracted({ mode: 'random', count: 6, seed: 7 });
    expect(a.numbers).toEqual(b.numbers);
    expect(a.numbers).not.toEqual(c.numbers);
    expect(new Set(a.numbers).size).toBe(6);
    expect([...a.numbers].sort((x, y) => x - y)).toEqual(a.numbers);
    expect(a.m.frames.map((f) => Math.round(f.timestamp * 25))).toEqual(a.numbers);
  });

  it('seeking and a single pass return the same frames', async () => {
    // 40 frames: three ffmpeg processes of up to 16 seek inputs; repeated and unordered times too.
    const many: FrameSelection = { mode: 'at', timestamps: [...Array.from({ length: 38 }, (_, i) => (i * 9.96) / 37), 5, 1.96] };
    for (const sel of [{ mode: 'count', count: 5 }, { mode: 'at', timestamps: [0, 2.02, 9.96] }, { mode: 'count', count: 40 }, many] as FrameSelection[]) {
      const seek = await extracted(sel, 'seek');
      const pass = await extracted(sel, 'single-pass');
      expect(seek.m.strategy).toBe('seek');
      expect(seek.numbers).toEqual(pass.numbers);
    }
  });

  it('seeking without a sample table (frames from a packet scan) returns the same frames', async () => {
    const probe = await probeVideo(counterClip);
    const source = { probe, sampleTable: undefined, timeline: (await packetTimeline(probe, String(probe.video.index))).timeline };
    const times = [9.96, 0, 4.04, 4.08, 1.99, 7];
    const want = [[0, 249], [1, 0], [2, 101], [3, 102], [4, 49], [5, 175]];
    expect(await decodedNumbers(source, times, 'seek')).toEqual(want);
    expect(await decodedNumbers(source, times, 'single-pass')).toEqual(want);
  });

  it('a Matroska file (probed by ffprobe, no sample table): seeking and one pass return the same frames', async () => {
    await withTempDir(async (dir) => {
      const mkv = path.join(dir, 'counter.mkv');
      await ffmpeg(['-i', counterClip, '-c', 'copy', mkv]);
      expect((await openFrameSource(mkv)).sampleTable).toBeUndefined();
      const numbers: Record<string, number[]> = {};
      for (const strategy of ['seek', 'single-pass'] as const) {
        const out = path.join(dir, strategy);
        const m = await extractFrames(mkv, { selection: { mode: 'at', timestamps: [9.96, 0, 4.04, 1.99, 7, 4.04] }, outDir: out, strategy });
        expect(m.strategy).toBe(strategy);
        numbers[strategy] = await Promise.all(m.frames.map((f) => frameNumber(path.join(out, f.file))));
      }
      expect(numbers.seek).toEqual([249, 0, 101, 49, 175, 101]);
      expect(numbers['single-pass']).toEqual(numbers.seek);
    });
  });

  it('a variable frame rate: count N gives the linspace frames by seeking and by one pass alike', async () => {
    await withTempDir(async (dir) => {
      // Every frame moved by up to 15 ms: no two frames 40 ms apart, so only the frame times tell them.
      const vfr = path.join(dir, 'vfr.mp4');
      await ffmpeg(['-i', counterClip, '-vf', "setpts='N/25/TB+0.015*sin(N)/TB'", '-fps_mode', 'vfr', '-c:v', 'libx264', '-crf', '18', '-g', '50', vfr]);
      const expected = Array.from({ length: 20 }, (_, i) => Math.floor((i * 249) / 19));
      for (const strategy of ['seek', 'single-pass'] as const) {
        const out = path.join(dir, strategy);
        const m = await extractFrames(vfr, { selection: { mode: 'count', count: 20 }, outDir: out, strategy });
        expect(await Promise.all(m.frames.map((f) => frameNumber(path.join(out, f.file))))).toEqual(expected);
      }
    });
  });

  it('counts the frames of the video, not of the container: audio longer than the video changes nothing', async () => {
    await withTempDir(async (dir) => {
      const longAudio = path.join(dir, 'long-audio.mp4');
      await ffmpeg(['-i', counterClip, '-f', 'lavfi', '-i', 'sine=d=14', '-map', '0:v', '-map', '1:a', '-c:v', 'copy', '-c:a', 'aac', longAudio]);
      const m = await extractFrames(longAudio, { selection: { mode: 'count', count: 5 }, outDir: path.join(dir, 'out') });
      const numbers = await Promise.all(m.frames.map((f) => frameNumber(path.join(dir, 'out', f.file))));
      // np.linspace(0, 249, 5, dtype=int): the container says 14 s (350 frames at 25 fps), the video has 250.
      expect(numbers).toEqual([0, 62, 124, 186, 249]);
      expect(m.duration).toBeCloseTo(10, 6);
    });
  });

  it('--fast returns the keyframe at or before each time, and says which frame it is', async () => {
    // The counter clip has a keyframe every 50 frames (2 s).
    // Two times before the same keyframe get it twice; the MP4 path (one process per core, from
    // the sample table) and the Matroska path (one process per frame, ffprobe) agree.
    const { numbers, m } = await extracted({ mode: 'at', timestamps: [3.24, 0.5, 9.9, 2.5] }, undefined, { fast: true });
    expect(numbers).toEqual([50, 0, 200, 50]);
    expect(m.fast).toBe(true);
    expect(m.frames.map((f) => f.timestamp)).toEqual([2, 0, 8, 2]);
    expect(m.frames.map((f) => f.requested)).toEqual([3.24, 0.5, 9.9, 2.5]);
    await withTempDir(async (dir) => {
      const mkv = path.join(dir, 'counter.mkv');
      await ffmpeg(['-i', counterClip, '-c', 'copy', mkv]);
      const fromMkv = await extractFrames(mkv, { selection: { mode: 'at', timestamps: [3.24, 0.5, 9.9, 2.5] }, outDir: path.join(dir, 'out'), fast: true });
      expect(await Promise.all(fromMkv.frames.map((f) => frameNumber(path.join(dir, 'out', f.file))))).toEqual([50, 0, 200, 50]);
      expect(fromMkv.frames.map((f) => f.timestamp)).toEqual([2, 0, 8, 2]);
    });
    const err = await withTempDir((dir) =>
      extractFrames(counterClip, { selection: { mode: 'fps', fps: 1 }, outDir: dir, fast: true }).then(() => undefined, (e: unknown) => e),
    );
    expect(String(err)).toMatch(/--fast applies to --count, --at and --random/);
  });

  it('writes PNG and WebP, resizes, and rejects unknown formats and bad sizes clearly', async () => {
    const png = await withTempDir(async (dir) => {
      const m = await extractFrames(counterClip, { selection: { mode: 'count', count: 2 }, outDir: dir, format: 'png', width: 160 });
      return sharp(path.join(dir, m.frames[0]!.file)).metadata();
    });
    expect(png).toMatchObject({ format: 'png', width: 160, height: 120 });
    const webp = await withTempDir(async (dir) => {
      const m = await extractFrames(counterClip, { selection: { mode: 'count', count: 1 }, outDir: dir, format: 'webp', width: 100, height: 100, fit: 'cover' });
      return sharp(path.join(dir, m.frames[0]!.file)).metadata();
    });
    expect(webp).toMatchObject({ format: 'webp', width: 100, height: 100 });
    for (const bad of [{ format: 'gif' }, { width: 3 }, { quality: 0 }]) {
      const err = await withTempDir((dir) =>
        extractFrames(counterClip, { selection: { mode: 'count', count: 1 }, outDir: dir, ...(bad as object) }).then(() => undefined, (e: unknown) => e),
      );
      expect(isVdedupError(err) && err.code).toBe('INVALID_ARGUMENT');
    }
  });
});

describe('seek or one pass', () => {
  it('seeks while the frames seeks decode (from the keyframe before each target, plus a process start each) cost less than one pass', () => {
    // Ten minutes at 25 fps, a keyframe every 3 s (75 frames), 720p: a process start is ~87 frames.
    const tenMinutes = cfrTimeline(15_000, 25, 75);
    const pixels = 1280 * 720;
    const spread = (n: number) => Array.from({ length: n }, (_, i) => Math.floor((i * 14_999) / (n - 1)));
    expect(chooseStrategy(tenMinutes, spread(8), pixels)).toBe('seek');
    expect(chooseStrategy(tenMinutes, spread(64), pixels)).toBe('seek');
    expect(chooseStrategy(tenMinutes, spread(128), pixels)).toBe('single-pass');
    // Frames in one stretch between keyframes share a seek.
    expect(chooseStrategy(tenMinutes, Array.from({ length: 70 }, (_, i) => 150 + i), pixels)).toBe('seek');
    // A small picture decodes fast: process starts dominate, and one pass wins sooner.
    expect(chooseStrategy(tenMinutes, spread(32), 160 * 120)).toBe('single-pass');
    // No keyframe but the first: every seek decodes from the start.
    expect(chooseStrategy(cfrTimeline(15_000, 25), spread(2), pixels)).toBe('single-pass');
  });
});

describe('what to decode, planned without decoding', () => {
  const timeline = cfrTimeline(250, 25, 50);
  it('each frame once, with the plan entries that ask for it; --fast names the keyframe instead', () => {
    const plan = planFrames({ mode: 'at', timestamps: [3.24, 1.5, 1.5, 2.5] }, timeline);
    const asked = (keyframesOnly: boolean) => frameTargets(timeline, plan, keyframesOnly).map((t) => [t.frame, t.asks.map((a) => a.index)]);
    expect(asked(false)).toEqual([[37, [1, 2]], [62, [3]], [81, [0]]]);
    expect(asked(true)).toEqual([[0, [1, 2]], [50, [0, 3]]]);
    expect(frameTargets(timeline, plan, true)[1]!.asks.map((a) => [a.frame, a.timestamp, a.requested])).toEqual([[50, 2, 3.24], [50, 2, 2.5]]);
  });

  it('seeks: a run per stretch between keyframes, runs shared over processes by cost, as many per process as it holds decoders for', () => {
    const targets = [10, 20, 60, 110, 160, 210].map((frame) => ({ frame, asks: [] }));
    const frames = (batches: ReturnType<typeof seekBatches>) => batches.map((b) => b.map((run) => run.map((t) => t.frame)));
    expect(frames(seekBatches(timeline, targets, 2, 320 * 240))).toEqual([[[10, 20], [160]], [[60], [110], [210]]]);
    // Pictures so large that a process holds one decoder: each run in a process of its own.
    expect(frames(seekBatches(timeline, targets, 2, 1e8))).toEqual([[[10, 20]], [[160]], [[60]], [[110]], [[210]]]);
  });
});

import { execFile } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { ffprobeBinary } from '../../src/media/binaries.js';
import { h264ReferenceFrames, h264ReferenceSamples, mp4IndexRefusal, readMp4Index } from '../../src/media/mp4-index.js';
import { keptSamples, subsetHeader } from '../../src/media/mp4-subset.js';
import { ffmpegBinary } from '../../src/media/binaries.js';
import { ffmpeg } from '../helpers/ffmpeg.js';
import { badInput } from '../helpers/paths.js';

const execFileAsync = promisify(execFile);
let dir = '';
const clip = (name: string) => path.join(dir, name);
const source = (rate: string, seconds: number) => ['-f', 'lavfi', '-t', String(seconds), '-i', `testsrc2=size=160x120:rate=${rate}`];

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'vdedup-mp4-'));
  await Promise.all([
    // B-frames and an edit list hiding their delay, at 29.97 fps.
    ffmpeg([...source('30000/1001', 7), '-c:v', 'libx264', '-bf', '3', '-g', '48', clip('ntsc-bframes.mp4')]),
    ffmpeg([...source('25', 6), '-c:v', 'libx264', '-movflags', '+faststart', clip('faststart.mov')]),
    // Audio that runs 4 s past the video: the container's duration is not the video's.
    ffmpeg([...source('25', 8), '-f', 'lavfi', '-i', 'sine=d=12', '-map', '0:v', '-map', '1:a', '-c:v', 'libx264', '-c:a', 'aac', clip('long-audio.mp4')]),
    ffmpeg([...source('24', 5), '-c:v', 'mpeg4', '-g', '12', clip('mpeg4.mp4')]),
    ffmpeg([...source('25', 4), '-c:v', 'libx264', '-movflags', 'frag_keyframe+empty_moov', clip('fragmented.mp4')]),
  ]);
  await ffmpeg(['-i', clip('ntsc-bframes.mp4'), '-c', 'copy', '-metadata:s:v', 'rotate=90', clip('rotated.mp4')]);
});

/** Every video packet's presentation time and keyframe flag, as ffprobe reads them. */
async function ffprobePackets(file: string, stream: number) {
  const { stdout } = await execFileAsync(ffprobeBinary().path, ['-v', 'error', '-select_streams', String(stream), '-show_entries', 'packet=pts_time,flags', '-of', 'csv=p=0', file], { maxBuffer: 64 << 20 });
  const packets = stdout.trim().split('\n').map((l) => l.split(','));
  const times = packets.map(([t]) => Number(t)).sort((a, b) => a - b);
  const keys = packets.filter(([, f]) => f!.includes('K')).map(([t]) => Number(t)).sort((a, b) => a - b);
  return { times, keys };
}

describe('MP4 sample table read in-process (readMp4Index)', () => {
  it.each(['ntsc-bframes.mp4', 'faststart.mov', 'long-audio.mp4', 'mpeg4.mp4'])('%s: every frame time and keyframe as ffprobe reads them', async (name) => {
    const index = await readMp4Index(clip(name));
    expect(index, await mp4IndexRefusal(clip(name))).toBeDefined();
    const { times, keys } = await ffprobePackets(clip(name), index!.streamIndex);
    expect(index!.frameTimes.length).toBe(times.length);
    // ffprobe prints microseconds.
    times.forEach((t, i) => expect(Math.abs(index!.frameTimes[i]! - t)).toBeLessThan(1e-6));
    expect(index!.keyframeTimes.length).toBe(keys.length);
    keys.forEach((t, i) => expect(Math.abs(index!.keyframeTimes[i]! - t)).toBeLessThan(1e-6));
    expect(index!.width).toBe(160);
  });

  it('states the video track: duration, codec, stream number, audio', async () => {
    const ntsc = (await readMp4Index(clip('ntsc-bframes.mp4')))!;
    expect(ntsc.frameTimes.length).toBe(210);
    expect(ntsc.duration).toBeCloseTo(7.007, 6);
    expect(ntsc.codec).toBe('h264');
    // The video's 8 s, not the container's 12 s of audio.
    const long = (await readMp4Index(clip('long-audio.mp4')))!;
    expect(long.duration).toBeCloseTo(8, 6);
    expect(long.hasAudio).toBe(true);
    expect(long.streamIndex).toBe(0);
    expect((await readMp4Index(clip('mpeg4.mp4')))!.codec).toBe('mpeg4');
  });

  it('tells H.264 reference frames from non-reference ones by their NAL headers, as ffprobe reads the frame types', async () => {
    const file = clip('ntsc-bframes.mp4');
    const index = (await readMp4Index(file))!;
    expect(index.nalLengthSize).toBe(4);
    const all = Array.from({ length: index.frameTimes.length }, (_, k) => k);
    const refs = await h264ReferenceFrames(file, index, all);
    // x264 with B-frames: I and P frames are references, some B-frames are not.
    const { stdout } = await execFileAsync(ffprobeBinary().path, ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'frame=pict_type', '-of', 'csv=p=0', file]);
    const types = stdout.split('\n').map((l) => l.replace(/,+$/, '').trim()).filter((l) => /^[IPB]$/.test(l));
    expect(types).toHaveLength(refs.length);
    types.forEach((type, k) => {
      if (type !== 'B') expect(refs[k], `frame ${k} (${type})`).toBe(true);
    });
    expect(refs.filter((r) => r === false).length).toBeGreaterThan(20);
    for (const k of all) if (refs[k] === false) expect(types[k]).toBe('B');
    // Not H.264: nothing is claimed.
    const mpeg4 = (await readMp4Index(clip('mpeg4.mp4')))!;
    expect(await h264ReferenceFrames(clip('mpeg4.mp4'), mpeg4, [0, 1])).toEqual([undefined, undefined]);
  });

  it('says no (ffprobe is asked instead) for what it cannot state exactly, and for damaged or other files', async () => {
    expect(await mp4IndexRefusal(clip('fragmented.mp4'))).toMatch(/fragmented/);
    expect(await mp4IndexRefusal(clip('rotated.mp4'))).toMatch(/rotated/);
    expect(await mp4IndexRefusal(badInput('truncated-faststart.mp4'))).toMatch(/beyond the end/);
    expect(await mp4IndexRefusal(badInput('text.mp4'))).toMatch(/not an ISO-BMFF/);
    expect(await mp4IndexRefusal(badInput('zero-byte.mp4'))).toMatch(/no moov/);
    for (const f of [clip('fragmented.mp4'), badInput('truncated.mp4'), badInput('zero-byte.mp4')]) expect(await readMp4Index(f)).toBeUndefined();
    // A box that claims to run past its parent.
    const bytes = await readFile(clip('mpeg4.mp4'));
    const moov = bytes.indexOf('moov', 0, 'latin1') - 4;
    const hostile = Buffer.from(bytes);
    hostile.writeUInt32BE(0xfffffff0, moov + 8);
    await writeFile(clip('hostile.mp4'), hostile);
    expect(await readMp4Index(clip('hostile.mp4'))).toBeUndefined();
  });

  it('an MP4 of the reference frames decodes them bit-identically, at their own times', async () => {
    const file = clip('ntsc-bframes.mp4');
    const index = (await readMp4Index(file))!;
    const refs = (await h264ReferenceSamples(file, index))!;
    const kept = Uint32Array.from(Array.from(refs.keys()).filter((s) => refs[s] === 1));
    expect(kept.length).toBeGreaterThan(60);
    expect(kept.length).toBeLessThan(refs.length);
    const parts: Buffer[] = [subsetHeader(index, kept)];
    for await (const chunk of keptSamples(file, index, kept)) parts.push(chunk);
    const subset = clip('subset.mp4');
    await writeFile(subset, Buffer.concat(parts));
    // framemd5: one line per decoded frame with its time; the subset's frames are among the original's.
    const frames = async (f: string) => {
      const { stdout } = await execFileAsync(ffmpegBinary().path, ['-v', 'error', '-i', f, '-map', '0:v', '-fps_mode', 'passthrough', '-f', 'framemd5', '-'], { maxBuffer: 16 << 20 });
      return new Map(stdout.split('\n').filter((l) => !l.startsWith('#') && l.includes(',')).map((l) => {
        const cols = l.split(',').map((c) => c.trim());
        return [Number(cols[2]), cols[5]!] as const;
      }));
    };
    const [all, some] = await Promise.all([frames(file), frames(subset)]);
    expect(some.size).toBe(kept.length);
    for (const [pts, md5] of some) expect(all.get(pts), `frame at pts ${pts}`).toBe(md5);
  });
});

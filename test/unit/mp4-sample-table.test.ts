import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ffprobeBinary } from '../../src/media/binaries.js';
import { h264ReferenceSamples } from '../../src/media/h264.js';
import { readSampleTable, sampleTableRefusal, type SampleTable } from '../../src/media/mp4/sample-table.js';
import { keptSamples, subsetHeader } from '../../src/media/mp4/subset.js';
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
    // 20 s, for edits that show only part of it: without B-frames, and with them (and an edit start).
    ffmpeg([...source('25', 20), '-c:v', 'libx264', '-bf', '0', '-g', '48', clip('long-plain.mp4')]),
    ffmpeg([...source('25', 20), '-c:v', 'libx264', '-bf', '3', '-g', '48', clip('long-bframes.mp4')]),
    // Coarse timescales: one tick per frame (B-frames make the edit start 2 ticks).
    ffmpeg([...source('25', 4), '-c:v', 'libx264', '-bf', '3', '-video_track_timescale', '25', clip('ts25.mp4')]),
    ffmpeg([...source('8', 4), '-c:v', 'libx264', '-bf', '2', '-video_track_timescale', '8', clip('ts8.mp4')]),
    // A second encode of the same size with other parameter sets (another sample description).
    ffmpeg([...source('25', 2), '-c:v', 'libx264', '-profile:v', 'baseline', '-crf', '30', clip('other-encode.mp4')]),
  ]);
  await Promise.all([
    ffmpeg(['-i', clip('ntsc-bframes.mp4'), '-c', 'copy', '-metadata:s:v', 'rotate=90', clip('rotated.mp4')]),
    // A delayed start: an empty edit, then the media.
    ffmpeg(['-itsoffset', '1', '-i', clip('faststart.mov'), '-c', 'copy', clip('delayed.mp4')]),
  ]);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The decoded frames (first video stream, every one passed on) with their pts and md5, and the time base. */
async function decodedFrames(file: string) {
  const { stdout } = await execFileAsync(ffmpegBinary().path, ['-v', 'error', '-i', file, '-map', '0:v:0', '-fps_mode', 'passthrough', '-f', 'framemd5', '-'], { maxBuffer: 64 << 20 });
  const tb = /^#tb 0: (\d+)\/(\d+)$/m.exec(stdout);
  const frames = stdout.split('\n').filter((l) => !l.startsWith('#') && l.includes(',')).map((l) => {
    const cols = l.split(',').map((c) => c.trim());
    return { pts: Number(cols[2]), md5: cols[5]! };
  });
  return { num: Number(tb![1]), den: Number(tb![2]), frames };
}

/** The table states exactly the frames ffmpeg decodes: as many, each at the time ffmpeg gives it. */
async function expectSameFrames(file: string) {
  const table = await readSampleTable(file);
  expect(table, await sampleTableRefusal(file)).toBeDefined();
  const { num, den, frames } = await decodedFrames(file);
  expect(table!.frameTimes.length).toBe(frames.length);
  frames.forEach((f, k) => expect(Math.abs(table!.frameTimes[k]! - (f.pts * num) / den), `frame ${k}`).toBeLessThan(1e-9));
  return { table: table!, frames };
}

/** Offsets of the boxes along a path of box types from the top level (the first of each type). */
function boxPath(buf: Buffer, types: string[]): number[] {
  const out: number[] = [];
  let start = 0;
  let end = buf.length;
  for (const type of types) {
    let at = start;
    let found = -1;
    let size = 0;
    while (at + 8 <= end) {
      const small = buf.readUInt32BE(at);
      size = small === 1 ? Number(buf.readBigUInt64BE(at + 8)) : small === 0 ? end - at : small;
      if (buf.toString('latin1', at + 4, at + 8) === type) {
        found = at;
        break;
      }
      at += size;
    }
    if (found < 0) throw new Error(`no ${types.join('/')}`);
    out.push(found);
    // stsd and dref hold their entries after a version, flags and entry count.
    start = found + 8 + (type === 'stsd' || type === 'dref' ? 8 : 0);
    end = found + size;
  }
  return out;
}

/**
 * The file with the last box of the path replaced and its ancestors' sizes fixed. The moov must
 * follow the mdat, so that no chunk offset moves.
 */
function replaceBox(buf: Buffer, types: string[], replacement: Buffer): Buffer {
  expect(boxPath(buf, ['moov'])[0]).toBeGreaterThan(boxPath(buf, ['mdat'])[0]!);
  const path = boxPath(buf, types);
  const target = path.at(-1)!;
  const oldSize = buf.readUInt32BE(target);
  const out = Buffer.concat([buf.subarray(0, target), replacement, buf.subarray(target + oldSize)]);
  for (const at of path.slice(0, -1)) out.writeUInt32BE(out.readUInt32BE(at) + replacement.length - oldSize, at);
  return out;
}

const ELST = ['moov', 'trak', 'edts', 'elst'];

/**
 * Frames of a B-frame file (presentation order, past its middle) after which an edit can end: the
 * first where the frames shown would be the first samples decoded (`prefix`), and the first where
 * they would not (`inside`); and the edit (milliseconds, the movie timescale) that ends 2 ms into
 * the frame after it, so that frame straddles the end.
 */
function bframeCuts(table: SampleTable) {
  const pts = table.presentationUnits;
  const sorted = Float64Array.from(pts).sort();
  const isPrefix = (f: number) => Math.max(...pts.subarray(0, f + 1)) === sorted[f];
  const frames = Array.from({ length: pts.length - 1 }, (_, f) => f).filter((f) => f > pts.length / 2);
  const prefix = frames.find(isPrefix)!;
  const inside = frames.find((f) => !isPrefix(f))!;
  expect(prefix).toBeDefined();
  expect(inside).toBeDefined();
  const ms = (f: number) => Math.floor(((sorted[f]! - table.editStart) * 1000) / table.timescale) + 2;
  return { frames: { prefix, inside }, ms };
}

/** A copy of a file whose (version 0, one entry) edit shows `segment` movie time units from `mediaTime`. */
async function withEdit(from: string, to: string, segment: number, o: { mediaTime?: number; movieTimescale?: number } = {}) {
  const bytes = Buffer.from(await readFile(clip(from)));
  const elst = boxPath(bytes, ELST).at(-1)!;
  expect(bytes.readUInt32BE(elst + 12)).toBe(1);
  bytes.writeUInt32BE(segment, elst + 16);
  if (o.mediaTime !== undefined) bytes.writeInt32BE(o.mediaTime, elst + 20);
  if (o.movieTimescale !== undefined) {
    // mvhd version 0: timescale and duration after the creation and modification times.
    const mvhd = boxPath(bytes, ['moov', 'mvhd']).at(-1)!;
    const old = bytes.readUInt32BE(mvhd + 20);
    bytes.writeUInt32BE(Math.round((bytes.readUInt32BE(mvhd + 24) * o.movieTimescale) / old), mvhd + 24);
    bytes.writeUInt32BE(o.movieTimescale, mvhd + 20);
  }
  await writeFile(clip(to), bytes);
  return clip(to);
}

/**
 * A subset of the reference samples written by subsetHeader/keptSamples decodes to the frames of
 * the original the table lists, bit-identically and at the same times, and to no other frame.
 */
async function expectSubsetDecodes(file: string, name: string) {
  const table = (await readSampleTable(file))!;
  const refs = (await h264ReferenceSamples(file, table))!;
  const kept = Uint32Array.from(Array.from(refs.keys()).filter((s) => refs[s] === 1));
  const parts: Buffer[] = [subsetHeader(table, kept)];
  for await (const chunk of keptSamples(file, table, kept)) parts.push(chunk);
  await writeFile(clip(name), Buffer.concat(parts));
  const [all, some] = await Promise.all([decodedFrames(file), decodedFrames(clip(name))]);
  const byTime = new Map(all.frames.map((f) => [(f.pts * all.num) / all.den, f.md5]));
  expect(some.frames.length).toBe(kept.length);
  for (const f of some.frames) expect(byTime.get((f.pts * some.num) / some.den), `frame at pts ${f.pts}`).toBe(f.md5);
  return kept.length;
}

/** Every video packet's presentation time and keyframe flag, as ffprobe reads them. */
async function ffprobePackets(file: string, stream: number) {
  const { stdout } = await execFileAsync(ffprobeBinary().path, ['-v', 'error', '-select_streams', String(stream), '-show_entries', 'packet=pts_time,flags', '-of', 'csv=p=0', file], { maxBuffer: 64 << 20 });
  const packets = stdout.trim().split('\n').map((l) => l.split(','));
  const times = packets.map(([t]) => Number(t)).sort((a, b) => a - b);
  const keys = packets.filter(([, f]) => f!.includes('K')).map(([t]) => Number(t)).sort((a, b) => a - b);
  return { times, keys };
}

describe('MP4 sample table read in-process (readSampleTable)', () => {
  it.each(['ntsc-bframes.mp4', 'faststart.mov', 'long-audio.mp4', 'mpeg4.mp4', 'ts25.mp4', 'ts8.mp4'])('%s: every frame time and keyframe as ffprobe reads them', async (name) => {
    const table = await readSampleTable(clip(name));
    expect(table, await sampleTableRefusal(clip(name))).toBeDefined();
    const { times, keys } = await ffprobePackets(clip(name), table!.streamIndex);
    expect(table!.frameTimes.length).toBe(times.length);
    // ffprobe prints microseconds.
    times.forEach((t, i) => expect(Math.abs(table!.frameTimes[i]! - t)).toBeLessThan(1e-6));
    expect(table!.keyframeTimes.length).toBe(keys.length);
    keys.forEach((t, i) => expect(Math.abs(table!.keyframeTimes[i]! - t)).toBeLessThan(1e-6));
    expect(table!.width).toBe(160);
  });

  it('states the video track: duration, codec, stream number, audio', async () => {
    const ntsc = (await readSampleTable(clip('ntsc-bframes.mp4')))!;
    expect(ntsc.frameTimes.length).toBe(210);
    expect(ntsc.duration).toBeCloseTo(7.007, 6);
    expect(ntsc.codec).toBe('h264');
    // The video's 8 s, not the container's 12 s of audio.
    const long = (await readSampleTable(clip('long-audio.mp4')))!;
    expect(long.duration).toBeCloseTo(8, 6);
    expect(long.hasAudio).toBe(true);
    expect(long.streamIndex).toBe(0);
    expect((await readSampleTable(clip('mpeg4.mp4')))!.codec).toBe('mpeg4');
  });

  it('tells H.264 reference frames from non-reference ones by their NAL headers, as ffprobe reads the frame types', async () => {
    const file = clip('ntsc-bframes.mp4');
    const table = (await readSampleTable(file))!;
    expect(table.nalLengthSize).toBe(4);
    const all = Array.from({ length: table.frameTimes.length }, (_, k) => k);
    const bySample = (await h264ReferenceSamples(file, table))!;
    // Presentation order, as ffprobe lists frames.
    const refs = all.map((k) => bySample[table.sampleOfFrame[k]!] === 1);
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
    const mpeg4 = (await readSampleTable(clip('mpeg4.mp4')))!;
    expect(await h264ReferenceSamples(clip('mpeg4.mp4'), mpeg4)).toBeUndefined();
  });

  it('says no (ffprobe is asked instead) for what it cannot state exactly, and for damaged or other files', async () => {
    expect(await sampleTableRefusal(clip('fragmented.mp4'))).toMatch(/fragmented/);
    expect(await sampleTableRefusal(clip('rotated.mp4'))).toMatch(/rotated/);
    expect(await sampleTableRefusal(badInput('truncated-faststart.mp4'))).toMatch(/beyond the end/);
    expect(await sampleTableRefusal(badInput('text.mp4'))).toMatch(/not an ISO-BMFF/);
    expect(await sampleTableRefusal(badInput('zero-byte.mp4'))).toMatch(/no moov/);
    for (const f of [clip('fragmented.mp4'), badInput('truncated.mp4'), badInput('zero-byte.mp4')]) expect(await readSampleTable(f)).toBeUndefined();
    // A box that claims to run past its parent.
    const bytes = await readFile(clip('mpeg4.mp4'));
    const moov = bytes.indexOf('moov', 0, 'latin1') - 4;
    const hostile = Buffer.from(bytes);
    hostile.writeUInt32BE(0xfffffff0, moov + 8);
    await writeFile(clip('hostile.mp4'), hostile);
    expect(await readSampleTable(clip('hostile.mp4'))).toBeUndefined();
  });

  it('an MP4 of the reference frames decodes them bit-identically, at their own times', async () => {
    const file = clip('ntsc-bframes.mp4');
    const table = (await readSampleTable(file))!;
    const refs = (await h264ReferenceSamples(file, table))!;
    const kept = Uint32Array.from(Array.from(refs.keys()).filter((s) => refs[s] === 1));
    expect(kept.length).toBeGreaterThan(60);
    expect(kept.length).toBeLessThan(refs.length);
    const parts: Buffer[] = [subsetHeader(table, kept)];
    for await (const chunk of keptSamples(file, table, kept)) parts.push(chunk);
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

describe('edit lists: an edit that ends before the media does', () => {
  it('is followed frame by frame as ffmpeg decodes it: frames at or past its end dropped, one that straddles it kept', async () => {
    // 25 fps in 1/12800: a frame every 512 units; the movie timescale is 1/1000.
    const whole = await readSampleTable(clip('long-plain.mp4'));
    expect(whole!.frameTimes.length).toBe(500);
    // 10 s: the edit ends exactly where frame 250 starts, which is not shown.
    const exact = await expectSameFrames(await withEdit('long-plain.mp4', 'cut-10000.mp4', 10_000));
    expect(exact.frames.length).toBe(250);
    expect(exact.table.duration).toBe(10);
    // 10.02 s: frame 250 (10 s to 10.04 s) straddles the end and is shown.
    const straddle = await expectSameFrames(await withEdit('long-plain.mp4', 'cut-10020.mp4', 10_020));
    expect(straddle.frames.length).toBe(251);
    expect(straddle.table.duration).toBeCloseTo(10.02, 9);
    // The table ends with the last frame shown: one sample per frame.
    expect(straddle.table.sampleSizes.length).toBe(251);
    expect(straddle.table.decodeUnits.length).toBe(251);
    expect(straddle.table.keyframeTimes.at(-1)!).toBeLessThan(10.02);
    // The segment is converted from the movie timescale rounding to nearest, as ffmpeg does:
    // at 1/30000, 300001 is 128000.43 media units (frame 250 at 128000 not shown), 300002 is
    // 128000.85, rounded to 128001 (shown).
    const below = await expectSameFrames(await withEdit('long-plain.mp4', 'cut-ts-1.mp4', 300_001, { movieTimescale: 30_000 }));
    expect(below.frames.length).toBe(250);
    const above = await expectSameFrames(await withEdit('long-plain.mp4', 'cut-ts-2.mp4', 300_002, { movieTimescale: 30_000 }));
    expect(above.frames.length).toBe(251);
    // An edit that shows nothing: ffmpeg decodes no frame.
    expect(await sampleTableRefusal(await withEdit('long-plain.mp4', 'cut-0.mp4', 0))).toMatch(/no duration/);
    expect((await decodedFrames(clip('cut-0.mp4'))).frames).toHaveLength(0);
  });

  it('with B-frames: followed when the frames cut off are the last samples decoded, refused when not', async () => {
    const whole = (await readSampleTable(clip('long-bframes.mp4')))!;
    expect(whole.editStart).toBeGreaterThan(0);
    const { frames: cutAfter, ms } = bframeCuts(whole);
    // A cut the table can follow: the frames shown are the first samples decoded.
    const followed = await expectSameFrames(await withEdit('long-bframes.mp4', 'cut-b-ok.mp4', ms(cutAfter.prefix)));
    expect(followed.frames.length).toBe(cutAfter.prefix + 1);
    expect(followed.table.sampleSizes.length).toBe(cutAfter.prefix + 1);
    // One it cannot: a B-frame is shown, the P-frame decoded before it (presented after it) is not.
    const refused = await withEdit('long-bframes.mp4', 'cut-b-no.mp4', ms(cutAfter.inside));
    expect(await sampleTableRefusal(refused)).toMatch(/edit ends among frames decoded out of order/);
    // ffmpeg does cut it there.
    expect((await decodedFrames(refused)).frames.length).toBe(cutAfter.inside + 1);
  });

  it('an MP4 subset of a cut file keeps what the reader states (no frame past the edit)', async () => {
    const plain = await withEdit('long-plain.mp4', 'cut-subset-plain.mp4', 10_020);
    expect(await expectSubsetDecodes(plain, 'subset-cut-plain.mp4')).toBe(251);
    const whole = (await readSampleTable(clip('long-bframes.mp4')))!;
    const { frames: cutAfter, ms } = bframeCuts(whole);
    const kept = await expectSubsetDecodes(await withEdit('long-bframes.mp4', 'cut-subset-b.mp4', ms(cutAfter.prefix)), 'subset-cut-b.mp4');
    expect(kept).toBeLessThan(cutAfter.prefix + 1);
    expect(kept).toBeGreaterThan((cutAfter.prefix + 1) / 3);
  });

  it('refuses empty and several edits', async () => {
    // -itsoffset: an empty edit (a delayed start) before the media's.
    expect(await sampleTableRefusal(clip('delayed.mp4'))).toMatch(/2 edits/);
    // Two edits showing two parts of the media.
    const bytes = await readFile(clip('long-plain.mp4'));
    const entries = [[5000, 0], [5000, 12800 * 12]] as const;
    const elst = Buffer.alloc(16 + 12 * entries.length);
    elst.writeUInt32BE(elst.length, 0);
    elst.write('elst', 4, 'latin1');
    elst.writeUInt32BE(entries.length, 12);
    entries.forEach(([segment, time], i) => {
      elst.writeUInt32BE(segment, 16 + 12 * i);
      elst.writeInt32BE(time, 20 + 12 * i);
      elst.writeUInt32BE(0x10000, 24 + 12 * i);
    });
    await writeFile(clip('two-edits.mp4'), replaceBox(bytes, ELST, elst));
    expect((await decodedFrames(clip('two-edits.mp4'))).frames.length).toBe(250);
    expect(await sampleTableRefusal(clip('two-edits.mp4'))).toMatch(/2 edits/);
    // One empty edit alone.
    expect(await sampleTableRefusal(await withEdit('long-plain.mp4', 'empty-edit.mp4', 10_000, { mediaTime: -1 }))).toMatch(/empty or out-of-range edit/);
  });
});

describe('sample descriptions, data references, coarse timescales', () => {
  it('refuses a track with two sample descriptions', async () => {
    const bytes = await readFile(clip('long-plain.mp4'));
    const stsdPath = ['moov', 'trak', 'mdia', 'minf', 'stbl', 'stsd'];
    const [stsd, entry] = [boxPath(bytes, stsdPath).at(-1)!, boxPath(bytes, [...stsdPath, 'avc1']).at(-1)!];
    const other = await readFile(clip('other-encode.mp4'));
    const otherEntry = boxPath(other, [...stsdPath, 'avc1']).at(-1)!;
    const entries = [bytes.subarray(entry, entry + bytes.readUInt32BE(entry)), other.subarray(otherEntry, otherEntry + other.readUInt32BE(otherEntry))];
    expect(entries[0]!.equals(entries[1]!)).toBe(false);
    const head = Buffer.from(bytes.subarray(stsd, stsd + 16));
    head.writeUInt32BE(16 + entries[0]!.length + entries[1]!.length, 0);
    head.writeUInt32BE(2, 12);
    await writeFile(clip('two-descriptions.mp4'), replaceBox(bytes, stsdPath, Buffer.concat([head, ...entries])));
    expect(await sampleTableRefusal(clip('two-descriptions.mp4'))).toMatch(/2 sample descriptions/);
    expect(await readSampleTable(clip('two-descriptions.mp4'))).toBeUndefined();
  });

  it('refuses samples in another file (a data reference not flagged self-contained)', async () => {
    const bytes = Buffer.from(await readFile(clip('long-plain.mp4')));
    const url = boxPath(bytes, ['moov', 'trak', 'mdia', 'minf', 'dinf', 'dref', 'url ']).at(-1)!;
    expect(bytes.readUInt32BE(url + 8)).toBe(1);
    bytes.writeUInt32BE(0, url + 8);
    await writeFile(clip('external.mp4'), bytes);
    expect(await sampleTableRefusal(clip('external.mp4'))).toMatch(/external data reference/);
  });

  it.each([['ts25.mp4', 25], ['ts8.mp4', 8]])('%s: a timescale of one tick per frame gives exact times', async (name, rate) => {
    const { table, frames } = await expectSameFrames(clip(name));
    expect(table.timescale).toBe(rate);
    expect(table.editStart).toBeGreaterThan(0);
    expect(table.frameTimes.length).toBe(4 * rate);
    // Every frame at k / rate exactly (the double nearest to it), as ffmpeg numbers them.
    frames.forEach((f, k) => {
      expect(f.pts).toBe(k);
      expect(table.frameTimes[k]).toBe(k / rate);
    });
    expect(table.duration).toBe(4);
    expect(await expectSubsetDecodes(clip(name), `subset-${name}`)).toBeLessThan(table.frameTimes.length);
  });
});

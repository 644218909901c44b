import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_CHILD_BOXES, MAX_TOP_LEVEL_BOXES } from '../../src/media/mp4/boxes.js';
import { readSampleTable, sampleTableRefusal } from '../../src/media/mp4/sample-table.js';
import { ffmpeg } from '../helpers/ffmpeg.js';

/**
 * Files built to make the in-process MP4 reader slow or hungry: it must refuse them at once,
 * within bounded memory, and stop when told to.
 */

let dir = '';
const file = (name: string) => path.join(dir, name);

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'vdedup-mp4-hostile-'));
  await ffmpeg(['-f', 'lavfi', '-t', '2', '-i', 'testsrc2=size=160x120:rate=25', '-c:v', 'libx264', file('plain.mp4')]);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const u32 = (...values: number[]) => {
  const b = Buffer.alloc(4 * values.length);
  values.forEach((v, i) => b.writeUInt32BE(v >>> 0, 4 * i));
  return b;
};
const box = (type: string, ...parts: Buffer[]) => {
  const body = Buffer.concat(parts);
  return Buffer.concat([u32(8 + body.length), Buffer.from(type, 'latin1'), body]);
};
const fullBox = (type: string, flags: number, ...parts: Buffer[]) => box(type, u32(flags), ...parts);
/** An 8-byte box with nothing in it (Buffer.alloc repeats it to fill). */
const EMPTY_FREE = box('free');
const FTYP = box('ftyp', Buffer.from('isom', 'latin1'), u32(0x200), Buffer.from('isomiso2avc1mp41', 'latin1'));

/**
 * ftyp, a small moov of one 160x120 H.264 track with the given sample tables, and an mdat of
 * `dataBytes` (where the one chunk starts).
 */
function movie(tables: { stts: Buffer; stsz: Buffer; ctts?: Buffer }, dataBytes: number): Buffer {
  const matrix = u32(0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000);
  const mvhd = fullBox('mvhd', 0, u32(0, 0, 1000, 1000, 0x10000), Buffer.from([1, 0]), Buffer.alloc(10), matrix, Buffer.alloc(24), u32(2));
  const tkhd = fullBox('tkhd', 3, u32(0, 0, 1, 0, 1000), Buffer.alloc(16), matrix, u32(160 << 16, 120 << 16));
  const mdhd = fullBox('mdhd', 0, u32(0, 0, 12800, 12800), Buffer.from([0x55, 0xc4, 0, 0]));
  const hdlr = fullBox('hdlr', 0, u32(0), Buffer.from('vide', 'latin1'), Buffer.alloc(12), Buffer.from('VideoHandler\0', 'latin1'));
  // A visual sample entry: 86 bytes with its header, width and height at 32.
  const avc1 = box('avc1', Buffer.alloc(6), Buffer.from([0, 1]), Buffer.alloc(16), Buffer.from([0, 160, 0, 120]), u32(0x480000, 0x480000, 0), Buffer.from([0, 1]), Buffer.alloc(32), Buffer.from([0, 0x18, 0xff, 0xff]));
  const stco = (offset: number) => fullBox('stco', 0, u32(1, offset));
  const build = (offset: number) => {
    const stbl = box('stbl', fullBox('stsd', 0, u32(1), avc1), tables.stts, ...(tables.ctts ? [tables.ctts] : []), tables.stsz, fullBox('stsc', 0, u32(1, 1, 0xffffffff, 1)), stco(offset));
    const minf = box('minf', fullBox('vmhd', 1, Buffer.alloc(8)), box('dinf', fullBox('dref', 0, u32(1), fullBox('url ', 1))), stbl);
    return box('moov', mvhd, box('trak', tkhd, box('mdia', mdhd, hdlr, minf)));
  };
  const moov = build(0);
  const mdat = box('mdat', Buffer.alloc(dataBytes));
  return Buffer.concat([FTYP, build(FTYP.length + moov.length + 8), mdat]);
}

/** Runs f, and gives its result with the time it took and the growth of resident memory. */
async function measured<T>(f: () => Promise<T>) {
  const rss = process.memoryUsage().rss;
  let peak = rss;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
  const start = performance.now();
  try {
    const result = await f();
    peak = Math.max(peak, process.memoryUsage().rss);
    return { result, ms: performance.now() - start, growthMb: (peak - rss) / 2 ** 20 };
  } finally {
    clearInterval(sampler);
  }
}

describe('hostile MP4 files: refused at once, in bounded memory', () => {
  it('the box tables of a hand-built file are read (so the refusals below are about what they test)', async () => {
    // 10 samples of 100 bytes, a frame every 512 units of 1/12800 s.
    await writeFile(file('built.mp4'), movie({ stts: fullBox('stts', 0, u32(1, 10, 512)), stsz: fullBox('stsz', 0, u32(100, 10)) }, 1000));
    expect(await sampleTableRefusal(file('built.mp4'))).toBeUndefined();
    const table = (await readSampleTable(file('built.mp4')))!;
    expect(table.frameTimes.length).toBe(10);
    expect(table.duration).toBeCloseTo(0.4, 9);
  });

  it('a file of a million 8-byte top-level boxes (8 MB) is refused after MAX_TOP_LEVEL_BOXES of them', async () => {
    await writeFile(file('tiny-boxes.mp4'), Buffer.concat([FTYP, Buffer.alloc(8 * 1_000_000, EMPTY_FREE)]));
    const { result, ms, growthMb } = await measured(() => sampleTableRefusal(file('tiny-boxes.mp4')));
    expect(result).toBe(`more than ${MAX_TOP_LEVEL_BOXES} top-level boxes`);
    expect(ms).toBeLessThan(2000);
    expect(growthMb).toBeLessThan(100);
    expect(await readSampleTable(file('tiny-boxes.mp4'))).toBeUndefined();
  });

  it('the walk reads in blocks: a moov after 1000 padding boxes spanning several blocks is still found', async () => {
    // plain.mp4 has its moov last: boxes put before it move no sample.
    const bytes = await readFile(file('plain.mp4'));
    const moov = bytes.lastIndexOf('moov', undefined, 'latin1') - 4;
    expect(bytes.indexOf('mdat', 0, 'latin1')).toBeLessThan(moov);
    const pad = Buffer.concat(Array.from({ length: 1000 }, () => box('free', Buffer.alloc(92, 0x61))));
    await writeFile(file('padded.mp4'), Buffer.concat([bytes.subarray(0, moov), pad, bytes.subarray(moov)]));
    const [plain, padded] = [await readSampleTable(file('plain.mp4')), await readSampleTable(file('padded.mp4'))];
    expect(padded, await sampleTableRefusal(file('padded.mp4'))).toBeDefined();
    expect(Array.from(padded!.frameTimes)).toEqual(Array.from(plain!.frameTimes));
  });

  it('a small moov whose stts claims 20,000,000 samples is refused before anything is allocated for them', async () => {
    const hostile = movie({ stts: fullBox('stts', 0, u32(1, 20_000_000, 512)), stsz: fullBox('stsz', 0, u32(1, 20_000_000)) }, 64);
    expect(hostile.length).toBeLessThan(1024);
    await writeFile(file('many-samples.mp4'), hostile);
    const { result, ms, growthMb } = await measured(() => sampleTableRefusal(file('many-samples.mp4')));
    expect(result).toMatch(/^20000000 samples in a file of \d+ bytes$/);
    expect(ms).toBeLessThan(2000);
    expect(growthMb).toBeLessThan(100);
  });

  it('tables must hold the entries they announce: stsz, stts and ctts counts beyond their box are refused', async () => {
    // 300,000 samples fit a 400 kB file, but their sizes are not in the 20-byte stsz.
    await writeFile(file('short-stsz.mp4'), movie({ stts: fullBox('stts', 0, u32(1, 300_000, 512)), stsz: fullBox('stsz', 0, u32(0, 300_000)) }, 400_000));
    const short = await measured(() => sampleTableRefusal(file('short-stsz.mp4')));
    expect(short.result).toBe('short stsz');
    expect(short.growthMb).toBeLessThan(100);
    const ok = { stts: fullBox('stts', 0, u32(1, 10, 512)), stsz: fullBox('stsz', 0, u32(100, 10)) };
    await writeFile(file('huge-stts.mp4'), movie({ ...ok, stts: fullBox('stts', 0, u32(0xffffffff, 10, 512)) }, 1000));
    expect(await sampleTableRefusal(file('huge-stts.mp4'))).toBe('short table');
    await writeFile(file('huge-ctts.mp4'), movie({ ...ok, ctts: fullBox('ctts', 0, u32(0x20000000, 10, 0)) }, 1000));
    expect(await sampleTableRefusal(file('huge-ctts.mp4'))).toBe('short table');
  });

  it('a moov of a million tiny boxes is refused after MAX_CHILD_BOXES of them', async () => {
    await writeFile(file('crowded-moov.mp4'), Buffer.concat([FTYP, box('moov', Buffer.alloc(8 * 1_000_000, EMPTY_FREE))]));
    const { result, ms, growthMb } = await measured(() => sampleTableRefusal(file('crowded-moov.mp4')));
    expect(result).toBe(`more than ${MAX_CHILD_BOXES} boxes in one box`);
    expect(ms).toBeLessThan(2000);
    expect(growthMb).toBeLessThan(100);
  });
});

describe('abort', () => {
  it('an aborted read rejects with ABORTED (it does not answer undefined, which would send the caller to ffprobe)', async () => {
    const aborted = AbortSignal.abort();
    await expect(readSampleTable(file('plain.mp4'), aborted)).rejects.toMatchObject({ code: 'ABORTED' });
    await expect(sampleTableRefusal(file('plain.mp4'), aborted)).rejects.toMatchObject({ code: 'ABORTED' });
    // Aborted while the walk is under way (after the call, before its first read completes).
    for (const name of ['plain.mp4', 'tiny-boxes.mp4']) {
      const controller = new AbortController();
      const reading = readSampleTable(file(name), controller.signal);
      controller.abort(new Error('stop'));
      await expect(reading).rejects.toMatchObject({ code: 'ABORTED', cause: new Error('stop') });
    }
    // A signal that does not fire changes nothing.
    expect(await readSampleTable(file('plain.mp4'), new AbortController().signal)).toBeDefined();
  });
});

import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fingerprintCached, fingerprintKey } from '../../src/fingerprint/cached.js';
import { contentKey } from '../../src/fingerprint/content-key.js';
import { fingerprintVideo, type Fingerprint } from '../../src/fingerprint/fingerprint.js';
import { FingerprintStore } from '../../src/fingerprint/store.js';
import { checkVideoInput, INPUT_PROTOCOL_ARGS, inputProtocolArgs, inputUrl, openVideoBytes, type StoredMember } from '../../src/media/input.js';
import { readSampleTable } from '../../src/media/mp4/sample-table.js';
import { looksLikeMp4 } from '../../src/media/probe.js';
import { samplingSubset } from '../../src/media/sample.js';
import { isVdedupError, type ErrorCode } from '../../src/errors.js';
import { ffmpeg } from '../helpers/ffmpeg.js';

/**
 * A video stored in an archive (an uncompressed tar member, a stored zip member) is fingerprinted
 * in place, through ffmpeg's subfile protocol and range-bounded reads, exactly as the same bytes
 * as a file of their own: same columns, same content key, the same subset decoding; and nothing is
 * ever read outside the member's range.
 */

const run = promisify(execFile);

async function failure(p: Promise<unknown>): Promise<{ code: ErrorCode; file: string | undefined; message: string }> {
  try {
    await p;
  } catch (err) {
    if (isVdedupError(err)) return { code: err.code, file: err.file, message: err.oneLine() };
    throw err;
  }
  throw new Error('expected a failure');
}

/** Data offset and size of every regular member of a tar file, from its 512-byte headers. */
async function tarMembers(tar: string): Promise<Map<string, { offset: number; size: number }>> {
  const buf = await readFile(tar);
  const out = new Map<string, { offset: number; size: number }>();
  for (let at = 0; at + 512 <= buf.length; ) {
    const header = buf.subarray(at, at + 512);
    if (header.every((b) => b === 0)) break;
    const name = header.toString('latin1', 0, 100).replace(/\0.*$/s, '');
    const size = parseInt(header.toString('latin1', 124, 136).replace(/\0.*$/s, '').trim(), 8);
    const type = String.fromCharCode(header[156]!);
    if (type === '0' || type === '\0') out.set(name, { offset: at + 512, size });
    at += 512 + Math.ceil(size / 512) * 512;
  }
  return out;
}

/** Write a stored (uncompressed) zip of `files` (cwd-relative names) and return each member's data offset and size. */
async function storedZip(zip: string, cwd: string, files: string[]): Promise<Map<string, { offset: number; size: number }>> {
  const script = `
import json, struct, sys, zipfile
zip, names = sys.argv[1], sys.argv[2:]
with zipfile.ZipFile(zip, 'w', compression=zipfile.ZIP_STORED) as z:
    for n in names: z.write(n)
out = {}
with open(zip, 'rb') as f, zipfile.ZipFile(zip) as z:
    for i in z.infolist():
        f.seek(i.header_offset)
        h = f.read(30)
        n, m = struct.unpack('<HH', h[26:30])
        out[i.filename] = {'offset': i.header_offset + 30 + n + m, 'size': i.file_size}
print(json.dumps(out))
`;
  const { stdout } = await run('python3', ['-c', script, zip, ...files], { cwd });
  return new Map(Object.entries(JSON.parse(stdout) as Record<string, { offset: number; size: number }>));
}

/** The top-level boxes of an MP4 file: type, start of the box, end. */
function topBoxes(buf: Buffer): Array<{ type: string; start: number; end: number }> {
  const out = [];
  for (let at = 0; at + 8 <= buf.length; ) {
    const size = buf.readUInt32BE(at);
    out.push({ type: buf.toString('latin1', at + 4, at + 8), start: at, end: at + size });
    if (size < 8) break;
    at += size;
  }
  return out;
}

/** Add `delta` to every chunk offset of every stco box in the moov of an MP4 held in `buf` at `base`. */
function shiftChunkOffsets(buf: Buffer, base: number, length: number, delta: number): number {
  const moov = topBoxes(buf.subarray(base, base + length)).find((b) => b.type === 'moov')!;
  let patched = 0;
  for (let p = base + moov.start; ; ) {
    p = buf.indexOf('stco', p + 1, 'latin1');
    if (p < 0 || p >= base + moov.end) break;
    const count = buf.readUInt32BE(p + 8);
    for (let i = 0; i < count; i++) buf.writeUInt32BE(buf.readUInt32BE(p + 12 + 4 * i) + delta, p + 12 + 4 * i);
    patched++;
  }
  return patched;
}

const COLUMNS = ['hashes', 'flips', 'rawHashes', 'centerHashes', 'innerHashes', 'innerQuality', 'quality', 'stripHashes', 'regions', 'regionHashes', 'regionQuality', 'content', 'frameCount', 'duration', 'video', 'fps', 'warnings'] as const;

function expectSameFingerprint(member: Fingerprint, loose: Fingerprint, what: string): void {
  for (const column of COLUMNS) expect(member[column], `${what}: ${column}`).toEqual(loose[column]);
}

async function subsetBytes(subset: Awaited<ReturnType<typeof samplingSubset>>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of subset!.stream()) parts.push(part);
  return Buffer.concat(parts);
}

let dir: string;
/** Where the loose files and the archives live: a name with commas, colons and spaces (ffmpeg's URL syntax uses both). */
let shardDir: string;
const VIDEOS = ['fast.mp4', 'tail.mp4', 'vp9.webm'] as const;
const H264 = new Set(['fast.mp4', 'tail.mp4']);
let tar: string;
let zip: string;
let inTar: Map<string, { offset: number; size: number }>;
let inZip: Map<string, { offset: number; size: number }>;

function member(archive: string, listing: Map<string, { offset: number; size: number }>, name: string): StoredMember {
  const m = listing.get(name);
  if (m === undefined) throw new Error(`${name} not in ${archive}`);
  return { file: archive, offset: m.offset, size: m.size, name: `${path.basename(archive)}#${name}` };
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'vdedup-member-'));
  shardDir = path.join(dir, 'shards, v1: test');
  await mkdir(shardDir);
  const at = (name: string) => path.join(shardDir, name);
  const sources = (seconds: number, rate: string) => ['-f', 'lavfi', '-i', `testsrc2=size=160x120:rate=${rate}:duration=${seconds}`, '-f', 'lavfi', '-i', `sine=duration=${seconds}`];
  await Promise.all([
    // x264 defaults (B-pyramid) with AAC audio, moov first.
    ffmpeg([...sources(30, '30000/1001'), '-c:v', 'libx264', '-c:a', 'aac', '-shortest', '-movflags', '+faststart', at('fast.mp4')]),
    // moov at the end: ffmpeg must seek inside the member to find it.
    ffmpeg([...sources(24, '24'), '-c:v', 'libx264', '-c:a', 'aac', '-video_track_timescale', '90000', '-shortest', at('tail.mp4')]),
    ffmpeg([...sources(20, '25'), '-c:v', 'libvpx-vp9', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '200k', '-c:a', 'libopus', '-shortest', at('vp9.webm')]),
    writeFile(at('notes.txt'), 'a WebDataset sidecar, not a video\n'.repeat(400)),
  ]);
  // hostile.mp4 starts as a copy of fast.mp4 and sits right before it in the tar; its chunk
  // offsets are then shifted to point past its own end, onto fast.mp4's identical samples.
  await copyFile(at('fast.mp4'), at('hostile.mp4'));
  tar = at('shard-000.tar');
  await run('tar', ['--format=gnu', '-cf', tar, 'hostile.mp4', 'fast.mp4', 'notes.txt', 'tail.mp4', 'vp9.webm'], { cwd: shardDir });
  inTar = await tarMembers(tar);
  const hostile = inTar.get('hostile.mp4')!;
  const delta = inTar.get('fast.mp4')!.offset - hostile.offset;
  const archive = await readFile(tar);
  expect(shiftChunkOffsets(archive, hostile.offset, hostile.size, delta)).toBe(2); // video and audio tracks
  await writeFile(tar, archive);
  await writeFile(at('hostile.mp4'), archive.subarray(hostile.offset, hostile.offset + hostile.size));
  zip = at('shard-000.zip');
  inZip = await storedZip(zip, shardDir, ['notes.txt', ...VIDEOS]);
}, 120_000);

afterAll(async () => {
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

describe('a video stored in an archive', () => {
  it('the archives hold each file byte for byte where the listings say', async () => {
    for (const [archive, listing] of [[tar, inTar], [zip, inZip]] as const) {
      const bytes = await readFile(archive);
      for (const name of [...VIDEOS, 'notes.txt']) {
        const m = member(archive, listing, name);
        expect(bytes.subarray(m.offset, m.offset + m.size).equals(await readFile(path.join(shardDir, name))), `${m.name}`).toBe(true);
      }
    }
  });

  it('ffmpeg reads a member through subfile, with subfile allowed for members only', () => {
    const m: StoredMember = { file: '/data/a,b: c/x.tar', offset: 1536, size: 1000, name: 'x.tar#v.mp4' };
    expect(inputUrl(m)).toBe('subfile,,start,1536,end,2536,,:file:/data/a,b: c/x.tar');
    expect(inputUrl('/data/v.mp4')).toBe('file:/data/v.mp4');
    expect(inputProtocolArgs('/data/v.mp4')).toBe(INPUT_PROTOCOL_ARGS);
    expect(INPUT_PROTOCOL_ARGS[1]).toBe('file,pipe');
    expect(inputProtocolArgs(m).slice(0, 2)).toEqual(['-protocol_whitelist', 'file,pipe,subfile']);
    expect(inputProtocolArgs(m).slice(2)).toEqual(INPUT_PROTOCOL_ARGS.slice(2));
  });

  for (const name of VIDEOS) {
    it(`${name}: the member's fingerprint, content key and subset are the loose file's, in a tar and a stored zip`, async () => {
      const loose = path.join(shardDir, name);
      for (const fps of [1, 4]) {
        const expected = await fingerprintVideo(loose, { fps });
        expect(expected.frameCount).toBeGreaterThanOrEqual(20 * fps);
        const looseKey = await fingerprintKey(loose, false, fps);
        const looseSubset = await samplingSubset(loose, fps);
        // The H.264 files take the subset path at 1 fps (the training side) whatever the container.
        if (fps === 1) expect(looseSubset === undefined, `${name} subset`).toBe(!H264.has(name));
        for (const [archive, listing] of [[tar, inTar], [zip, inZip]] as const) {
          const m = member(archive, listing, name);
          const what = `${m.name} at ${fps} fps`;
          const fp = await fingerprintVideo(m, { fps });
          expect(fp.file).toBe(m.name);
          expectSameFingerprint(fp, expected, what);
          expect(await fingerprintKey(m, false, fps), what).toBe(looseKey);
          expect(await contentKey(m, 'p'), what).toBe(await contentKey(loose, 'p'));
          expect(await looksLikeMp4(m)).toBe(await looksLikeMp4(loose));
          const subset = await samplingSubset(m, fps);
          expect(subset === undefined, what).toBe(looseSubset === undefined);
          if (subset !== undefined) {
            // The same MP4 of the same samples, read from the member's bytes.
            expect(subset.streamIndex).toBe(looseSubset!.streamIndex);
            expect((await subsetBytes(subset)).equals(await subsetBytes(looseSubset)), what).toBe(true);
          }
          if (fps === 1) {
            // The whole stream decoded gives the same too (the subset changes nothing).
            expectSameFingerprint(await fingerprintVideo(m, { fps, decodeAll: true }), expected, `${what}, whole stream`);
          }
        }
      }
    }, 120_000);
  }

  it('the store serves a member the fingerprint of the same bytes as a file, under the member name', async () => {
    const store = new FingerprintStore(path.join(dir, 'store'));
    const loose = await fingerprintCached(path.join(shardDir, 'fast.mp4'), store);
    expect(loose.fromStore).toBe(false);
    const m = member(zip, inZip, 'fast.mp4');
    const cached = await fingerprintCached(m, store);
    expect(cached).toMatchObject({ key: loose.key, fromStore: true });
    expect(cached.fingerprint.file).toBe(m.name);
    expectSameFingerprint(cached.fingerprint, loose.fingerprint, 'from the store');
  });

  it('a member range the archive does not hold is a clear error naming the member', async () => {
    const size = (await stat(tar)).size;
    const past = await failure(fingerprintVideo({ file: tar, offset: size - 100, size: 1000, name: 'shard-000.tar#cut.mp4' }));
    expect(past).toMatchObject({ code: 'TRUNCATED_MEDIA', file: 'shard-000.tar#cut.mp4' });
    expect(past.message).toMatch(/^shard-000\.tar#cut\.mp4: .*past the end of the archive/);
    expect(await failure(fingerprintKey({ file: tar, offset: size, size: 1, name: 't#x' }))).toMatchObject({ code: 'TRUNCATED_MEDIA', file: 't#x' });
    expect(await failure(fingerprintVideo({ file: tar, offset: 512, size: 0, name: 't#empty' }))).toMatchObject({ code: 'EMPTY_FILE', file: 't#empty' });
    expect(await failure(fingerprintVideo({ file: tar, offset: -1, size: 10, name: 't#neg' }))).toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(await failure(fingerprintVideo({ file: tar, offset: 0.5, size: 10, name: 't#half' }))).toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(await failure(fingerprintVideo({ file: path.join(dir, 'missing.tar'), offset: 0, size: 10, name: 'missing.tar#v.mp4' }))).toMatchObject({ code: 'FILE_NOT_FOUND', file: 'missing.tar#v.mp4' });
    expect(await failure(checkVideoInput({ file: shardDir, offset: 0, size: 10, name: 'dir#v.mp4' }))).toMatchObject({ code: 'NOT_A_FILE', file: 'dir#v.mp4' });
  });

  it('a member that is not a video fails as the same bytes as a file do', async () => {
    const loose = await failure(fingerprintVideo(path.join(shardDir, 'notes.txt')));
    for (const [archive, listing] of [[tar, inTar], [zip, inZip]] as const) {
      const m = member(archive, listing, 'notes.txt');
      expect(await failure(fingerprintVideo(m))).toMatchObject({ code: loose.code, file: m.name });
    }
    // A range across members (the tail of a video and the next header) is no video either.
    const fast = inTar.get('fast.mp4')!;
    const across = await failure(fingerprintVideo({ file: tar, offset: fast.offset + 4096, size: fast.size, name: 'across' }));
    expect(['INVALID_MEDIA', 'NO_FRAMES', 'TRUNCATED_MEDIA']).toContain(across.code);
  });

  it('a member whose chunk offsets point outside it is refused the subset and never reads its neighbour', async () => {
    const m = member(tar, inTar, 'hostile.mp4');
    const loose = path.join(shardDir, 'hostile.mp4');
    // The offsets land on the next member's identical samples: reading them would decode fine.
    expect(await readSampleTable(m)).toBeUndefined();
    expect(await readSampleTable(loose)).toBeUndefined();
    for (const fps of [1, 4]) expect(await samplingSubset(m, fps)).toBeUndefined();
    // A read past the member's end gets nothing, at any size.
    const bytes = await openVideoBytes(m);
    try {
      const buf = Buffer.alloc(4096);
      expect(bytes.size).toBe(m.size);
      expect((await bytes.read(buf, 0, 4096, m.size - 10)).bytesRead).toBe(10);
      expect((await bytes.read(buf, 0, 4096, m.size)).bytesRead).toBe(0);
      expect((await bytes.read(buf, 0, 4096, -1)).bytesRead).toBe(0);
    } finally {
      await bytes.close();
    }
    // ffmpeg through subfile sees what it sees in the file alone: the samples are not there.
    const asFile = await failure(fingerprintVideo(loose));
    const asMember = await failure(fingerprintVideo(m));
    expect(asMember).toMatchObject({ code: asFile.code, file: m.name });
  }, 60_000);
});

describe('the content key of a member', () => {
  it('hashes size and start/middle/end samples counted from the member, for small and large members alike', async () => {
    const base = await mkdtemp(path.join(os.tmpdir(), 'vdedup-key-'));
    try {
      for (const size of [1, 1000, 3 * 64 * 1024, 3 * 64 * 1024 + 1, 1_000_003]) {
        const data = Buffer.alloc(size);
        for (let i = 0; i < size; i++) data[i] = (i * 2654435761) >>> 24;
        const file = path.join(base, `v${size}`);
        await writeFile(file, data);
        const padded = path.join(base, `p${size}`);
        const head = Buffer.alloc(777, 0xab);
        await writeFile(padded, Buffer.concat([head, data, Buffer.alloc(5000, 0xcd)]));
        const m = { file: padded, offset: head.length, size, name: `p#${size}` };
        expect(await contentKey(m, 'x'), `size ${size}`).toBe(await contentKey(file, 'x'));
        // One byte more or less is other content.
        expect(await contentKey({ ...m, size: size + 1 }, 'x')).not.toBe(await contentKey(file, 'x'));
      }
    } finally {
      await rm(base, { recursive: true, force: true });
    }
  });
});

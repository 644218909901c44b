import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isVdedupError } from '../../src/errors.js';
import {
  DEFAULT_ARCHIVE_LIMITS,
  archiveKind,
  extractMember,
  listArchive,
  streamArchive,
  webdatasetKey,
  type ArchiveGroup,
  type ArchiveProblem,
} from '../../src/media/archive/index.js';
import { TAR_END, base256, buildZip, paxMember, tarHeader, tarMember } from '../helpers/archive-bytes.js';
import { bytesAt } from '../helpers/archive-read.js';

/**
 * Archives as the tools write them (GNU tar in its three formats, gzip, Python's zipfile): every
 * video member is found with the bytes it holds, sidecars are read per sample key, a one-pass read
 * of a .tar.gz hands each sample over with its video in a temporary file that is gone afterwards.
 */

let dir = '';
const file = (...names: string[]) => path.join(dir, ...names);
const isVideo = (name: string) => /\.(mp4|webm|mkv)$/i.test(name);

const LONG_DIR = `deep/${'d'.repeat(120)}`;
const LONG_VIDEO = `${LONG_DIR}/clip.seg.mp4`;
/** Members in the order tar writes them (a directory first, then a WebDataset sample at a time). */
const MEMBERS = ['00000.json', '00000.mp4', '00000.txt', '00001.json', '00001.mp4', '00001.txt', '00002.json', LONG_VIDEO];
const content = new Map<string, Buffer>();

function run(cmd: string, args: string[]): void {
  execFileSync(cmd, args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'vdedup-archive-'));
  await mkdir(file('src', LONG_DIR), { recursive: true });
  const json = (key: string, id: string) => Buffer.from(JSON.stringify({ key, url: `https://www.youtube.com/watch?v=${id}`, status: 'success' }));
  content.set('00000.json', json('00000', 'dQw4w9WgXcQ'));
  content.set('00000.mp4', randomBytes(3000));
  content.set('00000.txt', Buffer.from('a caption'));
  content.set('00001.json', json('00001', 'aBcDeFgHiJ0'));
  // Larger than the reader's 64 KiB window, half compressible.
  content.set('00001.mp4', Buffer.concat([randomBytes(70_000), Buffer.alloc(70_000, 7)]));
  content.set('00001.txt', Buffer.from('another caption'));
  content.set('00002.json', json('00002', 'zzzzzzzzzz0'));
  content.set(LONG_VIDEO, randomBytes(1234));
  for (const [name, data] of content) await writeFile(file('src', name), data);
  for (const format of ['gnu', 'posix', 'ustar']) {
    run('tar', [`--format=${format}`, '--no-recursion', '-C', 'src', '-cf', `wds-${format}.tar`, 'deep', ...MEMBERS]);
  }
  run('sh', ['-c', 'gzip -c wds-gnu.tar > wds.tar.gz && cp wds.tar.gz wds.TGZ']);
  const py = [
    'import zipfile, sys',
    "z = zipfile.ZipFile(sys.argv[1], 'w')",
    "z.write('src/00000.mp4', '00000.mp4', compress_type=zipfile.ZIP_STORED)",
    "z.write('src/00000.json', '00000.json', compress_type=zipfile.ZIP_DEFLATED)",
    "z.write('src/00001.mp4', '00001.mp4', compress_type=zipfile.ZIP_DEFLATED)",
    "z.writestr('notes/', '')",
    "z.writestr('notes/readme.txt', 'not a video')",
    // A comment holding the end record's signature: the reader must find the real one.
    "z.comment = b'comment PK\\x05\\x06 inside'",
    'z.close()',
  ].join('\n');
  run('python3', ['-c', py, 'wds.zip']);
}, 60_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const sidecarsOf = (...names: string[]) => new Map(names.map((n) => [webdatasetKey(n), new Map([[n, content.get(n)!.toString()]])]));

describe('names', () => {
  it('archiveKind reads the extension, any case', () => {
    expect(['a.tar', 'a.TAR', 'a.tar.gz', 'b.TGZ', 'c.Zip', 'd.tar.bz2', 'e.mp4', 'tar'].map(archiveKind)).toEqual(['tar', 'tar', 'tar.gz', 'tar.gz', 'zip', undefined, undefined, undefined]);
  });

  it("webdatasetKey keeps the directory and cuts the base name at its first dot", () => {
    expect(webdatasetKey('a/b/000012.mp4')).toBe('a/b/000012');
    expect(webdatasetKey('x.seg.json')).toBe('x');
    expect(webdatasetKey('a.b/c.d.e')).toBe('a.b/c');
    expect(webdatasetKey('noext')).toBe('noext');
    expect(webdatasetKey('dir/.hidden')).toBe('dir/.hidden');
  });

  it('the default limits are the documented ones', () => {
    expect(DEFAULT_ARCHIVE_LIMITS).toEqual({
      maxMemberBytes: 64 * 2 ** 30,
      maxRatio: 100,
      ratioFloorBytes: 256 * 2 ** 20,
      maxMembers: 1_000_000,
      maxSidecarBytes: 2 ** 20,
      maxSidecarTotalBytes: 256 * 2 ** 20,
    });
  });
});

describe('listArchive on tars from GNU tar', () => {
  for (const format of ['gnu', 'posix', 'ustar']) {
    it(`${format}: every video in place, sidecars by key, the directory skipped quietly`, async () => {
      const archive = file(`wds-${format}.tar`);
      const listing = await listArchive(archive, { isVideo });
      expect(listing.problems).toEqual([]);
      expect(listing.videos.map((v) => [v.name, v.key, v.size])).toEqual([
        ['00000.mp4', '00000', 3000],
        ['00001.mp4', '00001', 140_000],
        [LONG_VIDEO, `${LONG_DIR}/clip`, 1234],
      ]);
      for (const v of listing.videos) expect((await bytesAt(archive, v)).equals(content.get(v.name)!)).toBe(true);
      expect(listing.sidecars).toEqual(sidecarsOf('00000.json', '00001.json', '00002.json'));
    });
  }

  it('base-256 sizes, pax size and path, pax global headers ignored', async () => {
    const a = randomBytes(1000);
    const b = randomBytes(700);
    const c = randomBytes(10);
    const archive = file('hand.tar');
    await writeFile(
      archive,
      Buffer.concat([
        paxMember({ comment: 'global, ignored', path: 'ignored.mp4' }, 'g'),
        tarMember({ name: 'a.mp4', sizeField: base256(1000n), format: 'gnu' }, a),
        paxMember({ path: 'from-pax/b.mp4', size: '700' }),
        // The header's own size is wrong: pax's wins.
        tarHeader({ name: 'short-name.mp4', size: 0 }),
        b,
        Buffer.alloc(1024 - 700),
        tarMember({ name: 'c.mp4' }, c),
        TAR_END,
      ]),
    );
    const listing = await listArchive(archive, { isVideo });
    expect(listing.problems).toEqual([]);
    expect(listing.videos.map((v) => [v.name, v.size])).toEqual([['a.mp4', 1000], ['from-pax/b.mp4', 700], ['c.mp4', 10]]);
    const got = await Promise.all(listing.videos.map((v) => bytesAt(archive, v)));
    expect(got.map((g, i) => g.equals([a, b, c][i]!))).toEqual([true, true, true]);
  });
});

describe('listArchive and extractMember on zips', () => {
  it("Python's zipfile: stored in place, deflated to extract, sidecars inflated, directories and other files skipped", async () => {
    const archive = file('wds.zip');
    const listing = await listArchive(archive, { isVideo });
    expect(listing.problems).toEqual([]);
    const [stored, deflated] = listing.videos;
    expect(listing.videos.map((v) => [v.name, v.key, v.size, v.offset !== undefined, v.deflated !== undefined])).toEqual([
      ['00000.mp4', '00000', 3000, true, false],
      ['00001.mp4', '00001', 140_000, false, true],
    ]);
    expect((await bytesAt(archive, stored!)).equals(content.get('00000.mp4')!)).toBe(true);
    expect(deflated!.deflated!.compressedSize).toBeLessThan(140_000);
    expect(listing.sidecars).toEqual(sidecarsOf('00000.json'));
    for (const v of listing.videos) {
      const out = file(`extracted-${v.key}`);
      await extractMember(archive, v, out, DEFAULT_ARCHIVE_LIMITS);
      expect((await readFile(out)).equals(content.get(v.name)!)).toBe(true);
    }
  });

  it('bytes before the zip (a self-extractor stub) shift every offset', async () => {
    const archive = file('prefixed.zip');
    await writeFile(archive, Buffer.concat([randomBytes(777), await readFile(file('wds.zip'))]));
    const listing = await listArchive(archive, { isVideo });
    expect(listing.problems).toEqual([]);
    expect((await bytesAt(archive, listing.videos[0]!)).equals(content.get('00000.mp4')!)).toBe(true);
    const out = file('prefixed-deflated');
    await extractMember(archive, listing.videos[1]!, out);
    expect((await readFile(out)).equals(content.get('00001.mp4')!)).toBe(true);
  });

  it('zip64: an end record for 70,000 entries, and sizes in zip64 extra fields', async () => {
    const archive = file('many.zip');
    const py = [
      'import zipfile, sys',
      "z = zipfile.ZipFile(sys.argv[1], 'w')",
      "z.writestr('first.mp4', b'F' * 100)",
      "for i in range(70000): z.writestr('t/%05d.txt' % i, b'')",
      "z.writestr('last.mp4', b'L' * 200)",
      'z.close()',
    ].join('\n');
    run('python3', ['-c', py, archive]);
    const bytes = await readFile(archive);
    expect(bytes.includes(Buffer.from([0x50, 0x4b, 0x06, 0x06]))).toBe(true); // zip64 end record
    const listing = await listArchive(archive, { isVideo });
    expect(listing.problems).toEqual([]);
    expect(listing.videos.map((v) => [v.name, v.size])).toEqual([['first.mp4', 100], ['last.mp4', 200]]);
    expect((await bytesAt(archive, listing.videos[1]!)).equals(Buffer.alloc(200, 'L'))).toBe(true);

    const data = randomBytes(500);
    const z64 = file('zip64-extra.zip');
    await writeFile(z64, buildZip([{ name: 'x.txt', stored: Buffer.from('x') }, { name: 'v.mp4', stored: data, zip64: true }]));
    const l64 = await listArchive(z64, { isVideo });
    expect(l64.problems).toEqual([]);
    expect(l64.videos.map((v) => [v.name, v.size, v.offset])).toEqual([['v.mp4', 500, 30 + 5 + 1 + 30 + 5]]);
    expect((await bytesAt(z64, l64.videos[0]!)).equals(data)).toBe(true);
  });

  it('extractMember refuses a member over the size limit and never overwrites a file', async () => {
    const archive = file('wds.zip');
    const [stored] = (await listArchive(archive, { isVideo })).videos;
    const err = await extractMember(archive, stored!, file('too-big'), { ...DEFAULT_ARCHIVE_LIMITS, maxMemberBytes: 2999 }).catch((e: unknown) => e);
    expect(isVdedupError(err) && [err.code, err.message]).toEqual(['INVALID_MEDIA', '00000.mp4: member of 3000 bytes, more than the limit of 2999 bytes']);
    await writeFile(file('exists'), 'keep me');
    const err2 = await extractMember(archive, stored!, file('exists'), DEFAULT_ARCHIVE_LIMITS).catch((e: unknown) => e);
    expect(isVdedupError(err2) && err2.code).toBe('INVALID_ARGUMENT');
    expect(await readFile(file('exists'), 'utf8')).toBe('keep me');
  });
});

/** Streams an archive, checking in each onGroup that the video is the only file under tmpDir. */
async function streamed(archive: string, limits?: Parameters<typeof streamArchive>[1]['limits']) {
  const tmpDir = await mkdtemp(path.join(dir, 'tmp-'));
  const groups: { key: string; video?: string; size?: number; same?: boolean; sidecars: Map<string, string> }[] = [];
  const problems: ArchiveProblem[] = [];
  const videoFiles: string[] = [];
  await streamArchive(archive, {
    tmpDir,
    isVideo,
    limits,
    onProblem: (p) => problems.push(p),
    onGroup: async (g: ArchiveGroup) => {
      const present = (await readdir(tmpDir, { recursive: true, withFileTypes: true })).filter((e) => e.isFile());
      expect(present.map((e) => path.join(e.parentPath, e.name))).toEqual(g.video ? [g.video.file] : []);
      if (g.video) {
        expect(path.relative(tmpDir, g.video.file).startsWith('..')).toBe(false);
        videoFiles.push(g.video.file);
      }
      const same = g.video ? (await readFile(g.video.file)).equals(content.get(g.video.name) ?? Buffer.alloc(0)) : undefined;
      groups.push({ key: g.key, sidecars: g.sidecars, ...(g.video ? { video: g.video.name, size: g.video.size, same } : {}) });
    },
  });
  const left = await readdir(tmpDir, { recursive: true });
  await rm(tmpDir, { recursive: true });
  return { groups, problems, videoFiles, left };
}

describe('streamArchive', () => {
  for (const name of ['wds.tar.gz', 'wds.TGZ', 'wds-posix.tar']) {
    it(`${name}: one group per sample, the video in a temporary file gone afterwards`, async () => {
      const { groups, problems, videoFiles, left } = await streamed(file(name));
      expect(problems).toEqual([]);
      const json = (n: string) => new Map([[n, content.get(n)!.toString()]]);
      expect(groups).toEqual([
        { key: '00000', video: '00000.mp4', size: 3000, same: true, sidecars: json('00000.json') },
        { key: '00001', video: '00001.mp4', size: 140_000, same: true, sidecars: json('00001.json') },
        { key: '00002', sidecars: json('00002.json') },
        { key: `${LONG_DIR}/clip`, video: LONG_VIDEO, size: 1234, same: true, sidecars: new Map() },
      ]);
      expect(videoFiles.map((f) => path.basename(f))).toEqual(['1.mp4', '2.mp4', '3.mp4']);
      expect(left).toEqual([]);
    });
  }

  it('a zip: one group per video, extracted in turn', async () => {
    const { groups, problems, left } = await streamed(file('wds.zip'));
    expect(problems).toEqual([]);
    expect(groups).toEqual([
      { key: '00000', video: '00000.mp4', size: 3000, same: true, sidecars: new Map([['00000.json', content.get('00000.json')!.toString()]]) },
      { key: '00001', video: '00001.mp4', size: 140_000, same: true, sidecars: new Map() },
    ]);
    expect(left).toEqual([]);
  });

  it('a sample with two videos: onGroup once per video, each with the sample\'s sidecars so far', async () => {
    const archive = file('two-videos.tar.gz');
    const tar = Buffer.concat([
      tarMember({ name: 'a.json' }, Buffer.from('{"a":1}')),
      tarMember({ name: 'a.mp4' }, Buffer.from('mp4 of a')),
      tarMember({ name: 'a.webm' }, Buffer.from('webm of a')),
      tarMember({ name: 'a.txt' }, Buffer.from('caption')),
      tarMember({ name: 'b.mp4' }, Buffer.from('mp4 of b')),
      TAR_END,
    ]);
    await writeFile(archive, gzipSync(tar));
    const tmpDir = await mkdtemp(path.join(dir, 'tmp-'));
    const seen: [string, string, string, string[]][] = [];
    await streamArchive(archive, {
      tmpDir,
      isVideo,
      onProblem: (p) => expect.fail(p.message),
      onGroup: async (g) => {
        seen.push([g.key, g.video!.name, await readFile(g.video!.file, 'utf8'), [...g.sidecars.keys()]]);
      },
    });
    expect(seen).toEqual([
      ['a', 'a.mp4', 'mp4 of a', ['a.json']],
      ['a', 'a.webm', 'webm of a', ['a.json']],
      ['b', 'b.mp4', 'mp4 of b', []],
    ]);
  });

  it("onGroup's rejection ends the pass with that error, and the temporary file is removed", async () => {
    const tmpDir = await mkdtemp(path.join(dir, 'tmp-'));
    let seen = '';
    const err = await streamArchive(file('wds.tar.gz'), {
      tmpDir,
      isVideo,
      onProblem: () => {},
      onGroup: async (g) => {
        seen = g.video!.file;
        throw new Error('fingerprinting failed');
      },
    }).catch((e: unknown) => e);
    expect((err as Error).message).toBe('fingerprinting failed');
    expect(path.basename(seen)).toBe('1.mp4');
    expect(await readdir(tmpDir)).toEqual([]);
  });
});

describe('archives that cannot be read at all throw', () => {
  const code = (p: Promise<unknown>) => p.then(() => 'resolved', (e: unknown) => (isVdedupError(e) ? `${e.code}: ${e.message}` : String(e)));
  const noop = { tmpDir: os.tmpdir(), isVideo, onGroup: async () => {}, onProblem: () => {} };

  it('missing, a directory, empty, not an archive name', async () => {
    await writeFile(file('empty.tar'), '');
    await mkdir(file('dir.zip'));
    expect(await code(listArchive(file('missing.tar'), { isVideo }))).toBe('FILE_NOT_FOUND: no such file');
    expect(await code(listArchive(file('dir.zip'), { isVideo }))).toBe('NOT_A_FILE: is a directory, not an archive');
    expect(await code(listArchive(file('empty.tar'), { isVideo }))).toBe('EMPTY_FILE: empty file (0 bytes)');
    expect(await code(listArchive(file('src', '00000.mp4'), { isVideo }))).toBe('INVALID_ARGUMENT: not an archive name (.tar, .tar.gz, .tgz, .zip)');
    expect(await code(listArchive(file('wds.tar.gz'), { isVideo }))).toBe('INVALID_ARGUMENT: a compressed tar has no random access: read it with streamArchive');
    expect(await code(streamArchive(file('missing.tar.gz'), noop))).toBe('FILE_NOT_FOUND: no such file');
  });

  it('not a tar, not a zip, not gzip', async () => {
    await writeFile(file('junk.tar'), randomBytes(5000));
    await writeFile(file('junk.zip'), randomBytes(5000));
    await writeFile(file('junk.tar.gz'), randomBytes(5000));
    await writeFile(file('text.tar.gz'), execFileSync('gzip', ['-c'], { input: 'hello, not a tar\n'.repeat(100) }));
    expect(await code(listArchive(file('junk.tar'), { isVideo }))).toBe('INVALID_MEDIA: not a tar archive (bad header checksum at byte 0)');
    expect(await code(streamArchive(file('junk.tar'), noop))).toBe('INVALID_MEDIA: not a tar archive (bad header checksum at byte 0)');
    expect(await code(listArchive(file('junk.zip'), { isVideo }))).toBe('INVALID_MEDIA: not a zip archive (no end of central directory record)');
    expect(await code(streamArchive(file('junk.tar.gz'), noop))).toBe('INVALID_MEDIA: not a gzip file');
    expect(await code(streamArchive(file('text.tar.gz'), noop))).toBe('INVALID_MEDIA: not a tar archive (bad header checksum at byte 0) inside the gzip stream');
  });
});

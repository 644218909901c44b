import { execFileSync } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, open, readdir, readFile, rm, stat, symlink, link, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip, deflateRawSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isVdedupError } from '../../src/errors.js';
import {
  DEFAULT_ARCHIVE_LIMITS,
  extractMember,
  listArchive,
  problemLine,
  streamArchive,
  type ArchiveLimits,
  type ArchiveMember,
  type ArchiveProblem,
} from '../../src/media/archive/index.js';
import { TAR_END, buildZip, gnuLongMember, localHeader, paxMember, tarHeader, tarMember } from '../helpers/archive-bytes.js';

/**
 * Archives built to escape a directory, smuggle links, lie about sizes, or cost unbounded memory,
 * disk or time: each is a problem line naming the archive and the member, the other members go on,
 * and nothing is written outside the temporary directory.
 */

let dir = '';
const file = (...names: string[]) => path.join(dir, ...names);
const isVideo = (name: string) => /\.(mp4|webm)$/i.test(name);
const limits = (over: Partial<ArchiveLimits>): ArchiveLimits => ({ ...DEFAULT_ARCHIVE_LIMITS, ...over });

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'vdedup-archive-hostile-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const lines = (archive: string, problems: ArchiveProblem[]) => problems.map((p) => problemLine(p).replace(`${archive}: `, ''));

async function bytesAt(archive: string, m: ArchiveMember): Promise<Buffer> {
  const h = await open(archive, 'r');
  try {
    const buf = Buffer.alloc(m.size);
    await h.read(buf, 0, m.size, m.offset!);
    return buf;
  } finally {
    await h.close();
  }
}

/** Streams an archive into a fresh tmpDir; the groups (video content included) and problems. */
async function streamed(archive: string, lim?: Partial<ArchiveLimits>) {
  const tmpDir = await mkdtemp(path.join(dir, 'tmp-'));
  const groups: { key: string; video?: string; data?: Buffer; sidecars: string[] }[] = [];
  const problems: ArchiveProblem[] = [];
  await streamArchive(archive, {
    tmpDir,
    isVideo,
    limits: lim,
    onProblem: (p) => problems.push(p),
    onGroup: async (g) => {
      if (g.video) expect(path.basename(g.video.file)).toMatch(/^\d+\.(mp4|webm)$/);
      groups.push({ key: g.key, sidecars: [...g.sidecars.keys()], ...(g.video ? { video: g.video.name, data: await readFile(g.video.file) } : {}) });
    },
  });
  const left = await readdir(tmpDir, { recursive: true });
  await rm(tmpDir, { recursive: true });
  return { groups, problems, lines: lines(archive, problems), left };
}

describe('unsafe names', () => {
  it('.. components, absolute and Windows paths, backslashes, NUL and newline: problems; safe members kept', async () => {
    const ok = Buffer.from('fine video');
    const tar = Buffer.concat([
      tarMember({ name: '../evil.mp4' }, Buffer.from('x')),
      tarMember({ name: 'a/../../evil.mp4' }, Buffer.from('x')),
      tarMember({ name: '/abs.mp4' }, Buffer.from('x')),
      tarMember({ name: 'C:/windows.mp4' }, Buffer.from('x')),
      tarMember({ name: '..\\back.mp4' }, Buffer.from('x')),
      gnuLongMember('a\0b.mp4'),
      tarMember({ name: 'cut-at-nul', format: 'gnu' }, Buffer.from('x')),
      tarMember({ name: 'line\nbreak.mp4' }, Buffer.from('x')),
      paxMember({ path: '../pax-evil.mp4' }),
      tarMember({ name: 'harmless-name.mp4' }, Buffer.from('x')),
      tarMember({ name: 'notes/../../x.txt' }, Buffer.from('x')),
      tarMember({ name: './ok//./good.mp4' }, ok),
      TAR_END,
    ]);
    const archive = file('names.tar');
    await writeFile(archive, tar);
    const expected = [
      "../evil.mp4: unsafe name: '..' component",
      "a/../../evil.mp4: unsafe name: '..' component",
      '/abs.mp4: unsafe name: absolute path',
      'C:/windows.mp4: unsafe name: absolute path',
      '..\\back.mp4: unsafe name: backslash',
      'a\\x00b.mp4: unsafe name: control character',
      'line\\x0abreak.mp4: unsafe name: control character',
      "../pax-evil.mp4: unsafe name: '..' component",
      "notes/../../x.txt: unsafe name: '..' component",
    ];
    const listing = await listArchive(archive, { isVideo });
    expect(lines(archive, listing.problems)).toEqual(expected);
    expect(listing.videos.map((v) => [v.name, v.key])).toEqual([['ok/good.mp4', 'ok/good']]);
    expect((await bytesAt(archive, listing.videos[0]!)).equals(ok)).toBe(true);

    // The same as a tar.gz, streamed: the same problems, and nothing lands beside the tmpDir.
    await writeFile(file('names.tar.gz'), gzipSync(tar));
    const before = await readdir(dir);
    const s = await streamed(file('names.tar.gz'));
    expect(s.lines).toEqual(expected);
    expect(s.groups).toEqual([{ key: 'ok/good', video: 'ok/good.mp4', data: ok, sidecars: [] }]);
    expect(s.left).toEqual([]);
    expect(await readdir(dir)).toEqual(before);
  });

  it('zip names: the same rules, and a local header naming another file', async () => {
    const archive = file('names.zip');
    await writeFile(
      archive,
      buildZip([
        { name: '../evil.mp4', stored: Buffer.from('x') },
        { name: 'C:\\evil.mp4', stored: Buffer.from('x') },
        { name: 'real.mp4', localName: 'other.mp4', stored: Buffer.from('x') },
        { name: 'good.mp4', stored: Buffer.from('good') },
      ]),
    );
    const listing = await listArchive(archive, { isVideo });
    expect(lines(archive, listing.problems)).toEqual([
      "../evil.mp4: unsafe name: '..' component",
      'C:\\evil.mp4: unsafe name: backslash',
      "real.mp4: the local header's name differs from the central directory's",
    ]);
    expect(listing.videos.map((v) => v.name)).toEqual(['good.mp4']);
  });
});

describe('links, devices, FIFOs, directories', () => {
  it('hand-built: every kind but plain files and directories is a problem', async () => {
    const archive = file('kinds.tar');
    await writeFile(
      archive,
      Buffer.concat([
        tarMember({ name: 'videos/', type: '5' }),
        tarMember({ name: 'link.mp4', type: '2', linkName: '/etc/passwd' }),
        tarMember({ name: 'hard.mp4', type: '1', linkName: 'videos/good.mp4' }),
        tarMember({ name: 'tty.mp4', type: '3' }),
        tarMember({ name: 'sda.mp4', type: '4' }),
        tarMember({ name: 'pipe.mp4', type: '6' }),
        tarMember({ name: 'sparse.mp4', type: 'S' }, Buffer.alloc(10)),
        tarMember({ name: 'odd.mp4', type: 'Z' }, Buffer.alloc(10)),
        tarMember({ name: 'videos/good.mp4' }, Buffer.from('good')),
        TAR_END,
      ]),
    );
    const listing = await listArchive(archive, { isVideo });
    expect(lines(archive, listing.problems)).toEqual([
      'link.mp4: symbolic link, not followed',
      'hard.mp4: hard link, not followed',
      'tty.mp4: character device, skipped',
      'sda.mp4: block device, skipped',
      'pipe.mp4: FIFO, skipped',
      'sparse.mp4: sparse file, not supported',
      'odd.mp4: not a regular file, skipped',
    ]);
    expect(listing.videos.map((v) => v.name)).toEqual(['videos/good.mp4']);
  });

  it('written by GNU tar from a real symlink, hard link and FIFO', async () => {
    const src = file('kinds-src');
    await mkdir(src);
    await writeFile(path.join(src, 'a.mp4'), 'video a');
    await symlink('/etc/passwd', path.join(src, 'sym.mp4'));
    await link(path.join(src, 'a.mp4'), path.join(src, 'b.mp4'));
    execFileSync('mkfifo', [path.join(src, 'fifo.mp4')]);
    execFileSync('tar', ['-C', src, '-cf', file('kinds-gnu.tar'), 'a.mp4', 'sym.mp4', 'b.mp4', 'fifo.mp4']);
    const listing = await listArchive(file('kinds-gnu.tar'), { isVideo });
    expect(lines(file('kinds-gnu.tar'), listing.problems)).toEqual(['sym.mp4: symbolic link, not followed', 'b.mp4: hard link, not followed', 'fifo.mp4: FIFO, skipped']);
    expect(listing.videos.map((v) => v.name)).toEqual(['a.mp4']);
  });

  it('zip: a Unix symlink entry is a problem, a directory is skipped quietly', async () => {
    const archive = file('kinds.zip');
    await writeFile(
      archive,
      buildZip([
        { name: 'dir/', stored: Buffer.alloc(0), mode: 0o40755 },
        { name: 'link.mp4', stored: Buffer.from('/etc/passwd'), mode: 0o120777 },
        { name: 'fifo.mp4', stored: Buffer.alloc(0), mode: 0o10644 },
        { name: 'dir/ok.mp4', stored: Buffer.from('ok'), mode: 0o100644 },
      ]),
    );
    const listing = await listArchive(archive, { isVideo });
    expect(lines(archive, listing.problems)).toEqual(['link.mp4: symbolic link, not followed', 'fifo.mp4: FIFO, skipped']);
    expect(listing.videos.map((v) => v.name)).toEqual(['dir/ok.mp4']);
  });
});

describe('duplicates', () => {
  it('the first member of a name is kept, the second is a problem (tar and zip)', async () => {
    const tar = file('dup.tar');
    await writeFile(
      tar,
      Buffer.concat([
        tarMember({ name: 'a.mp4' }, Buffer.from('first')),
        tarMember({ name: 'a.json' }, Buffer.from('{"n":1}')),
        tarMember({ name: './a.mp4' }, Buffer.from('second')),
        tarMember({ name: 'a.json' }, Buffer.from('{"n":2}')),
        TAR_END,
      ]),
    );
    const listing = await listArchive(tar, { isVideo });
    expect(lines(tar, listing.problems)).toEqual(['./a.mp4: duplicate name; the first member of this name is kept', 'a.json: duplicate name; the first member of this name is kept']);
    expect(listing.videos.map((v) => v.name)).toEqual(['a.mp4']);
    expect((await bytesAt(tar, listing.videos[0]!)).toString()).toBe('first');
    expect(listing.sidecars).toEqual(new Map([['a', new Map([['a.json', '{"n":1}']])]]));

    const zip = file('dup.zip');
    await writeFile(zip, buildZip([{ name: 'v.mp4', stored: Buffer.from('first') }, { name: 'v.mp4', stored: Buffer.from('second') }]));
    const z = await listArchive(zip, { isVideo });
    expect(lines(zip, z.problems)).toEqual(['v.mp4: duplicate name; the first member of this name is kept']);
    expect((await bytesAt(zip, z.videos[0]!)).toString()).toBe('first');
  });
});

describe('truncated archives', () => {
  const good = Buffer.from('complete video');
  const parts = [tarMember({ name: '1.mp4' }, good), tarMember({ name: '1.json' }, Buffer.from('{}')), tarHeader({ name: '2.mp4', size: 5000 }), Buffer.alloc(100, 2)];

  it('tar: a member running past the end is a problem, the members before it are kept', async () => {
    const archive = file('cut.tar');
    const bytes = Buffer.concat(parts);
    await writeFile(archive, bytes);
    const listing = await listArchive(archive, { isVideo });
    expect(lines(archive, listing.problems)).toEqual([`2.mp4: truncated: the member's 5000 bytes run past the end of the archive (${bytes.length} bytes); listing stops`]);
    expect(listing.videos.map((v) => v.name)).toEqual(['1.mp4']);

    const s = await streamed(archive);
    expect(s.lines).toEqual(['2.mp4: truncated: the stream ends 4900 bytes before the end of the member']);
    expect(s.groups).toEqual([{ key: '1', video: '1.mp4', data: good, sidecars: ['1.json'] }]);
    expect(s.left).toEqual([]);

    await writeFile(file('cut-header.tar'), Buffer.concat([parts[0]!, tarHeader({ name: 'x' }).subarray(0, 100)]));
    const h = await listArchive(file('cut-header.tar'), { isVideo });
    expect(lines(file('cut-header.tar'), h.problems)).toEqual(['truncated: the archive ends inside a header at byte 1024']);
    expect(h.videos.map((v) => v.name)).toEqual(['1.mp4']);
  });

  it('a bad checksum or a malformed pax header mid-archive ends the listing with a problem', async () => {
    const bad = file('bad-checksum.tar');
    await writeFile(bad, Buffer.concat([parts[0]!, tarMember({ name: '2.mp4', badChecksum: true }, good), tarMember({ name: '3.mp4' }, good), TAR_END]));
    const l = await listArchive(bad, { isVideo });
    expect(lines(bad, l.problems)).toEqual(['bad header checksum at byte 1024; listing stops']);
    expect(l.videos.map((v) => v.name)).toEqual(['1.mp4']);

    const pax = file('bad-pax.tar');
    await writeFile(pax, Buffer.concat([parts[0]!, tarMember({ name: 'pax', type: 'x' }, Buffer.from('99 path=x\n')), tarMember({ name: '3.mp4' }, good), TAR_END]));
    const p = await listArchive(pax, { isVideo });
    expect(lines(pax, p.problems)).toEqual(['malformed pax header at byte 1024; listing stops']);
  });

  it('a truncated gzip stream: a problem, the samples read whole before it delivered, no file left', async () => {
    const samples = Array.from({ length: 10 }, (_, i) => ({ key: `s${i}`, data: Buffer.from(Array.from({ length: 30_000 }, (_, j) => (i * 7919 + j * j) % 251)) }));
    const tar = Buffer.concat([...samples.map((s) => tarMember({ name: `${s.key}.mp4` }, s.data)), TAR_END]);
    const gz = gzipSync(tar);
    const archive = file('cut.tar.gz');
    await writeFile(archive, gz.subarray(0, Math.floor(gz.length / 2)));
    const s = await streamed(archive);
    expect(s.problems.map((p) => p.message)).toEqual(['truncated gzip stream (unexpected end of file)']);
    expect(s.groups.length).toBeGreaterThan(0);
    expect(s.groups.length).toBeLessThan(10);
    expect(s.groups).toEqual(samples.slice(0, s.groups.length).map((x) => ({ key: x.key, video: `${x.key}.mp4`, data: x.data, sidecars: [] })));
    expect(s.problems[0]!.member).toBe(`s${s.groups.length}.mp4`);
    expect(s.left).toEqual([]);
  });
});

describe('bombs and lies about sizes', () => {
  /** A tar.gz of one sample, then `zeros` bytes of zeros as bomb.mp4, generated without holding it. */
  async function gzipBomb(name: string, zeros: number): Promise<string> {
    const archive = file(name);
    async function* tar() {
      yield tarMember({ name: 'before.mp4' }, Buffer.from('before'));
      yield tarHeader({ name: 'bomb.mp4', size: zeros });
      const chunk = Buffer.alloc(2 ** 20);
      for (let left = zeros; left > 0; left -= chunk.length) yield chunk.subarray(0, Math.min(left, chunk.length));
      yield TAR_END;
    }
    await pipeline(tar(), createGzip({ level: 1 }), createWriteStream(archive));
    return archive;
  }

  async function expectStopped(archive: string, lim: Partial<ArchiveLimits> | undefined, ratio: number) {
    const rss = process.memoryUsage().rss;
    const s = await streamed(archive, lim);
    expect(process.memoryUsage().rss - rss).toBeLessThan(200 * 2 ** 20);
    expect(s.groups).toEqual([{ key: 'before', video: 'before.mp4', data: Buffer.from('before'), sidecars: [] }]);
    expect(s.problems).toHaveLength(1);
    expect(s.problems[0]!.member).toBe('bomb.mp4');
    expect(s.problems[0]!.message).toMatch(new RegExp(`^decompresses to more than ${ratio} times its size \\(\\d+ bytes from \\d+ bytes\\); reading stops$`));
    expect(s.left).toEqual([]);
  }

  it('a gzip bomb (1 GiB of zeros) stops at the default ratio limit', async () => {
    const archive = await gzipBomb('bomb.tar.gz', 2 ** 30);
    expect((await stat(archive)).size).toBeLessThan(10 * 2 ** 20);
    await expectStopped(archive, undefined, 100);
  }, 120_000);

  it('a smaller bomb against tighter limits', async () => {
    await expectStopped(await gzipBomb('small-bomb.tar.gz', 16 * 2 ** 20), { maxRatio: 20, ratioFloorBytes: 2 ** 20 }, 20);
  });

  it('zip: overlapping entries (one inside the other) are a problem, the outer one kept', async () => {
    const inner = Buffer.concat([localHeader('b.mp4'), Buffer.alloc(100, 'b')]);
    const archive = file('overlap.zip');
    // a.mp4's local header at 0 (35 bytes), its data is b.mp4's local header and data.
    await writeFile(archive, buildZip([{ name: 'a.mp4', stored: inner }, { name: 'b.mp4', stored: Buffer.alloc(100, 'b'), localOffset: 35 }]));
    const listing = await listArchive(archive, { isVideo });
    expect(lines(archive, listing.problems)).toEqual(['b.mp4: overlaps member a.mp4 (zip bomb?); skipped']);
    expect(listing.videos.map((v) => [v.name, v.offset, v.size])).toEqual([['a.mp4', 35, inner.length]]);
  });

  it('zip: huge claimed sizes, data past the end, encryption, unknown methods', async () => {
    const archive = file('claims.zip');
    const small = deflateRawSync(Buffer.alloc(1000));
    await writeFile(
      archive,
      buildZip([
        { name: 'ratio.mp4', stored: small, method: 8, size: 2 ** 40, zip64: true },
        { name: 'huge.mp4', stored: Buffer.from('x'), size: 2 ** 37, compressedSize: 2 ** 37, zip64: true },
        { name: 'past-end.mp4', stored: Buffer.from('x'), size: 10_000_000, compressedSize: 10_000_000 },
        { name: 'secret.mp4', stored: Buffer.from('x'), flags: 1 },
        { name: 'bzip2.mp4', stored: Buffer.from('x'), method: 12 },
        { name: 'nowhere.mp4', stored: Buffer.from('x'), localOffset: 999_999 },
        { name: 'fine.mp4', stored: Buffer.from('fine') },
      ]),
    );
    const listing = await listArchive(archive, { isVideo });
    const pastEndAt = 30 + 9 + small.length + 30 + 8 + 1 + 30 + 12;
    const size = (await stat(archive)).size;
    expect(lines(archive, listing.problems)).toEqual([
      `ratio.mp4: declares ${2 ** 40} bytes from ${small.length} bytes, a ratio above 100; skipped`,
      `huge.mp4: member of ${2 ** 37} bytes, more than the limit of ${64 * 2 ** 30} bytes; skipped`,
      `past-end.mp4: truncated: the member's 10000000 bytes at byte ${pastEndAt} run past the end of the archive (${size} bytes)`,
      'secret.mp4: encrypted; skipped',
      'bzip2.mp4: compression method 12 not supported (only stored and deflate); skipped',
      'nowhere.mp4: local header at byte 999999 lies past the end of the archive',
    ]);
    expect(listing.videos.map((v) => v.name)).toEqual(['fine.mp4']);
  });

  it('extractMember stops a deflated member that holds more than it declares, or is damaged, and leaves no file', async () => {
    const archive = file('lies.zip');
    const zeros = deflateRawSync(Buffer.alloc(2 ** 20));
    const data = Buffer.from('real data '.repeat(100));
    await writeFile(
      archive,
      buildZip([
        { name: 'liar.mp4', stored: zeros, method: 8, size: 1000 },
        { name: 'damaged.mp4', stored: deflateRawSync(data), method: 8, size: data.length, crc: 12345 },
      ]),
    );
    const listing = await listArchive(archive, { isVideo });
    expect(listing.problems).toEqual([]);
    const failures: string[] = [];
    for (const v of listing.videos) {
      const out = file(`out-${v.key}`);
      const err = await extractMember(archive, v, out, DEFAULT_ARCHIVE_LIMITS).catch((e: unknown) => e);
      failures.push(isVdedupError(err) ? `${err.code} ${err.oneLine()}` : String(err));
      await expect(stat(out)).rejects.toThrow(/ENOENT/);
    }
    expect(failures).toEqual([
      `INVALID_MEDIA ${archive}: liar.mp4: holds more than its declared 1000 bytes`,
      `INVALID_MEDIA ${archive}: damaged.mp4: CRC-32 mismatch: the data is damaged`,
    ]);
  });

  it('sidecars over the size limits are problems, not read', async () => {
    const archive = file('sidecars.tar');
    await writeFile(
      archive,
      Buffer.concat([
        tarMember({ name: 'a.json' }, Buffer.from('{"x":1}')),
        tarMember({ name: 'b.json' }, Buffer.from('{"x":"long"}')),
        tarMember({ name: 'c.json' }, Buffer.from('{"y":2}')),
        TAR_END,
      ]),
    );
    const listing = await listArchive(archive, { isVideo, limits: limits({ maxSidecarBytes: 10, maxSidecarTotalBytes: 10 }) });
    expect(lines(archive, listing.problems)).toEqual([
      'b.json: sidecar of 12 bytes, more than the limit of 10 bytes; not read',
      'c.json: sidecars of this archive exceed 10 bytes in all; not read',
    ]);
    expect([...listing.sidecars.keys()]).toEqual(['a']);
  });
});

describe('many members', () => {
  const MEMBERS = 100_000;
  let archive = '';

  beforeAll(async () => {
    archive = file('many.tar');
    const out = createWriteStream(archive);
    async function* tar() {
      for (let i = 0; i < MEMBERS; i += 1000) {
        const batch: Buffer[] = [];
        for (let j = i; j < i + 1000; j++) {
          const name = `s/${String(j).padStart(6, '0')}`;
          if (j % 10_000 === 0) batch.push(tarMember({ name: `${name}.mp4` }, Buffer.from(name)), tarMember({ name: `${name}.json` }, Buffer.from('{}')));
          else batch.push(tarMember({ name: `${name}.txt` }));
        }
        yield Buffer.concat(batch);
      }
      yield TAR_END;
    }
    await pipeline(tar(), out);
  });

  it('100,000 tiny members: the listing completes with only the videos, in bounded memory', async () => {
    const rss = process.memoryUsage().rss;
    const listing = await listArchive(archive, { isVideo });
    expect(process.memoryUsage().rss - rss).toBeLessThan(100 * 2 ** 20);
    expect(listing.problems).toEqual([]);
    expect(listing.videos.map((v) => v.name)).toEqual(Array.from({ length: 10 }, (_, i) => `s/${String(i * 10_000).padStart(6, '0')}.mp4`));
    expect(await Promise.all(listing.videos.map(async (v) => (await bytesAt(archive, v)).toString()))).toEqual(listing.videos.map((v) => v.key));
    expect(listing.sidecars.size).toBe(10);

    const s = await streamed(archive);
    expect(s.problems).toEqual([]);
    expect(s.groups.map((g) => [g.key, g.data?.toString(), g.sidecars])).toEqual(listing.videos.map((v) => [v.key, v.key, [`${v.key}.json`]]));
  }, 60_000);

  it('past maxMembers the listing stops with a problem', async () => {
    const listing = await listArchive(archive, { isVideo, limits: limits({ maxMembers: 1000 }) });
    expect(lines(archive, listing.problems)).toEqual(['more than 1000 members; listing stops']);
    expect(listing.videos.map((v) => v.name)).toEqual(['s/000000.mp4']);
  });
});

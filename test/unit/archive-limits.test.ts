import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip, deflateRawSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isVdedupError } from '../../src/errors.js';
import { DEFAULT_ARCHIVE_LIMITS, extractMember, listArchive, listStream, type ArchiveLimits } from '../../src/media/archive/index.js';
import { TAR_END, buildZip, localHeader, tarHeader, tarMember } from '../helpers/archive-bytes.js';
import { bytesAt, isVideo, lines, streamed } from '../helpers/archive-read.js';

/**
 * Archives built to cost unbounded disk, memory or time (gzip and zip bombs, sizes that lie, a
 * hundred thousand members): each is stopped at a limit with a problem line, in bounded memory.
 */

let dir = '';
const file = (...names: string[]) => path.join(dir, ...names);
const limits = (over: Partial<ArchiveLimits>): ArchiveLimits => ({ ...DEFAULT_ARCHIVE_LIMITS, ...over });

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'vdedup-archive-limits-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
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
    const s = await streamed(dir, archive, lim);
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

  it('with onSidecar, each sidecar is handed over as read and none is kept: the total budget does not apply (tar, tar.gz)', async () => {
    const plain = file('handed.tar');
    const members = Buffer.concat([
      tarMember({ name: 'a.json' }, Buffer.from('{"x":1}')),
      tarMember({ name: 'b.json' }, Buffer.from('{"x":"long"}')),
      tarMember({ name: 'c.json' }, Buffer.from('{"y":2}')),
      TAR_END,
    ]);
    await writeFile(plain, members);
    const gzipped = file('handed.tar.gz');
    await writeFile(gzipped, gzipSync(members));
    for (const archive of [plain, gzipped]) {
      const seen: string[] = [];
      const opts = { isVideo, limits: limits({ maxSidecarBytes: 12, maxSidecarTotalBytes: 10 }), onSidecar: (key: string, name: string, text: string) => seen.push(`${key} ${name} ${text}`) };
      const listing = archive.endsWith('.gz') ? await listStream(archive, opts) : await listArchive(archive, opts);
      expect(listing.problems, archive).toEqual([]);
      expect(listing.sidecars.size, archive).toBe(0);
      expect(seen, archive).toEqual(['a a.json {"x":1}', 'b b.json {"x":"long"}', 'c c.json {"y":2}']);
    }
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

    const s = await streamed(dir, archive);
    expect(s.problems).toEqual([]);
    expect(s.groups.map((g) => [g.key, g.data?.toString(), g.sidecars])).toEqual(listing.videos.map((v) => [v.key, v.key, [`${v.key}.json`]]));
  }, 60_000);

  it('past maxMembers the listing stops with a problem', async () => {
    const listing = await listArchive(archive, { isVideo, limits: limits({ maxMembers: 1000 }) });
    expect(lines(archive, listing.problems)).toEqual(['more than 1000 members; listing stops']);
    expect(listing.videos.map((v) => v.name)).toEqual(['s/000000.mp4']);
  });
});

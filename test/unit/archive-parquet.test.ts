import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { asyncBufferFromFile, parquetMetadataAsync, type ParquetReadOptions } from 'hyparquet';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { sidecarParquetFor, youtubeIdsFromParquet } from '../../src/media/archive/parquet.js';
import { VdedupError } from '../../src/errors.js';
import { repoRoot } from '../helpers/paths.js';

// Every parquetRead call the module makes: which rows and columns it asked for.
const reads = vi.hoisted(() => [] as Array<{ rowStart: number | undefined; rowEnd: number | undefined; columns: string[] | undefined }>);
vi.mock('hyparquet', async (importOriginal) => {
  const actual = await importOriginal<typeof import('hyparquet')>();
  return {
    ...actual,
    parquetRead: (o: ParquetReadOptions) => {
      reads.push({ rowStart: o.rowStart, rowEnd: o.rowEnd, columns: o.columns });
      return actual.parquetRead(o);
    },
  };
});

type Cell = string | number | bigint | null;
type Codec = 'SNAPPY' | 'UNCOMPRESSED' | 'GZIP';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'vdedup-parquet-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});
beforeEach(() => {
  reads.length = 0;
});

/** Columns -> a parquet file written by hyparquet-writer (snappy unless told). */
async function writeParquet(name: string, columns: Record<string, Cell[]>, o: { codec?: Codec; rowGroupSize?: number } = {}): Promise<string> {
  const file = path.join(dir, name);
  const buf = parquetWriteBuffer({
    columnData: Object.entries(columns).map(([n, data]) => ({
      name: n,
      data,
      type: typeof data.find((v) => v !== null) === 'string' ? ('STRING' as const) : typeof data.find((v) => v !== null) === 'bigint' ? ('INT64' as const) : undefined,
    })),
    codec: o.codec ?? 'SNAPPY',
    compressors: { GZIP: (b: Uint8Array) => new Uint8Array(gzipSync(b)) },
    ...(o.rowGroupSize === undefined ? {} : { rowGroupSize: o.rowGroupSize }),
  });
  await writeFile(file, Buffer.from(buf));
  return file;
}

async function codecsOf(file: string): Promise<string[]> {
  const md = await parquetMetadataAsync(await asyncBufferFromFile(file));
  return [...new Set(md.row_groups.flatMap((g) => g.columns.map((c) => c.meta_data?.codec ?? '?')))];
}

/** A video2dataset shard's parquet: keys, URLs of every shape, a failed download, a non-YouTube source. */
const V2D = {
  url: [
    'https://www.youtube.com/watch?v=kJ2mXo7Tq4B',
    'https://youtu.be/Lm3cY8vB1sD?si=xyz',
    null,
    'https://www.youtube.com/watch?v=Xa0bC1dE2fG',
    'https://videos.example.org/clips/diver-0142.mp4',
    'https://www.youtube.com/watch?v=vT3kQ9xLw2E&t=42s',
    'https://www.youtube.com/shorts/Qw9eR8tY7uI',
    '',
    'https://m.youtube.com/watch?feature=share&v=Tt4vX-9aB2c',
  ],
  key: ['000000000', '000000001', '000000002', '000000003', '000000004', null, '000010001', '000010002', ' 000010003 '],
  status: ['success', 'success', 'success', 'failed_to_download', 'success', 'success', 'success', 'success', 'success'],
  caption: ['a cockatoo', 'hello', 'no url', 'removed', 'diver', 'no key', 'a short', 'empty url', 'mobile url'],
  error_message: [null, null, null, 'ERROR: [youtube] Xa0bC1dE2fG: Video unavailable', null, null, null, null, null],
};
const V2D_IDS = new Map([
  ['000000000', 'kJ2mXo7Tq4B'],
  ['000000001', 'Lm3cY8vB1sD'],
  ['000000003', 'Xa0bC1dE2fG'],
  ['000010001', 'Qw9eR8tY7uI'],
  ['000010003', 'Tt4vX-9aB2c'],
]);

describe('youtubeIdsFromParquet', () => {
  it('maps keys to YouTube IDs, skipping rows without a key or a YouTube URL (snappy, as pyarrow writes)', async () => {
    const file = await writeParquet('v2d.parquet', V2D);
    expect(await codecsOf(file)).toEqual(['SNAPPY']);
    const r = await youtubeIdsFromParquet(file);
    expect(r.ids).toEqual(V2D_IDS);
    expect(r.problems).toEqual([]);
    // only the two columns, never caption/status/error_message
    expect(reads.map((x) => x.columns)).toEqual([['key', 'url']]);
  });

  it.each(['UNCOMPRESSED', 'GZIP'] as const)('reads %s files the same', async (codec) => {
    const file = await writeParquet(`v2d-${codec}.parquet`, V2D, { codec });
    expect(await codecsOf(file)).toEqual([codec]);
    expect((await youtubeIdsFromParquet(file)).ids).toEqual(V2D_IDS);
  });

  it.each(['snappy', 'zstd'])('reads a pyarrow-written shard parquet (%s, dictionary-encoded, 2 row groups)', async (codec) => {
    const file = path.join(repoRoot, 'fixtures', 'shards', `pyarrow-${codec}.parquet`);
    expect(await codecsOf(file)).toEqual([codec.toUpperCase()]);
    const r = await youtubeIdsFromParquet(file);
    expect(r.ids).toEqual(
      new Map([
        ['000000000', 'kJ2mXo7Tq4B'],
        ['000000001', 'Lm3cY8vB1sD'],
        ['000000003', 'Xa0bC1dE2fG'],
        ['000010000', 'vT3kQ9xLw2E'],
        ['000010001', 'Qw9eR8tY7uI'],
      ]),
    );
    expect(r.problems).toEqual([]);
    expect(reads.map((x) => [x.rowStart, x.rowEnd])).toEqual([
      [0, 4],
      [4, 7],
    ]);
  });

  it('reads one row group at a time: 100k rows in 10 groups', async () => {
    const n = 100_000;
    const id = (i: number) => `Ab${i.toString(36).padStart(8, '0')}_`;
    const file = await writeParquet(
      'big.parquet',
      {
        key: Array.from({ length: n }, (_, i) => String(i).padStart(9, '0')),
        url: Array.from({ length: n }, (_, i) => `https://www.youtube.com/watch?v=${id(i)}`),
        caption: Array.from({ length: n }, (_, i) => `caption ${i} `.repeat(8)),
      },
      { rowGroupSize: 10_000 },
    );
    const r = await youtubeIdsFromParquet(file);
    expect(r.ids.size).toBe(n);
    expect(r.ids.get('000000000')).toBe(id(0));
    expect(r.ids.get('000099999')).toBe(id(99_999));
    expect(reads).toHaveLength(10);
    expect(reads.map((x) => [x.rowStart, x.rowEnd])).toEqual(Array.from({ length: 10 }, (_, g) => [g * 10_000, (g + 1) * 10_000]));
    expect(reads.every((x) => x.columns?.join() === 'key,url')).toBe(true);
  });

  it('uses an ID column where a row has no URL, and never for a non-YouTube URL', async () => {
    const file = await writeParquet('ids.parquet', {
      key: ['a', 'b', 'c', 'd'],
      url: [null, 'https://www.shutterstock.com/video/clip-10666923551', 'https://youtu.be/kJ2mXo7Tq4B', null],
      videoID: ['Lm3cY8vB1sD', '10666923551', 'kJ2mXo7Tq4B', 'not an id'],
    });
    const r = await youtubeIdsFromParquet(file);
    expect(r.ids).toEqual(
      new Map([
        ['a', 'Lm3cY8vB1sD'],
        ['c', 'kJ2mXo7Tq4B'],
      ]),
    );
    expect(r.problems).toEqual([]);
    expect(reads[0]?.columns).toEqual(['key', 'url', 'videoID']);
  });

  it('reads an ID column without a url column (youtube_id), and integer keys as text', async () => {
    const file = await writeParquet('no-url.parquet', { key: [12n, 13n], youtube_id: ['v_kJ2mXo7Tq4B', 'kJ2mXo7Tq4B_10_20'] });
    expect((await youtubeIdsFromParquet(file)).ids).toEqual(
      new Map([
        ['12', 'kJ2mXo7Tq4B'],
        ['13', 'kJ2mXo7Tq4B'],
      ]),
    );
  });

  it('says when the URL and the ID column disagree (the URL wins) and when a key repeats with another ID', async () => {
    const file = await writeParquet('conflict.parquet', {
      key: ['a', 'b', 'a'],
      url: ['https://youtu.be/kJ2mXo7Tq4B', 'https://youtu.be/Lm3cY8vB1sD', 'https://youtu.be/Qw9eR8tY7uI'],
      video_id: ['kJ2mXo7Tq4B', 'Xa0bC1dE2fG', 'Qw9eR8tY7uI'],
    });
    const r = await youtubeIdsFromParquet(file);
    expect(r.ids).toEqual(
      new Map([
        ['a', 'kJ2mXo7Tq4B'],
        ['b', 'Lm3cY8vB1sD'],
      ]),
    );
    expect(r.problems).toEqual([
      `${file}: 1 rows whose "url" and "video_id" name different YouTube IDs (the URL's is used), e.g. key b (Lm3cY8vB1sD vs Xa0bC1dE2fG)`,
      `${file}: 1 keys repeated with another YouTube ID (the first row's is used), e.g. a (kJ2mXo7Tq4B, then Qw9eR8tY7uI)`,
    ]);
  });

  it('a parquet without the columns: an empty map and a problem, nothing read', async () => {
    const noKey = await writeParquet('no-key.parquet', { url: ['https://youtu.be/kJ2mXo7Tq4B'], caption: ['x'] });
    expect(await youtubeIdsFromParquet(noKey)).toEqual({
      ids: new Map(),
      problems: [`${noKey}: no "key" column (columns: url, caption); no YouTube IDs read`],
    });
    const noUrl = await writeParquet('no-url-col.parquet', { key: ['a'], caption: ['x'] });
    const r = await youtubeIdsFromParquet(noUrl);
    expect(r.ids.size).toBe(0);
    expect(r.problems).toEqual([`${noUrl}: neither a "url" column nor a YouTube ID column (youtube_id, videoID, video_id) (columns: key, caption); no YouTube IDs read`]);
    expect(reads).toEqual([]);
  });

  it('an empty parquet (no rows): an empty map, no problems', async () => {
    const file = await writeParquet('empty-rows.parquet', { key: [] as string[], url: [] as string[] });
    expect(await youtubeIdsFromParquet(file)).toEqual({ ids: new Map(), problems: [] });
  });

  describe('files that are not parquet: a VdedupError with one line naming the file', () => {
    async function rejects(file: string, code: string, pattern: RegExp): Promise<void> {
      const err: unknown = await youtubeIdsFromParquet(file).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(VdedupError);
      const e = err as VdedupError;
      expect(e.code).toBe(code);
      expect(e.message.startsWith(`${file}: `)).toBe(true);
      expect(e.message).toMatch(pattern);
      expect(e.message).not.toContain('\n');
      expect(e.oneLine()).toBe(e.message);
    }

    it('random bytes, text, a truncated file, a broken footer', async () => {
      const good = await readFile(await writeParquet('good.parquet', V2D));
      const junk = path.join(dir, 'junk.parquet');
      await writeFile(junk, Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 251)));
      await rejects(junk, 'INVALID_MEDIA', /not a readable parquet file \(.+\)$/);
      const text = path.join(dir, 'text.parquet');
      await writeFile(text, 'key,url\n000000000,https://youtu.be/kJ2mXo7Tq4B\n');
      await rejects(text, 'INVALID_MEDIA', /not a readable parquet file/);
      const truncated = path.join(dir, 'truncated.parquet');
      await writeFile(truncated, good.subarray(0, Math.floor(good.length / 2)));
      await rejects(truncated, 'INVALID_MEDIA', /not a readable parquet file/);
      // footer length claiming more than the file holds
      const claims = Buffer.from(good);
      claims.writeUInt32LE(0x7fffffff, claims.length - 8);
      const hugeFooter = path.join(dir, 'huge-footer.parquet');
      await writeFile(hugeFooter, claims);
      await rejects(hugeFooter, 'INVALID_MEDIA', /not a readable parquet file/);
      // footer bytes overwritten
      const footerLen = good.readUInt32LE(good.length - 8);
      const broken = Buffer.from(good);
      broken.fill(0xff, broken.length - 8 - footerLen, broken.length - 8);
      const brokenFooter = path.join(dir, 'broken-footer.parquet');
      await writeFile(brokenFooter, broken);
      await rejects(brokenFooter, 'INVALID_MEDIA', /not a readable parquet file/);
    });

    it('a damaged column chunk: the row group is not readable', async () => {
      const file = await writeParquet('damaged.parquet', V2D);
      const md = await parquetMetadataAsync(await asyncBufferFromFile(file));
      const key = md.row_groups[0]!.columns.find((c) => c.meta_data?.path_in_schema[0] === 'key')!.meta_data!;
      const bytes = Buffer.from(await readFile(file));
      const start = Number(key.dictionary_page_offset ?? key.data_page_offset);
      bytes.fill(0xee, start, start + Number(key.total_compressed_size));
      await writeFile(file, bytes);
      await rejects(file, 'INVALID_MEDIA', /row group 0 is not readable \(.+\)$/);
    });

    it('a missing file, a directory, an empty file', async () => {
      await rejects(path.join(dir, 'nope.parquet'), 'FILE_NOT_FOUND', /no such file$/);
      const sub = path.join(dir, 'a-dir.parquet');
      await mkdir(sub, { recursive: true });
      await rejects(sub, 'NOT_A_FILE', /not a file$/);
      const empty = path.join(dir, 'empty.parquet');
      await writeFile(empty, '');
      await rejects(empty, 'EMPTY_FILE', /empty file/);
    });
  });
});

describe('sidecarParquetFor', () => {
  it.each([
    ['shards/00000.tar', 'shards/00000.parquet'],
    ['/data/wds/00012.tar.gz', '/data/wds/00012.parquet'],
    ['/data/wds/00012.TGZ', '/data/wds/00012.parquet'],
    ['corpus.zip', 'corpus.parquet'],
    ['/d/part.v2.tar', '/d/part.v2.parquet'],
    ['/d/odd.bin', '/d/odd.parquet'],
  ])('%s -> %s', (archive, parquet) => {
    expect(sidecarParquetFor(archive)).toBe(path.normalize(parquet));
  });
});

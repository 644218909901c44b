import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { AsyncBuffer, FileMetaData } from 'hyparquet';
import { VdedupError } from '../../errors.js';
import { normalizeYoutubeId } from '../youtube-id.js';

/**
 * YouTube IDs of a WebDataset shard's samples from the shard's parquet, as video2dataset writes it
 * beside each tar (`00000.tar` + `00000.parquet`: one row per input sample with `key`, `url`,
 * `status`, `caption`, `error_message`, ...). The scan uses them to drop re-uploads of benchmark
 * videos by ID, before any decoding.
 *
 * Read with hyparquet (pure JS). Codecs: UNCOMPRESSED and SNAPPY (pyarrow's and video2dataset's
 * default) are built into hyparquet; GZIP, ZSTD, BROTLI, LZ4 and LZ4_RAW come from
 * hyparquet-compressors (loaded with it). Only the top-level columns named below are read, one row
 * group at a time, so a shard's parquet with 100k rows and wide caption/metadata columns costs the
 * two or three small columns of one row group at a time.
 */

/** Columns that hold the WebDataset sample key and the source URL (video2dataset's names). */
const KEY_COLUMN = 'key';
const URL_COLUMN = 'url';
/** Columns some corpora carry with a bare YouTube ID, in order of preference. */
const ID_COLUMNS = ['youtube_id', 'videoID', 'video_id'];

/**
 * The column chunks of one row group that are read at once, decompressed: a limit a real shard's
 * parquet (keys and URLs, tens of bytes a row) never nears, so a hostile file's claims cannot make
 * the scan allocate gigabytes.
 */
const MAX_ROW_GROUP_BYTES = 512 * 1024 * 1024;
/** Examples a problem line quotes. */
const EXAMPLES = 3;

export interface ParquetYoutubeIds {
  /** WebDataset sample key -> YouTube ID. */
  ids: Map<string, string>;
  /** What a user should know about the file (missing columns, conflicting rows): one line each. */
  problems: string[];
}

/**
 * The parquet file video2dataset writes beside a shard: `shards/00000.tar` -> `shards/00000.parquet`
 * (also for `.tar.gz`, `.tgz` and `.zip`; any other name loses its last extension).
 */
export function sidecarParquetFor(archivePath: string): string {
  const dir = path.dirname(archivePath);
  const base = path.basename(archivePath);
  const m = /^(.+?)(?:\.tar\.gz|\.tgz|\.tar|\.zip)$/i.exec(base) ?? /^(.+)\.[^.]+$/.exec(base);
  return path.join(dir, `${m?.[1] ?? base}.parquet`);
}

/**
 * Sample key -> YouTube ID from a shard's parquet. The ID comes from the `url` column when it is a
 * YouTube URL; a row with another URL (a non-YouTube source) is skipped; an ID column
 * (`youtube_id`, `videoID`, `video_id`) is used only where the row has no URL. Rows without a key
 * or without a YouTube ID are skipped. A file that cannot be read as parquet throws a VdedupError
 * whose one-line message names the file (`err.message` and `err.oneLine()` read the same).
 */
export async function youtubeIdsFromParquet(file: string): Promise<ParquetYoutubeIds> {
  const fail = (code: 'FILE_NOT_FOUND' | 'NOT_A_FILE' | 'EMPTY_FILE' | 'INVALID_MEDIA', what: string, cause?: unknown): VdedupError =>
    new VdedupError(code, `${file}: ${what}`.replace(/\s*\n\s*/g, ' | '), cause === undefined ? {} : { cause });

  let size: number;
  try {
    const s = await stat(file);
    if (!s.isFile()) throw fail('NOT_A_FILE', 'not a file');
    size = s.size;
  } catch (err) {
    if (err instanceof VdedupError) throw err;
    throw fail('FILE_NOT_FOUND', 'no such file', err);
  }
  if (size === 0) throw fail('EMPTY_FILE', 'empty file (0 bytes), not a parquet file');

  // Loaded only when a shard has a parquet file: most scans never need it.
  const [{ asyncBufferFromFile, parquetMetadataAsync, parquetRead, parquetSchema }, { compressors }] = await Promise.all([
    import('hyparquet'),
    import('hyparquet-compressors'),
  ]);
  let buffer: AsyncBuffer;
  let metadata: FileMetaData;
  let columnNames: string[];
  try {
    buffer = await asyncBufferFromFile(file);
    metadata = await parquetMetadataAsync(buffer);
    columnNames = parquetSchema(metadata).children.map((c) => c.element.name);
  } catch (err) {
    throw fail('INVALID_MEDIA', `not a readable parquet file (${errorText(err)})`, err);
  }

  const problems: string[] = [];
  const ids = new Map<string, string>();
  const keyColumn = findColumn(columnNames, KEY_COLUMN);
  const urlColumn = findColumn(columnNames, URL_COLUMN);
  const idColumn = ID_COLUMNS.map((c) => findColumn(columnNames, c)).find((c) => c !== undefined);
  const listed = columnNames.slice(0, 12).join(', ') + (columnNames.length > 12 ? ', ...' : '');
  if (keyColumn === undefined) {
    problems.push(`${file}: no "${KEY_COLUMN}" column (columns: ${listed}); no YouTube IDs read`);
    return { ids, problems };
  }
  if (urlColumn === undefined && idColumn === undefined) {
    problems.push(`${file}: neither a "${URL_COLUMN}" column nor a YouTube ID column (${ID_COLUMNS.join(', ')}) (columns: ${listed}); no YouTube IDs read`);
    return { ids, problems };
  }
  const columns = [keyColumn, ...(urlColumn === undefined ? [] : [urlColumn]), ...(idColumn === undefined ? [] : [idColumn])];
  const urlAt = urlColumn === undefined ? -1 : 1;
  const idAt = idColumn === undefined ? -1 : columns.length - 1;

  const conflicts: string[] = [];
  let conflictCount = 0;
  const duplicates: string[] = [];
  let duplicateCount = 0;
  let groupStart = 0;
  for (const [g, group] of metadata.row_groups.entries()) {
    const rows = Number(group.num_rows);
    const groupEnd = groupStart + rows;
    const bytes = group.columns
      .filter((c) => c.meta_data !== undefined && columns.includes(c.meta_data.path_in_schema[0] ?? ''))
      .reduce((sum, c) => sum + Number(c.meta_data?.total_uncompressed_size ?? 0), 0);
    if (!(bytes <= MAX_ROW_GROUP_BYTES)) {
      throw fail('INVALID_MEDIA', `row group ${g} claims ${bytes} bytes in its ${columns.join('/')} columns (limit ${MAX_ROW_GROUP_BYTES}); not read`);
    }
    let values: unknown[][] = [];
    try {
      await parquetRead({
        file: buffer,
        metadata,
        columns,
        rowStart: groupStart,
        rowEnd: groupEnd,
        compressors,
        rowFormat: 'array',
        onComplete: (r: unknown[][]) => {
          values = r;
        },
      });
    } catch (err) {
      throw fail('INVALID_MEDIA', `row group ${g} is not readable (${errorText(err)})`, err);
    }
    for (const row of values) {
      const key = text(row[0]);
      if (key === undefined) continue;
      const url = urlAt < 0 ? undefined : text(row[urlAt]);
      const fromUrl = url === undefined ? undefined : normalizeYoutubeId(url);
      // A URL that is not YouTube's names the source: an ID-like column then is that site's ID.
      if (url !== undefined && fromUrl === undefined) continue;
      const fromColumn = idAt < 0 ? undefined : normalizeYoutubeId(text(row[idAt]));
      const id = fromUrl ?? fromColumn;
      if (id === undefined) continue;
      if (fromUrl !== undefined && fromColumn !== undefined && fromColumn !== fromUrl) {
        if (conflictCount++ < EXAMPLES) conflicts.push(`${key} (${fromUrl} vs ${fromColumn})`);
      }
      const before = ids.get(key);
      if (before !== undefined) {
        if (before !== id && duplicateCount++ < EXAMPLES) duplicates.push(`${key} (${before}, then ${id})`);
        continue;
      }
      ids.set(key, id);
    }
    groupStart = groupEnd;
  }
  if (conflictCount > 0) {
    problems.push(`${file}: ${conflictCount} rows whose "${urlColumn}" and "${idColumn}" name different YouTube IDs (the URL's is used), e.g. key ${conflicts.join(', ')}`);
  }
  if (duplicateCount > 0) {
    problems.push(`${file}: ${duplicateCount} keys repeated with another YouTube ID (the first row's is used), e.g. ${duplicates.join(', ')}`);
  }
  return { ids, problems };
}

/** The column of that name, else one that differs only in case (`videoid`, `URL`). */
function findColumn(names: string[], wanted: string): string | undefined {
  return names.find((n) => n === wanted) ?? names.find((n) => n.toLowerCase() === wanted.toLowerCase());
}

/** A cell as trimmed text: strings, and integer keys of a writer that stored them as numbers. */
function text(v: unknown): string | undefined {
  let s: string | undefined;
  if (typeof v === 'string') s = v;
  else if (typeof v === 'bigint' || (typeof v === 'number' && Number.isInteger(v))) s = String(v);
  s = s?.trim();
  return s === undefined || s === '' ? undefined : s;
}

function errorText(err: unknown): string {
  const s = err instanceof Error ? err.message : String(err);
  const line = s.replace(/\s*\n\s*/g, ' | ');
  return line.length > 200 ? `${line.slice(0, 200)}...` : line;
}
